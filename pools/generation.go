package pools

import (
	"sync"
	"sync/atomic"
)

// maxShells bounds MaxCapacity: a stack head packs a shell index and a
// count in 16 bits each (see stack).
const maxShells = 1<<16 - 1

// cacheLine separates fields written by different goroutines, so that a
// compare-and-swap on one does not evict the others from other cores'
// caches (false sharing).
const cacheLine = 64

// generation is one Open-to-Close life of a Pool: its connection slots and
// the shells that carry its connections. Open starts a new generation, so
// connections still lent out from a closed one are closed when they return
// and never count against the new one.
//
// A generation owns a fixed array of MaxCapacity shells (Pooled values). A
// shell is at any moment on the idle stack, on the free stack, or held (lent
// out, or being opened or closed). Slots are counted in active, which is
// reserved before a shell is taken from the free stack and released only
// after the shell is back on it, so the free stack is never empty when a
// slot is held: shells held or idle <= active <= MaxCapacity.
type generation[C Conn] struct {
	id        uint64
	shells    []Pooled[C]
	drainOnce sync.Once
	drained   chan struct{} // closed when the generation is closed and holds no slot

	closed atomic.Bool // set once, by Close
	_      [cacheLine]byte
	active atomic.Int64 // slots held: connections open or being opened or closed
	_      [cacheLine - 8]byte
	idle   stack // most recently returned on top
	_      [cacheLine - 8]byte
	free   stack
	_      [cacheLine - 8]byte
}

func newGeneration[C Conn](p *Pool[C], id uint64, size int) *generation[C] {
	g := &generation[C]{
		id:      id,
		shells:  make([]Pooled[C], size),
		drained: make(chan struct{}),
	}
	for i := size - 1; i >= 0; i-- {
		pc := &g.shells[i]
		pc.pool = p
		pc.g = g
		pc.idx = uint32(i)
		g.push(&g.free, pc)
	}
	return g
}

// stack is a lock-free LIFO of shells (a Treiber stack). Its head word
// packs: bits 0-15, the top shell's index+1 (0 when empty); bits 16-31, how
// many shells are on the stack; bit 32, the waiters flag; bits 33-63, a tag
// that every change bumps, so that a pop which read a head that has since
// been popped and pushed back fails its compare-and-swap instead of linking
// a stale next (the ABA problem: shells are reused).
//
// The waiters flag is used on the idle stack only. It is set, under the
// pool's lock and only while the stack is empty, when a Get is about to
// queue, and cleared when the queue empties. A push fails while it is set,
// so a connection can never be published as idle while a Get waits: the
// returner hands it over under the lock instead. Checking for waiters and
// publishing are one atomic step, which leaves no window for a preempted
// returner to strand a waiter beside an idle connection.
type stack struct {
	head atomic.Uint64
}

const (
	headIndexMask = 0xffff
	headCountOne  = 1 << 16
	headCountMask = 0xffff << 16
	headWaiters   = 1 << 32
	headTagOne    = 1 << 33
)

// bump returns h with its tag advanced and the other fields unchanged.
func bump(h uint64) uint64 { return h + headTagOne }

func (s *stack) len() int64 { return int64(s.head.Load()&headCountMask) >> 16 }

// waitersFlagged reports whether the waiters flag is set.
func (s *stack) waitersFlagged() bool { return s.head.Load()&headWaiters != 0 }

// tryPush pushes pc unless the waiters flag is set (when honourFlag).
func (g *generation[C]) tryPush(s *stack, pc *Pooled[C], honourFlag bool) bool {
	for {
		h := s.head.Load()
		if honourFlag && h&headWaiters != 0 {
			return false
		}
		pc.next.Store(uint32(h & headIndexMask))
		nh := bump(h)&^headIndexMask + headCountOne | uint64(pc.idx+1)
		if s.head.CompareAndSwap(h, nh) {
			return true
		}
	}
}

// push pushes pc whatever the flag says: for the free stack, and for the
// idle stack by a caller holding the pool's lock with the flag clear.
func (g *generation[C]) push(s *stack, pc *Pooled[C]) { g.tryPush(s, pc, false) }

func (g *generation[C]) pop(s *stack) *Pooled[C] {
	for {
		h := s.head.Load()
		top := uint32(h & headIndexMask)
		if top == 0 {
			return nil
		}
		pc := &g.shells[top-1]
		next := uint64(pc.next.Load())
		nh := bump(h)&^headIndexMask - headCountOne | next
		if s.head.CompareAndSwap(h, nh) {
			return pc
		}
	}
}

// popOrFlag, under the pool's lock, pops an idle connection and lends it or,
// if there is none, sets the waiters flag, in one atomic step.
func (g *generation[C]) popOrFlag() *Pooled[C] {
	for {
		h := g.idle.head.Load()
		if h&headIndexMask != 0 {
			if pc := g.popIdle(); pc != nil {
				return pc
			}
			continue
		}
		if h&headWaiters != 0 || g.idle.head.CompareAndSwap(h, bump(h)|headWaiters) {
			return nil
		}
	}
}

// clearWaiters, under the pool's lock, clears the waiters flag.
func (g *generation[C]) clearWaiters() {
	for {
		h := g.idle.head.Load()
		if h&headWaiters == 0 || g.idle.head.CompareAndSwap(h, bump(h)&^headWaiters) {
			return
		}
	}
}

// popIdle takes the most recently returned idle connection and lends it.
func (g *generation[C]) popIdle() *Pooled[C] {
	pc := g.pop(&g.idle)
	if pc != nil {
		pc.lent = true
	}
	return pc
}

// tryPushIdle puts a held connection on the idle stack, unless Gets are
// queued.
func (g *generation[C]) tryPushIdle(pc *Pooled[C]) bool {
	pc.lent = false
	if g.tryPush(&g.idle, pc, true) {
		return true
	}
	pc.lent = true
	return false
}

// reserve takes a slot if fewer than capacity are held.
func (g *generation[C]) reserve(capacity int64) bool {
	for {
		a := g.active.Load()
		if a >= capacity {
			return false
		}
		if g.active.CompareAndSwap(a, a+1) {
			return true
		}
	}
}

// checkDrained closes drained once the generation is closed and empty.
func (g *generation[C]) checkDrained() {
	if g.closed.Load() && g.active.Load() == 0 {
		g.drainOnce.Do(func() { close(g.drained) })
	}
}
