package pools

import (
	"context"
	"testing"
	"time"
)

// TestWatchdogRepairsStall provokes the stall the watchdog exists for — a
// Get queued while a connection sits idle — and checks it is served and
// counted, by a direct pass and by the background goroutine.
func TestWatchdogRepairsStall(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration // WatchdogInterval; 0 runs one pass by hand
	}{
		{"direct pass", 0},
		{"background", time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newTestPool(t, PoolConfig{Capacity: 1, WatchdogInterval: tt.interval})
			ctx := context.Background()
			pc, err := p.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			res := goGet(p, ctx)
			waitFor(t, "waiter to queue", func() bool { return p.Waiters() == 1 })

			conn := pc.Conn
			p.stallForTest(pc)
			if tt.interval == 0 {
				if s := p.Stats(); s.Waiters != 1 || s.Idle != 1 {
					t.Fatalf("stats = %+v, want the stall in place", s)
				}
				p.runWatchdogForTest()
			}
			r := recv(t, "stalled waiter to be served", res)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.pc.Conn != conn {
				t.Errorf("waiter got another connection, want the idle one")
			}
			r.pc.Release()
			if got := p.Metrics().StallsRepaired(); got != 1 {
				t.Errorf("StallsRepaired = %d, want 1", got)
			}
		})
	}
}

// TestWatchdogRepairsFreeSlotStall: a Get queued while capacity is free is
// granted a slot.
func TestWatchdogRepairsFreeSlotStall(t *testing.T) {
	p, _ := newTestPool(t, PoolConfig{Capacity: 1, MaxCapacity: 2})
	ctx := context.Background()
	pc, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Release()
	res := goGet(p, ctx)
	waitFor(t, "waiter to queue", func() bool { return p.Waiters() == 1 })
	// Raise capacity behind the pool's back, as a bug would.
	p.capacity.Store(2)
	p.runWatchdogForTest()
	r := recv(t, "waiter to be served", res)
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.pc.Release()
	if got := p.Metrics().StallsRepaired(); got != 1 {
		t.Errorf("StallsRepaired = %d, want 1", got)
	}
}

// TestWatchdogQuietWithoutStall: a full pool with waiters is not a stall.
func TestWatchdogQuietWithoutStall(t *testing.T) {
	p, _ := newTestPool(t, PoolConfig{Capacity: 1})
	ctx, cancel := context.WithCancel(context.Background())
	pc, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res := goGet(p, ctx)
	waitFor(t, "waiter to queue", func() bool { return p.Waiters() == 1 })
	p.runWatchdogForTest()
	if got := p.Metrics().StallsRepaired(); got != 0 {
		t.Errorf("StallsRepaired = %d on a merely full pool, want 0", got)
	}
	cancel()
	recv(t, "cancelled waiter", res)
	pc.Release()
}
