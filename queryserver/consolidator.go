package queryserver

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Consolidator caps, the label values of ConsolidatorSkipped.
const (
	capWaiters     = "Waiters"
	capResultBytes = "ResultBytes"
)

// consolidator lets identical reads in flight at the same time share one
// execution: the first caller (the leader) runs the query, later ones
// (waiters) wait for its result and each get a private copy.
//
// Bounds, where unbounded consolidation has hurt: at most maxWaiters
// callers wait on one query (one more runs on its own, decided atomically
// with joining, so a burst cannot overshoot); a result larger than
// maxBytes is not shared (its waiters are released as soon as the leader's
// result grows past the cap, and run on their own). No caller ever gets a
// partial result. A waiter whose own budget runs out leaves alone; a
// leader that fails for a reason of its own (its caller's deadline or
// cancel) makes its waiters try again rather than fail with it.
type consolidator struct {
	maxWaiters int
	maxBytes   int64

	mu       sync.Mutex // guards inflight and each sharedQuery's waiters and done state
	inflight map[string]*sharedQuery

	mru *mruCounts
}

// sharedQuery is one execution in flight that waiters may join.
type sharedQuery struct {
	done    chan struct{} // closed when the outcome below is set
	waiters int           // callers waiting now; guarded by consolidator.mu
	closed  bool          // done is closed; guarded by consolidator.mu

	// The outcome, written before done is closed and read-only after.
	res      *Result
	err      error
	oversize bool // the result passed maxBytes: run on your own
	retry    bool // the leader failed for its own reasons: try again
}

func newConsolidator(maxWaiters int, maxBytes int64) *consolidator {
	return &consolidator{
		maxWaiters: maxWaiters,
		maxBytes:   maxBytes,
		inflight:   map[string]*sharedQuery{},
		mru:        newMRUCounts(consolidationsKept),
	}
}

// join returns the query in flight for key and whether the caller leads
// it; capped means the query is at its waiter cap and the caller must run
// on its own.
func (c *consolidator) join(key string) (q *sharedQuery, leader, capped bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q = c.inflight[key]
	if q == nil {
		q = &sharedQuery{done: make(chan struct{})}
		c.inflight[key] = q
		return q, true, false
	}
	if c.maxWaiters > 0 && q.waiters >= c.maxWaiters {
		return nil, false, true
	}
	q.waiters++
	return q, false, false
}

// leave takes a waiter off q.
func (c *consolidator) leave(q *sharedQuery) {
	c.mu.Lock()
	q.waiters--
	c.mu.Unlock()
}

// observe is told by the leader how large its result has grown; past the
// byte cap it releases the waiters to run on their own and stops new ones
// from joining.
func (c *consolidator) observe(key string, q *sharedQuery, size int64) {
	if c.maxBytes <= 0 || size <= c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if q.closed {
		return
	}
	if c.inflight[key] == q {
		delete(c.inflight, key)
	}
	q.oversize = true
	q.closed = true
	close(q.done)
}

// finish publishes the leader's outcome to the waiters and returns the
// result the leader may keep: the original when nobody waits, else a copy,
// so that neither the leader's caller nor any waiter can touch what
// another reads.
func (c *consolidator) finish(key string, q *sharedQuery, res *Result, err error, retry bool) *Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight[key] == q {
		delete(c.inflight, key)
	}
	if q.closed {
		return res // released early (oversize): nobody reads res
	}
	q.res, q.err, q.retry = res, err, retry
	q.closed = true
	close(q.done)
	if q.waiters > 0 && res != nil {
		return copyResult(res)
	}
	return res
}

// inFlight is the number of queries waiters may join now.
func (c *consolidator) inFlight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.inflight)
}

// consolidate runs a consolidatable read: as the leader of identical reads
// in flight, as a waiter on one, or on its own past a cap. Reads are
// identical when their statements, values substituted and margin comments
// removed (r.key), are.
func (e *Engine) consolidate(ctx context.Context, r *request, plan *Plan, query string, b *budget) (*Result, error) {
	key := r.key
	for attempt := 0; ; attempt++ {
		q, leader, capped := e.cons.join(key)
		switch {
		case capped:
			e.stats.consSkipped.Add(1, capWaiters)
			return e.execPooled(ctx, r, plan, query, b, nil)
		case leader:
			res, err := e.execPooled(ctx, r, plan, query, b, func(size int64) { e.cons.observe(key, q, size) })
			retry := false
			if ce, ok := asError(err); ok {
				retry = ce.callerSpecific
			}
			return e.cons.finish(key, q, res, err, retry), err
		}

		start := time.Now()
		if err := e.awaitShared(ctx, q, b); err != nil {
			e.cons.leave(q)
			return nil, err
		}
		e.cons.leave(q)
		switch {
		case q.oversize:
			e.stats.consSkipped.Add(1, capResultBytes)
			return e.execPooled(ctx, r, plan, query, b, nil)
		case q.retry && attempt == 0:
			continue
		case q.retry:
			return e.execPooled(ctx, r, plan, query, b, nil)
		}
		r.consolidated = true
		e.stats.consolidated.Record(time.Since(start))
		e.cons.mru.add(plan.SQL)
		if q.err != nil {
			return nil, q.err
		}
		res := copyResult(q.res)
		r.rowsReturned += int64(len(res.Rows))
		r.rowsAffected += res.RowsAffected
		return res, nil
	}
}

// awaitShared waits for q's outcome within the waiter's own budget.
func (e *Engine) awaitShared(ctx context.Context, q *sharedQuery, b *budget) error {
	var expire <-chan time.Time
	if rem, ok := b.remaining(time.Now()); ok {
		t := time.NewTimer(rem)
		defer t.Stop()
		expire = t.C
	}
	start := time.Now()
	select {
	case <-q.done:
		return nil
	case <-expire:
		return b.expired(fmt.Sprintf("waiting %v for an identical query in flight (consolidation)",
			time.Since(start).Round(time.Millisecond)))
	case <-ctx.Done():
		ce := errorf(CodeCanceled, ErrQueryKilled, "canceled by the caller while waiting for an identical query in flight: %w", context.Cause(ctx))
		if ctx.Err() == context.DeadlineExceeded {
			ce.Code, ce.kind = CodeDeadlineExceeded, ErrQueryTimeout
		}
		ce.callerSpecific = true
		return ce
	case <-e.lifeCtx.Done():
		return errorf(CodeUnavailable, ErrNotServing, "waiting for an identical query in flight: the query service is shutting down")
	}
}

// consolidationsKept is how many distinct consolidated queries the MRU
// list for /consolidations keeps, as vttablet's consolidator cache.
const consolidationsKept = 1000

// ConsolidationStat is one entry of the consolidations list: a statement
// (with its bind variable references, never values) and how many callers
// were served by sharing another's execution of it.
type ConsolidationStat struct {
	Query string // the statement, bind variable references included
	Count int64  // callers served by another's execution of it
}

// mruCounts counts events per key, keeping the most recently seen keys.
type mruCounts struct {
	mu      sync.Mutex // guards the fields below
	entries map[string]*mruEntry
	head    mruEntry // sentinel: head.next is the most recent
	limit   int
}

type mruEntry struct {
	key        string
	count      int64
	prev, next *mruEntry
}

func newMRUCounts(limit int) *mruCounts {
	m := &mruCounts{entries: map[string]*mruEntry{}, limit: limit}
	m.head.prev, m.head.next = &m.head, &m.head
	return m
}

func (m *mruCounts) add(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[key]
	if e == nil {
		e = &mruEntry{key: key}
		m.entries[key] = e
	} else {
		e.prev.next, e.next.prev = e.next, e.prev
	}
	e.count++
	e.prev, e.next = &m.head, m.head.next
	m.head.next.prev = e
	m.head.next = e
	for len(m.entries) > m.limit {
		last := m.head.prev
		last.prev.next, m.head.prev = &m.head, last.prev
		delete(m.entries, last.key)
	}
}

func (m *mruCounts) list() []ConsolidationStat {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]ConsolidationStat, 0, len(m.entries))
	for e := m.head.next; e != &m.head; e = e.next {
		out = append(out, ConsolidationStat{Query: e.key, Count: e.count})
	}
	return out
}
