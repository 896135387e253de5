package agent

import (
	"strings"
	"testing"
)

func validConfig() Config {
	c := DefaultConfig()
	c.TabletPath, c.InitKeyspace, c.InitShard = "zone1-100", "commerce", "0"
	return c
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		errHas string
	}{
		{name: "valid", mutate: func(*Config) {}},
		{name: "rdonly", mutate: func(c *Config) { c.InitTabletType = "rdonly" }},
		{name: "primary refused", mutate: func(c *Config) { c.InitTabletType = "primary" }, errHas: "start as replica"},
		{name: "master refused", mutate: func(c *Config) { c.InitTabletType = "MASTER" }, errHas: "start as replica"},
		{name: "unknown type", mutate: func(c *Config) { c.InitTabletType = "leader" }, errHas: "--init_tablet_type=\"leader\""},
		{name: "no alias", mutate: func(c *Config) { c.TabletPath = "" }, errHas: "--tablet-path"},
		{name: "alias uid not a number", mutate: func(c *Config) { c.TabletPath = "zone1-x" }, errHas: "uid"},
		{name: "no keyspace", mutate: func(c *Config) { c.InitKeyspace = "" }, errHas: "--init_keyspace is required"},
		{name: "bad shard", mutate: func(c *Config) { c.InitShard = "80-40" }, errHas: "--init_shard"},
		{name: "bad hex shard", mutate: func(c *Config) { c.InitShard = "-8g" }, errHas: "--init_shard"},
		{name: "no shard", mutate: func(c *Config) { c.InitShard = "" }, errHas: "--init_shard is required"},
		{name: "key range shard", mutate: func(c *Config) { c.InitShard = "40-80" }},
		{name: "bad keyspace", mutate: func(c *Config) { c.InitKeyspace = "a/b" }, errHas: "--init_keyspace"},
		{name: "same ports", mutate: func(c *Config) { c.GRPCPort = c.Port }, errHas: "different ports"},
		{name: "negative lameduck", mutate: func(c *Config) { c.LameduckPeriod = -1 }, errHas: "--lameduck-period"},
		{name: "no role checks", mutate: func(c *Config) { c.RoleCheckInterval = 0 }, errHas: "--role-check-interval"},
		{name: "negative connect retry", mutate: func(c *Config) { c.ReplicationConnectRetry = -1 }, errHas: "--replication_connect_retry"},
		{name: "server default connect retry", mutate: func(c *Config) { c.ReplicationConnectRetry = 0 }},
		{name: "bad health", mutate: func(c *Config) { c.Health.Interval = 0 }, errHas: "--health_check_interval"},
		{name: "bad pools", mutate: func(c *Config) { c.Pools.PoolSize = -1 }, errHas: "--queryserver-config-pool-size"},
		{name: "bad query config", mutate: func(c *Config) { c.Query.MaxResultRows = 0 }, errHas: "--queryserver-config-max-result-size"},
		{name: "bad schema reload", mutate: func(c *Config) { c.Schema.ReloadInterval = -1 }, errHas: "--queryserver-config-schema-reload-time"},
		{name: "grpc key without cert", mutate: func(c *Config) { c.GRPC.KeyFile = "k.pem" }, errHas: "--grpc_cert and --grpc_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.errHas == "" && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.errHas)
			}
		})
	}
}
