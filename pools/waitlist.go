package pools

import "time"

// grant is what a queued Get receives: a connection, a slot reserved in
// generation g to open one in, or an error.
type grant[C Conn] struct {
	pc  *Pooled[C]
	g   *generation[C]
	err error
}

// waiter is one Get blocked in the queue. Its links and queued flag are
// guarded by the owning pool's mu; ready is written once per wait, under mu,
// and read by the waiting goroutine.
type waiter[C Conn] struct {
	prev, next *waiter[C]
	queued     bool
	ticket     uint64

	// ready has room for one grant so that the pool never blocks handing
	// one over while holding its lock.
	ready chan grant[C]

	// timer enforces the pool's wait timeout; kept with the waiter so a
	// reused waiter does not allocate a new one per wait.
	timer *time.Timer
}

// waitList is an intrusive FIFO of waiters: O(1) push, pop and removal from
// the middle (a waiter whose context ends leaves from wherever it is). The
// zero value is an empty list. Guarded by the owning pool's mu.
type waitList[C Conn] struct {
	head, tail *waiter[C]
	n          int
}

func (l *waitList[C]) len() int { return l.n }

func (l *waitList[C]) pushBack(w *waiter[C]) {
	w.prev, w.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
	w.queued = true
	l.n++
}

func (l *waitList[C]) popFront() *waiter[C] {
	w := l.head
	if w != nil {
		l.remove(w)
	}
	return w
}

func (l *waitList[C]) remove(w *waiter[C]) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.prev, w.next = nil, nil
	w.queued = false
	l.n--
}
