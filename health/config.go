package health

import (
	"errors"
	"fmt"
	"time"
)

// Config times the health checker and the heartbeat. Field comments give
// the command-line flag that sets each (vttablet's name where vttablet has
// one), its default and what zero means. Durations are Go durations.
type Config struct {
	// Interval is the time between two health checks. Flag
	// --health_check_interval, default 20s (vttablet). Must be positive.
	Interval time.Duration

	// ProbeTimeout bounds one check of mysqld (connect, replication status,
	// heartbeat). Flag --health-probe-timeout (ours), default 2s: a healthy
	// server answers in milliseconds, and a check that takes longer is
	// itself a sign of trouble. Must be positive.
	ProbeTimeout time.Duration

	// RecheckDelay is how soon a check that finds the tablet worse than its
	// published state is repeated to confirm it; a worse state is published
	// only when two consecutive checks agree, so one slow probe never
	// flaps the tablet. Flag --health-recheck-delay (ours), default 2s; the
	// effective delay is never longer than Interval. Must be positive.
	RecheckDelay time.Duration

	// MinDwell is how long the tablet must look better, on every check,
	// before a better state is published (unhealthy to degraded or
	// healthy, degraded to healthy). Flag --health-min-dwell (ours),
	// default 1m: three default intervals. Zero publishes a better state
	// at the first check that sees it.
	MinDwell time.Duration

	// DegradedThreshold is the replication lag above which a replica is
	// degraded: still serving, reported. Flag --degraded_threshold, default
	// 30s (vttablet). Must be positive, and longer than HeartbeatInterval
	// when heartbeats are on (a caught-up replica shows up to one interval
	// of lag).
	DegradedThreshold time.Duration

	// UnhealthyThreshold is the replication lag above which a replica is
	// unhealthy and stops serving. Flag --unhealthy_threshold, default 2h
	// (vttablet). Must be longer than DegradedThreshold.
	UnhealthyThreshold time.Duration

	// HeartbeatEnable turns on the replication heartbeat: the primary's
	// HeartbeatWriter records the time in _vt.heartbeat every
	// HeartbeatInterval, and replicas measure their lag from it instead of
	// the server's Seconds_Behind_Master. Flag --heartbeat_enable, default
	// true (vttablet defaults to false; Seconds_Behind_Master is whole
	// seconds and reads 0 while the IO thread is stuck, so we measure by
	// default). Every tablet of a shard must agree: a replica that expects
	// heartbeats from a primary that does not write them sees its lag grow
	// without end.
	HeartbeatEnable bool

	// HeartbeatInterval is the time between two heartbeat writes on the
	// primary. Flag --heartbeat_interval, default 1s (vttablet). Must be
	// positive when HeartbeatEnable is set.
	HeartbeatInterval time.Duration

	// SubscriberBuffer is how many updates a subscriber may leave unread
	// before it is dropped (its channel closed, Err ErrSlowSubscriber).
	// Flag --stream_health_buffer_size, default 20 (vttablet). Must be at
	// least 1.
	SubscriberBuffer int
}

// DefaultConfig returns the defaults given with each field.
func DefaultConfig() Config {
	return Config{
		Interval:           20 * time.Second,
		ProbeTimeout:       2 * time.Second,
		RecheckDelay:       2 * time.Second,
		MinDwell:           time.Minute,
		DegradedThreshold:  30 * time.Second,
		UnhealthyThreshold: 2 * time.Hour,
		HeartbeatEnable:    true,
		HeartbeatInterval:  time.Second,
		SubscriberBuffer:   20,
	}
}

// Validate reports every bad value in c, each naming its flag and the
// value. It has no side effects.
func (c Config) Validate() error {
	var errs []error
	positive := func(flag string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("--%s must be positive, got %v", flag, d))
		}
	}
	positive("health_check_interval", c.Interval)
	positive("health-probe-timeout", c.ProbeTimeout)
	positive("health-recheck-delay", c.RecheckDelay)
	positive("degraded_threshold", c.DegradedThreshold)
	if c.MinDwell < 0 {
		errs = append(errs, fmt.Errorf("--health-min-dwell must not be negative, got %v", c.MinDwell))
	}
	if c.UnhealthyThreshold <= c.DegradedThreshold {
		errs = append(errs, fmt.Errorf("--unhealthy_threshold=%v must be longer than --degraded_threshold=%v",
			c.UnhealthyThreshold, c.DegradedThreshold))
	}
	if c.HeartbeatEnable {
		positive("heartbeat_interval", c.HeartbeatInterval)
		if c.HeartbeatInterval > 0 && c.DegradedThreshold > 0 && c.DegradedThreshold <= c.HeartbeatInterval {
			errs = append(errs, fmt.Errorf("--degraded_threshold=%v must be longer than --heartbeat_interval=%v: "+
				"a caught-up replica shows up to one heartbeat interval of lag", c.DegradedThreshold, c.HeartbeatInterval))
		}
	}
	if c.SubscriberBuffer < 1 {
		errs = append(errs, fmt.Errorf("--stream_health_buffer_size must be at least 1, got %d", c.SubscriberBuffer))
	}
	return errors.Join(errs...)
}

// recheckDelay is RecheckDelay, at most Interval.
func (c Config) recheckDelay() time.Duration { return min(c.RecheckDelay, c.Interval) }
