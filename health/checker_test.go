package health

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
)

// fakeProber hands each Probe call to the test, which answers it with an
// observation: the test decides what every check sees and when it happens.
type fakeProber struct {
	calls chan probeCall
}

// probeCall is one Probe waiting for the test's answer.
type probeCall struct {
	replica bool
	reply   chan Observation
}

func newFakeProber() *fakeProber { return &fakeProber{calls: make(chan probeCall)} }

func (f *fakeProber) Probe(ctx context.Context, replica bool) Observation {
	call := probeCall{replica: replica, reply: make(chan Observation, 1)}
	select {
	case f.calls <- call:
	case <-ctx.Done():
		return Observation{Unreachable: ctx.Err()}
	}
	select {
	case o := <-call.reply:
		return o
	case <-ctx.Done():
		return Observation{Unreachable: ctx.Err()}
	}
}

// waitLimit bounds every wait in these tests: far longer than anything
// should take, so reaching it means a bug.
const waitLimit = 5 * time.Second

// harness runs a Checker against a fakeProber and follows it through one
// subscription.
type harness struct {
	t    *testing.T
	c    *Checker
	p    *fakeProber
	vars *debugvars.Registry
	sub  *Subscription
	base time.Time
	// primary is the role of the last setTablet: a probe for the other
	// role started before it, and the checker discards its result.
	primary bool
}

// newHarness builds a checker whose pace the fake sets: checks follow each
// other at once (Interval 1ms) and wait for the test's observation.
func newHarness(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Interval = time.Millisecond
	cfg.RecheckDelay = time.Millisecond
	cfg.ProbeTimeout = time.Minute
	cfg.MinDwell = 100 * time.Millisecond
	cfg.DegradedThreshold = 10 * time.Second
	cfg.UnhealthyThreshold = time.Minute
	if mutate != nil {
		mutate(&cfg)
	}
	h := &harness{t: t, p: newFakeProber(), vars: debugvars.New(), base: time.Unix(1700000000, 0)}
	h.c = New(cfg, h.p, h.vars, slog.New(slog.NewTextHandler(t.Output(), nil)))
	t.Cleanup(h.c.Close)
	return h
}

// start sets the tablet, subscribes, opens the checker and returns the
// status the subscription delivered at once.
func (h *harness) start(tab Tablet) Status {
	h.t.Helper()
	h.c.SetTablet(tab)
	h.primary = tab.IsPrimary()
	h.sub = h.c.Subscribe()
	st := h.next()
	h.c.Open()
	return st
}

// setTablet calls SetTablet and returns the status it published.
func (h *harness) setTablet(tab Tablet) Status {
	h.t.Helper()
	h.c.SetTablet(tab)
	h.primary = tab.IsPrimary()
	return h.next()
}

// check makes the next check see obs at base+ms and returns the status
// published after it.
func (h *harness) check(ms int, obs Observation) Status {
	h.t.Helper()
	obs.At = h.base.Add(time.Duration(ms) * time.Millisecond)
	timeout := time.After(waitLimit)
	for {
		select {
		case call := <-h.p.calls:
			if call.replica == h.primary {
				call.reply <- Observation{} // stale: started before the role changed
				continue
			}
			call.reply <- obs
			return h.next()
		case <-timeout:
			h.t.Fatalf("the checker did not check within %v", waitLimit)
		}
	}
}

// next returns the subscription's next update.
func (h *harness) next() Status {
	h.t.Helper()
	select {
	case st, ok := <-h.sub.Updates():
		if !ok {
			h.t.Fatalf("subscription closed: %v", h.sub.Err())
		}
		return st
	case <-time.After(waitLimit):
		h.t.Fatalf("no update within %v", waitLimit)
	}
	return Status{}
}

func (h *harness) expect(st Status, state State, reason Reason) {
	h.t.Helper()
	if st.State != state || st.Reason != reason || st.Serving != state.Serving() {
		h.t.Fatalf("status %s %q serving=%t (%s), want %s %q", st.State, st.Reason, st.Serving, st.Message, state, reason)
	}
}

// Observations a replica's check may see.
func healthyObs(lag time.Duration) Observation {
	return Observation{Replication: running(), Heartbeat: time.Unix(1700000000, 0).Add(-lag)}
}

func heartbeatObs(ms int, lag time.Duration) Observation {
	at := time.Unix(1700000000, 0).Add(time.Duration(ms) * time.Millisecond)
	return Observation{Replication: running(), Heartbeat: at.Add(-lag)}
}

func sqlStoppedObs() Observation {
	return Observation{Replication: withStatus(func(s *mysqld.ReplicationStatus) {
		s.SQLRunning, s.SecondsBehind, s.LastSQLError = false, nil, "stopped by the operator"
	})}
}

func unreachableObs() Observation {
	return Observation{Unreachable: errors.New("dial unix /tmp/mysql.sock: connect: no such file or directory")}
}

func TestCheckerFirstCheckPublishedAtOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.expect(h.start(Tablet{Type: "replica"}), NotServing, ReasonStarting)
	st := h.check(0, healthyObs(300*time.Millisecond))
	h.expect(st, Healthy, ReasonNone)
	if st.Message != "" || st.Realtime.HealthError != "" || st.LagSource != LagFromHeartbeat ||
		st.Realtime.ReplicationLag != 300*time.Millisecond || st.TabletType != TypeReplica || st.IsPrimary {
		t.Errorf("healthy replica status = %+v", st)
	}
	if got := h.c.Status(); got.State != Healthy || got.CheckedAt != h.base {
		t.Errorf("Status() = %+v", got)
	}
}

func TestCheckerSingleBadCheckDoesNotFlip(t *testing.T) {
	h := newHarness(t, nil)
	h.start(Tablet{Type: TypeReplica})
	h.expect(h.check(0, healthyObs(0)), Healthy, ReasonNone)
	for i, obs := range []Observation{unreachableObs(), sqlStoppedObs(), heartbeatObs(30, 2*time.Hour)} {
		h.expect(h.check(10+20*i, obs), Healthy, ReasonNone)
		h.expect(h.check(20+20*i, healthyObs(0)), Healthy, ReasonNone)
	}
	if counts := h.c.transitions.Counts(); len(counts) != 1 || counts["NOT_SERVING.HEALTHY.NONE"] != 1 {
		t.Errorf("transitions = %v, want only the first check's", counts)
	}
}

func TestCheckerReplicationStoppedAndRestored(t *testing.T) {
	h := newHarness(t, nil)
	h.start(Tablet{Type: TypeReplica})
	h.check(0, healthyObs(0))
	h.expect(h.check(10, sqlStoppedObs()), Healthy, ReasonNone)
	st := h.check(11, sqlStoppedObs())
	h.expect(st, Unhealthy, ReasonReplicationSQLStopped)
	if !strings.HasPrefix(st.Realtime.HealthError, "REPLICATION_SQL_STOPPED: the replication SQL thread is stopped") ||
		!strings.Contains(st.Message, "stopped by the operator") || st.Since != h.base.Add(11*time.Millisecond) {
		t.Errorf("SQL stopped status = %+v", st)
	}
	// Replication runs again: the tablet stays out until it has run for
	// the whole dwell (100ms).
	h.expect(h.check(20, healthyObs(0)), Unhealthy, ReasonReplicationSQLStopped)
	h.expect(h.check(119, healthyObs(0)), Unhealthy, ReasonReplicationSQLStopped)
	h.expect(h.check(120, healthyObs(0)), Healthy, ReasonNone)

	want := map[string]int64{
		"NOT_SERVING.HEALTHY.NONE":                  1,
		"HEALTHY.UNHEALTHY.REPLICATION_SQL_STOPPED": 1,
		"UNHEALTHY.HEALTHY.NONE":                    1,
	}
	if got := h.c.transitions.Counts(); !equalCounts(got, want) {
		t.Errorf("transitions = %v, want %v", got, want)
	}
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestCheckerLagThresholds(t *testing.T) {
	h := newHarness(t, nil)
	h.start(Tablet{Type: TypeReplica})
	h.expect(h.check(0, heartbeatObs(0, time.Second)), Healthy, ReasonNone)
	h.check(10, heartbeatObs(10, 11*time.Second))
	st := h.check(20, heartbeatObs(20, 12*time.Second))
	h.expect(st, Degraded, ReasonLagOverThreshold)
	if st.Realtime.HealthError != "" || st.Realtime.ReplicationLagSeconds != 12 ||
		!strings.Contains(st.Message, "replication lag 12s (heartbeat) is over the degraded threshold 10s") {
		t.Errorf("degraded status = %+v", st)
	}
	h.check(30, heartbeatObs(30, 61*time.Second))
	st = h.check(40, heartbeatObs(40, 62*time.Second))
	h.expect(st, Unhealthy, ReasonLagOverThreshold)
	if st.Realtime.ReplicationLag != 62*time.Second || st.Realtime.HealthError == "" {
		t.Errorf("unhealthy status = %+v", st)
	}
	// Caught up: back to serving after the dwell, through degraded if the
	// dwell saw it.
	h.expect(h.check(50, heartbeatObs(50, 15*time.Second)), Unhealthy, ReasonLagOverThreshold)
	h.expect(h.check(60, heartbeatObs(60, 100*time.Millisecond)), Unhealthy, ReasonLagOverThreshold)
	h.expect(h.check(150, heartbeatObs(150, 100*time.Millisecond)), Degraded, ReasonLagOverThreshold)
	h.expect(h.check(160, heartbeatObs(160, 100*time.Millisecond)), Healthy, ReasonNone)
}

func TestCheckerUnknownAndEstimatedLag(t *testing.T) {
	h := newHarness(t, nil)
	h.start(Tablet{Type: TypeReplica})
	noFigure := Observation{Replication: withStatus(func(s *mysqld.ReplicationStatus) { s.SecondsBehind = nil })}
	h.expect(h.check(0, noFigure), Degraded, ReasonLagUnknown)
	sbm := int64(3)
	st := h.check(10, Observation{Replication: withStatus(func(s *mysqld.ReplicationStatus) { s.SecondsBehind = &sbm })})
	if st.LagSource != LagFromServer || st.Realtime.ReplicationLag != 3*time.Second {
		t.Errorf("lag from the server: %+v", st)
	}
	st = h.check(2010, sqlStoppedObs())
	if st.LagSource != LagEstimated || st.Realtime.ReplicationLag != 5*time.Second {
		t.Errorf("estimated lag: source %q lag %v, want estimated 5s", st.LagSource, st.Realtime.ReplicationLag)
	}
}

func TestCheckerRechecksQuickly(t *testing.T) {
	// With an interval of an hour, only the quick recheck of a worse check
	// lets the test's next observation in.
	h := newHarness(t, func(c *Config) { c.Interval = time.Hour })
	h.start(Tablet{Type: TypeReplica})
	h.check(0, healthyObs(0))
	h.setTablet(Tablet{Type: TypeReplica}) // asks for a check now
	h.expect(h.check(1, unreachableObs()), Healthy, ReasonNone)
	h.expect(h.check(2, unreachableObs()), NotServing, ReasonMySQLUnreachable)
}

func TestCheckerTabletTypes(t *testing.T) {
	h := newHarness(t, nil)
	h.start(Tablet{Type: TypeReplica})
	h.check(0, healthyObs(0))

	h.expect(h.setTablet(Tablet{Type: TypeRestore}), NotServing, ReasonRestoring) // at once, without a check
	h.expect(h.check(10, unreachableObs()), NotServing, ReasonRestoring)
	if st := h.setTablet(Tablet{Type: TypeRestore, RestoreError: "checksum mismatch in x"}); st.Reason != ReasonRestoreFailed ||
		!strings.Contains(st.Message, "restore from backup failed: checksum mismatch in x") || st.Serving {
		t.Errorf("failed restore: %+v", st)
	}
	h.expect(h.setTablet(Tablet{Type: "drained"}), NotServing, ReasonNotServingType)
	if st := h.setTablet(Tablet{Type: "warm"}); st.Reason != ReasonNotServingType || !strings.Contains(st.Message, `unknown tablet type "WARM"`) {
		t.Errorf("unknown type: %+v", st)
	}

	// A replica with broken replication becomes the primary: replication no
	// longer matters, and the first check as primary is published as is.
	h.setTablet(Tablet{Type: TypeReplica})
	h.check(20, sqlStoppedObs())
	h.expect(h.check(21, sqlStoppedObs()), Unhealthy, ReasonReplicationSQLStopped)
	term := time.Unix(1700000100, 0)
	st := h.setTablet(Tablet{Type: "MASTER", PrimaryTermStart: term})
	if !st.IsPrimary || st.TabletType != TypePrimary || !st.PrimaryTermStart.Equal(term) {
		t.Errorf("primary status = %+v", st)
	}
	st = h.check(22, Observation{})
	h.expect(st, Healthy, ReasonNone)
	if st.LagSource != LagUnknownSource || st.Realtime.ReplicationLag != 0 {
		t.Errorf("a primary reports lag: %+v", st)
	}
	if st := h.setTablet(Tablet{Type: TypeReplica, PrimaryTermStart: term}); st.IsPrimary || !st.PrimaryTermStart.IsZero() {
		t.Errorf("a replica reports a primary term: %+v", st)
	}
}

func TestCheckerLameduck(t *testing.T) {
	h := newHarness(t, nil)
	h.start(Tablet{Type: TypePrimary})
	h.check(0, Observation{})
	h.c.SetLameduck(true)
	h.expect(h.next(), NotServing, ReasonShuttingDown)
	h.expect(h.check(10, Observation{}), NotServing, ReasonShuttingDown)
	h.c.SetLameduck(false)
	h.expect(h.next(), Healthy, ReasonNone)
}

func TestCheckerDropsSlowSubscriber(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SubscriberBuffer = 2 })
	h.start(Tablet{Type: TypePrimary})
	slow := h.c.Subscribe() // holds the current status; one more fits
	h.check(0, Observation{})
	if err := slow.Err(); err != nil {
		t.Fatalf("Err() = %v before the buffer overflowed", err)
	}
	h.check(10, Observation{}) // overflows: dropped without slowing the checker
	h.check(20, Observation{})

	var got []Status
	for st := range slow.Updates() {
		got = append(got, st)
	}
	if len(got) != 2 || got[0].Reason != ReasonStarting || got[1].State != Healthy {
		t.Errorf("the slow subscriber received %d updates: %+v", len(got), got)
	}
	if err := slow.Err(); !errors.Is(err, ErrSlowSubscriber) {
		t.Errorf("Err() = %v, want ErrSlowSubscriber", err)
	}
	if n := h.c.dropped.Get(); n != 1 {
		t.Errorf("dropped = %d, want 1", n)
	}
	slow.Close() // already closed by the checker: no panic
	again := h.c.Subscribe()
	defer again.Close()
	if st := <-again.Updates(); st.State != Healthy {
		t.Errorf("resubscribed: first update %+v, want the current healthy status", st)
	}
}

func TestCheckerClose(t *testing.T) {
	h := newHarness(t, nil)
	h.start(Tablet{Type: TypePrimary})
	h.check(0, Observation{})
	other := h.c.Subscribe()
	other.Close()
	for range other.Updates() {
		// the status it held when closed; then the loop ends
	}
	if err := other.Err(); err != nil {
		t.Errorf("Err() after Close = %v, want nil", err)
	}

	// Close interrupts the check in progress (the fake waits for a feed
	// that never comes).
	h.c.Close()
	h.expect(h.next(), NotServing, ReasonShuttingDown)
	if _, ok := <-h.sub.Updates(); ok || !errors.Is(h.sub.Err(), ErrClosed) {
		t.Errorf("after Close: channel open %t, Err %v; want closed, ErrClosed", ok, h.sub.Err())
	}
	late := h.c.Subscribe()
	if _, ok := <-late.Updates(); ok || !errors.Is(late.Err(), ErrClosed) {
		t.Errorf("Subscribe after Close: open %t, Err %v", ok, late.Err())
	}
	h.c.Close()
	h.c.Open() // no-op
	if st := h.c.Status(); st.Reason != ReasonShuttingDown {
		t.Errorf("Status after Close = %+v", st)
	}
}

func TestCheckerCloseWithoutOpen(t *testing.T) {
	c := New(DefaultConfig(), newFakeProber(), nil, nil)
	c.Close()
	c.Close()
}

func TestCheckerLoad(t *testing.T) {
	h := newHarness(t, nil)
	h.c.SetLoad(func() (float64, float64) { return 1234.5, 0.75 })
	st := h.start(Tablet{Type: TypePrimary})
	if st.Realtime.QPS != 1234.5 || st.Realtime.CPUUsage != 0.75 {
		t.Errorf("realtime = %+v, want the load function's figures", st.Realtime)
	}
	if st := h.check(0, Observation{}); st.Realtime.QPS != 1234.5 {
		t.Errorf("realtime after a check = %+v", st.Realtime)
	}
}

func TestNewPanicsOnBadConfig(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "--health_check_interval") {
			t.Errorf("recover() = %v, want a panic naming the flag", r)
		}
	}()
	cfg := DefaultConfig()
	cfg.Interval = 0
	New(cfg, newFakeProber(), nil, nil)
}

func TestCheckerVariables(t *testing.T) {
	h := newHarness(t, nil)
	h.start(Tablet{Type: TypeReplica})
	h.check(0, healthyObs(1500*time.Millisecond))
	for name, want := range map[string]string{
		"HealthState":          "0",
		"HealthServing":        "1",
		"HealthChecks":         "1",
		"HealthSubscribers":    "1",
		"HealthReplicationLag": "1500000000",
		"HealthTransitions":    `{"NOT_SERVING.HEALTHY.NONE": 1}`,
	} {
		got, ok := h.vars.Get(name)
		if !ok || string(got) != want {
			t.Errorf("%s = %s (found %t), want %s", name, got, ok, want)
		}
	}
}
