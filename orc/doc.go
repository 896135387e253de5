// Package orc is the tablet's side of its integration with Orchestrator,
// the MySQL replication manager that detects a dead primary and promotes a
// replica. It does two things, both through Orchestrator's HTTP API:
//
//   - Self-registration: at start and every --orc_discover_interval the
//     tablet asks Orchestrator to discover its MySQL
//     (GET <api>/discover/<host>/<port>), so that Orchestrator knows every
//     server without seeding, and relearns them if its own store is wiped.
//   - Maintenance: while the tablet must not be moved or promoted (drained,
//     spare, taking a backup, restoring one) its instance is in maintenance
//     (begin-maintenance/<host>/<port>/<owner>/<reason>, end-maintenance/
//     <host>/<port>). Orchestrator expires maintenance begun through its API
//     after 10 minutes; the tablet renews its own before then, by ending and
//     beginning it again, as the API has no call to extend it.
//
// It does not tell the topology about failovers: Orchestrator does that
// itself by running "tablet topo TabletExternallyReparented
// {successorAlias}" from its PostMasterFailoverProcesses (see the sample
// configuration under deploy/orchestrator), where {successorAlias} is what
// its DetectInstanceAliasQuery read from the promoted server's
// _vt.local_metadata. The tablet writes those rows (package mysqld's
// LocalMetadata, filled in by the agent for each tablet type); this
// package does not touch MySQL.
//
// # Pieces
//
// Config holds the flags (vttablet's --orc_api_url, --orc_timeout,
// --orc_discover_interval, ... bound by AddFlags). Client is a plain API
// client: every call takes a context and is bounded by Config.Timeout;
// failures Orchestrator reports come back as *APIError, a call out of time
// as ErrTimeout (errors.Is), the caller's own deadline as its context's
// cause. Registrar is what the agent runs:
//
//	r := orc.New(cfg.Orc, vars, logger)
//	go r.Run(ctx)                      // owned by the agent; returns when ctx ends
//	r.SetTablet(orc.Tablet{Alias: "zone1-0000000100", Host: host, Port: port, Type: t})
//	...
//	err := r.WithMaintenance(ctx, "backup", func(ctx context.Context) error { return takeBackup(ctx) })
//
// Run does all the talking to Orchestrator in two goroutines it owns:
// discovery, retried with backoff (BackoffMin doubling to BackoffMax) when
// it fails, and maintenance, level-triggered: whatever holds are
// outstanding (Hold, WithMaintenance; the agent holds one while the
// tablet's type must not be promoted) decide whether the instance should be in maintenance, and Run begins,
// renews and ends it until Orchestrator agrees, retrying through outages.
// Nothing else waits for Orchestrator: SetTablet, Rediscover, Hold and
// Release return at once; WithMaintenance waits at most Config.Timeout for
// Orchestrator to confirm, then runs the operation anyway and says so in
// the log and in OrcMaintenanceUnconfirmed.
//
// An empty --orc_api_url disables it all: Run waits for its context,
// WithMaintenance only runs the operation. A zero --orc_discover_interval
// (vttablet's default) turns off self-registration only.
//
// Package orctest has an HTTP server that answers like Orchestrator's API
// and records every call, for tests here and in the agent.
package orc
