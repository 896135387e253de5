package health

import (
	"testing"
	"time"
)

func TestHysteresis(t *testing.T) {
	h := func(ms int) step { return step{ms, verdict{state: Healthy}, Healthy, false} }
	type seq = []step
	lag := verdict{Degraded, ReasonLagOverThreshold, "lag"}
	io := verdict{Degraded, ReasonReplicationIOConnecting, "io"}
	sql := verdict{Unhealthy, ReasonReplicationSQLStopped, "sql"}
	down := verdict{NotServing, ReasonMySQLUnreachable, "down"}
	tests := []struct {
		name     string
		minDwell time.Duration
		steps    seq
	}{
		{name: "first verdict published at once", minDwell: time.Hour, steps: seq{
			{0, sql, Unhealthy, false},
		}},
		{name: "single bad check does not flip", minDwell: 100 * time.Millisecond, steps: seq{
			h(0), {10, sql, Healthy, true}, h(20), h(30),
		}},
		{name: "two consecutive bad checks flip", minDwell: 100 * time.Millisecond, steps: seq{
			h(0), {10, sql, Healthy, true}, {15, sql, Unhealthy, false},
		}},
		{name: "bad checks apart do not flip", minDwell: 100 * time.Millisecond, steps: seq{
			h(0), {10, down, Healthy, true}, h(20), {30, down, Healthy, true}, h(40),
		}},
		{name: "the better of two worse checks is published", minDwell: 100 * time.Millisecond, steps: seq{
			h(0), {10, down, Healthy, true}, {15, lag, Degraded, false},
		}},
		{name: "worse again from degraded", minDwell: 100 * time.Millisecond, steps: seq{
			h(0), {10, lag, Healthy, true}, {15, lag, Degraded, false}, {20, down, Degraded, true}, {25, down, NotServing, false},
		}},
		{name: "better only after the dwell", minDwell: 100 * time.Millisecond, steps: seq{
			{0, sql, Unhealthy, false},
			{10, verdict{state: Healthy}, Unhealthy, false},
			{50, verdict{state: Healthy}, Unhealthy, false},
			{109, verdict{state: Healthy}, Unhealthy, false},
			{110, verdict{state: Healthy}, Healthy, false},
		}},
		{name: "a bad check restarts the dwell", minDwell: 100 * time.Millisecond, steps: seq{
			{0, sql, Unhealthy, false},
			{10, verdict{state: Healthy}, Unhealthy, false},
			{50, sql, Unhealthy, false},
			{60, verdict{state: Healthy}, Unhealthy, false},
			{115, verdict{state: Healthy}, Unhealthy, false},
			{160, verdict{state: Healthy}, Healthy, false},
		}},
		{name: "the worst state of the dwell is published", minDwell: 100 * time.Millisecond, steps: seq{
			{0, down, NotServing, false},
			{10, lag, NotServing, false},
			{20, verdict{state: Healthy}, NotServing, false},
			{110, verdict{state: Healthy}, Degraded, false},
			{119, verdict{state: Healthy}, Degraded, false},
			{120, verdict{state: Healthy}, Healthy, false},
		}},
		{name: "zero dwell publishes better at once", minDwell: 0, steps: seq{
			{0, down, NotServing, false}, {1, verdict{state: Healthy}, Healthy, false},
		}},
		{name: "a new reason at the same state is published at once", minDwell: time.Hour, steps: seq{
			{0, lag, Degraded, false}, {1, io, Degraded, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hy := hysteresis{minDwell: tt.minDwell}
			base := time.Unix(1700000000, 0)
			for i, s := range tt.steps {
				got, pending := hy.observe(base.Add(time.Duration(s.ms)*time.Millisecond), s.v)
				if got.state != s.want || pending != s.pending {
					t.Fatalf("step %d (t=%dms, %s %s): published %s pending %t, want %s pending %t",
						i, s.ms, s.v.state, s.v.reason, got.state, pending, s.want, s.pending)
				}
				if got.state == s.v.state && got != s.v {
					t.Fatalf("step %d: published %+v, want the newest verdict %+v", i, got, s.v)
				}
			}
			if n := len(hy.samples); n > len(tt.steps) || n < 1 {
				t.Errorf("kept %d samples", n)
			}
		})
	}
}

// step is one check in a hysteresis sequence: at ms, verdict v is seen;
// want is the state to publish and pending whether a recheck is due.
type step struct {
	ms      int
	v       verdict
	want    State
	pending bool
}

func TestHysteresisTrimsAndResets(t *testing.T) {
	hy := hysteresis{minDwell: 50 * time.Millisecond}
	base := time.Unix(1700000000, 0)
	for i := range 1000 {
		hy.observe(base.Add(time.Duration(i)*10*time.Millisecond), verdict{state: Healthy})
	}
	// Samples within the dwell, plus the one anchoring it.
	if n := len(hy.samples); n != 6 {
		t.Errorf("kept %d samples over a 50ms dwell at 10ms checks, want 6", n)
	}
	hy.reset()
	if got, _ := hy.observe(base.Add(time.Hour), verdict{NotServing, ReasonMySQLUnreachable, "x"}); got.state != NotServing {
		t.Errorf("first verdict after reset published %s, want NOT_SERVING", got.state)
	}
}
