// Package health decides whether the tablet serves: it checks the local
// mysqld on an interval, turns what it sees into a state with a reason, and
// publishes that state as a value, to subscribers (what StreamHealth
// streams) and as /debug/health.
//
// # What is checked
//
// Every Config.Interval (--health_check_interval) a Checker asks its Prober
// to look at mysqld, bounded by Config.ProbeTimeout:
//
//   - mysqld answers SELECT VERSION() as the dba user; if not, the tablet is
//     NotServing with ReasonMySQLUnreachable;
//   - on a tablet that is not the primary: replication is configured
//     (else NotServing, ReasonNotConfigured), both threads run (else
//     Unhealthy, ReasonReplicationSQLStopped, ...IOStopped or ...Stopped),
//     the IO thread is connected (else at least Degraded,
//     ReasonReplicationIOConnecting), and the lag is under
//     --degraded_threshold (else Degraded) and --unhealthy_threshold (else
//     Unhealthy), both with ReasonLagOverThreshold.
//
// The lag comes from the heartbeat when Config.HeartbeatEnable is set: the
// primary's HeartbeatWriter writes its clock to _vt.heartbeat every
// --heartbeat_interval, the writes replicate, and a replica's lag is its
// clock minus the newest heartbeat it has applied. Without a heartbeat row
// the server's Seconds_Behind_Master is used; while neither gives a figure
// (a stopped thread), the last figure plus the time since. Clock skew: the
// heartbeat compares two hosts' clocks, so any skew between them adds to
// (or, clamped at zero, hides) the lag; keep the hosts on NTP. Status.LagSource
// says which figure is shown.
//
// The agent sets what the checks cannot know with SetTablet (the tablet
// type and primary term start) and SetLameduck; tablet types that do not
// serve (RESTORE gives ReasonRestoring, or ReasonRestoreFailed with the
// agent's Tablet.RestoreError; SPARE, DRAINED, BACKUP and
// EXPERIMENTAL give ReasonNotServingType) and lameduck take effect at once.
//
// # Never flapping
//
// A worse state is published only when two consecutive checks agree; the
// first worse check schedules the second after Config.RecheckDelay, so a
// real failure shows within one interval plus that delay (under two
// intervals) while a single slow probe is ignored. A better state is
// published only after every check for Config.MinDwell (--health-min-dwell)
// has been better. Each change of the published state or reason is logged
// once and counted.
//
// # Subscribers
//
// Subscribe returns the current Status at once, then one after every check
// and on every change. The checker never waits for a subscriber: one that
// leaves Config.SubscriberBuffer updates unread has its channel closed and
// Err returns ErrSlowSubscriber, and should subscribe again. Status carries
// what Vitess's StreamHealthResponse needs: Serving, TabletType, IsPrimary,
// PrimaryTermStart, and Realtime (lag, health error, and QPS and CPU usage
// from the function given to SetLoad).
//
// # Variables
//
// New registers HealthState, HealthServing, HealthTransitions (by from, to
// and reason), HealthChecks, HealthReplicationLag, HealthSubscribers and
// HealthSubscribersDropped; NewHeartbeatWriter registers HeartbeatWrites and
// HeartbeatWriteErrors. Each is also on /metrics as tablet_health_* or
// tablet_heartbeat_*.
//
// # Usage
//
//	db := sql.OpenDB(dbaConnector) // a few dba-user connections
//	checker := health.New(cfg, health.NewProber(cfg, db), vars, logger)
//	checker.SetTablet(health.Tablet{Type: "REPLICA"})
//	checker.Open()
//	defer checker.Close()
//	mux.Handle("/debug/health", checker)
//
//	writer := health.NewHeartbeatWriter(cfg, db, vars, logger)
//	// on becoming primary:
//	checker.SetTablet(health.Tablet{Type: "PRIMARY", PrimaryTermStart: now})
//	writer.Open()
//	// on stepping down:
//	writer.Close()
//	checker.SetTablet(health.Tablet{Type: "REPLICA"})
//
//	sub := checker.Subscribe()
//	defer sub.Close()
//	for st := range sub.Updates() {
//		send(st) // promptly
//	}
//	if err := sub.Err(); errors.Is(err, health.ErrSlowSubscriber) { ... }
//
// The package does not change mysqld (read_only, replication): that is the
// agent's job, through package mysqld.
package health
