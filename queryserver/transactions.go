package queryserver

import (
	"context"
	"fmt"
	"time"
)

// Begin starts a transaction on a TransactionPool connection and returns
// its id, as Vitess's Begin RPC. A pool with no free connection within
// --queryserver-config-txpool-timeout fails with ErrTxPoolFull
// (CodeResourceExhausted). The transaction is rolled back and its
// connection closed if it is still open after
// --queryserver-config-transaction-timeout.
func (e *Engine) Begin(ctx context.Context, target *Target, opts *ExecuteOptions) (transactionID int64, err error) {
	r := e.newRequest(ctx, "Begin")
	defer r.finish(&err)
	if err := e.enter(target, accessNew); err != nil {
		return 0, err
	}
	defer e.exit()
	s, err := e.txs.newTransaction(ctx, r)
	if err != nil {
		return 0, err
	}
	e.txs.release(s)
	return s.id, nil
}

// newTransaction creates a session and begins a transaction on it; on
// failure the connection goes back and nothing is registered.
func (t *txEngine) newTransaction(ctx context.Context, r *request) (*session, error) {
	b := t.e.newBudget(ctx, r.start, true, nil)
	s, err := t.create(ctx, r, false, &b)
	if err != nil {
		return nil, err
	}
	r.txID = s.id
	if err := t.begin(ctx, r, s); err != nil {
		t.discard(s)
		return nil, err
	}
	return s, nil
}

// discard forgets a session that never became usable and returns its
// connection, closing it if it is in doubt.
func (t *txEngine) discard(s *session) {
	t.mu.Lock()
	delete(t.sessions, s.id)
	t.mu.Unlock()
	releasePooled(s.pc, s.pc.Conn.IsBroken())
	t.e.signal()
}

// BeginExecute begins a transaction and runs a statement in it, as
// Vitess's BeginExecute RPC. With reservedID it begins the transaction on
// that reserved connection (whose id the transaction takes). preQueries
// run first, as for ReserveExecute. If the transaction began but a
// statement failed, the transaction id is returned with the error: the
// transaction stays open for the caller to roll back.
func (e *Engine) BeginExecute(ctx context.Context, target *Target, preQueries []string, sql string,
	bindVars map[string]*BindVar, reservedID int64, opts *ExecuteOptions) (transactionID int64, res *Result, err error) {
	r := e.newRequest(ctx, "BeginExecute")
	defer r.finish(&err)
	acc := accessNew
	if reservedID != 0 {
		acc = accessSession
	}
	if err := e.enter(target, acc); err != nil {
		return 0, nil, err
	}
	defer e.exit()
	var s *session
	if reservedID != 0 {
		if s, err = e.txs.acquire(reservedID, r.method); err != nil {
			return 0, nil, err
		}
		e.txs.mu.Lock()
		inTx := s.inTx
		e.txs.mu.Unlock()
		if inTx {
			e.txs.release(s)
			return 0, nil, errorf(CodeFailedPrecondition, ErrNotAllowed, "reserved connection %d already has a transaction open", reservedID)
		}
		if err := e.txs.preQueries(ctx, r, s, preQueries); err != nil {
			e.txs.release(s)
			return 0, nil, err
		}
		if err := e.txs.begin(ctx, r, s); err != nil {
			e.txs.release(s)
			return 0, nil, err
		}
	} else {
		if len(preQueries) > 0 {
			return 0, nil, errorf(CodeInvalidArgument, ErrNeedsReservedConn,
				"BeginExecute with pre-queries needs a reserved connection (ReserveBeginExecute)")
		}
		if s, err = e.txs.newTransaction(ctx, r); err != nil {
			return 0, nil, err
		}
	}
	defer e.txs.release(s)
	r.txID = s.id
	plan, query, err := e.prepare(r, sql, bindVars, opts)
	if err != nil {
		return s.id, nil, err
	}
	res, err = e.txs.run(ctx, r, s, plan, query, true)
	return s.id, res, err
}

// Commit commits transaction transactionID, as Vitess's Commit RPC. The
// connection goes back to the pool, or, if it is reserved, stays reserved
// under the same id, which is returned (0 otherwise). Committing a
// reserved connection with no transaction open does nothing. If COMMIT
// fails the transaction is gone and its connection closed. A transaction
// past --queryserver-config-transaction-timeout is killed instead, and
// Commit fails with ErrTxKilled. Commit works in every serving state, so
// transactions can finish while the tablet drains.
func (e *Engine) Commit(ctx context.Context, target *Target, transactionID int64) (reservedID int64, err error) {
	return e.endTransaction(ctx, target, "Commit", transactionID, commitPlan, "COMMIT", conclusionCommit)
}

// Rollback rolls transaction transactionID back, as Vitess's Rollback RPC;
// otherwise as Commit.
func (e *Engine) Rollback(ctx context.Context, target *Target, transactionID int64) (reservedID int64, err error) {
	return e.endTransaction(ctx, target, "Rollback", transactionID, rollbackPlan, "ROLLBACK", conclusionRollback)
}

func (e *Engine) endTransaction(ctx context.Context, target *Target, method string, id int64, plan *Plan,
	stmt, conclusion string) (reservedID int64, err error) {
	r := e.newRequest(ctx, method)
	defer r.finish(&err)
	r.txID = id
	if err := e.enter(target, accessEnd); err != nil {
		return 0, err
	}
	defer e.exit()
	t := e.txs
	s, err := t.acquire(id, method)
	if err != nil {
		return 0, err
	}
	t.mu.Lock()
	inTx, reserved := s.inTx, s.reserved
	t.mu.Unlock()
	if !inTx {
		t.release(s)
		if reserved {
			return s.id, nil
		}
		return 0, errorf(CodeAborted, ErrTxNotFound, "transaction %d: no transaction open", id)
	}
	// Ending a transaction is not bound by its remaining time: acquire
	// refused it if it had run out, and a COMMIT begun in time may finish.
	b := e.newBudget(ctx, r.start, true, nil)
	start := time.Now()
	_, _, err = e.runStatement(ctx, r, s.pc.Conn, plan, stmt, &b, runOpts{})
	e.stats.queries.Record(stmt, time.Since(start))
	if err != nil {
		t.end(s, conclusionFail, fmt.Sprintf("%s failed: %v", stmt, err), false)
		return 0, err
	}
	if reserved {
		t.endTx(s, conclusion)
		t.release(s)
		return s.id, nil
	}
	t.end(s, conclusion, "", false)
	return 0, nil
}

// begin opens a transaction on s.
func (t *txEngine) begin(ctx context.Context, r *request, s *session) error {
	b := t.e.newBudget(ctx, r.start, true, nil)
	start := time.Now()
	_, discard, err := t.e.runStatement(ctx, r, s.pc.Conn, beginPlan, "BEGIN", &b, runOpts{})
	t.e.stats.queries.Record("BEGIN", time.Since(start))
	if err != nil {
		if discard {
			_ = s.pc.Conn.Close()
		}
		return err
	}
	now := time.Now()
	t.mu.Lock()
	s.inTx = true
	s.txStart = now
	s.txDeadline = time.Time{}
	if d := t.e.cfg.TransactionTimeout; d > 0 {
		s.txDeadline = now.Add(d)
	}
	s.queries = nil
	t.mu.Unlock()
	return nil
}
