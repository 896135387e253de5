package main

import (
	"flag"
	"fmt"
	"strconv"

	"github.com/tabletd/tablet/agent"
	"github.com/tabletd/tablet/backup"
	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/orc"
	"github.com/tabletd/tablet/queryserver"
	"github.com/tabletd/tablet/topo"
)

// config gathers every package's Config; flags write into its fields.
type config struct {
	agent     agent.Config
	db        mysqld.Config
	topo      topo.Config
	orc       orc.Config
	backup    backup.Config
	local     localMySQLFlags // the local mysqld's files and control, for backups
	roleFlags []roleFlag
	// consolidator holds vttablet's boolean consolidator flags until
	// validate maps them onto agent.Query.Consolidator.
	consolidator consolidatorFlags
}

// consolidatorFlags are --enable_consolidator and
// --enable_consolidator_replicas, and whether they or --consolidator were
// given.
type consolidatorFlags struct {
	enable, replicas bool
	boolSet, modeSet bool
}

func defaultConfig() *config {
	c := &config{
		agent: agent.DefaultConfig(),
		db:    mysqld.DefaultConfig(),
		topo:  topo.DefaultConfig(),
		orc:   orc.DefaultConfig(),
	}
	c.backup, c.local = backup.DefaultConfig(), defaultLocalMySQLFlags()
	return c
}

// bind registers every flag, grouped for --help, onto fs.
func (c *config) bind(fs *flagSet) {
	a := &c.agent
	fs.group("Tablet", func(fs *flag.FlagSet) {
		fs.StringVar(&a.TabletPath, "tablet-path", a.TabletPath, "tablet alias, <cell>-<uid>, e.g. zone1-100 (required)")
		fs.StringVar(&a.InitKeyspace, "init_keyspace", a.InitKeyspace, "keyspace the tablet serves (required)")
		fs.StringVar(&a.InitShard, "init_shard", a.InitShard, "shard the tablet serves: 0, or a key range such as -80 (required)")
		fs.StringVar(&a.InitTabletType, "init_tablet_type", a.InitTabletType, "type to start as: replica, rdonly, spare, ... (never primary)")
		fs.StringVar(&a.InitDBNameOverride, "init_db_name_override", a.InitDBNameOverride, "database name (default vt_<keyspace>)")
		fs.Var(tagsValue{&a.InitTags}, "init_tags", "tags for the tablet record")
		fs.StringVar(&a.Hostname, "tablet_hostname", a.Hostname, "host name for the tablet record (default: the machine's)")
		fs.StringVar(&a.BindAddress, "bind-address", a.BindAddress, "address to bind the HTTP and gRPC ports (default: all)")
		fs.IntVar(&a.Port, "port", a.Port, "HTTP port for status pages and metrics (0 picks a free one)")
		fs.IntVar(&a.GRPCPort, "grpc_port", a.GRPCPort, "gRPC port for the query service (0 picks a free one)")
		durationVar(fs, &a.LameduckPeriod, "lameduck-period", "after SIGTERM, keep serving this long while reporting not serving")
		durationVar(fs, &a.ShutdownGracePeriod, "shutdown_grace_period", "after lameduck, how long running queries get before they are killed")
		fs.BoolVar(&a.EnablePprof, "pprof-http", a.EnablePprof, "serve Go's profiler under /debug/pprof/ on the HTTP port (keep the port private)")
	})
	fs.group("Replication", func(fs *flag.FlagSet) {
		durationVar(fs, &a.ReplicationConnectRetry, "replication_connect_retry", "wait between a replica's attempts to connect to its primary (whole seconds; 0: the server's default)")
		durationVar(fs, &a.RoleCheckInterval, "role-check-interval", "how often to check that mysqld and the tablet record still hold the role the shard record gives")
	})
	h := &a.Health
	fs.group("Health", func(fs *flag.FlagSet) {
		durationVar(fs, &h.Interval, "health_check_interval", "time between two health checks of mysqld")
		durationVar(fs, &h.ProbeTimeout, "health-probe-timeout", "longest one health check of mysqld may take")
		durationVar(fs, &h.RecheckDelay, "health-recheck-delay", "how soon a check that looks worse is repeated to confirm it")
		durationVar(fs, &h.MinDwell, "health-min-dwell", "how long the tablet must look better before a better health is published")
		durationVar(fs, &h.DegradedThreshold, "degraded_threshold", "replication lag above which a replica reports degraded (still serving)")
		durationVar(fs, &h.UnhealthyThreshold, "unhealthy_threshold", "replication lag above which a replica reports unhealthy and stops serving")
		fs.BoolVar(&h.HeartbeatEnable, "heartbeat_enable", h.HeartbeatEnable, "the primary writes _vt.heartbeat and replicas measure their lag from it (every tablet of a shard must agree)")
		durationVar(fs, &h.HeartbeatInterval, "heartbeat_interval", "time between two heartbeat writes on the primary")
		fs.IntVar(&h.SubscriberBuffer, "stream_health_buffer_size", h.SubscriberBuffer, "health updates a StreamHealth client may leave unread before it is dropped")
	})
	fs.group("Topology", func(fs *flag.FlagSet) { c.topo.AddFlags(fs) })
	fs.group("Orchestrator", func(fs *flag.FlagSet) { c.orc.AddFlags(fs) })
	fs.group("Backup", c.bindBackup)
	p := &a.Pools
	fs.group("Connection pools", func(fs *flag.FlagSet) {
		fs.IntVar(&p.PoolSize, "queryserver-config-pool-size", p.PoolSize, "connections for queries outside transactions")
		fs.IntVar(&p.StreamPoolSize, "queryserver-config-stream-pool-size", p.StreamPoolSize, "connections for streaming queries")
		fs.IntVar(&p.TransactionCap, "queryserver-config-transaction-cap", p.TransactionCap, "connections for transactions: the most open at once")
		fs.IntVar(&p.DBAPoolSize, "dba-pool-size", p.DBAPoolSize, "connections as the dba user, for kills and housekeeping")
		durationVar(fs, &p.QueryPoolTimeout, "queryserver-config-query-pool-timeout", "longest wait for a query connection; 0 waits until the request's deadline")
		durationVar(fs, &p.StreamPoolTimeout, "queryserver-config-stream-pool-timeout", "longest wait for a streaming connection; 0 waits until the request's deadline")
		durationVar(fs, &p.TxPoolTimeout, "queryserver-config-txpool-timeout", "longest wait for a transaction connection before \"transaction pool full\"")
		fs.IntVar(&p.QueryPoolWaiterCap, "queryserver-config-query-pool-waiter-cap", p.QueryPoolWaiterCap, "most requests waiting for a query connection; 0 is no cap")
		fs.IntVar(&p.StreamPoolWaiterCap, "queryserver-config-stream-pool-waiter-cap", p.StreamPoolWaiterCap, "most requests waiting for a streaming connection; 0 is no cap")
		fs.IntVar(&p.TxPoolWaiterCap, "queryserver-config-txpool-waiter-cap", p.TxPoolWaiterCap, "most requests waiting for a transaction connection; 0 is no cap")
		durationVar(fs, &p.IdleTimeout, "queryserver-config-idle-timeout", "close pooled connections idle this long")
		durationVar(fs, &p.MaxLifetime, "queryserver-config-pool-conn-max-lifetime", "close pooled connections this old; 0 keeps them")
		durationVar(fs, &p.WatchdogInterval, "pool-watchdog-interval", "how often to look for waiters stalled beside idle connections; 0 disables")
	})
	q := &a.Query
	cf := &c.consolidator
	fs.group("Query server", func(fs *flag.FlagSet) {
		durationVar(fs, &q.QueryTimeout, "queryserver-config-query-timeout", "longest a query may run, pool wait included, before it is killed; 0: only the caller's deadline")
		durationVar(fs, &q.TransactionTimeout, "queryserver-config-transaction-timeout", "longest a transaction may stay open before it is rolled back and its connection closed; 0: no limit")
		durationVar(fs, &q.TransactionKillerInterval, "queryserver-transaction-killer-interval", "how often to look for transactions past their timeout; 0: a tenth of the timeout, between 10ms and 1s")
		durationVar(fs, &q.ReservedConnIdleTimeout, "queryserver-reserved-conn-idle-timeout", "close a reserved connection unused this long; 0: keep until Release")
		fs.IntVar(&q.MaxResultRows, "queryserver-config-max-result-size", q.MaxResultRows, "most rows a non-streaming result may have")
		fs.IntVar(&q.StreamBufferSize, "queryserver-config-stream-buffer-size", q.StreamBufferSize, "bytes of rows StreamExecute gathers per message")
		fs.IntVar(&q.PlanCacheCapacity, "queryserver-config-query-cache-size", q.PlanCacheCapacity, "query plans kept in the plan cache")
		fs.Func("consolidator", "when identical reads in flight share one execution: enable, disable or replicas-only (default replicas-only)", func(s string) error {
			cf.modeSet = true
			return q.Consolidator.Set(s)
		})
		fs.BoolFunc("enable_consolidator", "vttablet's spelling: consolidate identical reads on every tablet type (see --consolidator)", func(s string) error {
			v, err := strconv.ParseBool(s)
			cf.enable, cf.boolSet = v, true
			return err
		})
		fs.BoolFunc("enable_consolidator_replicas", "vttablet's spelling: consolidate identical reads on replicas only (see --consolidator)", func(s string) error {
			v, err := strconv.ParseBool(s)
			cf.replicas, cf.boolSet = v, true
			return err
		})
		fs.IntVar(&q.ConsolidatorMaxWaiters, "consolidator-query-waiter-cap", q.ConsolidatorMaxWaiters, "most callers that may wait on one in-flight read; 0: no cap")
		fs.Int64Var(&q.ConsolidatorMaxResultBytes, "consolidator-max-result-bytes", q.ConsolidatorMaxResultBytes, "largest result shared with waiting callers, in bytes; 0: no cap")
		durationVar(fs, &q.KillEscalationDelay, "queryserver-kill-escalation-delay", "after KILL QUERY, how long a query has to stop before its connection is killed")
		fs.IntVar(&q.QueryLogSize, "queryserver-query-log-size", q.QueryLogSize, "recent queries kept for the query log")
		fs.IntVar(&q.TxLogSize, "queryserver-transaction-log-size", q.TxLogSize, "ended transactions kept for the transaction log")
		fs.IntVar(&q.EndedTransactionsRemembered, "queryserver-ended-transactions-remembered", q.EndedTransactionsRemembered, "ended transaction ids remembered to explain late requests")
		fs.IntVar(&q.StatsLabelLimit, "queryserver-stats-label-limit", q.StatsLabelLimit, "distinct table and user names used as statistics labels; more count as \"other\"")
		durationVar(fs, &a.Schema.ReloadInterval, "queryserver-config-schema-reload-time", "how often to look for tables and views changed outside the query service, reported by StreamHealth; 0: only after DDL through the query service")
		durationVar(fs, &a.Schema.ReloadTimeout, "queryserver-schema-reload-timeout", "longest a schema reload, or one GetSchema query, may take")
	})
	g := &a.GRPC
	fs.group("gRPC", func(fs *flag.FlagSet) {
		fs.StringVar(&g.CertFile, "grpc_cert", g.CertFile, "server certificate (PEM); with --grpc_key, the gRPC port speaks TLS only")
		fs.StringVar(&g.KeyFile, "grpc_key", g.KeyFile, "server private key (PEM)")
		fs.StringVar(&g.CAFile, "grpc_ca", g.CAFile, "CA bundle (PEM) that signs client certificates; with it, clients without such a certificate are refused")
		fs.IntVar(&g.MaxMessageSize, "grpc_max_message_size", g.MaxMessageSize, "largest gRPC message sent or received, in bytes")
		for _, name := range []string{"grpc_keepalive_time", "grpc_server_keepalive_time"} {
			durationVar(fs, &g.KeepaliveTime, name, "ping a client connection idle this long (--grpc_keepalive_time and --grpc_server_keepalive_time are one setting)")
		}
		for _, name := range []string{"grpc_keepalive_timeout", "grpc_server_keepalive_timeout"} {
			durationVar(fs, &g.KeepaliveTimeout, name, "close a client connection that does not answer a ping within this (one setting under both names)")
		}
		durationVar(fs, &g.KeepaliveMinTime, "grpc_server_keepalive_enforcement_policy_min_time", "disconnect clients that ping more often than this")
		fs.BoolVar(&g.KeepalivePermitWithoutStream, "grpc_server_keepalive_enforcement_policy_permit_without_stream", g.KeepalivePermitWithoutStream, "let clients ping while they have no call in flight")
		durationVar(fs, &g.MaxConnectionAge, "grpc_max_connection_age", "close client connections this old (GOAWAY) so clients rebalance; 0: never")
		durationVar(fs, &g.MaxConnectionAgeGrace, "grpc_max_connection_age_grace", "after --grpc_max_connection_age, how long calls in flight get; 0: forever")
	})
	d := &c.db
	fs.group("Database", func(fs *flag.FlagSet) {
		fs.StringVar(&d.Socket, "db_socket", d.Socket, "mysqld unix socket; when set, host and port are not used")
		fs.StringVar(&d.Host, "db_host", d.Host, "mysqld host for TCP connections")
		fs.IntVar(&d.Port, "db_port", d.Port, "mysqld port for TCP connections")
		fs.StringVar(&d.Charset, "db_charset", d.Charset, "connection character set")
		durationVar(fs, &d.ConnectTimeout, "db_connect_timeout", "time allowed for one connection attempt")
		fs.StringVar(&d.CredentialsFile, "db-credentials-file", d.CredentialsFile,
			"JSON file of user -> [passwords]; fills passwords not given by flag")
		for _, r := range mysqld.Roles {
			cred := d.Users[r]
			u, p := new(string), new(string)
			*u = cred.User
			fs.Func("db_"+string(r)+"_user", fmt.Sprintf("user for the %s role (default %s)", r, cred.User), func(s string) error {
				*u = s
				return nil
			})
			fs.Func("db_"+string(r)+"_password", fmt.Sprintf("password for the %s role (prefer --db-credentials-file)", r), func(s string) error {
				*p = s
				return nil
			})
			c.roleFlags = append(c.roleFlags, roleFlag{r, u, p})
		}
	})
}

// roleFlag holds one role's user and password flags until validate copies
// them into the db config (a map value cannot be bound directly).
type roleFlag struct {
	role           mysqld.Role
	user, password *string
}

// validate finishes and checks the configuration. Errors name the flag.
func (c *config) validate() error {
	for _, rf := range c.roleFlags {
		c.db.Users[rf.role] = mysqld.Credentials{User: *rf.user, Password: *rf.password}
	}
	if cf := c.consolidator; cf.boolSet {
		if cf.modeSet {
			return fmt.Errorf("--consolidator and --enable_consolidator/--enable_consolidator_replicas say the same thing: give only --consolidator")
		}
		c.agent.Query.Consolidator = queryserver.ConsolidatorModeFromFlags(cf.enable, cf.replicas)
	}
	if err := c.agent.Validate(); err != nil {
		return err
	}
	if err := c.db.LoadCredentials(); err != nil {
		return err
	}
	if err := c.db.Validate(); err != nil {
		return err
	}
	if err := c.orc.Validate(); err != nil {
		return err
	}
	if err := c.validateBackup(); err != nil {
		return err
	}
	return c.topo.Validate()
}

// logAttrs is the effective configuration for the start-up log line, with
// no passwords.
func (c *config) logAttrs() []any {
	users := map[string]string{}
	for r, cred := range c.db.Users {
		users[string(r)] = cred.String()
	}
	return append([]any{
		"tablet_path", c.agent.TabletPath, "keyspace", c.agent.InitKeyspace, "shard", c.agent.InitShard,
		"tablet_type", c.agent.InitTabletType, "db_name", c.agent.DBName(),
		"port", c.agent.Port, "grpc_port", c.agent.GRPCPort,
		"lameduck_period", c.agent.LameduckPeriod.String(), "shutdown_grace_period", c.agent.ShutdownGracePeriod.String(),
		"health_check_interval", c.agent.Health.Interval.String(), "heartbeat_enable", c.agent.Health.HeartbeatEnable,
		"heartbeat_interval", c.agent.Health.HeartbeatInterval.String(),
		"topo_implementation", c.topo.Implementation, "topo_global_server_address", c.topo.GlobalServerAddress,
		"topo_global_root", c.topo.GlobalRoot,
		"pool_size", c.agent.Pools.PoolSize, "stream_pool_size", c.agent.Pools.StreamPoolSize, "transaction_cap", c.agent.Pools.TransactionCap,
		"query_timeout", c.agent.Query.QueryTimeout.String(), "transaction_timeout", c.agent.Query.TransactionTimeout.String(),
		"max_result_size", c.agent.Query.MaxResultRows, "consolidator", c.agent.Query.Consolidator.String(),
		"schema_reload_time", c.agent.Schema.ReloadInterval.String(),
		"grpc_tls", c.agent.GRPC.TLS(), "grpc_client_ca", c.agent.GRPC.CAFile, "grpc_max_message_size", c.agent.GRPC.MaxMessageSize,
		"db_socket", c.db.Socket, "db_host", c.db.Host, "db_port", c.db.Port, "db_users", users,
		"pprof_http", c.agent.EnablePprof, "orc", c.orc,
	}, c.backupLogAttrs()...)
}
