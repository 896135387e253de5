package queryserver

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string // substring of the error; empty for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"zero timeouts disable", func(c *Config) { c.QueryTimeout, c.TransactionTimeout = 0, 0 }, ""},
		{"negative query timeout", func(c *Config) { c.QueryTimeout = -time.Second }, "--queryserver-config-query-timeout"},
		{"negative tx timeout", func(c *Config) { c.TransactionTimeout = -1 }, "--queryserver-config-transaction-timeout"},
		{"zero max rows", func(c *Config) { c.MaxResultRows = 0 }, "--queryserver-config-max-result-size must be at least 1, got 0"},
		{"zero stream buffer", func(c *Config) { c.StreamBufferSize = 0 }, "--queryserver-config-stream-buffer-size"},
		{"zero plan cache", func(c *Config) { c.PlanCacheCapacity = 0 }, "--queryserver-config-query-cache-size"},
		{"bad consolidator", func(c *Config) { c.Consolidator = "sometimes" }, `--consolidator must be enable, disable or replicas-only, got "sometimes"`},
		{"negative waiter cap", func(c *Config) { c.ConsolidatorMaxWaiters = -1 }, "--consolidator-query-waiter-cap"},
		{"negative result bytes", func(c *Config) { c.ConsolidatorMaxResultBytes = -1 }, "--consolidator-max-result-bytes"},
		{"zero kill delay", func(c *Config) { c.KillEscalationDelay = 0 }, "--queryserver-kill-escalation-delay must be positive"},
		{"zero label limit", func(c *Config) { c.StatsLabelLimit = 0 }, "--queryserver-stats-label-limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestConsolidatorMode(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want ConsolidatorMode
		ok   bool
	}{
		{"enable", ConsolidatorEnable, true},
		{"disable", ConsolidatorDisable, true},
		{"replicas-only", ConsolidatorReplicasOnly, true},
		{"notOnPrimary", ConsolidatorReplicasOnly, true},
		{"true", "", false},
	} {
		var m ConsolidatorMode
		err := m.Set(tt.in)
		if (err == nil) != tt.ok || tt.ok && m != tt.want {
			t.Errorf("Set(%q) = %v, %v; want %v ok=%v", tt.in, m, err, tt.want, tt.ok)
		}
	}
	for _, tt := range []struct {
		enable, replicas bool
		want             ConsolidatorMode
	}{
		{true, false, ConsolidatorEnable},
		{false, false, ConsolidatorDisable},
		{true, true, ConsolidatorReplicasOnly},
		{false, true, ConsolidatorReplicasOnly},
	} {
		if got := ConsolidatorModeFromFlags(tt.enable, tt.replicas); got != tt.want {
			t.Errorf("FromFlags(%v, %v) = %v, want %v", tt.enable, tt.replicas, got, tt.want)
		}
	}
}

func TestKillerInterval(t *testing.T) {
	for _, tt := range []struct {
		tx, explicit, want time.Duration
	}{
		{30 * time.Second, 0, time.Second},
		{time.Second, 0, 100 * time.Millisecond},
		{50 * time.Millisecond, 0, 10 * time.Millisecond},
		{time.Second, 5 * time.Millisecond, 5 * time.Millisecond},
	} {
		c := DefaultConfig()
		c.TransactionTimeout, c.TransactionKillerInterval = tt.tx, tt.explicit
		if got := c.killerInterval(); got != tt.want {
			t.Errorf("tx %v explicit %v: %v, want %v", tt.tx, tt.explicit, got, tt.want)
		}
	}
}
