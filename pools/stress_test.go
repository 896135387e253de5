package pools

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fifoChecker follows the pool's wait queue through its test hooks, which
// run under the pool's lock, and records any Get served ahead of an older
// one still waiting.
type fifoChecker struct {
	queue      []uint64 // tickets waiting, oldest first; guarded by the pool's lock
	violations []string // guarded by the pool's lock
	served     int      // guarded by the pool's lock
	abandoned  int      // guarded by the pool's lock
}

func (c *fifoChecker) hooks() *testHooks {
	return &testHooks{
		enqueued: func(ticket uint64) { c.queue = append(c.queue, ticket) },
		served: func(ticket uint64) {
			c.served++
			if len(c.queue) == 0 || c.queue[0] != ticket {
				c.violations = append(c.violations, fmt.Sprintf("served %d while the queue was %v", ticket, c.queue[:min(len(c.queue), 5)]))
			}
			c.remove(ticket)
		},
		abandoned: func(ticket uint64) {
			c.abandoned++
			c.remove(ticket)
		},
	}
}

func (c *fifoChecker) remove(ticket uint64) {
	if i := slices.Index(c.queue, ticket); i >= 0 {
		c.queue = slices.Delete(c.queue, i, i+1)
	}
}

// TestStress hammers pools with random Gets, holds, broken returns,
// context deadlines and capacity changes, and checks that capacity is never
// exceeded, waiters are served strictly in arrival order or give up for a
// reason they were given, nothing stalls, and nothing is left open after
// Close. It is bounded in operations and in time; the seed is logged.
func TestStress(t *testing.T) {
	tests := []struct {
		name        string
		capacity    int
		maxCapacity int // > capacity: resize at random up to it
		goroutines  int
		ops         int // per goroutine
		waitTimeout time.Duration
		maxWaiters  int
		brokenOneIn int // one return in N is broken; 0 never
		idleTimeout time.Duration
		maxLifetime time.Duration
	}{
		{name: "tight", capacity: 2, goroutines: 16, ops: 300, waitTimeout: 2 * time.Millisecond, brokenOneIn: 20},
		{name: "no wait timeout", capacity: 4, goroutines: 24, ops: 300, brokenOneIn: 50},
		{name: "waiter cap", capacity: 3, goroutines: 24, ops: 300, waitTimeout: 5 * time.Millisecond, maxWaiters: 4},
		{name: "resize", capacity: 4, maxCapacity: 12, goroutines: 24, ops: 300, waitTimeout: 3 * time.Millisecond, brokenOneIn: 30},
		{name: "churn", capacity: 6, goroutines: 16, ops: 300, brokenOneIn: 10, idleTimeout: 2 * time.Millisecond, maxLifetime: 5 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			resize := tt.maxCapacity > tt.capacity
			f := &fakeConnector{}
			p := NewPool(PoolConfig{
				Name:             "StressPool",
				Capacity:         tt.capacity,
				MaxCapacity:      tt.maxCapacity,
				WaitTimeout:      tt.waitTimeout,
				MaxWaiters:       tt.maxWaiters,
				IdleTimeout:      tt.idleTimeout,
				MaxLifetime:      tt.maxLifetime,
				WatchdogInterval: time.Millisecond,
			}, f.connect, discardLogger())
			fifo := &fifoChecker{}
			p.setHooks(fifo.hooks())
			p.Open()

			// The whole run stops early at this deadline rather than run long
			// on a slow machine.
			runCtx, stop := context.WithTimeout(context.Background(), 20*time.Second)
			defer stop()

			var (
				held     atomic.Int64
				mu       sync.Mutex
				failures []string
			)
			fail := func(format string, args ...any) {
				mu.Lock()
				defer mu.Unlock()
				if len(failures) < 20 {
					failures = append(failures, fmt.Sprintf(format, args...))
				}
			}
			bound := tt.capacity
			if resize {
				bound = tt.maxCapacity
			}

			var wg sync.WaitGroup
			for g := range tt.goroutines {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(seed, uint64(g)))
					for i := 0; i < tt.ops && runCtx.Err() == nil; i++ {
						ctx, cancel := runCtx, context.CancelFunc(func() {})
						switch rng.IntN(4) {
						case 0:
							ctx, cancel = context.WithTimeout(runCtx, time.Duration(rng.IntN(3000))*time.Microsecond)
						case 1:
							ctx, cancel = context.WithCancel(runCtx)
							if rng.IntN(10) == 0 {
								cancel()
							}
						}
						start := time.Now()
						pc, err := p.Get(ctx)
						waited := time.Since(start)
						if err != nil {
							switch {
							case runCtx.Err() != nil:
							case errors.Is(err, ErrPoolExhausted):
								if tt.maxWaiters == 0 && waited < tt.waitTimeout {
									fail("exhausted after %v, before the %v wait timeout: %v", waited, tt.waitTimeout, err)
								}
								if tt.waitTimeout == 0 && tt.maxWaiters == 0 {
									fail("exhausted without a wait timeout or waiter cap: %v", err)
								}
							case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
								if ctx.Err() == nil {
									fail("context error while the context is live: %v", err)
								}
							default:
								fail("unexpected Get error: %v", err)
							}
							cancel()
							continue
						}
						cancel()
						if n := held.Add(1); n > int64(bound) {
							fail("%d connections lent out, capacity %d", n, bound)
						}
						if pc.Conn.IsBroken() {
							fail("Get handed out a broken connection")
						}
						switch rng.IntN(3) {
						case 0:
							time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond) // simulated work
						case 1:
							// hand back at once
						default:
							for range rng.IntN(100) {
								_ = rng.Uint64() // a little CPU work
							}
						}
						if tt.brokenOneIn > 0 && rng.IntN(tt.brokenOneIn) == 0 {
							pc.Conn.broken.Store(true)
						}
						held.Add(-1)
						pc.Release()
						if resize && rng.IntN(40) == 0 {
							if err := p.SetCapacity(1 + rng.IntN(tt.maxCapacity)); err != nil {
								fail("SetCapacity: %v", err)
							}
						}
					}
				})
			}
			wg.Wait()
			if runCtx.Err() != nil {
				t.Logf("stopped at the time bound")
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := p.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
			for _, msg := range failures {
				t.Error(msg)
			}
			if m := f.maxLive.Load(); m > int64(bound) {
				t.Errorf("%d connections open at once, capacity %d", m, bound)
			}
			if live, dials, closes := f.live.Load(), f.dials.Load(), f.closes.Load(); live != 0 || dials != closes {
				t.Errorf("after Close: %d open, %d opened, %d closed", live, dials, closes)
			}
			s := p.Stats()
			if s.Active != 0 || s.InUse != 0 || s.Idle != 0 || s.Waiters != 0 {
				t.Errorf("after Close stats = %+v", s)
			}
			if s.StallsRepaired != 0 {
				t.Errorf("watchdog repaired %d stalls; the pool should never stall", s.StallsRepaired)
			}
			p.mu.Lock()
			for _, v := range fifo.violations {
				t.Errorf("FIFO: %s", v)
			}
			if len(fifo.queue) != 0 {
				t.Errorf("waiters neither served nor gone: %v", fifo.queue)
			}
			served, abandoned := fifo.served, fifo.abandoned
			p.mu.Unlock()
			t.Logf("gets %d, waits %d (served %d, gave up %d), exhausted %d, broken %d, idle closed %d, aged %d, dials %d",
				s.Gets, s.WaitCount, served, abandoned, s.Exhausted, s.BrokenClosed, s.IdleClosed, s.MaxLifetimeClosed, f.dials.Load())
			if s.WaitCount == 0 {
				t.Errorf("no Get ever waited: the run did not contend")
			}
		})
	}
}
