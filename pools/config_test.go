package pools

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	// vttablet's defaults (tabletenv defaultConfig).
	want := Config{
		PoolSize:         16,
		StreamPoolSize:   200,
		TransactionCap:   20,
		DBAPoolSize:      3,
		TxPoolTimeout:    time.Second,
		IdleTimeout:      30 * time.Minute,
		WatchdogInterval: 100 * time.Millisecond,
	}
	if c != want {
		t.Errorf("DefaultConfig() = %+v, want %+v", c, want)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want []string // each must appear in the error; none means valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"zero pool size", func(c *Config) { c.PoolSize = 0 }, []string{"--queryserver-config-pool-size must be at least 1, got 0"}},
		{"negative stream pool", func(c *Config) { c.StreamPoolSize = -3 }, []string{"--queryserver-config-stream-pool-size", "got -3"}},
		{"zero transaction cap", func(c *Config) { c.TransactionCap = 0 }, []string{"--queryserver-config-transaction-cap"}},
		{"zero dba pool", func(c *Config) { c.DBAPoolSize = 0 }, []string{"--dba-pool-size"}},
		{"negative txpool timeout", func(c *Config) { c.TxPoolTimeout = -time.Second }, []string{"--queryserver-config-txpool-timeout must not be negative, got -1s"}},
		{"negative query pool timeout", func(c *Config) { c.QueryPoolTimeout = -1 }, []string{"--queryserver-config-query-pool-timeout"}},
		{"negative stream pool timeout", func(c *Config) { c.StreamPoolTimeout = -1 }, []string{"--queryserver-config-stream-pool-timeout"}},
		{"negative idle timeout", func(c *Config) { c.IdleTimeout = -1 }, []string{"--queryserver-config-idle-timeout"}},
		{"negative lifetime", func(c *Config) { c.MaxLifetime = -1 }, []string{"--queryserver-config-pool-conn-max-lifetime"}},
		{"negative watchdog", func(c *Config) { c.WatchdogInterval = -1 }, []string{"--pool-watchdog-interval"}},
		{"negative waiter caps", func(c *Config) { c.QueryPoolWaiterCap, c.StreamPoolWaiterCap, c.TxPoolWaiterCap = -1, -1, -1 }, []string{
			"--queryserver-config-query-pool-waiter-cap", "--queryserver-config-stream-pool-waiter-cap", "--queryserver-config-txpool-waiter-cap",
		}},
		{"zero timeouts are valid", func(c *Config) { c.TxPoolTimeout, c.IdleTimeout, c.WatchdogInterval = 0, 0, 0 }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error mentioning %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestPoolConfigs(t *testing.T) {
	c := DefaultConfig()
	c.MaxLifetime = time.Hour
	c.QueryPoolTimeout = 2 * time.Second
	c.TxPoolWaiterCap = 50
	got := c.PoolConfigs()
	want := [4]struct {
		name     string
		capacity int
		wait     time.Duration
		waiters  int
	}{
		{ConnPoolName, 16, 2 * time.Second, 0},
		{StreamConnPoolName, 200, 0, 0},
		{TransactionPoolName, 20, time.Second, 50},
		{DBAPoolName, 3, 0, 0},
	}
	for i, pc := range got {
		w := want[i]
		if pc.Name != w.name || pc.Capacity != w.capacity || pc.WaitTimeout != w.wait || pc.MaxWaiters != w.waiters {
			t.Errorf("pool %d = %+v, want %+v", i, pc, w)
		}
		if pc.IdleTimeout != 30*time.Minute || pc.MaxLifetime != time.Hour || pc.WatchdogInterval != 100*time.Millisecond {
			t.Errorf("pool %s timings = %+v", pc.Name, pc)
		}
		if err := pc.Validate(); err != nil {
			t.Errorf("pool %s: %v", pc.Name, err)
		}
	}
}
