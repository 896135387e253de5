package orc_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/orc"
	"github.com/tabletd/tablet/orc/orctest"
	"github.com/tabletd/tablet/proto/topodatapb"
)

// TestDiscoverAtStartAndEveryInterval: Run discovers at once, then again
// one interval later.
func TestDiscoverAtStartAndEveryInterval(t *testing.T) {
	eachEnv(t, func(t *testing.T, newEnv func(envOptions) *env) {
		e := newEnv(envOptions{})
		cfg := e.config()
		cfg.DiscoverInterval = 300 * time.Millisecond
		began := time.Now()
		r := start(t, cfg, e.tablet)
		calls := e.srv.WaitFor(t, waitLong, "two successful discoveries", func(calls []orctest.Call) bool {
			return len(orctest.OKCalls(calls, "discover")) >= 2
		})
		ok := orctest.OKCalls(calls, "discover")
		first, gap := ok[0].Time.Sub(began), ok[1].Time.Sub(ok[0].Time)
		t.Logf("first discovery %v after Run started; second %v later (interval %v)",
			first.Round(time.Millisecond), gap.Round(time.Millisecond), cfg.DiscoverInterval)
		if gap < cfg.DiscoverInterval {
			t.Errorf("second discovery %v after the first, want at least the interval %v", gap, cfg.DiscoverInterval)
		}
		if ok[0].Host() != e.tablet.Host || ok[0].Port() != e.tablet.Port {
			t.Errorf("discovered %s:%d, want %s:%d", ok[0].Host(), ok[0].Port(), e.tablet.Host, e.tablet.Port)
		}
		select {
		case <-r.Registered():
		default:
			t.Error("Registered() not closed after a successful discovery")
		}
		st := r.Status()
		if !st.Registered || st.LastError != nil || st.DiscoveryFailures != 0 || st.NextDiscovery.IsZero() {
			t.Errorf("Status = %+v, want registered with a next discovery planned", st)
		}
		if v := r.variable(t, "OrcDiscoveries"); !strings.Contains(v, `"error": 0`) || strings.Contains(v, `"ok": 0`) {
			t.Errorf("OrcDiscoveries = %s, want ok counted and no error", v)
		}
		if v := r.variable(t, "OrcRegistered"); v != "1" {
			t.Errorf("OrcRegistered = %s, want 1", v)
		}
	})
}

// TestDiscoverIntervalZeroIsNever: vttablet's default turns
// self-registration off; maintenance still works.
func TestDiscoverIntervalZeroIsNever(t *testing.T) {
	e := newFakeEnv(t, envOptions{})
	cfg := e.config()
	cfg.DiscoverInterval = 0
	r := start(t, cfg, e.tablet)
	ran := false
	if err := r.WithMaintenance(context.Background(), "backup", func(context.Context) error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("WithMaintenance = %v, ran %v", err, ran)
	}
	if n := len(orctest.OKCalls(e.srv.Calls(), "begin-maintenance")); n != 1 {
		t.Errorf("begin-maintenance calls = %d, want 1", n)
	}
	r.Rediscover()
	r.stop(t)
	if calls := e.srv.CallsTo("discover"); len(calls) != 0 {
		t.Errorf("discover calls with interval 0:\n%s", orctest.FormatCalls(calls))
	}
}

// TestDiscoverBackoffGrowsAndCaps: while Orchestrator answers 500, the
// waits between attempts double from BackoffMin up to BackoffMax and stay
// there; when it answers again, the tablet registers.
func TestDiscoverBackoffGrowsAndCaps(t *testing.T) {
	e := newFakeEnv(t, envOptions{})
	e.srv.SetFault("discover", orctest.HTTP500)
	cfg := e.config()
	cfg.DiscoverInterval = time.Minute
	cfg.BackoffMin, cfg.BackoffMax = 25*time.Millisecond, 200*time.Millisecond
	r := start(t, cfg, e.tablet)
	const attempts = 9
	calls := e.srv.WaitFor(t, waitLong, "failed discoveries", func(calls []orctest.Call) bool {
		return len(orctest.Failed(calls, "discover")) >= attempts
	})
	failed := orctest.Failed(calls, "discover")[:attempts]
	got := gaps(failed)
	ms := time.Millisecond
	planned := []time.Duration{25 * ms, 50 * ms, 100 * ms, 200 * ms, 200 * ms, 200 * ms, 200 * ms, 200 * ms} // doubling, then capped
	t.Logf("waits between failed attempts: %v (planned %v)", roundAll(got), planned)
	for i, g := range got {
		p := planned[i]
		if g < p {
			t.Errorf("wait %d = %v, want at least the backoff %v", i+1, g, p)
		}
		// Uncapped, the eighth wait would be 3.2s; capped it is 200ms.
		// The bound leaves room for a loaded machine.
		if i >= 3 && g > 1500*time.Millisecond {
			t.Errorf("wait %d = %v, want it capped near %v", i+1, g, cfg.BackoffMax)
		}
	}
	waitUntil(t, e.srv, "Status to count the failures", func() bool { return r.Status().DiscoveryFailures >= attempts })
	st := r.Status()
	if st.Registered || st.LastError == nil {
		t.Errorf("Status during the outage = %+v, want unregistered with %d+ failures", st, attempts)
	}
	if v := r.variable(t, "OrcDiscoveryFailures"); v == "0" {
		t.Errorf("OrcDiscoveryFailures = %s during the outage", v)
	}

	e.srv.ClearFaults()
	e.srv.WaitFor(t, waitLong, "registration after the outage", func(calls []orctest.Call) bool {
		return len(orctest.OKCalls(calls, "discover")) >= 1
	})
	waitUntil(t, e.srv, "Status registered", func() bool { return r.Status().Registered })
	if st := r.Status(); st.DiscoveryFailures != 0 || st.LastError != nil {
		t.Errorf("Status after recovery = %+v", st)
	}
}

// TestOutageNeverBlocksAndRecovers: with Orchestrator down (stopped, on the
// same address) the loop keeps retrying, the caller is never blocked, and
// the tablet registers again when Orchestrator comes back.
func TestOutageNeverBlocksAndRecovers(t *testing.T) {
	eachEnv(t, func(t *testing.T, newEnv func(envOptions) *env) {
		e := newEnv(envOptions{})
		cfg := e.config()
		cfg.DiscoverInterval = 200 * time.Millisecond
		r := start(t, cfg, e.tablet)
		e.srv.WaitFor(t, waitLong, "first registration", func(calls []orctest.Call) bool {
			return len(orctest.OKCalls(calls, "discover")) >= 1
		})

		e.srv.Stop()
		// The server cannot record refused connections: read the waits
		// the Registrar chose after each failure.
		planned := map[int]time.Duration{}
		waitUntil(t, e.srv, "six failed discoveries", func() bool {
			st := r.Status()
			if st.DiscoveryFailures > 0 {
				planned[st.DiscoveryFailures] = st.NextDiscovery.Sub(st.LastAttempt)
			}
			return st.DiscoveryFailures >= 6
		})
		var seen []time.Duration
		for n := 1; n <= 6; n++ {
			if d, ok := planned[n]; ok {
				seen = append(seen, d)
				if want := min(cfg.BackoffMin<<(n-1), cfg.BackoffMax); d != want {
					t.Errorf("wait after failure %d = %v, want %v (doubling from %v, capped at %v)",
						n, d, want, cfg.BackoffMin, cfg.BackoffMax)
				}
			}
		}
		t.Logf("waits chosen after failures while stopped (sampled): %v", roundAll(seen))
		doneWithin(t, "SetTablet, Rediscover, Hold, Release and Status during an outage", func() {
			r.SetTablet(e.tablet)
			r.Rediscover()
			h := r.Hold("outage test")
			h.Release()
			_ = r.Status()
		})
		okBefore := len(orctest.OKCalls(e.srv.Calls(), "discover"))

		if err := e.srv.Start(); err != nil {
			t.Fatal(err)
		}
		e.srv.WaitFor(t, waitLong, "registration after Orchestrator came back", func(calls []orctest.Call) bool {
			return len(orctest.OKCalls(calls, "discover")) > okBefore
		})
		waitUntil(t, e.srv, "Status registered", func() bool { return r.Status().Registered })
	})
}

// TestHungOrchestratorNeverBlocks: with every call hanging, nothing but
// WithMaintenance's bounded wait waits, and Run still stops at once.
func TestHungOrchestratorNeverBlocks(t *testing.T) {
	e := newFakeEnv(t, envOptions{})
	e.srv.SetFault("", orctest.Hang)
	cfg := e.config()
	cfg.DiscoverInterval = 100 * time.Millisecond
	cfg.Timeout = 300 * time.Millisecond
	r := start(t, cfg, e.tablet)
	doneWithin(t, "SetTablet, Rediscover, Hold, Release, Status", func() {
		r.SetTablet(orc.Tablet{Alias: e.tablet.Alias, Host: e.tablet.Host, Port: e.tablet.Port, Type: topodatapb.TabletType_DRAINED})
		r.Rediscover()
		r.Hold("x").Release()
		_ = r.Status()
	})
	errBoom := errors.New("boom")
	ran := false
	doneWithin(t, "WithMaintenance", func() {
		err := r.WithMaintenance(context.Background(), "backup", func(context.Context) error { ran = true; return errBoom })
		if !errors.Is(err, errBoom) {
			t.Errorf("WithMaintenance = %v, want the operation's error", err)
		}
	})
	if !ran {
		t.Error("the operation did not run while Orchestrator hung")
	}
	if v := r.variable(t, "OrcMaintenanceUnconfirmed"); v != "1" {
		t.Errorf("OrcMaintenanceUnconfirmed = %s, want 1", v)
	}
	r.stop(t) // fails the test if Run does not return
}

// TestWithMaintenance: maintenance begins before the operation and ends
// after it, also when it fails or panics.
func TestWithMaintenance(t *testing.T) {
	eachEnv(t, func(t *testing.T, newEnv func(envOptions) *env) {
		e := newEnv(envOptions{})
		r := start(t, e.config(), e.tablet)
		c := e.client(t)
		errBoom := errors.New("boom")
		for _, tc := range []struct {
			name  string
			op    error
			panic bool
		}{
			{"succeeds", nil, false},
			{"fails", errBoom, false},
			{"panics", nil, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				reason := "backup " + tc.name
				var during []orc.Maintenance
				var opStart, opEnd time.Time
				op := func(ctx context.Context) error {
					opStart = time.Now()
					var err error
					if during, err = c.ActiveMaintenance(ctx); err != nil {
						t.Errorf("ActiveMaintenance during the operation: %v", err)
					}
					opEnd = time.Now()
					if tc.panic {
						panic("operation panicked")
					}
					return tc.op
				}
				var err error
				func() {
					defer func() {
						if p := recover(); p != nil && !tc.panic {
							t.Fatalf("panic: %v", p)
						}
					}()
					err = r.WithMaintenance(context.Background(), reason, op)
				}()
				if !errors.Is(err, tc.op) {
					t.Errorf("WithMaintenance = %v, want %v", err, tc.op)
				}
				m, ok := find(during, e.tablet.Host, e.tablet.Port)
				if !ok || m.Owner != "tablet" || m.Reason != reason {
					t.Errorf("during the operation, active maintenance = %+v, want the tablet's with reason %q", during, reason)
				}
				calls := e.srv.WaitFor(t, waitLong, "maintenance ended", func(calls []orctest.Call) bool {
					for _, c := range orctest.OKCalls(calls, "end-maintenance") {
						if c.Time.After(opEnd) {
							return true
						}
					}
					return false
				})
				var begun bool
				for _, c := range orctest.OKCalls(calls, "begin-maintenance") {
					begun = begun || (c.Args[3] == reason && c.Time.Before(opStart))
				}
				if !begun {
					t.Errorf("no begin-maintenance with reason %q before the operation:\n%s", reason, orctest.FormatCalls(calls))
				}
				waitUntil(t, e.srv, "Status out of maintenance", func() bool { return !r.Status().InMaintenance })
				list, err := c.ActiveMaintenance(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if m, ok := find(list, e.tablet.Host, e.tablet.Port); ok {
					t.Errorf("maintenance still active after the operation: %+v", m)
				}
			})
		}
	})
}

// TestMaintenanceRenewedBeforeExpiry: an operation longer than the expiry
// keeps its maintenance: it is renewed (ended and begun again) at half the
// expiry and never lapses.
func TestMaintenanceRenewedBeforeExpiry(t *testing.T) {
	eachEnv(t, func(t *testing.T, newEnv func(envOptions) *env) {
		const expiry = 600 * time.Millisecond
		e := newEnv(envOptions{expiry: expiry})
		cfg := e.config()
		cfg.MaintenanceExpiry = expiry // renewal at half: 300ms
		r := start(t, cfg, e.tablet)
		c := e.client(t)
		var begins []orctest.Call
		err := r.WithMaintenance(context.Background(), "long backup", func(ctx context.Context) error {
			// Last three expiries long, by the server's clock of events.
			begins = orctest.OKCalls(e.srv.WaitFor(t, waitLong, "three renewals", func(calls []orctest.Call) bool {
				return len(orctest.OKCalls(calls, "begin-maintenance")) >= 4
			}), "begin-maintenance")
			list, err := c.ActiveMaintenance(ctx)
			if err != nil {
				return err
			}
			if _, ok := find(list, e.tablet.Host, e.tablet.Port); !ok {
				t.Errorf("maintenance not active after three renewals: %+v", list)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		g := gaps(begins)
		t.Logf("begin-maintenance every %v (expiry %v, renewal due at %v)", roundAll(g), expiry, expiry/2)
		for i, d := range g {
			if d < expiry/2 {
				t.Errorf("renewal %d came %v after the previous begin, before the renewal time %v", i+1, d, expiry/2)
			}
		}
		// Each renewal is an end immediately followed by a begin.
		calls := e.srv.Calls()
		for i, c := range calls {
			if c.Endpoint == "begin-maintenance" && i > 0 && c.Time.After(begins[0].Time) {
				if prev := calls[i-1]; prev.Endpoint != "end-maintenance" || !prev.OK() {
					t.Errorf("renewal at %v not preceded by end-maintenance:\n%s", c.Time, orctest.FormatCalls(calls))
					break
				}
			}
		}
		if !e.real {
			if lapsed := e.srv.Lapsed(); len(lapsed) != 0 {
				t.Errorf("maintenance lapsed while the operation ran: %+v", lapsed)
			}
			for _, m := range e.srv.MaintenanceHistory() {
				if m.Expired {
					t.Errorf("entry %d expired instead of being ended: %+v", m.ID, m)
				}
			}
		}
	})
}

// TestTypeChangeRediscovers: every change of the tablet's type triggers a
// discovery, so that Orchestrator re-reads the promotion rule; the type
// alone holds no maintenance (the agent decides which types hold it).
func TestTypeChangeRediscovers(t *testing.T) {
	e := newFakeEnv(t, envOptions{})
	cfg := e.config()
	cfg.DiscoverInterval = time.Hour
	r := start(t, cfg, e.tablet)
	e.srv.WaitFor(t, waitLong, "first discovery", func(calls []orctest.Call) bool {
		return len(orctest.OKCalls(calls, "discover")) == 1
	})
	for i, typ := range []topodatapb.TabletType{
		topodatapb.TabletType_DRAINED, topodatapb.TabletType_REPLICA, topodatapb.TabletType_SPARE, topodatapb.TabletType_RDONLY,
	} {
		tab := e.tablet
		tab.Type = typ
		r.SetTablet(tab)
		e.srv.WaitFor(t, waitLong, "a discovery after the type change", func(calls []orctest.Call) bool {
			return len(orctest.OKCalls(calls, "discover")) >= i+2
		})
		sctx, cancel := context.WithTimeout(context.Background(), waitLong)
		err := r.Sync(sctx)
		cancel()
		if err != nil {
			t.Fatalf("%v: Sync: %v", typ, err)
		}
		if m, ok := e.srv.Maintenance(e.tablet.Host, e.tablet.Port); ok {
			t.Errorf("%v: in maintenance (%q), want none: types hold nothing by themselves", typ, m.Reason)
		}
	}
}

// TestStaleMaintenance: maintenance of the tablet's owner left by an
// earlier run is ended at start when nothing holds it; another owner's is
// left alone, and stands in for the tablet's own while it lasts.
func TestStaleMaintenance(t *testing.T) {
	t.Run("ours ended", func(t *testing.T) {
		e := newFakeEnv(t, envOptions{})
		if err := e.srv.BeginMaintenance(e.tablet.Host, e.tablet.Port, "tablet", "tablet zone1-0000000100 is BACKUP"); err != nil {
			t.Fatal(err)
		}
		r := start(t, e.config(), e.tablet)
		sctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		if err := r.Sync(sctx); err != nil {
			t.Fatal(err)
		}
		if m, ok := e.srv.Maintenance(e.tablet.Host, e.tablet.Port); ok {
			t.Errorf("stale maintenance still active: %+v", m)
		}
	})
	t.Run("ours taken over", func(t *testing.T) {
		e := newFakeEnv(t, envOptions{})
		if err := e.srv.BeginMaintenance(e.tablet.Host, e.tablet.Port, "tablet", "old"); err != nil {
			t.Fatal(err)
		}
		r := start(t, e.config(), e.tablet)
		defer r.Hold("tablet zone1-0000000100 is DRAINED").Release()
		sctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		if err := r.Sync(sctx); err != nil {
			t.Fatal(err)
		}
		if m, ok := e.srv.Maintenance(e.tablet.Host, e.tablet.Port); !ok || m.Reason != "tablet zone1-0000000100 is DRAINED" {
			t.Errorf("maintenance = %+v (active %v), want ours with the new reason", m, ok)
		}
	})
	t.Run("operator's kept", func(t *testing.T) {
		e := newFakeEnv(t, envOptions{})
		if err := e.srv.BeginMaintenance(e.tablet.Host, e.tablet.Port, "operator", "disk swap"); err != nil {
			t.Fatal(err)
		}
		r := start(t, e.config(), e.tablet)
		err := r.WithMaintenance(context.Background(), "backup", func(context.Context) error {
			if st := r.Status(); st.MaintenanceBy != "operator" {
				t.Errorf("Status during the operation = %+v, want MaintenanceBy operator", st)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if m, ok := e.srv.Maintenance(e.tablet.Host, e.tablet.Port); !ok || m.Owner != "operator" {
			t.Errorf("operator's maintenance = %+v (active %v), want it untouched", m, ok)
		}
		if v := r.variable(t, "OrcMaintenanceUnconfirmed"); v != "0" {
			t.Errorf("OrcMaintenanceUnconfirmed = %s, want 0: the operator's maintenance covers the operation", v)
		}
	})
}

// TestHoldsOverlap: maintenance lasts while any hold is outstanding, with
// every reason in it.
func TestHoldsOverlap(t *testing.T) {
	e := newFakeEnv(t, envOptions{})
	r := start(t, e.config(), e.tablet)
	sync := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		if err := r.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	a := r.Hold("restore")
	sync()
	b := r.Hold("backup")
	sync()
	if m, _ := e.srv.Maintenance(e.tablet.Host, e.tablet.Port); m.Reason != "restore; backup" {
		t.Errorf("reason with two holds = %q, want %q", m.Reason, "restore; backup")
	}
	a.Release()
	a.Release() // twice is harmless
	sync()
	if m, ok := e.srv.Maintenance(e.tablet.Host, e.tablet.Port); !ok || m.Reason != "backup" {
		t.Errorf("after releasing one hold: %+v (active %v), want reason backup", m, ok)
	}
	b.Release()
	sync()
	if m, ok := e.srv.Maintenance(e.tablet.Host, e.tablet.Port); ok {
		t.Errorf("after releasing both: %+v", m)
	}
}

// TestAddressChangeMovesMaintenance: a new MySQL address ends maintenance
// on the old one and begins it on the new one.
func TestAddressChangeMovesMaintenance(t *testing.T) {
	e := newFakeEnv(t, envOptions{})
	tab := e.tablet
	r := start(t, e.config(), tab)
	defer r.Hold("tablet zone1-0000000100 is DRAINED").Release()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	tab.Port = 3307
	r.SetTablet(tab)
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if m, ok := e.srv.Maintenance(tab.Host, 3306); ok {
		t.Errorf("old address still in maintenance: %+v", m)
	}
	if _, ok := e.srv.Maintenance(tab.Host, 3307); !ok {
		t.Error("new address not in maintenance")
	}
}

// TestDisabled: without an API URL nothing is called, Run waits for its
// context, and WithMaintenance only runs the operation.
func TestDisabled(t *testing.T) {
	vars := debugvars.New()
	r := orc.New(orc.DefaultConfig(), vars, nil)
	ran := false
	if err := r.WithMaintenance(context.Background(), "backup", func(context.Context) error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("WithMaintenance = %v, ran %v", err, ran)
	}
	r.SetTablet(orc.Tablet{Alias: testAlias, Host: "db1", Port: 3306, Type: topodatapb.TabletType_DRAINED})
	r.Hold("x").Release()
	if err := r.Sync(context.Background()); err != nil {
		t.Errorf("Sync = %v", err)
	}
	if st := r.Status(); st.Enabled {
		t.Errorf("Status = %+v, want disabled", st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(waitLong):
		t.Fatal("disabled Run did not return when its context ended")
	}
}

// TestRunTwice: a second concurrent Run is refused.
func TestRunTwice(t *testing.T) {
	e := newFakeEnv(t, envOptions{})
	cfg := e.config()
	cfg.DiscoverInterval = time.Hour
	r := start(t, cfg, e.tablet)
	e.srv.WaitFor(t, waitLong, "Run under way", func(calls []orctest.Call) bool { return len(calls) > 0 })
	if err := r.Run(context.Background()); !errors.Is(err, orc.ErrRunning) {
		t.Fatalf("second Run = %v, want ErrRunning", err)
	}
}

// TestConfirm: Confirm returns once a Hold's maintenance is in force; with
// Orchestrator hanging it gives up after Config.Timeout, counts the miss
// and says why.
func TestConfirm(t *testing.T) {
	e := newFakeEnv(t, envOptions{})
	cfg := e.config()
	cfg.Timeout = 300 * time.Millisecond
	r := start(t, cfg, e.tablet)
	h := r.Hold("backup")
	if err := r.Confirm(context.Background()); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if m, ok := e.srv.Maintenance(e.tablet.Host, e.tablet.Port); !ok || m.Reason != "backup" {
		t.Errorf("after Confirm: maintenance %+v (active %v), want reason backup", m, ok)
	}
	h.Release()

	e.srv.SetFault("", orctest.Hang)
	defer e.srv.ClearFaults()
	r.Hold("restore")
	start := time.Now()
	err := r.Confirm(context.Background())
	if !errors.Is(err, orc.ErrTimeout) {
		t.Errorf("Confirm with Orchestrator hanging = %v, want ErrTimeout", err)
	}
	if waited := time.Since(start); waited > waitLong {
		t.Errorf("Confirm waited %v, want about --orc_timeout (300ms)", waited)
	}
	if v := r.variable(t, "OrcMaintenanceUnconfirmed"); v != "1" {
		t.Errorf("OrcMaintenanceUnconfirmed = %s, want 1", v)
	}
}
