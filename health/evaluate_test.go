package health

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/mysqld"
)

func testConfig() Config {
	c := DefaultConfig()
	c.DegradedThreshold = 10 * time.Second
	c.UnhealthyThreshold = time.Minute
	return c
}

func running() *mysqld.ReplicationStatus {
	zero := int64(0)
	return &mysqld.ReplicationStatus{IOState: mysqld.IORunning, SQLRunning: true, SecondsBehind: &zero,
		SourceHost: "10.0.0.1", SourcePort: 3306}
}

func withStatus(f func(*mysqld.ReplicationStatus)) *mysqld.ReplicationStatus {
	st := running()
	f(st)
	return st
}

func TestEvaluate(t *testing.T) {
	at := time.Unix(1700000000, 0)
	tests := []struct {
		name       string
		primary    bool
		obs        Observation
		lag        lagFigure
		state      State
		reason     Reason
		msgContain string
	}{
		{name: "primary reachable", primary: true, obs: Observation{}, state: Healthy},
		{name: "primary unreachable", primary: true, obs: Observation{Unreachable: errors.New("connection refused")},
			state: NotServing, reason: ReasonMySQLUnreachable, msgContain: "connection refused"},
		{name: "primary ignores replication", primary: true, obs: Observation{Replication: withStatus(func(s *mysqld.ReplicationStatus) {
			s.SQLRunning = false
		})}, state: Healthy},
		{name: "replica unreachable", obs: Observation{Unreachable: errors.New("timeout")},
			state: NotServing, reason: ReasonMySQLUnreachable},
		{name: "replica not configured", obs: Observation{},
			state: NotServing, reason: ReasonNotConfigured, msgContain: "replication is not configured"},
		{name: "status unreadable", obs: Observation{ReplicationErr: errors.New("denied")},
			state: Unhealthy, reason: ReasonCheckFailed, msgContain: "denied"},
		{name: "both threads stopped", obs: Observation{Replication: withStatus(func(s *mysqld.ReplicationStatus) {
			s.SQLRunning, s.IOState = false, mysqld.IOStopped
		})}, lag: lagFigure{time.Second, LagFromHeartbeat}, state: Unhealthy, reason: ReasonReplicationStopped},
		{name: "sql stopped with error", obs: Observation{Replication: withStatus(func(s *mysqld.ReplicationStatus) {
			s.SQLRunning, s.LastSQLErrno, s.LastSQLError = false, 1062, "Duplicate entry"
		})}, lag: lagFigure{time.Second, LagFromHeartbeat}, state: Unhealthy, reason: ReasonReplicationSQLStopped,
			msgContain: "SQL thread is stopped; last SQL error 1062: Duplicate entry"},
		{name: "io stopped", obs: Observation{Replication: withStatus(func(s *mysqld.ReplicationStatus) {
			s.IOState, s.LastIOErrno, s.LastIOError = mysqld.IOStopped, 1236, "binlog purged"
		})}, state: Unhealthy, reason: ReasonReplicationIOStopped, msgContain: "last IO error 1236: binlog purged"},
		{name: "lag over unhealthy", obs: Observation{Replication: running()},
			lag: lagFigure{61 * time.Second, LagFromHeartbeat}, state: Unhealthy, reason: ReasonLagOverThreshold,
			msgContain: "replication lag 1m1s (heartbeat) is over the unhealthy threshold 1m0s"},
		{name: "lag over degraded", obs: Observation{Replication: running()},
			lag: lagFigure{10*time.Second + time.Millisecond, LagFromServer}, state: Degraded, reason: ReasonLagOverThreshold,
			msgContain: "(seconds_behind_master) is over the degraded threshold 10s"},
		{name: "lag at degraded threshold is healthy", obs: Observation{Replication: running()},
			lag: lagFigure{10 * time.Second, LagFromHeartbeat}, state: Healthy},
		{name: "io connecting", obs: Observation{Replication: withStatus(func(s *mysqld.ReplicationStatus) {
			s.IOState = mysqld.IOConnecting
		})}, lag: lagFigure{time.Second, LagEstimated}, state: Degraded, reason: ReasonReplicationIOConnecting,
			msgContain: "not connected to its primary 10.0.0.1:3306"},
		{name: "io connecting and lag unhealthy", obs: Observation{Replication: withStatus(func(s *mysqld.ReplicationStatus) {
			s.IOState = mysqld.IOConnecting
		})}, lag: lagFigure{2 * time.Minute, LagFromHeartbeat}, state: Unhealthy, reason: ReasonLagOverThreshold},
		{name: "lag unknown", obs: Observation{Replication: running()}, state: Degraded, reason: ReasonLagUnknown},
		{name: "healthy replica", obs: Observation{Replication: running()},
			lag: lagFigure{200 * time.Millisecond, LagFromHeartbeat}, state: Healthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.obs.At = at
			v := evaluate(testConfig(), tt.primary, tt.obs, tt.lag)
			if v.state != tt.state || v.reason != tt.reason {
				t.Fatalf("evaluate = %s %q (%s), want %s %q", v.state, v.reason, v.message, tt.state, tt.reason)
			}
			if (v.state == Healthy) != (v.message == "") {
				t.Errorf("message %q for state %s: want one exactly when not healthy", v.message, v.state)
			}
			if !strings.Contains(v.message, tt.msgContain) {
				t.Errorf("message %q, want it to contain %q", v.message, tt.msgContain)
			}
		})
	}
}

func TestLagTracker(t *testing.T) {
	at := time.Unix(1700000000, 0)
	sbm := func(n int64) *mysqld.ReplicationStatus {
		return withStatus(func(s *mysqld.ReplicationStatus) { s.SecondsBehind = &n })
	}
	stopped := withStatus(func(s *mysqld.ReplicationStatus) { s.SQLRunning, s.SecondsBehind = false, nil })
	var lt lagTracker
	steps := []struct {
		name string
		obs  Observation
		want lagFigure
	}{
		{"nothing known", Observation{At: at, Replication: stopped}, lagFigure{}},
		{"server figure", Observation{At: at, Replication: sbm(7)}, lagFigure{7 * time.Second, LagFromServer}},
		{"heartbeat wins", Observation{At: at.Add(time.Second), Replication: sbm(7), Heartbeat: at.Add(-1500 * time.Millisecond)},
			lagFigure{2500 * time.Millisecond, LagFromHeartbeat}},
		{"estimated while stopped", Observation{At: at.Add(4 * time.Second), Replication: stopped},
			lagFigure{5500 * time.Millisecond, LagEstimated}},
		{"heartbeat from the future is no lag", Observation{At: at, Replication: running(), Heartbeat: at.Add(time.Second)},
			lagFigure{0, LagFromHeartbeat}},
	}
	for _, s := range steps {
		if got := lt.figure(s.obs); got != s.want {
			t.Errorf("%s: figure = %+v, want %+v", s.name, got, s.want)
		}
	}
	lt.reset()
	if got := lt.figure(Observation{At: at, Replication: stopped}); got.known() {
		t.Errorf("after reset: figure = %+v, want unknown", got)
	}
}
