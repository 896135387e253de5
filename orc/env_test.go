package orc_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/orc"
	"github.com/tabletd/tablet/orc/orctest"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/testenv"
)

// waitLong bounds every wait for an event in these tests: long enough for a
// loaded machine under -race, short enough to fail a stuck test quickly.
const waitLong = 20 * time.Second

// env is one Orchestrator the shared tests run against, always behind a
// recording orctest.Server: the built-in fake API, or a real Orchestrator
// binary (ORCHESTRATOR_BIN) discovering a private mysqld.
type env struct {
	srv *orctest.Server
	// tablet is a tablet whose MySQL the Orchestrator can discover.
	tablet orc.Tablet
	// real is set for a real Orchestrator, whose maintenance expiry is
	// fixed at 10 minutes and whose tables orctest cannot inspect.
	real bool
}

// envOptions tune the fake; a real Orchestrator ignores them.
type envOptions struct {
	expiry time.Duration
	srv    []orctest.Option
}

// eachEnv runs body against the fake and against a real Orchestrator; the
// real one is skipped, with the reason, unless ORCHESTRATOR_BIN names a
// binary (and never under -short).
func eachEnv(t *testing.T, body func(t *testing.T, newEnv func(opts envOptions) *env)) {
	t.Run("fake", func(t *testing.T) {
		body(t, func(opts envOptions) *env { return newFakeEnv(t, opts) })
	})
	t.Run("real", func(t *testing.T) {
		bin := testenv.RequireOrchestrator(t)
		body(t, func(opts envOptions) *env { return newRealEnv(t, bin) })
	})
}

// testAlias is the tablet alias the tests register.
const testAlias = "zone1-0000000100"

// newFakeEnv starts the fake API with a tablet it reports under testAlias.
func newFakeEnv(t *testing.T, opts envOptions) *env {
	srvOpts := opts.srv
	if opts.expiry > 0 {
		srvOpts = append(srvOpts, orctest.WithMaintenanceExpiry(opts.expiry))
	}
	srv := orctest.Start(t, srvOpts...)
	tab := orc.Tablet{Alias: testAlias, Host: "db1.example", Port: 3306, Type: topodatapb.TabletType_REPLICA}
	srv.SetDetected(tab.Host, tab.Port, orctest.Detected{
		InstanceAlias: testAlias, ClusterAlias: "commerce.0", DataCenter: "zone1", PromotionRule: "neutral"})
	return &env{srv: srv, tablet: tab}
}

// config is a Config for e with short waits: tests shorten what they
// measure.
func (e *env) config() orc.Config {
	c := orc.DefaultConfig()
	c.APIURL = e.srv.URL()
	c.Timeout = 5 * time.Second
	c.DiscoverJitter = 0
	c.BackoffMin = 20 * time.Millisecond
	c.BackoffMax = 200 * time.Millisecond
	return c
}

// client is a Client for e.
func (e *env) client(t *testing.T) *orc.Client {
	t.Helper()
	c, err := orc.NewClient(e.config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// running is a Registrar whose Run goroutine the test owns.
type running struct {
	*orc.Registrar
	vars   *debugvars.Registry
	cancel context.CancelFunc
	done   chan error // receives Run's result
}

// start builds a Registrar from cfg, sets tab as its tablet, and runs it
// until the test ends (or stop is called).
func start(t *testing.T, cfg orc.Config, tab orc.Tablet) *running {
	t.Helper()
	vars := debugvars.New()
	r := orc.New(cfg, vars, testLogger(t))
	r.SetTablet(tab)
	ctx, cancel := context.WithCancel(context.Background())
	rr := &running{Registrar: r, vars: vars, cancel: cancel, done: make(chan error, 1)}
	go func() { rr.done <- r.Run(ctx) }()
	t.Cleanup(func() { rr.stop(t) })
	return rr
}

// stop cancels Run and waits for it to return; calling it again does
// nothing.
func (rr *running) stop(t *testing.T) {
	t.Helper()
	if rr.cancel == nil {
		return
	}
	rr.cancel()
	rr.cancel = nil
	select {
	case err := <-rr.done:
		if err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	case <-time.After(waitLong):
		t.Fatalf("Run did not return within %v of its context ending", waitLong)
	}
}

// variable returns a variable in its /debug/vars form.
func (rr *running) variable(t *testing.T, name string) string {
	t.Helper()
	v, ok := rr.vars.Get(name)
	if !ok {
		t.Fatalf("no variable %s", name)
	}
	return string(v)
}

// waitUntil waits until cond holds, checking it whenever the server sees a
// call or a change and at least every 10ms (for state that changes inside
// the Registrar); it fails t with msg after waitLong.
func waitUntil(t *testing.T, srv *orctest.Server, msg string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(waitLong)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-srv.Changed():
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%s: not within %v; calls:\n%s", msg, waitLong, orctest.FormatCalls(srv.Calls()))
		}
	}
}

// doneWithin runs f in a goroutine and fails t if it has not returned
// within waitLong: f must not block on Orchestrator.
func doneWithin(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(waitLong):
		t.Fatalf("%s blocked (not done within %v)", what, waitLong)
	}
}

// testLogger logs through t, so output shows with the failing test.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// gaps returns the time between consecutive calls' arrivals.
func gaps(calls []orctest.Call) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(calls); i++ {
		out = append(out, calls[i].Time.Sub(calls[i-1].Time))
	}
	return out
}

// roundAll rounds durations for logs.
func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}
