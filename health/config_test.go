package health

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr []string // substrings, all expected; none means valid
	}{
		{name: "defaults", mutate: func(*Config) {}},
		{name: "heartbeat off ignores its interval", mutate: func(c *Config) {
			c.HeartbeatEnable, c.HeartbeatInterval = false, 0
		}},
		{name: "zero dwell", mutate: func(c *Config) { c.MinDwell = 0 }},
		{name: "zero interval", mutate: func(c *Config) { c.Interval = 0 },
			wantErr: []string{"--health_check_interval must be positive, got 0s"}},
		{name: "negative dwell", mutate: func(c *Config) { c.MinDwell = -time.Second },
			wantErr: []string{"--health-min-dwell must not be negative, got -1s"}},
		{name: "thresholds inverted", mutate: func(c *Config) { c.UnhealthyThreshold = 10 * time.Second },
			wantErr: []string{"--unhealthy_threshold=10s must be longer than --degraded_threshold=30s"}},
		{name: "degraded under heartbeat interval", mutate: func(c *Config) { c.HeartbeatInterval = time.Minute },
			wantErr: []string{"--degraded_threshold=30s must be longer than --heartbeat_interval=1m0s"}},
		{name: "heartbeat interval zero", mutate: func(c *Config) { c.HeartbeatInterval = 0 },
			wantErr: []string{"--heartbeat_interval must be positive"}},
		{name: "no buffer", mutate: func(c *Config) { c.SubscriberBuffer = 0 },
			wantErr: []string{"--stream_health_buffer_size must be at least 1, got 0"}},
		{name: "every error at once", mutate: func(c *Config) {
			c.ProbeTimeout, c.RecheckDelay, c.DegradedThreshold = 0, -1, 0
		}, wantErr: []string{"--health-probe-timeout", "--health-recheck-delay", "--degraded_threshold must be positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}
