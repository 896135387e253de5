package health

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/testenv"
)

// These tests run the checker against real servers from testenv (skipped
// under -short). Intervals are short so that each takes a few seconds; all
// waits are on the subscription, with deadlines.

// serverConfig is the configuration of the real-server tests.
func serverConfig() Config {
	c := DefaultConfig()
	c.Interval = 200 * time.Millisecond
	c.ProbeTimeout = time.Second
	c.RecheckDelay = 50 * time.Millisecond
	c.MinDwell = 400 * time.Millisecond
	c.HeartbeatInterval = 50 * time.Millisecond
	c.DegradedThreshold = time.Second
	c.UnhealthyThreshold = 3 * time.Second
	// Room for every update of a test: a test may follow one checker
	// while another's updates queue.
	c.SubscriberBuffer = 1000
	return c
}

// dbaDB opens the dba user's handle on m, as the agent would for health.
func dbaDB(t *testing.T, m *testenv.MySQL) *sql.DB {
	t.Helper()
	db, err := m.DB(mysqld.RoleDBA)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(2)
	t.Cleanup(func() { db.Close() })
	return db
}

// admin runs statements on m as the admin role.
func admin(t *testing.T, m *testenv.MySQL, stmts ...string) {
	t.Helper()
	db, err := m.DB(mysqld.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// watched is a checker on a real server, followed through a subscription
// and over HTTP.
type watched struct {
	t   *testing.T
	c   *Checker
	sub *Subscription
	url string
}

func watch(t *testing.T, cfg Config, db *sql.DB, tab Tablet) *watched {
	t.Helper()
	c := New(cfg, NewProber(cfg, db), debugvars.New(), slog.New(slog.NewTextHandler(t.Output(), nil)))
	t.Cleanup(c.Close)
	c.SetTablet(tab)
	sub := c.Subscribe()
	t.Cleanup(sub.Close)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	c.Open()
	return &watched{t: t, c: c, sub: sub, url: srv.URL + "/debug/health"}
}

// until reads updates until cond holds and returns that status and the
// time since start; it fails the test after limit.
func (w *watched) until(start time.Time, limit time.Duration, what string, cond func(Status) bool) (Status, time.Duration) {
	w.t.Helper()
	deadline := time.NewTimer(time.Until(start.Add(limit)))
	defer deadline.Stop()
	var last Status
	for {
		select {
		case st, ok := <-w.sub.Updates():
			if !ok {
				w.t.Fatalf("waiting for %s: subscription closed: %v", what, w.sub.Err())
			}
			if cond(st) {
				return st, time.Since(start)
			}
			last = st
		case <-deadline.C:
			w.t.Fatalf("no %s within %v; last status %s %s: %s (lag %v from %q)", what, limit,
				last.State, last.Reason, last.Message, last.Realtime.ReplicationLag, last.LagSource)
		}
	}
}

// http fetches /debug/health.
func (w *watched) http() (int, string) {
	w.t.Helper()
	resp, err := http.Get(w.url)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (w *watched) expectHTTP(code int, prefix string) {
	w.t.Helper()
	got, body := w.http()
	if got != code || !strings.HasPrefix(body, prefix) {
		w.t.Errorf("/debug/health = %d %q, want %d %q...", got, body, code, prefix)
	}
}

func isState(s State, r Reason) func(Status) bool {
	return func(st Status) bool { return st.State == s && st.Reason == r }
}

// replicaPair starts a primary and a replica of it.
func replicaPair(t *testing.T) (primary, replica *testenv.MySQL) {
	primary = testenv.StartMySQL(t)
	replica = testenv.StartMySQL(t)
	testenv.Replicate(t, primary, replica)
	return primary, replica
}

// Acceptance 1: stopping the replica's SQL thread takes it out of serving
// within two intervals, naming replication; starting it brings it back.
func TestServerReplicaSQLThreadStopped(t *testing.T) {
	primary, replica := replicaPair(t)
	cfg := serverConfig()
	w := watch(t, cfg, dbaDB(t, replica), Tablet{Type: TypeReplica})

	// No heartbeat yet: the server's own figure.
	st, _ := w.until(time.Now(), 10*time.Second, "healthy replica", isState(Healthy, ReasonNone))
	if st.LagSource != LagFromServer {
		t.Errorf("lag source before any heartbeat = %q, want %q", st.LagSource, LagFromServer)
	}
	writer := NewHeartbeatWriter(cfg, dbaDB(t, primary), nil, slog.New(slog.NewTextHandler(t.Output(), nil)))
	writer.Open()
	t.Cleanup(writer.Close)
	w.until(time.Now(), 10*time.Second, "heartbeat lag", func(st Status) bool {
		return st.State == Healthy && st.LagSource == LagFromHeartbeat
	})
	w.expectHTTP(200, "ok\n")

	f := replica.Flavor()
	admin(t, replica, f.StopReplication(mysqld.SQLThread))
	stopped := time.Now()
	st, took := w.until(stopped, 10*time.Second, "not serving", func(st Status) bool { return !st.Serving })
	t.Logf("SQL thread stopped: not serving after %v (%s)", took.Round(time.Millisecond), st.Message)
	if st.Reason != ReasonReplicationSQLStopped || !strings.HasPrefix(st.Realtime.HealthError, "REPLICATION_SQL_STOPPED") {
		t.Errorf("not serving with %s %q, want REPLICATION_SQL_STOPPED", st.Reason, st.Realtime.HealthError)
	}
	if took > 2*cfg.Interval {
		t.Errorf("not serving %v after the SQL thread stopped, want within two intervals (%v)", took, 2*cfg.Interval)
	}
	w.expectHTTP(503, "not ok: REPLICATION_SQL_STOPPED: the replication SQL thread is stopped")

	admin(t, replica, f.StartReplication(mysqld.SQLThread))
	st, took = w.until(time.Now(), 10*time.Second, "serving again", func(st Status) bool { return st.Serving })
	t.Logf("SQL thread started: serving after %v (min dwell %v)", took.Round(time.Millisecond), cfg.MinDwell)
	if st.State != Healthy {
		t.Errorf("serving again as %s %s, want HEALTHY", st.State, st.Reason)
	}
	if took < cfg.MinDwell {
		t.Errorf("serving again after %v, before the min dwell %v", took, cfg.MinDwell)
	}
	w.expectHTTP(200, "ok\n")
}

// Acceptance 2: real lag (delayed replication, the SQL thread running)
// crosses the degraded, then the unhealthy threshold, each seen in the
// subscription and on /debug/health, and recovers when caught up.
func TestServerReplicaLagThresholds(t *testing.T) {
	primary, replica := replicaPair(t)
	cfg := serverConfig()
	writer := NewHeartbeatWriter(cfg, dbaDB(t, primary), nil, nil)
	writer.Open()
	t.Cleanup(writer.Close)
	w := watch(t, cfg, dbaDB(t, replica), Tablet{Type: TypeReplica})
	// The same replica seen without heartbeats, through
	// Seconds_Behind_Master.
	sbmCfg := cfg
	sbmCfg.HeartbeatEnable = false
	sbm := watch(t, sbmCfg, dbaDB(t, replica), Tablet{Type: TypeReplica})
	w.until(time.Now(), 10*time.Second, "healthy by heartbeat", func(st Status) bool {
		return st.State == Healthy && st.LagSource == LagFromHeartbeat
	})

	f := replica.Flavor()
	const delay = 6 * time.Second
	admin(t, replica, f.StopReplication(mysqld.AllThreads), f.SetReplicationDelay(delay), f.StartReplication(mysqld.AllThreads))
	start := time.Now()

	st, took := w.until(start, 10*time.Second, "degraded by lag", isState(Degraded, ReasonLagOverThreshold))
	t.Logf("delayed %v: degraded after %v at lag %v", delay, took.Round(time.Millisecond), st.Realtime.ReplicationLag.Round(time.Millisecond))
	w.expectHTTP(200, "ok\ndegraded: LAG_OVER_THRESHOLD: replication lag ")
	if st.Realtime.HealthError != "" || !st.Serving {
		t.Errorf("degraded status serving=%t health error %q, want serving with none", st.Serving, st.Realtime.HealthError)
	}

	st, took = w.until(start, 10*time.Second, "unhealthy by lag", isState(Unhealthy, ReasonLagOverThreshold))
	t.Logf("delayed %v: unhealthy after %v at lag %v", delay, took.Round(time.Millisecond), st.Realtime.ReplicationLag.Round(time.Millisecond))
	w.expectHTTP(503, "not ok: LAG_OVER_THRESHOLD: replication lag ")
	if st.Realtime.ReplicationLagSeconds < 3 || st.Realtime.HealthError == "" {
		t.Errorf("unhealthy status: lag %ds, health error %q", st.Realtime.ReplicationLagSeconds, st.Realtime.HealthError)
	}
	st, took = sbm.until(start, 15*time.Second, "unhealthy by Seconds_Behind_Master", isState(Unhealthy, ReasonLagOverThreshold))
	t.Logf("delayed %v, no heartbeat: unhealthy after %v at lag %v (%s)", delay, took.Round(time.Millisecond),
		st.Realtime.ReplicationLag, st.LagSource)
	if st.LagSource != LagFromServer {
		t.Errorf("lag source %q without heartbeats, want %q", st.LagSource, LagFromServer)
	}

	// Catch up.
	admin(t, replica, f.StopReplication(mysqld.AllThreads), f.SetReplicationDelay(0), f.StartReplication(mysqld.AllThreads))
	caughtUp := time.Now()
	st, took = w.until(caughtUp, 10*time.Second, "healthy again", isState(Healthy, ReasonNone))
	t.Logf("delay removed: healthy after %v at lag %v", took.Round(time.Millisecond), st.Realtime.ReplicationLag.Round(time.Millisecond))
	w.expectHTTP(200, "ok\n")
	sbm.until(caughtUp, 15*time.Second, "healthy again without heartbeats", isState(Healthy, ReasonNone))
}

// Acceptance 3: killing mysqld makes health "not ok" within two intervals;
// starting it again brings health back, with the same checker.
func TestServerMySQLKilledAndRestarted(t *testing.T) {
	m := testenv.StartMySQL(t)
	admin(t, m, m.Flavor().SetReadOnly(false)...)
	cfg := serverConfig()
	db := dbaDB(t, m)
	w := watch(t, cfg, db, Tablet{Type: TypePrimary, PrimaryTermStart: time.Now()})
	writer := NewHeartbeatWriter(cfg, db, nil, slog.New(slog.NewTextHandler(t.Output(), nil)))
	writer.Open()
	t.Cleanup(writer.Close)
	w.until(time.Now(), 10*time.Second, "healthy primary", isState(Healthy, ReasonNone))
	w.expectHTTP(200, "ok\n")

	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	st, took := w.until(killed, 10*time.Second, "not serving", func(st Status) bool { return !st.Serving })
	t.Logf("mysqld killed: not serving after %v (%s)", took.Round(time.Millisecond), st.Message)
	if st.Reason != ReasonMySQLUnreachable {
		t.Errorf("reason %s, want MYSQL_UNREACHABLE", st.Reason)
	}
	if took > 2*cfg.Interval {
		t.Errorf("not serving %v after the kill, want within two intervals (%v)", took, 2*cfg.Interval)
	}
	w.expectHTTP(503, "not ok: MYSQL_UNREACHABLE: mysqld is unreachable: ")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	st, took = w.until(started, 10*time.Second, "healthy again", isState(Healthy, ReasonNone))
	t.Logf("mysqld restarted: healthy after %v", took.Round(time.Millisecond))
	w.expectHTTP(200, "ok\n")

	// The heartbeat writer also recovers once the server is writable again
	// (it restarts read-only, as a tablet's server does).
	admin(t, m, m.Flavor().SetReadOnly(false)...)
	before := writer.writes.Get()
	w.until(time.Now(), 10*time.Second, "heartbeat writes after the restart", func(Status) bool {
		return writer.writes.Get() > before+2
	})
}

// Acceptance 4: the lag measured from the heartbeat matches the lag
// injected into it, within one interval.
func TestServerHeartbeatLagMatchesInjected(t *testing.T) {
	primary, replica := replicaPair(t)
	cfg := serverConfig()
	cfg.DegradedThreshold, cfg.UnhealthyThreshold = time.Minute, time.Hour
	w := watch(t, cfg, dbaDB(t, replica), Tablet{Type: TypeReplica})
	w.until(time.Now(), 10*time.Second, "healthy replica", isState(Healthy, ReasonNone))

	pdb := dbaDB(t, primary)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var serverID uint32
	if err := pdb.QueryRowContext(ctx, mysqld.ServerIDQuery).Scan(&serverID); err != nil {
		t.Fatal(err)
	}
	for _, s := range mysqld.HeartbeatTableDDL() {
		if _, err := pdb.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, injected := range []time.Duration{5 * time.Second, 1500 * time.Millisecond, 12 * time.Second} {
		// A heartbeat as the primary would have written it `injected` ago,
		// replacing any other.
		injectedAt := time.Now()
		// Wall clock only, as the replica reads it back: the lag is
		// computed on wall clocks, not the monotonic one.
		ts := time.Unix(0, injectedAt.Add(-injected).UnixNano())
		for _, q := range []string{"DELETE FROM _vt.heartbeat", mysqld.HeartbeatWrite(serverID, ts)} {
			if _, err := pdb.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		testenv.WaitCaughtUp(t, primary, replica)
		caughtUp := time.Now()
		// The first check that read this heartbeat: its lag is exactly its
		// time minus ts (a check that read an older row shows another).
		st, _ := w.until(caughtUp, 10*time.Second, "a check that read the injected heartbeat", func(st Status) bool {
			return st.LagSource == LagFromHeartbeat && st.Realtime.ReplicationLag == st.CheckedAt.Sub(ts)
		})
		lag := st.Realtime.ReplicationLag
		sinceCaughtUp := st.CheckedAt.Sub(caughtUp)
		t.Logf("injected %v: measured %v (+%v: %v to replicate, then %v to the check)", injected,
			lag.Round(time.Millisecond), (lag - injected).Round(time.Millisecond),
			caughtUp.Sub(injectedAt).Round(time.Millisecond), sinceCaughtUp.Round(time.Millisecond))
		if lag < injected || lag > injected+caughtUp.Sub(injectedAt)+cfg.Interval+100*time.Millisecond {
			t.Errorf("measured %v for an injected %v, %v to replicate: more than one interval (%v) off",
				lag, injected, caughtUp.Sub(injectedAt), cfg.Interval)
		}
	}
}
