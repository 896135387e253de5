package queryserver

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
)

// limitKind names the limit that set a budget's deadline.
type limitKind uint8

const (
	limitNone         limitKind = iota
	limitQueryTimeout           // --queryserver-config-query-timeout
	limitCaller                 // the caller's context deadline
	limitTransaction            // the transaction's remaining time
)

// budget is one request's time budget: the smallest of the query timeout,
// the caller's deadline and, inside a transaction, the transaction's
// remaining time, counted from when the request arrived. Pool waits and
// statements all spend from it.
type budget struct {
	start    time.Time // when the request arrived
	deadline time.Time // zero: no limit
	limit    limitKind
	timeout  time.Duration // the query timeout, when it is the limit
	txID     int64         // the transaction, when it is the limit
	txStart  time.Time
	txLimit  time.Duration
}

// newBudget computes the budget of a request that arrived at start.
// queryTimeout says whether --queryserver-config-query-timeout applies
// (not to StreamExecute); tx is the transaction the request runs in, or
// nil.
func (e *Engine) newBudget(ctx context.Context, start time.Time, queryTimeout bool, tx *session) budget {
	b := budget{start: start}
	consider := func(d time.Time, k limitKind) {
		if !d.IsZero() && (b.deadline.IsZero() || d.Before(b.deadline)) {
			b.deadline, b.limit = d, k
		}
	}
	if queryTimeout && e.cfg.QueryTimeout > 0 {
		b.timeout = e.cfg.QueryTimeout
		consider(start.Add(e.cfg.QueryTimeout), limitQueryTimeout)
	}
	if d, ok := ctx.Deadline(); ok {
		consider(d, limitCaller)
	}
	if tx != nil && !tx.txDeadline.IsZero() {
		b.txID, b.txStart, b.txLimit = tx.id, tx.txStart, e.cfg.TransactionTimeout
		consider(tx.txDeadline, limitTransaction)
	}
	return b
}

// remaining is the time left at now; ok is false when there is no limit.
func (b *budget) remaining(now time.Time) (d time.Duration, ok bool) {
	if b.deadline.IsZero() {
		return 0, false
	}
	return b.deadline.Sub(now), true
}

// describe says which limit the budget's deadline is, for messages.
func (b *budget) describe() string {
	switch b.limit {
	case limitQueryTimeout:
		return fmt.Sprintf("the query timeout of %v (--queryserver-config-query-timeout)", b.timeout)
	case limitCaller:
		return fmt.Sprintf("the caller's deadline (%v after the request arrived)", b.deadline.Sub(b.start).Round(time.Millisecond))
	case limitTransaction:
		return fmt.Sprintf("the time left to transaction %d (it began %v before this request; --queryserver-config-transaction-timeout=%v)",
			b.txID, b.start.Sub(b.txStart).Round(time.Millisecond), b.txLimit)
	}
	return "no limit"
}

// expired returns the error for a budget that ran out while the request
// was doing what (before any statement ran, so nothing was killed).
func (b *budget) expired(what string) *Error {
	e := errorf(CodeDeadlineExceeded, ErrQueryTimeout, "%s: exceeded %s after %v",
		what, b.describe(), time.Since(b.start).Round(time.Millisecond))
	e.callerSpecific = b.limit == limitCaller
	return e
}

// killReason is why a running statement was killed.
type killReason struct {
	code           Code
	kind           error
	why            string
	callerSpecific bool // the reason belongs to the caller, not the statement (for consolidation)
}

// statementWatch kills one running statement when its budget runs out,
// its caller gives up, an operator asks, or the engine shuts down: first
// with KILL QUERY through the dba pool; if the statement has not returned
// KillEscalationDelay later, with KILL (the whole connection) and by
// closing the connection's socket (canceling the statement's context,
// which the MySQL driver turns into a socket close).
//
// The request that runs the statement owns the watch: it calls stop when
// the statement returns, which waits for a kill in progress to finish, so
// no KILL is ever sent to a connection after it has moved on to another
// statement.
type statementWatch struct {
	e          *Engine
	connID     int64
	b          *budget
	cancelStmt context.CancelFunc

	// state: 0 armed, 1 firing, 2 stopped. fire and stop race for it.
	state    atomic.Int32
	finished chan struct{} // closed by stop: the statement returned
	done     chan struct{} // closed when fire returns

	// Written by fire before done is closed; read by stop after.
	reason    killReason
	escalated bool

	timer    *time.Timer
	stopCtx  func() bool
	stopLife func() bool
}

const (
	watchArmed int32 = iota
	watchFiring
	watchStopped
)

// watch arms a watch over the statement about to run on connection
// connID. cancelStmt must cancel the context the statement runs under.
func (e *Engine) watch(ctx context.Context, connID int64, b *budget, cancelStmt context.CancelFunc) *statementWatch {
	w := &statementWatch{
		e: e, connID: connID, b: b, cancelStmt: cancelStmt,
		finished: make(chan struct{}), done: make(chan struct{}),
	}
	if !b.deadline.IsZero() {
		why := "exceeded " + b.describe()
		w.timer = time.AfterFunc(time.Until(b.deadline), func() {
			w.fire(killReason{code: CodeDeadlineExceeded, kind: ErrQueryTimeout, why: why, callerSpecific: b.limit == limitCaller})
		})
	}
	w.stopCtx = context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			w.fire(killReason{code: CodeDeadlineExceeded, kind: ErrQueryTimeout, why: "exceeded the caller's deadline", callerSpecific: true})
			return
		}
		w.fire(killReason{code: CodeCanceled, kind: ErrQueryKilled, why: "canceled by the caller", callerSpecific: true})
	})
	w.stopLife = context.AfterFunc(e.lifeCtx, func() {
		w.fire(killReason{code: CodeUnavailable, kind: ErrNotServing, why: "cut short: the query service is shutting down"})
	})
	return w
}

// kill asks for the statement to be killed for reason r, as the budget
// would. It does not wait.
func (w *statementWatch) kill(r killReason) {
	if w.state.Load() != watchArmed {
		return
	}
	go w.fire(r) // owned: the statement's request waits for it in stop
}

// fire kills the statement, escalating if it does not stop. It runs at
// most once per watch.
func (w *statementWatch) fire(r killReason) {
	if !w.state.CompareAndSwap(watchArmed, watchFiring) {
		return
	}
	defer close(w.done)
	w.reason = r
	e := w.e
	e.stats.killedQueries.Add(1)
	delay := e.cfg.KillEscalationDelay

	ctx, cancel := context.WithTimeout(context.Background(), delay)
	err := e.pools.KillQuery(ctx, w.connID)
	cancel()
	if err != nil && !isNoSuchThread(err) {
		e.stats.internalErrors.Add(1, internalKillFailed)
		e.logger.Warn("KILL QUERY failed; escalating", "connection", w.connID, "error", err)
	} else {
		t := time.NewTimer(delay)
		select {
		case <-w.finished:
			t.Stop()
			return
		case <-t.C:
		}
	}

	// The statement ignored KILL QUERY (or it could not be sent): kill the
	// connection and close our end, so that nothing outlives the budget.
	w.escalated = true
	e.stats.internalErrors.Add(1, internalHungQuery)
	e.logger.Warn("statement still running after KILL QUERY; killing its connection",
		"connection", w.connID, "reason", r.why, "delay", delay)
	ctx, cancel = context.WithTimeout(context.Background(), delay)
	if err := e.pools.KillConnection(ctx, w.connID); err != nil && !isNoSuchThread(err) {
		e.stats.internalErrors.Add(1, internalKillFailed)
		e.logger.Warn("KILL failed", "connection", w.connID, "error", err)
	}
	cancel()
	w.cancelStmt()
}

// stop disarms the watch once the statement has returned. If a kill is in
// progress it waits for it, and it reports whether the statement was
// killed and why.
func (w *statementWatch) stop() (killed bool) {
	close(w.finished)
	if w.timer != nil {
		w.timer.Stop()
	}
	w.stopCtx()
	w.stopLife()
	if w.state.CompareAndSwap(watchArmed, watchStopped) {
		return false
	}
	<-w.done
	return true
}

// killedError is the error for a statement the watch killed, elapsed
// after its request arrived.
func (w *statementWatch) killedError(what string) *Error {
	how := "KILL QUERY"
	if w.escalated {
		how = "KILL QUERY, then KILL of the whole connection when the statement did not stop"
	}
	e := errorf(w.reason.code, w.reason.kind, "%s: %s after %v; killed with %s on mysql connection %d",
		what, w.reason.why, time.Since(w.b.start).Round(time.Millisecond), how, w.connID)
	e.callerSpecific = w.reason.callerSpecific
	return e
}

// isNoSuchThread reports whether a KILL failed because the connection was
// already gone (ER_NO_SUCH_THREAD): the statement has ended either way.
func isNoSuchThread(err error) bool {
	me, ok := errors.AsType[*mysql.MySQLError](err)
	return ok && me.Number == 1094
}

// isInterrupted reports whether err is MySQL's "query execution was
// interrupted" (ER_QUERY_INTERRUPTED, 1317), the answer to KILL QUERY.
func isInterrupted(err error) bool {
	me, ok := errors.AsType[*mysql.MySQLError](err)
	return ok && me.Number == 1317
}
