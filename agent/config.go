package agent

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tabletd/tablet/health"
	"github.com/tabletd/tablet/pools"
	"github.com/tabletd/tablet/queryserver"
	"github.com/tabletd/tablet/queryserver/grpcserver"
	"github.com/tabletd/tablet/queryserver/schema"
	"github.com/tabletd/tablet/topo"
)

// Config is the tablet's identity and life-cycle settings.
type Config struct {
	// TabletPath is the tablet alias, "<cell>-<uid>" (--tablet-path).
	TabletPath string
	// InitKeyspace, InitShard and InitTabletType say what the tablet
	// serves (--init_keyspace, --init_shard, --init_tablet_type). The
	// type may not be primary: every tablet starts as a replica and finds
	// out from the shard record whether it is the primary.
	InitKeyspace   string
	InitShard      string
	InitTabletType string
	// InitDBNameOverride is the database name; empty means
	// "vt_<keyspace>" (--init_db_name_override).
	InitDBNameOverride string
	// InitTags are key:value tags for the tablet record (--init_tags).
	InitTags map[string]string
	// Hostname is the host name put in the record (--tablet_hostname);
	// empty means the machine's host name.
	Hostname string
	// BindAddress is the address the HTTP and gRPC listeners bind
	// (--bind-address); empty means every interface.
	BindAddress string
	// Port is the HTTP port (--port) and GRPCPort the gRPC port
	// (--grpc_port); zero picks a free port, which the record then holds.
	Port, GRPCPort int
	// LameduckPeriod is how long the tablet keeps serving after SIGTERM
	// while reporting not serving, so gateways move away first
	// (--lameduck-period).
	LameduckPeriod time.Duration
	// ShutdownGracePeriod is how long in-flight queries and transactions
	// get to finish after lameduck before they are killed
	// (--shutdown_grace_period).
	ShutdownGracePeriod time.Duration
	// ReplicationConnectRetry is how long a replica waits between two
	// attempts to connect to its primary (--replication_connect_retry,
	// MASTER_CONNECT_RETRY, whole seconds); zero keeps the server's
	// default, 60s.
	ReplicationConnectRetry time.Duration
	// RoleCheckInterval is the time between two checks that mysqld and
	// the tablet record still hold the role the shard record gives (a
	// mysqld restarts read-only; a primary's MySQL address changes)
	// (--role-check-interval). A change of the shard record is applied at
	// once, not on this interval. Must be positive.
	RoleCheckInterval time.Duration
	// EnablePprof serves Go's profiler under /debug/pprof/ on the HTTP
	// port (--pprof-http; off by default, as in vttablet: profiles cost
	// CPU and show the process's internals).
	EnablePprof bool
	// Health times the health checks and the replication heartbeat.
	Health health.Config
	// Pools sizes the MySQL connection pools of the query service.
	Pools pools.Config
	// Query tunes the query engine.
	Query queryserver.Config
	// Schema tunes the tracking of the served database's schema, for
	// GetSchema and StreamHealth.
	Schema schema.Config
	// GRPC is the gRPC port's settings (TLS, keepalives, message size),
	// shared by the Query, TabletManager and TabletControl services.
	GRPC grpcserver.Config
	// Restore is the restore from backup on startup.
	Restore RestoreConfig
}

// DefaultConfig returns vttablet's defaults where it has them.
func DefaultConfig() Config {
	return Config{
		InitTabletType: "replica",
		Port:           15100,
		GRPCPort:       16100,
		// vttablet's default: long enough for a gateway's health stream
		// to see the change before queries are refused.
		LameduckPeriod:          50 * time.Millisecond,
		ShutdownGracePeriod:     3 * time.Second,
		ReplicationConnectRetry: 10 * time.Second, // vttablet's default
		RoleCheckInterval:       10 * time.Second,
		Health:                  health.DefaultConfig(),
		Pools:                   pools.DefaultConfig(),
		Query:                   queryserver.DefaultConfig(),
		Schema:                  schema.DefaultConfig(),
		GRPC:                    grpcserver.DefaultConfig(),
		Restore:                 DefaultRestoreConfig(),
	}
}

// servingTypes are the tablet types a tablet may be started as.
var servingTypes = map[string]bool{"replica": true, "rdonly": true, "spare": true, "drained": true, "backup": true, "experimental": true}

// Validate checks the configuration without side effects. Each error names
// the flag and the value and says what to do.
func (c Config) Validate() error {
	if _, err := topo.ParseTabletAlias(c.TabletPath); err != nil {
		return fmt.Errorf("--tablet-path: %w", err)
	}
	if c.InitKeyspace == "" {
		return fmt.Errorf("--init_keyspace is required")
	}
	if err := topo.ValidateName("keyspace", c.InitKeyspace); err != nil {
		return fmt.Errorf("--init_keyspace: %w", err)
	}
	if c.InitShard == "" {
		return fmt.Errorf("--init_shard is required: 0 for an unsharded keyspace, or a key range such as -80")
	}
	if _, err := topo.ShardKeyRange(c.InitShard); err != nil {
		return fmt.Errorf("--init_shard: %w", err)
	}
	switch t := strings.ToLower(c.InitTabletType); {
	case t == "primary" || t == "master":
		return fmt.Errorf("--init_tablet_type=%s: start as replica; the tablet finds out from the shard record whether it is the primary", c.InitTabletType)
	case !servingTypes[t]:
		return fmt.Errorf("--init_tablet_type=%q: want one of replica, rdonly, spare, drained, backup, experimental", c.InitTabletType)
	}
	for name, p := range map[string]int{"--port": c.Port, "--grpc_port": c.GRPCPort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("%s=%d: must be between 0 and 65535", name, p)
		}
	}
	if c.Port != 0 && c.Port == c.GRPCPort {
		return fmt.Errorf("--port and --grpc_port are both %d: they need different ports", c.Port)
	}
	if c.LameduckPeriod < 0 {
		return fmt.Errorf("--lameduck-period=%s: must not be negative", c.LameduckPeriod)
	}
	if c.ShutdownGracePeriod < 0 {
		return fmt.Errorf("--shutdown_grace_period=%s: must not be negative", c.ShutdownGracePeriod)
	}
	if c.ReplicationConnectRetry < 0 {
		return fmt.Errorf("--replication_connect_retry=%s: must not be negative", c.ReplicationConnectRetry)
	}
	if c.RoleCheckInterval <= 0 {
		return fmt.Errorf("--role-check-interval=%s: must be positive", c.RoleCheckInterval)
	}
	return errors.Join(c.Health.Validate(), c.Pools.Validate(), c.Query.Validate(), c.Schema.Validate(), c.GRPC.Validate(),
		c.Restore.Validate())
}

// DBName is the database the tablet serves: the override, or
// "vt_<keyspace>" as vttablet names it.
func (c Config) DBName() string {
	if c.InitDBNameOverride != "" {
		return c.InitDBNameOverride
	}
	return "vt_" + c.InitKeyspace
}
