package topotest

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tabletd/tablet/topo"
)

// checkLockMutualExclusion has several clients take the same lock in
// rounds. Inside the lock each does a read-modify-write without a version,
// which loses increments if two ever hold the lock at once; a counter of
// holders catches it directly too.
func checkLockMutualExclusion(t *testing.T, s Store) {
	ctx := testContext(t, 2*time.Minute)
	const dir = "keyspaces/ks"
	const counter = "keyspaces/ks/counter"
	setup := s.Open(t)
	_, err := setup.Lock(ctx, dir, "nobody")
	ExpectError(t, err, topo.NoNode, dir)
	if _, err := setup.Create(ctx, counter, []byte("0")); err != nil {
		t.Fatalf("Create: %v", err)
	}

	const contenders, rounds = 4, 5
	var holders, maxHolders atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, contenders)
	for i := 0; i < contenders; i++ {
		c := s.Open(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				if err := incrementUnderLock(ctx, c, dir, counter, "contender "+strconv.Itoa(i), &holders, &maxHolders); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if m := maxHolders.Load(); m != 1 {
		t.Fatalf("%d clients held the lock at once", m)
	}
	data, _, err := setup.Get(ctx, counter)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if want := strconv.Itoa(contenders * rounds); string(data) != want {
		t.Fatalf("counter = %s, want %s: two holders overlapped", data, want)
	}
	// The lock nodes are gone after the last Unlock.
	if _, err := setup.List(ctx, dir+"/"+topo.LocksPath); !errorsIsNoNode(err) {
		t.Fatalf("List locks after all unlocked: %v, want NoNode", err)
	}
}

func errorsIsNoNode(err error) bool { return topo.CodeOf(err) == topo.NoNode }

func incrementUnderLock(ctx context.Context, c topo.Conn, dir, counter, who string, holders, maxHolders *atomic.Int32) (err error) {
	ld, err := c.Lock(ctx, dir, who)
	if err != nil {
		return err
	}
	defer func() {
		if uerr := ld.Unlock(ctx); err == nil {
			err = uerr
		}
	}()
	n := holders.Add(1)
	defer holders.Add(-1)
	for {
		m := maxHolders.Load()
		if n <= m || maxHolders.CompareAndSwap(m, n) {
			break
		}
	}
	if err := ld.Check(ctx); err != nil {
		return err
	}
	data, _, err := c.Get(ctx, counter)
	if err != nil {
		return err
	}
	v, _ := strconv.Atoi(string(data))
	_, err = c.Update(ctx, counter, []byte(strconv.Itoa(v+1)), 0)
	return err
}

func checkLockWaitErrors(t *testing.T, s Store) {
	ctx := testContext(t, time.Minute)
	const dir = "keyspaces/ks/shards/0"
	a, b := s.Open(t), s.Open(t)
	if _, err := a.Create(ctx, dir+"/Shard", []byte("s")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	held, err := a.Lock(ctx, dir, "a holds it")
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if err := held.Check(ctx); err != nil {
		t.Fatalf("Check held lock: %v", err)
	}
	// The holder's contents are readable in the locks directory.
	entries, err := b.List(ctx, dir+"/"+topo.LocksPath)
	if err != nil || len(entries) != 1 {
		t.Fatalf("List locks = %v, %v; want one entry", entries, err)
	}
	if data, _, err := b.Get(ctx, dir+"/"+topo.LocksPath+"/"+entries[0].Name); err != nil || string(data) != "a holds it" {
		t.Fatalf("lock node = %q, %v", data, err)
	}

	// Waiting past a deadline is Timeout; cancelling is Interrupted.
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = b.Lock(tctx, dir, "b waits")
	cancel()
	ExpectError(t, err, topo.Timeout, dir)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := b.Lock(cctx, dir, "b waits again")
		done <- err
	}()
	// Cancel once b's lock node is queued behind a's.
	WaitFor(t, 10*time.Second, "b's lock node", func() bool {
		e, _ := a.List(ctx, dir+"/"+topo.LocksPath)
		return len(e) == 2
	})
	cancel()
	select {
	case err := <-done:
		ExpectError(t, err, topo.Interrupted, dir)
	case <-time.After(10 * time.Second):
		t.Fatal("Lock did not return after its context was cancelled")
	}
	// A waiter that gave up leaves no node behind.
	WaitFor(t, 10*time.Second, "abandoned lock nodes to go", func() bool {
		e, _ := a.List(ctx, dir+"/"+topo.LocksPath)
		return len(e) == 1
	})

	// After Unlock, b gets it; a's descriptor no longer checks.
	if err := held.Unlock(ctx); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := held.Unlock(ctx); err != nil {
		t.Fatalf("second Unlock: %v", err)
	}
	if err := held.Check(ctx); err == nil {
		t.Fatal("Check after Unlock = nil, want an error")
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got, err := b.Lock(lctx, dir, "b")
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	if err := got.Unlock(ctx); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
}

// checkLockHolderDies closes the holder's client without unlocking; the
// lock must go within the lease TTL (plus the store's expiry granularity,
// which for etcd is about half a second).
func checkLockHolderDies(t *testing.T, s Store) {
	ctx := testContext(t, time.Minute)
	const dir = "keyspaces/dies"
	holder, waiter := s.Open(t), s.Open(t)
	if _, err := holder.Create(ctx, dir+"/Keyspace", []byte("k")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := holder.Lock(ctx, dir, "holder"); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	ttl := s.LeaseTTL()
	if err := holder.Close(); err != nil {
		t.Fatalf("Close holder: %v", err)
	}
	died := time.Now()
	grace := ttl + 2*time.Second
	lctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	ld, err := waiter.Lock(lctx, dir, "waiter")
	if err != nil {
		t.Fatalf("lock of a dead holder not released within %v (TTL %v): %v", grace, ttl, err)
	}
	t.Logf("lock released %v after its holder died (TTL %v)", time.Since(died).Round(time.Millisecond), ttl)
	if err := ld.Unlock(ctx); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
}
