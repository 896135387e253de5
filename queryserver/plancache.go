package queryserver

import (
	"sync"
	"sync/atomic"
)

// planCache is an LRU cache of plans keyed by statement text. A hit costs
// one map lookup and a move to the front of the recency list under one
// mutex; plans are built outside the lock, so two callers missing on the
// same text at once may both build it (the second store wins, harmlessly).
// It is safe for concurrent use.
type planCache struct {
	mu       sync.Mutex // guards entries, the list and capacity
	entries  map[string]*planEntry
	head     planEntry // sentinel of the recency list: head.next is the most recent
	capacity int

	hits, misses, evictions atomic.Int64
}

type planEntry struct {
	plan       *Plan
	prev, next *planEntry
}

func newPlanCache(capacity int) *planCache {
	c := &planCache{entries: make(map[string]*planEntry, min(capacity, 1024)), capacity: capacity}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

// get returns the cached plan for sql, marking it most recently used.
func (c *planCache) get(sql string) (*Plan, bool) {
	c.mu.Lock()
	e, ok := c.entries[sql]
	var p *Plan
	if ok {
		c.moveToFront(e)
		p = e.plan
	}
	c.mu.Unlock()
	if ok {
		c.hits.Add(1)
		return p, true
	}
	c.misses.Add(1)
	return nil, false
}

// put stores p, evicting the least recently used plans above capacity.
func (c *planCache) put(p *Plan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[p.SQL]; ok {
		e.plan = p
		c.moveToFront(e)
		return
	}
	e := &planEntry{plan: p}
	c.entries[p.SQL] = e
	c.insertFront(e)
	c.evictLocked()
}

func (c *planCache) evictLocked() {
	for len(c.entries) > c.capacity {
		last := c.head.prev
		c.unlink(last)
		delete(c.entries, last.plan.SQL)
		c.evictions.Add(1)
	}
}

// setCapacity changes the capacity, evicting at once if it shrank.
func (c *planCache) setCapacity(n int) {
	c.mu.Lock()
	c.capacity = n
	c.evictLocked()
	c.mu.Unlock()
}

// size is the number of cached plans.
func (c *planCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// cap is the cache's capacity.
func (c *planCache) cap() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.capacity
}

// plans returns the cached plans, most recently used first.
func (c *planCache) plans() []*Plan {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Plan, 0, len(c.entries))
	for e := c.head.next; e != &c.head; e = e.next {
		out = append(out, e.plan)
	}
	return out
}

func (c *planCache) moveToFront(e *planEntry) {
	if c.head.next == e {
		return
	}
	c.unlink(e)
	c.insertFront(e)
}

func (c *planCache) insertFront(e *planEntry) {
	e.prev, e.next = &c.head, c.head.next
	c.head.next.prev = e
	c.head.next = e
}

func (c *planCache) unlink(e *planEntry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}
