package pools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is what a Pool holds: one connection to some server. The pool knows
// nothing else about it.
type Conn interface {
	// Close releases the connection. The pool calls it at most once per
	// connection it opened, from one goroutine at a time, never while the
	// connection is lent out. A holder that closes a connection itself must
	// still return it to the pool, so Close must tolerate a second call.
	Close() error

	// IsBroken reports whether the connection must not be used again: its
	// server went away, a protocol error left it unusable, or it was closed.
	// The pool asks when a connection is returned and again before lending
	// an idle one out; a broken connection is closed and replaced, never
	// handed out. It may do cheap I/O (a non-blocking socket check) but must
	// not block.
	IsBroken() bool
}

// Connector opens one new connection. It is called without any pool lock
// held, bounded by the context of the Get that needs the connection.
type Connector[C Conn] func(ctx context.Context) (C, error)

// PoolConfig sizes and times one Pool. It is plain data; the zero value of
// each duration disables that behaviour. Build one from Config for the
// tablet's named pools, or by hand for other uses.
type PoolConfig struct {
	// Name identifies the pool in errors and logs and is the prefix of its
	// variables (Stats.Vars), as vttablet's "TransactionPool".
	Name string

	// Capacity is the most connections the pool keeps open at once, lent
	// out and idle together. At least 1.
	Capacity int

	// MaxCapacity is the ceiling for SetCapacity; zero means Capacity. The
	// pool sets aside memory for this many connections (about 64 bytes
	// each) when it opens. At most 65535.
	MaxCapacity int

	// WaitTimeout bounds how long Get waits when every connection is lent
	// out; the caller's context may end the wait sooner. Zero means Get
	// waits until its context ends.
	WaitTimeout time.Duration

	// MaxWaiters caps how many Gets may wait at once; one more fails at once
	// with ErrPoolExhausted. Zero means no cap.
	MaxWaiters int

	// IdleTimeout closes a connection that has sat idle in the pool this
	// long. Zero keeps idle connections open indefinitely.
	IdleTimeout time.Duration

	// MaxLifetime closes a connection this long after it was opened (plus up
	// to 10% random jitter, so connections opened together do not all
	// reconnect together), when it is idle or next returned. Zero means no
	// limit.
	MaxLifetime time.Duration

	// WatchdogInterval is how often the stall watchdog checks for Gets
	// queued while connections sit idle or slots are free, and repairs it
	// by serving them. Zero disables the watchdog.
	WatchdogInterval time.Duration
}

// Validate reports the first problem with c, naming the pool and the field.
func (c PoolConfig) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("pool config: Name is empty"))
	}
	if c.Capacity < 1 {
		errs = append(errs, fmt.Errorf("pool %s: Capacity must be at least 1, got %d", c.Name, c.Capacity))
	}
	if c.MaxCapacity != 0 && c.MaxCapacity < c.Capacity {
		errs = append(errs, fmt.Errorf("pool %s: MaxCapacity %d is below Capacity %d", c.Name, c.MaxCapacity, c.Capacity))
	}
	if max(c.Capacity, c.MaxCapacity) > maxShells {
		errs = append(errs, fmt.Errorf("pool %s: capacity above %d", c.Name, maxShells))
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{
		{"WaitTimeout", c.WaitTimeout},
		{"IdleTimeout", c.IdleTimeout},
		{"MaxLifetime", c.MaxLifetime},
		{"WatchdogInterval", c.WatchdogInterval},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("pool %s: %s must not be negative, got %v", c.Name, d.field, d.v))
		}
	}
	if c.MaxWaiters < 0 {
		errs = append(errs, fmt.Errorf("pool %s: MaxWaiters must not be negative, got %d", c.Name, c.MaxWaiters))
	}
	return errors.Join(errs...)
}

// Pooled is a connection lent out by a Pool. Conn is the holder's to use
// until the Pooled goes back with Pool.Put (or Release); after that the
// holder must not touch either: the pool reuses Pooled values. A Pooled is
// not safe for concurrent use by several goroutines unless Conn itself is.
type Pooled[C Conn] struct {
	// Conn is the connection.
	Conn C

	pool *Pool[C]
	g    *generation[C] // the generation whose shell this is
	idx  uint32         // its index in g.shells
	next atomic.Uint32  // index+1 of the shell below this one in its stack

	// lent is true while a caller holds the shell: set by Get, cleared by
	// Put, to catch a second Put. Written only by the shell's holder.
	lent bool

	// The fields below are written only by the goroutine holding the
	// shell, and published to the next holder by the stacks' atomics. They
	// are monotonic times since the pool's epoch (see Pool.now).
	born     time.Duration // when Conn was opened
	expires  time.Duration // when Conn reaches its lifetime; zero for never
	lastUsed time.Duration // when Conn was last returned
}

// Release returns the connection to its pool; it is Pool.Put(pc).
func (pc *Pooled[C]) Release() { pc.pool.Put(pc) }

// Born reports when the underlying connection was opened.
func (pc *Pooled[C]) Born() time.Time { return pc.pool.epoch.Add(pc.born) }

// Pool is a bounded pool of connections of type C. It is blind to what the
// connections are: it opens them with a Connector, lends them out to Get,
// takes them back with Put, and closes those that are broken, idle too long
// or too old.
//
// Bounds: at most Capacity connections are open at once (lent out, idle and
// being opened or closed together). When all are lent out, Get queues;
// queued Gets are served strictly first come, first served, each as soon as
// a connection is returned or a slot frees up, and a Get that arrives while
// others are queued queues behind them.
//
// Life: NewPool builds it closed; Open starts it and its background
// goroutines (idle and lifetime reaper, stall watchdog); Close refuses new
// Gets, fails queued ones, closes idle connections and waits for lent ones
// to come back. A closed pool may be opened again.
//
// All methods are safe for concurrent use.
//
// How it works: idle connections sit on a lock-free stack and open slots are
// an atomic count, so Get and Put touch no lock while nobody is queued. The
// queue of waiting Gets is guarded by mu, and no connection or slot is ever
// free while a Get waits (the stall that locked up Vitess tablets after its
// pool rewrite):
//   - a Get about to queue, under mu, either pops an idle connection or sets
//     a waiters flag in the idle stack's head word, in one atomic step; while
//     the flag is set, pushes fail and a returned connection is handed to the
//     first waiter under mu;
//   - slots are given up, and capacity raised, only under mu, which serves
//     the queue with them before letting go.
//
// The watchdog checks that this holds.
type Pool[C Conn] struct {
	cfg     PoolConfig // immutable after NewPool
	maxCap  int
	epoch   time.Time // origin of the pool's monotonic clock (see now)
	connect Connector[C]
	logger  *slog.Logger
	metrics Metrics
	spare   sync.Pool // of *waiter[C], reused across waits

	lifeMu sync.Mutex // serializes Open and Close

	// Read by every Get and Put, written rarely: kept off the cache lines
	// of the counters above.
	_        [cacheLine]byte
	gen      atomic.Pointer[generation[C]] // current generation; nil until the first Open
	capacity atomic.Int64
	waiting  atomic.Int64 // queue.len(), written under mu; read without it
	_        [cacheLine - 24]byte

	mu      sync.Mutex
	queue   waitList[C]    // guarded by mu
	tickets uint64         // guarded by mu; numbers waiters in arrival order
	stop    chan struct{}  // guarded by mu; closed by Close to stop workers
	hooks   *testHooks     // set by tests before traffic; read under mu
	workers sync.WaitGroup // background goroutines of the current generation
}

// testHooks observe the wait queue from inside the lock; only tests set
// them.
type testHooks struct {
	enqueued  func(ticket uint64)
	served    func(ticket uint64)
	abandoned func(ticket uint64)
}

// NewPool builds a closed pool; call Open before Get. It starts nothing and
// opens no connection. It panics if cfg does not validate or connect or
// logger is nil: a pool's shape is the programmer's choice, and user input
// is checked earlier by Config.Validate.
func NewPool[C Conn](cfg PoolConfig, connect Connector[C], logger *slog.Logger) *Pool[C] {
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("pools: NewPool: %v", err))
	}
	if connect == nil || logger == nil {
		panic(fmt.Sprintf("pools: NewPool %s: nil connector or logger", cfg.Name))
	}
	p := &Pool[C]{
		cfg:     cfg,
		maxCap:  max(cfg.MaxCapacity, cfg.Capacity),
		epoch:   time.Now(),
		connect: connect,
		logger:  logger,
	}
	p.capacity.Store(int64(cfg.Capacity))
	p.spare.New = func() any {
		t := time.NewTimer(time.Hour)
		t.Stop()
		return &waiter[C]{ready: make(chan grant[C], 1), timer: t}
	}
	return p
}

// now is the time since the pool's epoch. It reads only the monotonic
// clock, which costs about half of time.Now: Put reads it on every return.
func (p *Pool[C]) now() time.Duration { return time.Since(p.epoch) }

// Name is the pool's name from its PoolConfig.
func (p *Pool[C]) Name() string { return p.cfg.Name }

// Open lets the pool lend connections and starts its background
// goroutines. It opens no connection itself: they are opened on demand.
// Open on an open pool does nothing. Opening a pool again after Close starts
// a new generation: connections of the old one still lent out are closed
// when they come back and no longer count against capacity.
func (p *Pool[C]) Open() {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()

	p.mu.Lock()
	old := p.gen.Load()
	if old != nil && !old.closed.Load() {
		p.mu.Unlock()
		return
	}
	var id uint64
	if old != nil {
		id = old.id + 1
	}
	p.gen.Store(newGeneration(p, id, p.maxCap))
	stop := make(chan struct{})
	p.stop = stop
	p.mu.Unlock()

	if old != nil {
		if n := old.active.Load(); n > 0 {
			p.logger.Warn("reopened pool with connections still lent out; they close when returned",
				"pool", p.cfg.Name, "lent", n)
		}
	}
	if every := p.reapInterval(); every > 0 {
		p.goWorker(stop, every, p.reap)
	}
	if p.cfg.WatchdogInterval > 0 {
		p.goWorker(stop, p.cfg.WatchdogInterval, func(time.Time) { p.watchdog() })
	}
}

// reapInterval is a tenth of the shorter of the idle timeout and the
// maximum lifetime, so a connection outlives either by at most 10%; zero
// when neither is set.
func (p *Pool[C]) reapInterval() time.Duration {
	d := p.cfg.IdleTimeout
	if l := p.cfg.MaxLifetime; l > 0 && (d == 0 || l < d) {
		d = l
	}
	if d == 0 {
		return 0
	}
	return max(d/10, time.Millisecond)
}

// goWorker runs fn every interval until stop is closed; Close waits for it.
func (p *Pool[C]) goWorker(stop <-chan struct{}, interval time.Duration, fn func(now time.Time)) {
	p.workers.Add(1)
	go func() {
		defer p.workers.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				fn(now)
			case <-stop:
				return
			}
		}
	}()
}

// Close stops the pool. In order it (1) refuses new Gets with ErrPoolClosed
// and fails every queued Get with it, (2) closes the idle connections, (3)
// stops the background goroutines and waits for them, and (4) waits until
// every lent connection has been returned (and closed), or ctx ends, in
// which case it returns an error naming the pool and how many are still
// out. Close is idempotent; a second call waits for the drain again. Close
// on a pool never opened returns nil.
func (p *Pool[C]) Close(ctx context.Context) error {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()

	p.mu.Lock()
	g := p.gen.Load()
	if g == nil {
		p.mu.Unlock()
		return nil
	}
	if !g.closed.Load() {
		g.closed.Store(true)
		close(p.stop)
		for w := p.queue.popFront(); w != nil; w = p.queue.popFront() {
			p.dequeuedLocked()
			p.abandonLocked(w)
			w.ready <- grant[C]{err: p.closedErr()}
		}
	}
	p.mu.Unlock()

	// A Put racing with this either sees closed and discards its
	// connection, or pushed it before closed was set and this drain finds
	// it.
	p.drainIdle(g)
	g.checkDrained()
	p.workers.Wait()

	select {
	case <-g.drained:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close pool %s: %d connections still lent out: %w",
			p.cfg.Name, g.active.Load(), context.Cause(ctx))
	}
}

// drainIdle closes every idle connection of g.
func (p *Pool[C]) drainIdle(g *generation[C]) {
	for pc := g.popIdle(); pc != nil; pc = g.popIdle() {
		p.discard(pc)
	}
}

// Get lends out a connection: an idle one if there is one (checked first,
// and replaced if broken or past its lifetime), else a new one if the pool
// is below capacity, else the first one returned after every Get queued
// before it has been served.
//
// Get blocks at most until ctx ends or the pool's WaitTimeout passes,
// whichever is first, plus the time to open a connection when it must. It
// fails with an error wrapping:
//   - ErrPoolExhausted when the wait timeout passed, or MaxWaiters Gets
//     were already queued;
//   - ErrPoolClosed when the pool is not open or closed while Get waited;
//   - ctx.Err() (and its cause) when ctx ended first;
//   - the Connector's error when a new connection could not be opened.
//
// The caller must return the connection with Put (or Release) exactly once.
func (p *Pool[C]) Get(ctx context.Context) (*Pooled[C], error) {
	if ctx.Err() != nil {
		return nil, p.ctxErr(ctx)
	}
	p.metrics.gets.Add(1)
	g := p.gen.Load()
	if g == nil || g.closed.Load() {
		return nil, p.closedErr()
	}
	// Fast path, no lock: only while nobody is queued, so a newcomer never
	// overtakes a waiter.
	if p.waiting.Load() == 0 {
		if pc := g.popIdle(); pc != nil {
			return p.checkout(ctx, pc)
		}
		if g.reserve(p.capacity.Load()) {
			return p.dial(ctx, g, nil)
		}
	}
	return p.getSlow(ctx, g)
}

// getSlow is Get under the lock: it takes what is free only if nobody is
// queued ahead, else queues.
func (p *Pool[C]) getSlow(ctx context.Context, g *generation[C]) (*Pooled[C], error) {
	p.mu.Lock()
	if g != p.gen.Load() || g.closed.Load() {
		p.mu.Unlock()
		return nil, p.closedErr()
	}
	// Count this Get as waiting first, so that Gets arriving from now on
	// queue behind it rather than take the fast path.
	p.waiting.Add(1)
	if p.queue.len() == 0 {
		// Nobody ahead: take an idle connection, or else flag the idle
		// stack so that returned connections come to the queue.
		if pc := g.popOrFlag(); pc != nil {
			p.waiting.Add(-1)
			p.mu.Unlock()
			return p.checkout(ctx, pc)
		}
		if g.reserve(p.capacity.Load()) {
			g.clearWaiters()
			p.waiting.Add(-1)
			p.mu.Unlock()
			return p.dial(ctx, g, nil)
		}
	}
	p.metrics.exhausted.Add(1)
	if limit := p.cfg.MaxWaiters; limit > 0 && p.queue.len() >= limit {
		p.waiting.Add(-1)
		p.mu.Unlock()
		p.metrics.waiterQueueFull.Add(1)
		return nil, fmt.Errorf("pool %s: %d callers already waiting for a connection: %w", p.cfg.Name, limit, ErrPoolExhausted)
	}
	w := p.spare.Get().(*waiter[C])
	p.tickets++
	w.ticket = p.tickets
	p.queue.pushBack(w)
	if p.hooks != nil && p.hooks.enqueued != nil {
		p.hooks.enqueued(w.ticket)
	}
	p.mu.Unlock()
	p.metrics.waits.Add(1)
	return p.wait(ctx, w)
}

// wait blocks a queued Get until it is served, its context ends or the wait
// timeout passes.
func (p *Pool[C]) wait(ctx context.Context, w *waiter[C]) (*Pooled[C], error) {
	start := time.Now()
	var timeout <-chan time.Time
	if p.cfg.WaitTimeout > 0 {
		w.timer.Reset(p.cfg.WaitTimeout)
		timeout = w.timer.C
	}

	var (
		g         grant[C]
		ctxDone   bool
		timedOut  bool
		abandoned bool
	)
	select {
	case g = <-w.ready:
	case <-ctx.Done():
		ctxDone = true
	case <-timeout:
		timedOut = true
	}
	if timeout != nil {
		w.timer.Stop()
	}
	if ctxDone || timedOut {
		p.mu.Lock()
		if w.queued {
			p.queue.remove(w)
			p.dequeuedLocked()
			p.abandonLocked(w)
			abandoned = true
		}
		p.mu.Unlock()
		if !abandoned {
			// Served in the same instant; the grant is in the channel.
			g = <-w.ready
		}
	}
	p.metrics.waitNanos.Add(int64(time.Since(start)))
	p.spare.Put(w)

	switch {
	case abandoned && ctxDone:
		return nil, p.ctxErr(ctx)
	case abandoned:
		p.metrics.waitTimeouts.Add(1)
		return nil, fmt.Errorf("pool %s: no connection free after waiting %v (capacity %d): %w",
			p.cfg.Name, p.cfg.WaitTimeout, p.capacity.Load(), ErrPoolExhausted)
	case g.err != nil:
		return nil, g.err
	case ctxDone:
		// The caller gave up; what it was granted goes back.
		p.giveBack(g)
		return nil, p.ctxErr(ctx)
	case g.pc != nil:
		return p.checkout(ctx, g.pc)
	default:
		return p.dial(ctx, g.g, nil)
	}
}

// giveBack returns a grant its waiter no longer wants.
func (p *Pool[C]) giveBack(g grant[C]) {
	if g.pc != nil {
		p.Put(g.pc)
		return
	}
	if g.g != nil {
		p.release(g.g)
	}
}

// checkout vets a connection taken from the idle stack or handed over by
// Put: one past its lifetime or broken is closed and replaced in the same
// slot and shell.
func (p *Pool[C]) checkout(ctx context.Context, pc *Pooled[C]) (*Pooled[C], error) {
	switch {
	case pc.expires != 0 && p.now() >= pc.expires:
		p.metrics.lifetimeClosed.Add(1)
	case pc.Conn.IsBroken():
		p.metrics.brokenClosed.Add(1)
	default:
		return pc, nil
	}
	p.closeConn(pc.Conn)
	return p.dial(ctx, pc.g, pc)
}

// dial opens a connection in a slot of g that the caller holds, into shell
// pc (a held shell whose connection was closed) or, when pc is nil, a shell
// from the free stack. On failure it frees the shell and the slot.
func (p *Pool[C]) dial(ctx context.Context, g *generation[C], pc *Pooled[C]) (*Pooled[C], error) {
	if pc == nil {
		if pc = g.pop(&g.free); pc == nil {
			panic(fmt.Sprintf("pools: pool %s: no free shell for a held slot", p.cfg.Name))
		}
		pc.lent = true
	}
	conn, err := p.connect(ctx)
	if err != nil {
		p.metrics.connectErrors.Add(1)
		p.freeShell(pc)
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			return nil, fmt.Errorf("pool %s: open connection: %w (%w)", p.cfg.Name, ctx.Err(), err)
		}
		return nil, fmt.Errorf("pool %s: open connection: %w", p.cfg.Name, err)
	}
	now := p.now()
	pc.Conn = conn
	pc.born = now
	pc.lastUsed = now
	pc.expires = p.expiry(now)
	if g.closed.Load() {
		p.discard(pc)
		return nil, p.closedErr()
	}
	return pc, nil
}

// expiry is when a connection opened at now reaches its lifetime, with up
// to 10% jitter; zero when lifetimes are unlimited.
func (p *Pool[C]) expiry(now time.Duration) time.Duration {
	l := p.cfg.MaxLifetime
	if l <= 0 {
		return 0
	}
	jitter := time.Duration(rand.Int64N(int64(l)/10 + 1))
	return now + l + jitter
}

// Put returns a connection lent out by Get. A healthy connection goes to the
// first queued Get, or onto the idle stack. A broken one, one past its
// lifetime, one above a lowered capacity or one returned to a closed pool is
// closed instead, and its slot goes to the first queued Get, which opens a
// fresh connection. Put never blocks on I/O other than Conn.Close and
// Conn.IsBroken. Returning a connection twice is a programming error and
// panics.
func (p *Pool[C]) Put(pc *Pooled[C]) {
	if !pc.lent {
		panic(fmt.Sprintf("pools: Put of a connection pool %s has not lent out", p.cfg.Name))
	}
	pc.lent = false
	g := pc.g
	var now time.Duration
	if p.cfg.IdleTimeout > 0 || p.cfg.MaxLifetime > 0 {
		now = p.now()
	}
	switch {
	case g != p.gen.Load() || g.closed.Load():
		p.discard(pc)
		return
	case pc.Conn.IsBroken():
		p.metrics.brokenClosed.Add(1)
		p.discard(pc)
		return
	case pc.expires != 0 && now >= pc.expires:
		p.metrics.lifetimeClosed.Add(1)
		p.discard(pc)
		return
	case g.active.Load() > p.capacity.Load():
		p.discard(pc)
		return
	}
	pc.lastUsed = now
	p.putIdle(pc)
}

// putIdle makes a held, healthy connection available: onto the idle stack
// if nobody is queued, else to the first queued Get.
func (p *Pool[C]) putIdle(pc *Pooled[C]) {
	g := pc.g
	if !g.tryPushIdle(pc) {
		p.mu.Lock()
		if g != p.gen.Load() || g.closed.Load() {
			p.mu.Unlock()
			p.discard(pc)
			return
		}
		if p.queue.len() > 0 {
			p.serveHeadLocked(grant[C]{pc: pc})
			p.mu.Unlock()
			return
		}
		// The queue emptied since the push failed; its last Get cleared
		// the flag, and none can set it while this holds mu.
		pc.lent = false
		g.push(&g.idle, pc)
		p.mu.Unlock()
	}
	// Close sets closed before draining the idle stack: if this push came
	// after its drain, this sees closed and drains instead.
	if g.closed.Load() {
		p.drainIdle(g)
	}
}

// discard closes a held connection, then frees its shell and slot. Closing
// first keeps the server's count of connections within the capacity.
func (p *Pool[C]) discard(pc *Pooled[C]) {
	p.closeConn(pc.Conn)
	p.freeShell(pc)
}

// freeShell returns a held shell with no open connection to the free stack
// and releases its slot.
func (p *Pool[C]) freeShell(pc *Pooled[C]) {
	var zero C
	pc.Conn = zero
	pc.lent = false
	g := pc.g
	g.push(&g.free, pc)
	p.release(g)
}

// release gives up a slot of g that holds no shell, serving the queue with
// it in the same critical section, or signals a drained close. Slots are
// given up only when a connection is closed or fails to open, never on the
// hot path, so the lock costs little.
func (p *Pool[C]) release(g *generation[C]) {
	p.mu.Lock()
	g.active.Add(-1)
	p.serveWaitersLocked()
	p.mu.Unlock()
	g.checkDrained()
}

// serveWaitersLocked hands idle connections, then free slots, of the
// current generation to queued Gets in arrival order, and reports how many
// it served.
func (p *Pool[C]) serveWaitersLocked() int {
	g := p.gen.Load()
	if g == nil || g.closed.Load() {
		return 0
	}
	served := 0
	for p.queue.len() > 0 {
		gr, ok := p.takeLocked(g)
		if !ok {
			break
		}
		p.serveHeadLocked(gr)
		served++
	}
	return served
}

// takeLocked takes an idle connection, or else a free slot, of g for the
// head of the queue.
func (p *Pool[C]) takeLocked(g *generation[C]) (grant[C], bool) {
	if pc := g.popIdle(); pc != nil {
		return grant[C]{pc: pc}, true
	}
	if g.reserve(p.capacity.Load()) {
		return grant[C]{g: g}, true
	}
	return grant[C]{}, false
}

// serveHeadLocked gives gr to the first queued Get.
func (p *Pool[C]) serveHeadLocked(gr grant[C]) {
	w := p.queue.popFront()
	p.dequeuedLocked()
	if gr.pc != nil {
		gr.pc.lent = true
	}
	p.handLocked(w, gr)
}

// dequeuedLocked accounts for a Get that has left the queue, clearing the
// waiters flag when it was the last.
func (p *Pool[C]) dequeuedLocked() {
	p.waiting.Add(-1)
	if p.queue.len() == 0 {
		if g := p.gen.Load(); g != nil {
			g.clearWaiters()
		}
	}
}

// SetCapacity changes the pool's capacity to n, between 1 and MaxCapacity.
// Raising it serves queued Gets at once. Lowering it closes idle
// connections above the new capacity now and lent ones as they come back;
// it does not wait for them. The capacity survives Close and Open.
func (p *Pool[C]) SetCapacity(n int) error {
	if n < 1 || n > p.maxCap {
		return fmt.Errorf("pool %s: capacity %d is outside 1..%d", p.cfg.Name, n, p.maxCap)
	}
	p.mu.Lock()
	p.capacity.Store(int64(n))
	p.serveWaitersLocked()
	g := p.gen.Load()
	p.mu.Unlock()
	if g == nil || g.closed.Load() {
		return nil
	}
	for g.active.Load() > int64(n) {
		pc := g.popIdle()
		if pc == nil {
			break
		}
		p.discard(pc)
	}
	return nil
}

// reap closes idle connections past the idle timeout or their lifetime. It
// takes the whole idle stack, keeps the fresh connections and pushes them
// back in their order; a Get that finds the stack empty meanwhile queues
// and is served when they are back.
func (p *Pool[C]) reap(time.Time) {
	now := p.now()
	g := p.gen.Load()
	if g == nil || g.closed.Load() || g.idle.len() == 0 {
		return
	}
	var taken []*Pooled[C]
	for pc := g.popIdle(); pc != nil; pc = g.popIdle() {
		taken = append(taken, pc)
	}
	for i := len(taken) - 1; i >= 0; i-- {
		pc := taken[i]
		switch {
		case pc.expires != 0 && now >= pc.expires:
			p.metrics.lifetimeClosed.Add(1)
			p.discard(pc)
		case p.cfg.IdleTimeout > 0 && now-pc.lastUsed >= p.cfg.IdleTimeout:
			p.metrics.idleClosed.Add(1)
			p.discard(pc)
		default:
			p.putIdle(pc)
		}
	}
}

// watchdog looks for a stall: Gets queued while connections sit idle or
// capacity is free. Every path that frees a connection or a slot serves the
// queue (see Pool), so this should never fire; it exists because a pool
// that stalls this way locks the tablet up until restart (Vitess's
// smartconnpool shipped such a bug), and a counted, logged repair turns an
// outage into a metric.
//
// Under mu, with the queue non-empty, neither can be seen unless there is
// a bug, so every repair counts.
func (p *Pool[C]) watchdog() {
	p.mu.Lock()
	g := p.gen.Load()
	if g == nil || g.closed.Load() || p.queue.len() == 0 {
		p.mu.Unlock()
		return
	}
	waiting, idle, free := p.queue.len(), g.idle.len(), p.capacity.Load()-g.active.Load()
	if idle == 0 && free <= 0 {
		p.mu.Unlock()
		return
	}
	gr, ok := p.takeLocked(g)
	if !ok {
		p.mu.Unlock()
		return
	}
	// Count before serving, so that whoever is served sees the count.
	p.metrics.stallsRepaired.Add(1)
	p.serveHeadLocked(gr)
	served := 1 + p.serveWaitersLocked()
	p.mu.Unlock()
	p.logger.Warn("repaired stalled pool", "pool", p.cfg.Name,
		"waiting", waiting, "idle", idle, "free_slots", max(free, 0), "served", served)
}

// handLocked gives g to a waiter just taken off the queue; ready has room.
func (p *Pool[C]) handLocked(w *waiter[C], g grant[C]) {
	if p.hooks != nil && p.hooks.served != nil {
		p.hooks.served(w.ticket)
	}
	w.ready <- g
}

func (p *Pool[C]) abandonLocked(w *waiter[C]) {
	if p.hooks != nil && p.hooks.abandoned != nil {
		p.hooks.abandoned(w.ticket)
	}
}

func (p *Pool[C]) closeConn(c C) {
	if err := c.Close(); err != nil {
		// Closing a connection whose server is gone fails routinely.
		p.logger.Debug("closed pooled connection with error", "pool", p.cfg.Name, "err", err)
	}
}

func (p *Pool[C]) closedErr() error {
	return fmt.Errorf("pool %s: %w", p.cfg.Name, ErrPoolClosed)
}

// ctxErr keeps the context's verdict: its error and, when one was given, its
// cause.
func (p *Pool[C]) ctxErr(ctx context.Context) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	if cause != nil && cause != err {
		return fmt.Errorf("pool %s: waiting for a connection: %w (%w)", p.cfg.Name, err, cause)
	}
	return fmt.Errorf("pool %s: waiting for a connection: %w", p.cfg.Name, err)
}

// IsOpen reports whether Get may lend connections.
func (p *Pool[C]) IsOpen() bool {
	g := p.gen.Load()
	return g != nil && !g.closed.Load()
}

// Capacity is the current capacity.
func (p *Pool[C]) Capacity() int { return int(p.capacity.Load()) }

// MaxCapacity is the ceiling for SetCapacity.
func (p *Pool[C]) MaxCapacity() int { return p.maxCap }

// InUse is the number of connections lent out, counting those being opened
// or closed for a caller.
func (p *Pool[C]) InUse() int {
	g := p.gen.Load()
	if g == nil {
		return 0
	}
	return int(max(g.active.Load()-g.idle.len(), 0))
}

// Available is Capacity minus InUse: how many Gets could be served now
// without waiting (vttablet's PoolAvailable). Negative right after the
// capacity was lowered below the number lent out.
func (p *Pool[C]) Available() int { return p.Capacity() - p.InUse() }

// Active is the number of connections open or being opened or closed, idle
// and lent out together.
func (p *Pool[C]) Active() int {
	g := p.gen.Load()
	if g == nil {
		return 0
	}
	return int(g.active.Load())
}

// Waiters is the number of Gets queued now.
func (p *Pool[C]) Waiters() int { return int(p.waiting.Load()) }

// Metrics returns the pool's cumulative counters. They live as long as the
// pool and survive Close and Open.
func (p *Pool[C]) Metrics() *Metrics { return &p.metrics }

// Stats returns a snapshot of the pool's gauges and counters. The gauges are
// read one after another without stopping traffic, so under load they agree
// with each other only approximately.
func (p *Pool[C]) Stats() Stats {
	s := Stats{
		Capacity:    p.capacity.Load(),
		MaxCapacity: int64(p.maxCap),
		Waiters:     p.waiting.Load(),
		IdleTimeout: p.cfg.IdleTimeout,
		WaitTimeout: p.cfg.WaitTimeout,
		MaxLifetime: p.cfg.MaxLifetime,
	}
	if g := p.gen.Load(); g != nil {
		s.Active = g.active.Load()
		s.Idle = g.idle.len()
		s.InUse = max(s.Active-s.Idle, 0)
	}
	s.Available = s.Capacity - s.InUse
	m := &p.metrics
	s.Gets = m.Gets()
	s.WaitCount = m.WaitCount()
	s.WaitTime = m.WaitTime()
	s.WaitTimeouts = m.WaitTimeouts()
	s.Exhausted = m.Exhausted()
	s.WaiterQueueFull = m.WaiterQueueFull()
	s.IdleClosed = m.IdleClosed()
	s.MaxLifetimeClosed = m.MaxLifetimeClosed()
	s.BrokenClosed = m.BrokenClosed()
	s.ConnectErrors = m.ConnectErrors()
	s.StallsRepaired = m.StallsRepaired()
	return s
}

// Metrics are a pool's cumulative counters, atomics read through getters.
// The pool updates them; the zero value is all zeros.
type Metrics struct {
	gets            atomic.Int64
	waits           atomic.Int64
	waitNanos       atomic.Int64
	waitTimeouts    atomic.Int64
	exhausted       atomic.Int64
	waiterQueueFull atomic.Int64
	idleClosed      atomic.Int64
	lifetimeClosed  atomic.Int64
	brokenClosed    atomic.Int64
	connectErrors   atomic.Int64
	stallsRepaired  atomic.Int64
}

// Gets counts calls to Get.
func (m *Metrics) Gets() int64 { return m.gets.Load() }

// WaitCount counts Gets that had to queue because every connection was lent out.
func (m *Metrics) WaitCount() int64 { return m.waits.Load() }

// WaitTime is the total time Gets spent queued.
func (m *Metrics) WaitTime() time.Duration { return time.Duration(m.waitNanos.Load()) }

// WaitTimeouts counts queued Gets that gave up at the pool's wait timeout.
func (m *Metrics) WaitTimeouts() int64 { return m.waitTimeouts.Load() }

// Exhausted counts Gets that found no idle connection and no free slot.
func (m *Metrics) Exhausted() int64 { return m.exhausted.Load() }

// WaiterQueueFull counts Gets refused because MaxWaiters were queued.
func (m *Metrics) WaiterQueueFull() int64 { return m.waiterQueueFull.Load() }

// IdleClosed counts connections closed after sitting idle for IdleTimeout.
func (m *Metrics) IdleClosed() int64 { return m.idleClosed.Load() }

// MaxLifetimeClosed counts connections closed for reaching MaxLifetime.
func (m *Metrics) MaxLifetimeClosed() int64 { return m.lifetimeClosed.Load() }

// BrokenClosed counts connections found broken when returned or reused,
// closed and replaced.
func (m *Metrics) BrokenClosed() int64 { return m.brokenClosed.Load() }

// ConnectErrors counts failures to open a connection.
func (m *Metrics) ConnectErrors() int64 { return m.connectErrors.Load() }

// StallsRepaired counts times the watchdog found Gets queued beside idle
// connections or free capacity and served them.
func (m *Metrics) StallsRepaired() int64 { return m.stallsRepaired.Load() }
