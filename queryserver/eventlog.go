package queryserver

import (
	"sync"
	"sync/atomic"
	"time"
)

// EventLog is a bounded in-memory log of records, such as queries or ended
// transactions, with live subscribers: the store behind pages like
// /querylogz and /txlogz (Recent) and streams like /debug/querylog
// (Subscribe). Publishing never blocks: a subscriber that does not keep up
// misses records (counted by Dropped) rather than slowing queries down.
// Records are shared between readers and must not be modified. It is safe
// for concurrent use.
type EventLog[T any] struct {
	mu     sync.Mutex // guards the fields below
	ring   []T        // the most recent records; nil when the log keeps none
	next   int        // where the next record goes in ring
	full   bool       // ring has wrapped
	subs   map[*Subscription[T]]struct{}
	closed bool
	buffer int // channel capacity of each subscription
}

// newEventLog returns a log keeping the last size records, whose
// subscribers buffer up to buffer records each.
func newEventLog[T any](size, buffer int) *EventLog[T] {
	l := &EventLog[T]{subs: map[*Subscription[T]]struct{}{}, buffer: max(buffer, 1)}
	if size > 0 {
		l.ring = make([]T, size)
	}
	return l
}

// publish adds rec to the log and offers it to every subscriber.
func (l *EventLog[T]) publish(rec T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	if len(l.ring) > 0 {
		l.ring[l.next] = rec
		l.next++
		if l.next == len(l.ring) {
			l.next, l.full = 0, true
		}
	}
	for s := range l.subs {
		select {
		case s.ch <- rec:
		default:
			s.dropped.Add(1)
		}
	}
}

// wanted reports whether the log keeps records or anyone subscribes, so
// that a caller can skip building records nobody will read.
func (l *EventLog[T]) wanted() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ring) > 0 || len(l.subs) > 0
}

// Recent returns up to n of the most recent records, oldest first; n <= 0
// means all the log keeps.
func (l *EventLog[T]) Recent(n int) []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	count := l.next
	if l.full {
		count = len(l.ring)
	}
	if n <= 0 || n > count {
		n = count
	}
	out := make([]T, 0, n)
	start := l.next - n
	for i := range n {
		j := start + i
		if j < 0 {
			j += len(l.ring)
		}
		out = append(out, l.ring[j])
	}
	return out
}

// Subscribe returns a subscription that receives every record published
// from now on, until it is closed or the log closes (at Engine.Close).
func (l *EventLog[T]) Subscribe() *Subscription[T] {
	s := &Subscription[T]{log: l, ch: make(chan T, l.buffer)}
	s.C = s.ch
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		close(s.ch)
		return s
	}
	l.subs[s] = struct{}{}
	return s
}

// close ends every subscription and stops accepting records.
func (l *EventLog[T]) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	for s := range l.subs {
		close(s.ch)
		delete(l.subs, s)
	}
}

// Subscription is a live feed of an EventLog's records.
type Subscription[T any] struct {
	// C delivers the records. The log closes it when the subscription or
	// the log is closed; the receiver never closes it.
	C <-chan T

	log     *EventLog[T]
	ch      chan T
	dropped atomic.Int64
}

// Close ends the subscription and closes C. It is idempotent.
func (s *Subscription[T]) Close() {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	if _, ok := s.log.subs[s]; ok {
		delete(s.log.subs, s)
		close(s.ch)
	}
}

// Dropped returns how many records this subscription missed because its
// buffer was full.
func (s *Subscription[T]) Dropped() int64 { return s.dropped.Load() }

// QueryLogEntry records one request (Execute, StreamExecute, Begin,
// Commit, ...), as Vitess's LogStats does for /debug/querylog. Bind
// variable values are never recorded: SQL is the statement with its bind
// variable references.
type QueryLogEntry struct {
	Method        string        // Execute, StreamExecute, Begin, Commit, Rollback, BeginExecute, ReserveExecute, ...
	Caller        Caller        // who asked
	SQL           string        // the statement as given, bind variable references included; empty for Begin, Commit, ...
	PlanType      string        // the plan type, empty for Begin, Commit, ...
	Tables        []string      // tables the statement names
	TransactionID int64         // the transaction used or begun; 0 if none
	ReservedID    int64         // the reserved connection used or reserved; 0 if none
	ConnID        int64         // the MySQL connection id that ran it; 0 if none (consolidated waiter, refused)
	Start         time.Time     // when the request arrived
	End           time.Time     // when it finished
	WaitTime      time.Duration // waiting for a pool connection
	MysqlTime     time.Duration // in MySQL
	Consolidated  bool          // served by another caller's identical query
	RowsReturned  int           // rows in the result (streamed rows for StreamExecute)
	RowsAffected  uint64        // rows changed
	Code          Code          // CodeOK on success
	Error         string        // the error message, empty on success
}

// Duration is how long the request took.
func (e *QueryLogEntry) Duration() time.Duration { return e.End.Sub(e.Start) }

// TxLogEntry records one ended transaction or reserved connection for
// /txlogz and /debug/txlog.
type TxLogEntry struct {
	ID         int64     // transaction (and reserved connection) id
	Caller     Caller    // who began it
	ConnID     int64     // the MySQL connection id
	Start      time.Time // when it began
	End        time.Time // when it ended
	Conclusion string    // commit, rollback, kill or release
	Reason     string    // why it ended, for kills and failures
	Reserved   bool      // it was (also) a reserved connection
	Queries    []string  // the statements run in it, in order (at most 64; templates, no values)
}

// Duration is how long the transaction was open.
func (e *TxLogEntry) Duration() time.Duration { return e.End.Sub(e.Start) }
