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
// writer runs while the tablet is the primary.
//
// The agent builds the query service from Config: the MySQL pools (app
// users on the served database, which the primary creates if it is
// missing), the query engine and the schema tracker (queryserver and
// queryserver/schema). The engine serves the tablet type the role manager
// applied, and accepts new queries exactly while health says the tablet
// serves; grpc.health.v1 says the same. WithQueryService replaces all of
// this with another QueryService, for tests of the agent's life.
//
// # The HTTP port
//
// --port serves package debugpages' pages over the agent's own sources:
// /debug/status (the record as last written, serving state, health and
// its reason, pools, recent errors, Orchestrator), /debug/vars, /metrics,
// /debug/health, the query engine's pages (/queryz, query and transaction
// logs, plans, consolidations, /streamqueryz with its POST-only kill),
// /schemaz from table statistics read every
// --queryserver-config-schema-reload-time, and /debug/pprof/ with
// --pprof-http.
//
// # Orchestrator
//
// With WithOrchestrator the agent runs an orc.Registrar from the moment
// its record is published until shutdown and tells it, from every record
// it writes, the tablet's alias, type and MySQL address
// (mysql_hostname:mysql_port), which it registers. The Registrar is then
// the Maintainer: while the tablet is DRAINED, SPARE, BACKUP or RESTORE
// the agent holds maintenance, and holdMaintenance serves operations such
// as backups. Without it holds do nothing.
//
// # The gRPC port
//
// --grpc_port (on --bind-address; the record holds the port actually
// bound) serves, with the TLS, keepalive and message size settings of
// Config.GRPC:
//
//   - queryservice.Query (package queryserver/grpcserver): queries,
//     streams, transactions, reserved connections, GetSchema, and
//     StreamHealth, which streams health's status with the tablet's
//     alias and target and the tables and views the schema tracker found
//     changed;
//   - tabletmanagerservice.TabletManager: Ping, FullStatus, ChangeType
//     (which the role manager keeps, never to or from PRIMARY),
//     SetReadOnly and SetReadWrite (a read-only primary stays read-only
//     until SetReadWrite or a new term), Backup and RestoreFromBackup
//     (through a Backuper given with WithBackuper; without one,
//     FAILED_PRECONDITION);
//   - tabletctl.TabletControl: ListBackups and TabletExternallyReparented
//     (this tablet becomes its shard's primary, with a new term);
//   - grpc.health.v1, following the serving state, and server reflection.
//
// # Backups and restore on startup
//
// Backups (Backups, over a backup.Manager, given with WithBackuper) are
// taken on request (TabletManager Backup), one at a time, under a
// maintenance hold, and followed by a prune by retention. With
// Config.Restore.FromBackup, Run restores before the role manager starts
// (restoreOnStartup): never on the shard's primary; only when the plan
// says so (no user data, or an interrupted restore's marker); with the
// record's type RESTORE meanwhile; then the MANIFEST's GTID position is
// set, replication pointed at the primary and the restored server given
// Config.Restore.CatchUpTimeout to catch up before it may serve. No backup
// at all: the tablet starts empty and says so. A failed restore keeps the
// tablet up and not serving, health saying RESTORE_FAILED and why.
//
// The tablet does not own mysqld's process (a supervisor does), so a
// restore stops and starts it through a backup.Server, in production a
// mysqld.Control: a stop command or the SHUTDOWN statement, then a wait
// until the pid in mysqld's pid file has exited (a server that no longer
// answers may still be writing its datadir); a start command that returns,
// then a wait until mysqld answers.
//
// # Shutdown
//
// When Run's context ends: health (and StreamHealth, and grpc.health.v1)
// reports not serving at once while queries are still served for
// --lameduck-period, so gateways move away without errors; then the query
// service refuses new queries (with vttablet's SHUTTING_DOWN answer, which
// gateways buffer on) and gives those in flight --shutdown_grace_period;
// then the role manager and health stop, the record's ports are cleared,
// the claim released and the gRPC server stopped. Nothing after the grace
// period waits more than half a second on a hung mysqld or topology.
//
// Usage:
//
//	b := agent.NewBackups(backupCfg, agent.BackupsDeps{Storage: store, DB: dbcfg, Server: &mysqld.Control{...}})
//	a := agent.New(cfg, dbcfg, ts, vars, logger, agent.WithBackuper(b))
//	go func() { errc <- a.Run(ctx) }() // returns after ctx ends and shutdown completes
//	<-a.Ready()                         // record published, HTTP and gRPC listening
package agent
