package topotest

import (
	"context"
	"testing"
	"time"

	"github.com/tabletd/tablet/topo"
)

type waitResult struct {
	ctx context.Context
	err error
}

func waitForLeadership(ctx context.Context, p topo.LeaderParticipation) <-chan waitResult {
	ch := make(chan waitResult, 1)
	go func() {
		lctx, err := p.WaitForLeadership(ctx)
		ch <- waitResult{lctx, err}
	}()
	return ch
}

func leaderIs(ctx context.Context, p topo.LeaderParticipation, id string) func() bool {
	return func() bool {
		got, err := p.GetCurrentLeaderID(ctx)
		return err == nil && got == id
	}
}

func expectDone(t *testing.T, ctx context.Context, within time.Duration, what string) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(within):
		t.Fatalf("%s: leadership context not cancelled within %v", what, within)
	}
}

func checkElectionHandover(t *testing.T, s Store) {
	ctx := testContext(t, time.Minute)
	c1, c2, c3 := s.Open(t), s.Open(t), s.Open(t)
	p1, err := c1.NewLeaderParticipation("vtorc", "id-1")
	if err != nil {
		t.Fatalf("NewLeaderParticipation: %v", err)
	}
	p2, err := c2.NewLeaderParticipation("vtorc", "id-2")
	if err != nil {
		t.Fatalf("NewLeaderParticipation: %v", err)
	}
	p3, err := c3.NewLeaderParticipation("vtorc", "id-3")
	if err != nil {
		t.Fatalf("NewLeaderParticipation: %v", err)
	}
	if id, err := p3.GetCurrentLeaderID(ctx); err != nil || id != "" {
		t.Fatalf("leader before anyone joined = %q, %v; want none", id, err)
	}
	lead1, err := p1.WaitForLeadership(ctx)
	if err != nil {
		t.Fatalf("p1 WaitForLeadership: %v", err)
	}
	if _, err := p1.WaitForLeadership(ctx); err == nil {
		t.Fatal("second WaitForLeadership succeeded")
	}
	w2 := waitForLeadership(ctx, p2)
	WaitFor(t, 10*time.Second, "p2 to join", func() bool {
		e, _ := c3.List(ctx, topo.ElectionDir("vtorc")+"/"+topo.LocksPath)
		return len(e) == 2
	})
	if id, err := p3.GetCurrentLeaderID(ctx); err != nil || id != "id-1" {
		t.Fatalf("leader = %q, %v; want id-1", id, err)
	}
	select {
	case r := <-w2:
		t.Fatalf("p2 became leader while p1 leads (err %v)", r.err)
	default:
	}

	// p1 steps down: its context ends and p2 takes over.
	p1.Stop()
	expectDone(t, lead1, 10*time.Second, "p1 after Stop")
	var r waitResult
	select {
	case r = <-w2:
	case <-time.After(10 * time.Second):
		t.Fatal("p2 did not become leader after p1 stopped")
	}
	if r.err != nil {
		t.Fatalf("p2 WaitForLeadership: %v", r.err)
	}
	WaitFor(t, 10*time.Second, "leader id-2", leaderIs(ctx, p3, "id-2"))
	if _, err := p1.WaitForLeadership(ctx); topo.CodeOf(err) != topo.Interrupted {
		t.Fatalf("WaitForLeadership after Stop = %v, want Interrupted", err)
	}

	// A pending wait ends with Interrupted when its participant stops.
	w3 := waitForLeadership(ctx, p3)
	WaitFor(t, 10*time.Second, "p3 to join", func() bool {
		e, _ := c1.List(ctx, topo.ElectionDir("vtorc")+"/"+topo.LocksPath)
		return len(e) == 2
	})
	p3.Stop()
	select {
	case r := <-w3:
		if topo.CodeOf(r.err) != topo.Interrupted {
			t.Fatalf("pending WaitForLeadership after Stop = %v, want Interrupted", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("pending WaitForLeadership did not return after Stop")
	}

	p2.Stop()
	expectDone(t, r.ctx, 10*time.Second, "p2 after Stop")
	WaitFor(t, 10*time.Second, "no leader", leaderIs(ctx, p1, ""))
	p2.Stop() // idempotent
}

func checkElectionLeaderDies(t *testing.T, s Store) {
	ctx := testContext(t, time.Minute)
	c1, c2 := s.Open(t), s.Open(t)
	p1, err := c1.NewLeaderParticipation("primary", "id-1")
	if err != nil {
		t.Fatalf("NewLeaderParticipation: %v", err)
	}
	p2, err := c2.NewLeaderParticipation("primary", "id-2")
	if err != nil {
		t.Fatalf("NewLeaderParticipation: %v", err)
	}
	lead1, err := p1.WaitForLeadership(ctx)
	if err != nil {
		t.Fatalf("p1 WaitForLeadership: %v", err)
	}
	w2 := waitForLeadership(ctx, p2)
	WaitFor(t, 10*time.Second, "p2 to join", func() bool {
		e, _ := c2.List(ctx, topo.ElectionDir("primary")+"/"+topo.LocksPath)
		return len(e) == 2
	})
	// The leader's client dies: it stops leading at once, and p2 takes over
	// once the lease expires.
	if err := c1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	expectDone(t, lead1, 10*time.Second, "p1 after its client closed")
	grace := s.LeaseTTL() + 2*time.Second
	select {
	case r := <-w2:
		if r.err != nil {
			t.Fatalf("p2 WaitForLeadership: %v", r.err)
		}
		defer p2.Stop()
	case <-time.After(grace):
		t.Fatalf("p2 did not become leader within %v of the leader's client dying", grace)
	}
	WaitFor(t, 10*time.Second, "leader id-2", leaderIs(ctx, p2, "id-2"))
	p1.Stop() // safe after its Conn closed
}
