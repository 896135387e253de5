package pools

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeConn is a test connection with a broken knob. Test-only.
type fakeConn struct {
	id     int64
	f      *fakeConnector
	broken atomic.Bool
	closed atomic.Bool
}

func (c *fakeConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.f.live.Add(-1)
	c.f.closes.Add(1)
	return nil
}

func (c *fakeConn) IsBroken() bool { return c.broken.Load() || c.closed.Load() }

// fakeConnector opens fakeConns and counts them; failures and blocking are
// knobs. Test-only.
type fakeConnector struct {
	dials   atomic.Int64
	closes  atomic.Int64
	live    atomic.Int64
	maxLive atomic.Int64

	mu      sync.Mutex
	failErr error         // guarded by mu; when set, dials fail with it
	gate    chan struct{} // guarded by mu; when set, dials wait for it to close
	entered chan struct{} // guarded by mu; when set, each dial sends on it first
}

func (f *fakeConnector) connect(ctx context.Context) (*fakeConn, error) {
	f.mu.Lock()
	failErr, gate, entered := f.failErr, f.gate, f.entered
	f.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if failErr != nil {
		return nil, failErr
	}
	id := f.dials.Add(1)
	n := f.live.Add(1)
	for {
		m := f.maxLive.Load()
		if n <= m || f.maxLive.CompareAndSwap(m, n) {
			break
		}
	}
	return &fakeConn{id: id, f: f}, nil
}

func (f *fakeConnector) setFail(err error) {
	f.mu.Lock()
	f.failErr = err
	f.mu.Unlock()
}

func (f *fakeConnector) setGate(gate, entered chan struct{}) {
	f.mu.Lock()
	f.gate, f.entered = gate, entered
	f.mu.Unlock()
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTestPool builds and opens a pool of fakeConns and closes it when the
// test ends, failing the test if it does not drain.
func newTestPool(t testing.TB, cfg PoolConfig) (*Pool[*fakeConn], *fakeConnector) {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "TestPool"
	}
	f := &fakeConnector{}
	p := NewPool(cfg, f.connect, discardLogger())
	p.Open()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
		if n := f.live.Load(); n != 0 {
			t.Errorf("%d connections still open after Close", n)
		}
	})
	return p, f
}

// waitFor polls cond until it holds or the deadline passes, then fails the
// test naming what it waited for.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling interval, not synchronization
	}
}

// recv receives from ch or fails the test after a deadline.
func recv[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// getResult is the outcome of a Get run in a goroutine.
type getResult struct {
	pc  *Pooled[*fakeConn]
	err error
}

// goGet runs Get in a goroutine and reports its result. The goroutine ends
// when Get returns, which the pool's Close at the end of the test ensures.
func goGet(p *Pool[*fakeConn], ctx context.Context) <-chan getResult {
	ch := make(chan getResult, 1)
	go func() {
		pc, err := p.Get(ctx)
		ch <- getResult{pc, err}
	}()
	return ch
}

var errFakeConnect = errors.New("fake connect refused")
