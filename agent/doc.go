// Package agent is the tablet's life from start to stop: it checks its
// configuration against the topology, takes ownership of its tablet
// record, keeps the tablet in the role its shard record gives, reports
// health, and on SIGTERM goes lameduck before it shuts down. It wires the
// lower packages (topo, health, pools, queryserver, backup, debugvars)
// together and holds no SQL of its own: the statements come from package
// mysqld.
//
// # Roles
//
// The shard record decides. The tablet it names as primary makes its
// mysqld writable (after applying what it had already fetched, if it was
// a replica) and records the shard's primary term; every other tablet
// makes its mysqld read-only (super_read_only where the flavor has it)
// and replicates from the primary's mysqld, found through the primary's
// tablet record (mysql_hostname, mysql_port), as the repl user, with GTID
// auto-positioning. The agent watches the shard record and follows each
// change at once: `tablet topo TabletExternallyReparented <alias>`, which
// an operator or Orchestrator runs, is all it takes to move the primary.
// It checks again every --role-check-interval, so that a mysqld restarted
// read-only or a primary that moved is brought back in line. A failed
// attempt (mysqld down) is retried with backoff; a topology outage leaves
// the role as it is and the tablet serving. Each change rewrites the
// tablet record's type and term and _vt.local_metadata (never replicated),
// which Orchestrator reads.
//
// # Serving
//
// /debug/health is the health.Checker: NOT_SERVING until mysqld answers
// and the role is applied, then whatever the checks find. The heartbeat
// writer runs while the tablet is the primary. The query service, given
// with WithQueryService, learns each tablet type through SetServing.
//
// # Shutdown
//
// When Run's context ends: health reports not serving at once while
// queries are still served for --lameduck-period, so gateways move away
// without errors; then the query service refuses new queries and gives
// those in flight --shutdown_grace_period; then the role manager and
// health stop, the record's ports are cleared and the claim released.
// Nothing after the grace period waits more than half a second on a hung
// mysqld or topology.
//
// Usage:
//
//	a := agent.New(cfg, dbcfg, ts, vars, logger, agent.WithQueryService(qs))
//	go func() { errc <- a.Run(ctx) }() // returns after ctx ends and shutdown completes
//	<-a.Ready()                         // record published, HTTP listening
package agent
