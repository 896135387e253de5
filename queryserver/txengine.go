package queryserver

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tabletd/tablet/pools"
)

// Transaction conclusions, the "conclusion" label of UserTransactionCount
// and TxLogEntry.Conclusion.
const (
	conclusionCommit   = "commit"
	conclusionRollback = "rollback"
	conclusionKill     = "kill"
	conclusionRelease  = "release"
	conclusionFail     = "fail" // COMMIT or ROLLBACK failed; the connection was closed
)

// maxTxQueries is how many statements a transaction log entry lists.
const maxTxQueries = 64

// Statements the engine itself runs on session connections.
var (
	beginPlan    = &Plan{SQL: "begin", Type: PlanTransaction}
	commitPlan   = &Plan{SQL: "commit", Type: PlanTransaction}
	rollbackPlan = &Plan{SQL: "rollback", Type: PlanTransaction}
)

// session is a connection taken out of the transaction pool for one
// client: a transaction, a reserved connection, or both (a reserved
// connection with a transaction open on it). Its id is the transaction id
// and the reserved id alike.
type session struct {
	id      int64
	pc      *pools.Pooled[*pools.DBConn]
	connID  int64 // pc.Conn.ID(), kept for after pc goes back
	caller  Caller
	created time.Time

	// Guarded by txEngine.mu.
	inUse      string    // the method using it; "" when idle
	inTx       bool      // a transaction is open
	txStart    time.Time // when it began
	txDeadline time.Time // when the transaction killer ends it; zero for never
	reserved   bool      // the connection is reserved (session state allowed; never pooled again)
	lastUsed   time.Time // when a request last released it
	killReason string    // set by the killer while in use: end it when released
	queries    []string  // statements run in the current transaction, for the log
}

// endInfo remembers how a session ended, for requests that come late.
type endInfo struct {
	at         time.Time
	conclusion string
	reason     string
	killed     bool
}

// txEngine keeps the open transactions and reserved connections, hands
// them to one request at a time, and kills those past their time.
type txEngine struct {
	e    *Engine
	seed int64 // the first id of this run: ids are unique across restarts
	next atomic.Int64

	mu         sync.Mutex // guards the fields below and the guarded fields of every session
	sessions   map[int64]*session
	ended      map[int64]endInfo
	endedOrder []int64 // ring of the ids in ended, oldest at endedNext once full
	endedNext  int
}

// newTxEngine seeds ids with the current time in nanoseconds, as vttablet
// does: a restarted tablet never hands out an id an earlier run used, as
// long as no run began more transactions than nanoseconds passed.
func newTxEngine(e *Engine) *txEngine {
	t := &txEngine{
		e:        e,
		seed:     time.Now().UnixNano(),
		sessions: map[int64]*session{},
		ended:    map[int64]endInfo{},
	}
	t.next.Store(t.seed)
	return t
}

// counts returns the open transactions and the reserved connections.
func (t *txEngine) counts() (txs, reserved int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.sessions {
		if s.inTx {
			txs++
		}
		if s.reserved {
			reserved++
		}
	}
	return txs, reserved
}

// open returns the number of sessions.
func (t *txEngine) open() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sessions)
}

// create takes a transaction pool connection and registers a new session
// on it, in use by r.
func (t *txEngine) create(ctx context.Context, r *request, reserved bool, b *budget) (*session, error) {
	pc, err := t.e.getConn(ctx, r, t.e.txPool(), b)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	s := &session{
		id: t.next.Add(1), pc: pc, connID: pc.Conn.ID(), caller: r.caller, created: now,
		inUse: r.method, reserved: reserved, lastUsed: now,
	}
	t.mu.Lock()
	t.sessions[s.id] = s
	t.mu.Unlock()
	return s, nil
}

// acquire hands session id to r's method, or explains why it cannot. A
// transaction found past its timeout is killed on the spot, without
// waiting for the killer's next round.
func (t *txEngine) acquire(id int64, method string) (*session, error) {
	t.mu.Lock()
	s, ok := t.sessions[id]
	if !ok {
		defer t.mu.Unlock()
		return nil, t.notFoundLocked(id)
	}
	if s.inUse == "" && s.killReason == "" {
		if reason := t.expiredLocked(s, time.Now()); reason != "" {
			s.killReason, s.inUse = reason, "kill"
			t.mu.Unlock()
			t.kill(s, reason)
			t.mu.Lock()
			defer t.mu.Unlock()
			return nil, t.notFoundLocked(id)
		}
	}
	defer t.mu.Unlock()
	if s.killReason != "" {
		return nil, errorf(CodeAborted, ErrTxKilled, "transaction %d is being killed: %s", id, s.killReason)
	}
	if s.inUse != "" {
		return nil, errorf(CodeFailedPrecondition, ErrInUse, "transaction %d is in use by another %s request", id, s.inUse)
	}
	s.inUse = method
	return s, nil
}

// notFoundLocked explains a missing id: ended (how, when), from an
// earlier run, never begun, or forgotten.
func (t *txEngine) notFoundLocked(id int64) error {
	if info, ok := t.ended[id]; ok {
		at := info.at.Format("2006-01-02 15:04:05.000 MST")
		if info.killed {
			return errorf(CodeAborted, ErrTxKilled, "transaction %d: killed and rolled back at %s: %s", id, at, info.reason)
		}
		if info.reason != "" {
			return errorf(CodeAborted, ErrTxNotFound, "transaction %d: ended at %s (%s: %s)", id, at, info.conclusion, info.reason)
		}
		return errorf(CodeAborted, ErrTxNotFound, "transaction %d: ended at %s (%s)", id, at, info.conclusion)
	}
	switch {
	case id <= 0:
		return errorf(CodeAborted, ErrTxNotFound, "transaction %d: not found: ids are positive", id)
	case id <= t.seed:
		return errorf(CodeAborted, ErrTxNotFound,
			"transaction %d: not found: it belongs to an earlier run of the query service (this run began at %s with id %d); it was rolled back when that run ended",
			id, time.Unix(0, t.seed).Format("2006-01-02 15:04:05.000 MST"), t.seed+1)
	case id > t.next.Load():
		return errorf(CodeAborted, ErrTxNotFound, "transaction %d: not found: no transaction with this id was begun here", id)
	}
	return errorf(CodeAborted, ErrTxNotFound,
		"transaction %d: not found: it ended before the last %d ended transactions, which are all this tablet remembers (--queryserver-ended-transactions-remembered)",
		id, len(t.endedOrder))
}

// release hands s back after a request, ending it instead if the killer
// marked it, its transaction is past its timeout, or its connection broke.
func (t *txEngine) release(s *session) {
	broken := s.pc.Conn.IsBroken() // still ours to ask
	t.mu.Lock()
	reason := s.killReason
	if reason == "" {
		reason = t.expiredLocked(s, time.Now())
	}
	timedOut := reason != ""
	if !timedOut && !broken {
		s.inUse = ""
		s.lastUsed = time.Now()
		t.mu.Unlock()
		return
	}
	if !timedOut {
		reason = "its MySQL connection broke"
		s.killReason = reason
	}
	s.inUse = "kill" // nobody may acquire it on its way out
	t.mu.Unlock()
	if timedOut {
		t.kill(s, reason)
		return
	}
	t.end(s, conclusionKill, reason, true)
}

// end removes s, returns its connection (to the pool if it is clean and
// the session ended normally, else closed), logs and counts it. A killed
// session's transaction is rolled back first. The session leaves the
// registry before any of that, so a request that comes meanwhile learns at
// once how it ended.
func (t *txEngine) end(s *session, conclusion, reason string, killed bool) {
	now := time.Now()
	t.mu.Lock()
	delete(t.sessions, s.id)
	inTx, reserved := s.inTx, s.reserved
	s.inTx = false
	t.rememberLocked(s.id, endInfo{at: now, conclusion: conclusion, reason: reason, killed: killed})
	queries := s.queries
	s.queries = nil
	t.mu.Unlock()

	if killed && inTx {
		t.rollbackConn(s)
	}
	clean := !reserved && !killed && (conclusion == conclusionCommit || conclusion == conclusionRollback)
	releasePooled(s.pc, !clean)
	t.logEnd(s, inTx, reserved, conclusion, reason, queries, now)
	t.e.signal()
}

// endTx records the end of the transaction on a reserved connection that
// stays reserved.
func (t *txEngine) endTx(s *session, conclusion string) {
	now := time.Now()
	t.mu.Lock()
	s.inTx = false
	s.killReason = "" // a transaction timeout the end just beat no longer applies
	queries := s.queries
	s.queries = nil
	t.mu.Unlock()
	t.logEnd(s, true, true, conclusion, "", queries, now)
}

// logEnd writes the transaction log and the transaction statistics.
func (t *txEngine) logEnd(s *session, inTx, reserved bool, conclusion, reason string, queries []string, now time.Time) {
	start := s.created
	if inTx {
		start = s.txStart
		t.e.stats.recordTx(t.e.stats.users.label(s.caller.user()), conclusion, now.Sub(start))
	}
	if inTx || reserved {
		t.e.txLog.publish(&TxLogEntry{
			ID: s.id, Caller: s.caller, ConnID: s.connID, Start: start, End: now,
			Conclusion: conclusion, Reason: reason, Reserved: reserved, Queries: queries,
		})
	}
}

func (t *txEngine) rememberLocked(id int64, info endInfo) {
	limit := t.e.cfg.EndedTransactionsRemembered
	if limit <= 0 {
		return
	}
	if len(t.endedOrder) < limit {
		t.endedOrder = append(t.endedOrder, id)
	} else {
		delete(t.ended, t.endedOrder[t.endedNext])
		t.endedOrder[t.endedNext] = id
		t.endedNext = (t.endedNext + 1) % limit
	}
	t.ended[id] = info
}

// kill rolls back and closes s, which the caller has exclusive use of.
func (t *txEngine) kill(s *session, reason string) {
	e := t.e
	e.stats.killedTxs.Add(1)
	e.logger.Warn("killing transaction", "id", s.id, "connection", s.connID, "reason", reason)
	t.end(s, conclusionKill, reason, true)
}

// rollbackConn rolls back the transaction on s's connection, bounded by
// the kill escalation delay, so that its locks are free when the kill
// returns; the connection is closed right after either way.
func (t *txEngine) rollbackConn(s *session) {
	if s.pc.Conn.IsBroken() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.e.cfg.KillEscalationDelay)
	defer cancel()
	if _, err := s.pc.Conn.Exec(ctx, "ROLLBACK"); err != nil {
		t.e.logger.Warn("rollback of killed transaction failed; closing its connection", "id", s.id, "error", err)
	}
}

// runKiller ends transactions past the transaction timeout and reserved
// connections idle past their timeout, until the engine stops it.
func (t *txEngine) runKiller() {
	tick := time.NewTicker(t.e.cfg.killerInterval())
	defer tick.Stop()
	for {
		select {
		case <-t.e.stopWorker:
			return
		case now := <-tick.C:
			t.killExpired(now)
		}
	}
}

// killExpired kills the idle sessions past their time and marks the busy
// ones, whose requests end them when they let go (their statements are
// already bounded by the transaction's remaining time).
func (t *txEngine) killExpired(now time.Time) {
	type victim struct {
		s      *session
		reason string
	}
	var victims []victim
	cfg := &t.e.cfg
	t.mu.Lock()
	for _, s := range t.sessions {
		reason := t.expiredLocked(s, now)
		if reason == "" && !s.inTx && s.reserved && s.inUse == "" && cfg.ReservedConnIdleTimeout > 0 &&
			now.Sub(s.lastUsed) > cfg.ReservedConnIdleTimeout {
			reason = fmt.Sprintf("reserved connection idle for %v (--queryserver-reserved-conn-idle-timeout=%v)",
				now.Sub(s.lastUsed).Round(time.Millisecond), cfg.ReservedConnIdleTimeout)
		}
		if reason == "" || s.killReason != "" {
			continue
		}
		s.killReason = reason
		if s.inUse != "" {
			continue
		}
		s.inUse = "kill"
		victims = append(victims, victim{s, reason})
	}
	t.mu.Unlock()
	for _, v := range victims {
		t.kill(v.s, v.reason)
	}
}

// expiredLocked returns why s's transaction must be killed at now, or ""
// if it is within its timeout.
func (t *txEngine) expiredLocked(s *session, now time.Time) string {
	if !s.inTx || s.txDeadline.IsZero() || !now.After(s.txDeadline) {
		return ""
	}
	return fmt.Sprintf("exceeded the transaction timeout of %v (--queryserver-config-transaction-timeout); it was open for %v",
		t.e.cfg.TransactionTimeout, now.Sub(s.txStart).Round(time.Millisecond))
}

// closeAll kills every session, for Close; none is in use by then.
func (t *txEngine) closeAll(reason string) int {
	t.mu.Lock()
	all := make([]*session, 0, len(t.sessions))
	for _, s := range t.sessions {
		s.inUse = "close"
		all = append(all, s)
	}
	t.mu.Unlock()
	for _, s := range all {
		t.e.stats.internalErrors.Add(1, internalStrayTx)
		t.end(s, conclusionKill, reason, true)
	}
	return len(all)
}

// budgetFor returns the budget of a request on s: the query timeout, the
// caller's deadline and, in a transaction, its remaining time.
func (t *txEngine) budgetFor(ctx context.Context, r *request, s *session) budget {
	t.mu.Lock()
	inTx := s.inTx
	t.mu.Unlock()
	if inTx {
		return t.e.newBudget(ctx, r.start, true, s)
	}
	return t.e.newBudget(ctx, r.start, true, nil)
}

// checkSession refuses statements that may not run on s.
func (t *txEngine) checkSession(p *Plan, s *session) error {
	t.mu.Lock()
	inTx, reserved := s.inTx, s.reserved
	t.mu.Unlock()
	switch {
	case p.Type == PlanTransaction:
		return errorf(CodeInvalidArgument, ErrNotAllowed,
			"transaction statements are not allowed in a query; use Begin, Commit and Rollback")
	case p.needsReserved && !reserved:
		return errorf(CodeFailedPrecondition, ErrNeedsReservedConn,
			"a %v statement changes session state, which would leak to the next user of transaction %d's connection; reserve the connection (ReserveExecute, ReserveBeginExecute)", p.Type, s.id)
	case inTx && (p.Type == PlanDDL && !p.temporary || p.Type == PlanLockTables || p.Type == PlanUnlockTables):
		return errorf(CodeFailedPrecondition, ErrNotAllowed,
			"a %v statement would commit transaction %d implicitly; commit or roll it back first", p.Type, s.id)
	case !inTx && (p.Type == PlanSavepoint || p.Type == PlanRelease || p.Type == PlanSRollback):
		return errorf(CodeFailedPrecondition, ErrNotAllowed, "a %v statement needs a transaction; %d has none open", p.Type, s.id)
	}
	return nil
}

// execute runs a statement on session id for an Execute request. wantTx
// says the request named a transaction id, so a reserved connection
// without a transaction is not what it expects.
func (t *txEngine) execute(ctx context.Context, r *request, id int64, wantTx bool, plan *Plan, query string) (*Result, error) {
	s, err := t.acquire(id, r.method)
	if err != nil {
		return nil, err
	}
	defer t.release(s)
	return t.run(ctx, r, s, plan, query, wantTx)
}

// run executes a planned statement on s, which r holds.
func (t *txEngine) run(ctx context.Context, r *request, s *session, plan *Plan, query string, wantTx bool) (*Result, error) {
	t.mu.Lock()
	inTx, reserved := s.inTx, s.reserved
	t.mu.Unlock()
	if inTx {
		r.txID = s.id
	}
	if reserved {
		r.reservedID = s.id
	}
	if wantTx && !inTx {
		return nil, errorf(CodeAborted, ErrTxNotFound, "transaction %d: not in a transaction: it is a reserved connection with no transaction open", s.id)
	}
	if err := t.checkSession(plan, s); err != nil {
		return nil, err
	}
	b := t.budgetFor(ctx, r, s)
	res, _, err := t.e.runStatement(ctx, r, s.pc.Conn, plan, query, &b, runOpts{maxRows: t.e.cfg.MaxResultRows})
	t.noteQuery(s, plan)
	return res, err
}

// noteQuery adds a statement to the transaction's log entry.
func (t *txEngine) noteQuery(s *session, plan *Plan) {
	t.mu.Lock()
	if (s.inTx || s.reserved) && len(s.queries) < maxTxQueries {
		s.queries = append(s.queries, plan.SQL)
	}
	t.mu.Unlock()
}

// stream runs a streaming read on session id.
func (t *txEngine) stream(ctx context.Context, r *request, id int64, plan *Plan, query string, callback func(*Result) error) error {
	s, err := t.acquire(id, r.method)
	if err != nil {
		return err
	}
	defer t.release(s)
	if err := t.checkSession(plan, s); err != nil {
		return err
	}
	r.txID = id
	// Streams are bound by the caller's deadline and the transaction's
	// remaining time, not by the query timeout.
	t.mu.Lock()
	var tx *session
	if s.inTx {
		tx = s
	}
	b := t.e.newBudget(ctx, r.start, false, tx)
	t.mu.Unlock()
	_, err = t.e.runStream(ctx, r, s.pc.Conn, plan, query, &b, id, callback)
	t.noteQuery(s, plan)
	return err
}
