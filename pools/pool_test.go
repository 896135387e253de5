package pools

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPoolConfigValidate(t *testing.T) {
	good := PoolConfig{Name: "P", Capacity: 2}
	tests := []struct {
		name    string
		edit    func(*PoolConfig)
		wantErr string
	}{
		{"good", func(*PoolConfig) {}, ""},
		{"no name", func(c *PoolConfig) { c.Name = "" }, "Name is empty"},
		{"zero capacity", func(c *PoolConfig) { c.Capacity = 0 }, "Capacity must be at least 1"},
		{"max below capacity", func(c *PoolConfig) { c.MaxCapacity = 1 }, "MaxCapacity 1 is below Capacity 2"},
		{"negative wait", func(c *PoolConfig) { c.WaitTimeout = -1 }, "WaitTimeout must not be negative"},
		{"negative idle", func(c *PoolConfig) { c.IdleTimeout = -1 }, "IdleTimeout must not be negative"},
		{"negative lifetime", func(c *PoolConfig) { c.MaxLifetime = -1 }, "MaxLifetime must not be negative"},
		{"negative watchdog", func(c *PoolConfig) { c.WatchdogInterval = -1 }, "WatchdogInterval must not be negative"},
		{"negative waiters", func(c *PoolConfig) { c.MaxWaiters = -1 }, "MaxWaiters must not be negative"},
		{"too large", func(c *PoolConfig) { c.MaxCapacity = 1 << 16 }, "capacity above 65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewPoolPanicsOnBadConfig(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewPool with capacity 0 did not panic")
		}
	}()
	f := &fakeConnector{}
	NewPool(PoolConfig{Name: "P"}, f.connect, discardLogger())
}

func TestGetPutReusesConnection(t *testing.T) {
	p, f := newTestPool(t, PoolConfig{Capacity: 2})
	ctx := context.Background()
	pc, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := pc.Conn
	if got := p.InUse(); got != 1 {
		t.Errorf("InUse = %d, want 1", got)
	}
	pc.Release()
	pc, err = p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pc.Conn != first {
		t.Errorf("Get after Put returned a new connection, want the idle one")
	}
	p.Put(pc)
	if got := f.dials.Load(); got != 1 {
		t.Errorf("dials = %d, want 1", got)
	}
	s := p.Stats()
	if s.Gets != 2 || s.InUse != 0 || s.Idle != 1 || s.Active != 1 || s.Available != 2 {
		t.Errorf("stats = %+v", s)
	}
}

func TestGetErrors(t *testing.T) {
	cause := errors.New("client went away")
	tests := []struct {
		name string
		cfg  PoolConfig
		// hold is how many connections to take first, leaving the pool full
		// when it equals the capacity.
		hold int
		// ctx makes the context for the Get under test.
		ctx    func() (context.Context, context.CancelFunc)
		before func(t *testing.T, p *Pool[*fakeConn], f *fakeConnector)
		want   []error
		not    []error
		check  func(t *testing.T, p *Pool[*fakeConn])
	}{
		{
			name: "pool not open",
			cfg:  PoolConfig{Capacity: 1},
			before: func(t *testing.T, p *Pool[*fakeConn], _ *fakeConnector) {
				if err := p.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
			},
			want: []error{ErrPoolClosed},
		},
		{
			name: "context already cancelled",
			cfg:  PoolConfig{Capacity: 1},
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			want: []error{context.Canceled},
			not:  []error{ErrPoolExhausted, ErrPoolClosed},
		},
		{
			name: "pool wait timeout first",
			cfg:  PoolConfig{Capacity: 1, WaitTimeout: 10 * time.Millisecond},
			hold: 1,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), time.Hour)
			},
			want: []error{ErrPoolExhausted},
			not:  []error{context.DeadlineExceeded},
			check: func(t *testing.T, p *Pool[*fakeConn]) {
				if s := p.Stats(); s.WaitCount != 1 || s.WaitTimeouts != 1 || s.Exhausted != 1 || s.WaitTime < 10*time.Millisecond {
					t.Errorf("stats = %+v, want one wait of at least 10ms that timed out", s)
				}
			},
		},
		{
			name: "context deadline first",
			cfg:  PoolConfig{Capacity: 1, WaitTimeout: time.Hour},
			hold: 1,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 10*time.Millisecond)
			},
			want: []error{context.DeadlineExceeded},
			not:  []error{ErrPoolExhausted},
		},
		{
			name: "context cancelled with cause while waiting",
			cfg:  PoolConfig{Capacity: 1},
			hold: 1,
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancelCause(context.Background())
				time.AfterFunc(5*time.Millisecond, func() { cancel(cause) })
				return ctx, func() { cancel(nil) }
			},
			want: []error{context.Canceled, cause},
			not:  []error{ErrPoolExhausted},
		},
		{
			name: "waiter queue full",
			cfg:  PoolConfig{Capacity: 1, MaxWaiters: 1},
			hold: 1,
			before: func(t *testing.T, p *Pool[*fakeConn], _ *fakeConnector) {
				// One Get queues until the test ends.
				ctx, cancel := context.WithCancel(context.Background())
				res := goGet(p, ctx)
				t.Cleanup(func() {
					cancel()
					if r := recv(t, "queued Get", res); r.err == nil {
						r.pc.Release()
					}
				})
				waitFor(t, "waiter to queue", func() bool { return p.Waiters() == 1 })
			},
			want: []error{ErrPoolExhausted},
			check: func(t *testing.T, p *Pool[*fakeConn]) {
				if got := p.Metrics().WaiterQueueFull(); got != 1 {
					t.Errorf("WaiterQueueFull = %d, want 1", got)
				}
			},
		},
		{
			name: "connect fails",
			cfg:  PoolConfig{Capacity: 1},
			before: func(_ *testing.T, _ *Pool[*fakeConn], f *fakeConnector) {
				f.setFail(errFakeConnect)
			},
			want: []error{errFakeConnect},
			check: func(t *testing.T, p *Pool[*fakeConn]) {
				if s := p.Stats(); s.Active != 0 || s.InUse != 0 || s.ConnectErrors != 1 {
					t.Errorf("after a failed connect stats = %+v, want the slot given back", s)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, f := newTestPool(t, tt.cfg)
			var held []*Pooled[*fakeConn]
			for range tt.hold {
				pc, err := p.Get(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, pc)
			}
			t.Cleanup(func() {
				for _, pc := range held {
					pc.Release()
				}
			})
			if tt.before != nil {
				tt.before(t, p, f)
			}
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			pc, err := p.Get(ctx)
			if err == nil {
				pc.Release()
				t.Fatal("Get succeeded, want an error")
			}
			if !strings.Contains(err.Error(), p.Name()) {
				t.Errorf("error %q does not name the pool", err)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("Get error %q is not %v", err, w)
				}
			}
			for _, n := range tt.not {
				if errors.Is(err, n) {
					t.Errorf("Get error %q should not be %v", err, n)
				}
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

// TestWaitersServedInArrivalOrder queues Gets one at a time on a full pool
// and returns connections one at a time: each goes to the oldest waiter.
func TestWaitersServedInArrivalOrder(t *testing.T) {
	const waiters = 8
	p, _ := newTestPool(t, PoolConfig{Capacity: 2})
	ctx := context.Background()
	var held []*Pooled[*fakeConn]
	for range 2 {
		pc, err := p.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, pc)
	}
	results := make([]<-chan getResult, waiters)
	for i := range waiters {
		results[i] = goGet(p, ctx)
		waitFor(t, "waiter to queue", func() bool { return p.Waiters() == i+1 })
	}
	// Return one, then each served waiter returns its own: service must
	// follow arrival.
	held[0].Release()
	for i := range waiters {
		r := recv(t, "waiter to be served", results[i])
		if r.err != nil {
			t.Fatalf("waiter %d: %v", i, r.err)
		}
		for j := i + 1; j < waiters; j++ {
			select {
			case r := <-results[j]:
				t.Fatalf("waiter %d served before waiter %d returned its connection (err %v)", j, i, r.err)
			default:
			}
		}
		r.pc.Release()
	}
	held[1].Release()
	if got := p.Metrics().WaitCount(); got != waiters {
		t.Errorf("WaitCount = %d, want %d", got, waiters)
	}
}

func TestBrokenConnections(t *testing.T) {
	ctx := context.Background()
	t.Run("broken on return is closed, not pooled", func(t *testing.T) {
		p, f := newTestPool(t, PoolConfig{Capacity: 2})
		pc, err := p.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pc.Conn.broken.Store(true)
		pc.Release()
		if s := p.Stats(); s.BrokenClosed != 1 || s.Active != 0 || s.Idle != 0 {
			t.Errorf("stats = %+v, want the broken connection closed and counted", s)
		}
		if f.live.Load() != 0 {
			t.Errorf("broken connection not closed")
		}
	})
	t.Run("broken while idle is replaced on reuse", func(t *testing.T) {
		p, f := newTestPool(t, PoolConfig{Capacity: 1})
		pc, err := p.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		old := pc.Conn
		pc.Release()
		old.broken.Store(true) // the server went away while it sat idle
		pc, err = p.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Release()
		if pc.Conn == old || pc.Conn.IsBroken() {
			t.Fatalf("Get handed out the broken connection")
		}
		if !old.closed.Load() {
			t.Errorf("broken connection not closed")
		}
		if got, dials := p.Metrics().BrokenClosed(), f.dials.Load(); got != 1 || dials != 2 {
			t.Errorf("BrokenClosed = %d, dials = %d, want 1 and 2", got, dials)
		}
	})
	t.Run("broken return hands a fresh connection to the waiter", func(t *testing.T) {
		p, _ := newTestPool(t, PoolConfig{Capacity: 1})
		pc, err := p.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		old := pc.Conn
		res := goGet(p, ctx)
		waitFor(t, "waiter to queue", func() bool { return p.Waiters() == 1 })
		old.broken.Store(true)
		pc.Release()
		r := recv(t, "waiter to be served", res)
		if r.err != nil {
			t.Fatal(r.err)
		}
		defer r.pc.Release()
		if r.pc.Conn == old || r.pc.Conn.IsBroken() {
			t.Fatalf("waiter got the broken connection")
		}
	})
	t.Run("failed replacement frees the slot", func(t *testing.T) {
		p, f := newTestPool(t, PoolConfig{Capacity: 1})
		pc, err := p.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conn := pc.Conn
		pc.Release()
		conn.broken.Store(true) // the server went away while it sat idle
		f.setFail(errFakeConnect)
		if _, err := p.Get(ctx); !errors.Is(err, errFakeConnect) {
			t.Fatalf("Get = %v, want the connect error", err)
		}
		f.setFail(nil)
		pc, err = p.Get(ctx)
		if err != nil {
			t.Fatalf("Get after the server came back: %v", err)
		}
		pc.Release()
	})
}

func TestIdleTimeoutClosesIdleConnections(t *testing.T) {
	p, f := newTestPool(t, PoolConfig{Capacity: 3, IdleTimeout: 20 * time.Millisecond})
	ctx := context.Background()
	var held []*Pooled[*fakeConn]
	for range 3 {
		pc, err := p.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, pc)
	}
	for _, pc := range held {
		pc.Release()
	}
	waitFor(t, "idle connections to close", func() bool { return p.Metrics().IdleClosed() == 3 })
	if s := p.Stats(); s.Active != 0 || s.Idle != 0 || f.live.Load() != 0 {
		t.Errorf("stats = %+v, live = %d, want nothing open", s, f.live.Load())
	}
}

func TestMaxLifetime(t *testing.T) {
	ctx := context.Background()
	t.Run("idle connections close in the background", func(t *testing.T) {
		p, f := newTestPool(t, PoolConfig{Capacity: 2, MaxLifetime: 20 * time.Millisecond})
		pc, err := p.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pc.Release()
		waitFor(t, "aged connection to close", func() bool { return p.Metrics().MaxLifetimeClosed() == 1 })
		if f.live.Load() != 0 {
			t.Errorf("aged connection still open")
		}
	})
	t.Run("lent connection closes when returned", func(t *testing.T) {
		p, f := newTestPool(t, PoolConfig{Capacity: 2, MaxLifetime: 20 * time.Millisecond})
		pc, err := p.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		deadline := pc.expires
		waitFor(t, "lifetime to pass", func() bool { return p.now() > deadline })
		pc.Release()
		if got := p.Metrics().MaxLifetimeClosed(); got != 1 || f.live.Load() != 0 {
			t.Errorf("MaxLifetimeClosed = %d, live = %d; want 1 and 0", got, f.live.Load())
		}
	})
}

func TestSetCapacity(t *testing.T) {
	ctx := context.Background()
	t.Run("bounds", func(t *testing.T) {
		p, _ := newTestPool(t, PoolConfig{Capacity: 2, MaxCapacity: 4})
		for _, n := range []int{0, -1, 5} {
			if err := p.SetCapacity(n); err == nil || !strings.Contains(err.Error(), p.Name()) {
				t.Errorf("SetCapacity(%d) = %v, want an error naming the pool", n, err)
			}
		}
		if err := p.SetCapacity(4); err != nil {
			t.Errorf("SetCapacity(4) = %v", err)
		}
	})
	t.Run("raising serves waiters", func(t *testing.T) {
		p, _ := newTestPool(t, PoolConfig{Capacity: 1, MaxCapacity: 3})
		pc, err := p.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Release()
		a, b := goGet(p, ctx), goGet(p, ctx)
		waitFor(t, "two waiters", func() bool { return p.Waiters() == 2 })
		if err := p.SetCapacity(3); err != nil {
			t.Fatal(err)
		}
		for _, ch := range []<-chan getResult{a, b} {
			r := recv(t, "waiter served after raise", ch)
			if r.err != nil {
				t.Fatal(r.err)
			}
			r.pc.Release()
		}
	})
	t.Run("lowering closes idle now and lent on return", func(t *testing.T) {
		p, f := newTestPool(t, PoolConfig{Capacity: 4})
		var held []*Pooled[*fakeConn]
		for range 4 {
			pc, err := p.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, pc)
		}
		held[0].Release()
		held[1].Release()
		if err := p.SetCapacity(1); err != nil {
			t.Fatal(err)
		}
		if got := f.live.Load(); got != 2 {
			t.Errorf("live after lowering = %d, want 2 (idle ones closed)", got)
		}
		held[2].Release()
		if got := f.live.Load(); got != 1 {
			t.Errorf("live after one return = %d, want 1", got)
		}
		held[3].Release()
		if s := p.Stats(); s.Active != 1 || s.Idle != 1 || s.Capacity != 1 {
			t.Errorf("stats = %+v, want one idle connection at capacity 1", s)
		}
	})
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	t.Run("fails waiters and waits for lent connections", func(t *testing.T) {
		f := &fakeConnector{}
		p := NewPool(PoolConfig{Name: "P", Capacity: 1}, f.connect, discardLogger())
		p.Open()
		pc, err := p.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		waiter := goGet(p, ctx)
		waitFor(t, "waiter to queue", func() bool { return p.Waiters() == 1 })
		closed := make(chan error, 1)
		go func() { closed <- p.Close(ctx) }()
		if r := recv(t, "waiter failed by Close", waiter); !errors.Is(r.err, ErrPoolClosed) {
			t.Fatalf("waiter got %v, want ErrPoolClosed", r.err)
		}
		select {
		case err := <-closed:
			t.Fatalf("Close returned %v before the lent connection came back", err)
		default:
		}
		if _, err := p.Get(ctx); !errors.Is(err, ErrPoolClosed) {
			t.Errorf("Get on a closing pool = %v, want ErrPoolClosed", err)
		}
		pc.Release()
		if err := recv(t, "Close to return", closed); err != nil {
			t.Fatalf("Close = %v", err)
		}
		if f.live.Load() != 0 {
			t.Errorf("connections left open")
		}
		if err := p.Close(ctx); err != nil {
			t.Errorf("second Close = %v", err)
		}
	})
	t.Run("bounded by its context", func(t *testing.T) {
		f := &fakeConnector{}
		p := NewPool(PoolConfig{Name: "P", Capacity: 1}, f.connect, discardLogger())
		p.Open()
		pc, err := p.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		defer cancel()
		err = p.Close(cctx)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "1 connections still lent out") {
			t.Fatalf("Close = %v, want a deadline error counting the lent connection", err)
		}
		pc.Release()
		if f.live.Load() != 0 {
			t.Errorf("connection returned after Close not closed")
		}
		if err := p.Close(ctx); err != nil {
			t.Errorf("Close after the return = %v", err)
		}
	})
	t.Run("never opened", func(t *testing.T) {
		f := &fakeConnector{}
		p := NewPool(PoolConfig{Name: "P", Capacity: 1}, f.connect, discardLogger())
		if err := p.Close(ctx); err != nil {
			t.Errorf("Close = %v", err)
		}
	})
	t.Run("while a connection is being opened", func(t *testing.T) {
		f := &fakeConnector{}
		p := NewPool(PoolConfig{Name: "P", Capacity: 1}, f.connect, discardLogger())
		p.Open()
		gate, entered := make(chan struct{}), make(chan struct{}, 1)
		f.setGate(gate, entered)
		res := goGet(p, ctx)
		recv(t, "dial to start", entered)
		closed := make(chan error, 1)
		go func() { closed <- p.Close(ctx) }()
		waitFor(t, "pool to close", func() bool { return !p.IsOpen() })
		close(gate)
		if r := recv(t, "Get to finish", res); !errors.Is(r.err, ErrPoolClosed) {
			t.Fatalf("Get = %v, want ErrPoolClosed", r.err)
		}
		if err := recv(t, "Close", closed); err != nil {
			t.Fatal(err)
		}
		if f.live.Load() != 0 {
			t.Errorf("connection opened during Close left open")
		}
	})
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	f := &fakeConnector{}
	p := NewPool(PoolConfig{Name: "P", Capacity: 1}, f.connect, discardLogger())
	p.Open()
	stale, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	if err := p.Close(cctx); err == nil {
		t.Fatal("Close with a lent connection and an expired context returned nil")
	}
	p.Open()
	pc, err := p.Get(ctx)
	if err != nil {
		t.Fatalf("Get after reopen: %v", err)
	}
	staleConn := stale.Conn
	stale.Release() // from the old generation: closed, not counted
	if s := p.Stats(); s.Active != 1 || s.InUse != 1 {
		t.Errorf("stats = %+v, want only the new connection counted", s)
	}
	if !staleConn.closed.Load() {
		t.Errorf("stale connection not closed on return")
	}
	pc.Release()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if f.live.Load() != 0 {
		t.Errorf("connections left open")
	}
}

func TestDoublePutPanics(t *testing.T) {
	p, _ := newTestPool(t, PoolConfig{Capacity: 1})
	pc, err := p.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pc.Release()
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("second Put did not panic")
		}
	}()
	pc.Release()
}

func TestCancelledWhileDialing(t *testing.T) {
	p, f := newTestPool(t, PoolConfig{Capacity: 1})
	gate, entered := make(chan struct{}), make(chan struct{}, 1)
	f.setGate(gate, entered)
	ctx, cancel := context.WithCancel(context.Background())
	res := goGet(p, ctx)
	recv(t, "dial to start", entered)
	cancel()
	if r := recv(t, "Get", res); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Get = %v, want context.Canceled", r.err)
	}
	if s := p.Stats(); s.Active != 0 || s.InUse != 0 {
		t.Errorf("stats = %+v, want the slot given back", s)
	}
	f.setGate(nil, nil)
	close(gate)
}
