// Package topotest is the conformance suite every topo.Conn backend must
// pass, and helpers for tests of code built on topo. Each backend's own
// test calls Run unchanged:
//
//	func TestConformance(t *testing.T) {
//		topotest.Run(t, func(t *testing.T) topotest.Store { return newTestStore(t) })
//	}
//
// Run builds a fresh Store for every check and runs each check as a
// subtest. The checks cover compare-and-swap, node-exists and no-node
// errors that name their path, listing, watches that see every update and
// the deletion, lock mutual exclusion among several clients, a lock
// released within the lease TTL when its holder's client dies, and an
// election that hands over when the leader stops or dies. No backend opts
// out of any check.
//
// It is imported only by tests.
package topotest

import (
	"context"
	"testing"
	"time"

	"github.com/tabletd/tablet/topo"
)

// Store is one fresh, empty topology store for one check, as a backend's
// test provides it.
type Store interface {
	// Open returns a new client of the store, with its own leases, under
	// the store's root. Every Conn it returns is rooted alike, so all see the
	// same nodes. The suite may Close a Conn itself; the Store must close
	// whatever is still open when t ends.
	Open(t *testing.T) topo.Conn

	// LeaseTTL is the lease TTL the clients use. Keep it short (1-2s): the
	// suite waits up to about twice this long for a dead holder's lock to
	// go.
	LeaseTTL() time.Duration
}

// checks lists the suite; each runs on a fresh Store.
var checks = []struct {
	name string
	run  func(t *testing.T, s Store)
}{
	{"CreateGet", checkCreateGet},
	{"UpdateCompareAndSwap", checkUpdateCAS},
	{"Delete", checkDelete},
	{"ConcurrentCompareAndSwap", checkConcurrentCAS},
	{"List", checkList},
	{"Paths", checkPaths},
	{"ContextErrors", checkContextErrors},
	{"ClosedConn", checkClosedConn},
	{"Watch", checkWatch},
	{"WatchCancel", checkWatchCancel},
	{"LockMutualExclusion", checkLockMutualExclusion},
	{"LockWaitErrors", checkLockWaitErrors},
	{"LockReleasedWhenHolderDies", checkLockHolderDies},
	{"ElectionHandover", checkElectionHandover},
	{"ElectionLeaderDies", checkElectionLeaderDies},
}

// Run runs every check against a fresh store from newStore, each as a
// subtest of t.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, newStore(t))
		})
	}
}

// testContext returns a context that ends with the test or after d.
func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// WaitFor polls cond every few milliseconds until it holds, failing t with
// what after timeout. It waits on a condition, not for a guessed duration.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}
