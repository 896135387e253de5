package queryserver

import (
	"context"
	"fmt"
)

// ReserveExecute reserves a connection, runs preQueries on it (the
// session settings a gateway replays: SET and the like), then the
// statement, as Vitess's ReserveExecute RPC, and returns the reserved id.
// With transactionID it reserves that transaction's connection, whose id
// stays the same. A reserved connection may run statements that change
// session state; it comes from the transaction pool and is closed, never
// pooled again, at Release, so its state cannot leak. If a pre-query
// fails the connection is released and 0 returned; if the statement fails
// the reserved id is returned with the error.
func (e *Engine) ReserveExecute(ctx context.Context, target *Target, preQueries []string, sql string,
	bindVars map[string]*BindVar, transactionID int64, opts *ExecuteOptions) (reservedID int64, res *Result, err error) {
	r := e.newRequest(ctx, "ReserveExecute")
	defer r.finish(&err)
	acc := accessNew
	if transactionID != 0 {
		acc = accessSession
	}
	if err := e.enter(target, acc); err != nil {
		return 0, nil, err
	}
	defer e.exit()
	t := e.txs
	var s *session
	if transactionID != 0 {
		if s, err = t.acquire(transactionID, r.method); err != nil {
			return 0, nil, err
		}
		t.mu.Lock()
		s.reserved = true
		t.mu.Unlock()
	} else {
		b := e.newBudget(ctx, r.start, true, nil)
		if s, err = t.create(ctx, r, true, &b); err != nil {
			return 0, nil, err
		}
	}
	r.reservedID = s.id
	if err := t.preQueries(ctx, r, s, preQueries); err != nil {
		t.end(s, conclusionRelease, fmt.Sprintf("a pre-query failed: %v", err), false)
		return 0, nil, err
	}
	defer t.release(s)
	plan, query, err := e.prepare(r, sql, bindVars, opts)
	if err != nil {
		return s.id, nil, err
	}
	res, err = t.run(ctx, r, s, plan, query, false)
	return s.id, res, err
}

// ReserveBeginExecute reserves a connection, runs preQueries, begins a
// transaction, runs postBeginQueries and then the statement, as Vitess's
// ReserveBeginExecute RPC. The returned id is both the reserved
// connection's and the transaction's. Failures before the statement
// release the connection and return 0; a failing statement returns the id
// with the error.
func (e *Engine) ReserveBeginExecute(ctx context.Context, target *Target, preQueries, postBeginQueries []string, sql string,
	bindVars map[string]*BindVar, opts *ExecuteOptions) (id int64, res *Result, err error) {
	r := e.newRequest(ctx, "ReserveBeginExecute")
	defer r.finish(&err)
	if err := e.enter(target, accessNew); err != nil {
		return 0, nil, err
	}
	defer e.exit()
	t := e.txs
	b := e.newBudget(ctx, r.start, true, nil)
	s, err := t.create(ctx, r, true, &b)
	if err != nil {
		return 0, nil, err
	}
	r.reservedID, r.txID = s.id, s.id
	if err := t.preQueries(ctx, r, s, preQueries); err != nil {
		t.end(s, conclusionRelease, fmt.Sprintf("a pre-query failed: %v", err), false)
		return 0, nil, err
	}
	if err := t.begin(ctx, r, s); err != nil {
		t.end(s, conclusionRelease, fmt.Sprintf("BEGIN failed: %v", err), false)
		return 0, nil, err
	}
	if err := t.preQueries(ctx, r, s, postBeginQueries); err != nil {
		t.rollbackConn(s)
		t.end(s, conclusionRelease, fmt.Sprintf("a post-begin query failed: %v", err), false)
		return 0, nil, err
	}
	defer t.release(s)
	plan, query, err := e.prepare(r, sql, bindVars, opts)
	if err != nil {
		return s.id, nil, err
	}
	res, err = t.run(ctx, r, s, plan, query, true)
	return s.id, res, err
}

// Release ends a reserved connection (and any transaction on it, rolled
// back), as Vitess's Release RPC; the connection is closed, never pooled
// again. Given a transaction that is not reserved, it rolls it back and
// returns its connection to the pool. transactionID and reservedID name
// the same session when both are set. Release works in every serving
// state.
func (e *Engine) Release(ctx context.Context, target *Target, transactionID, reservedID int64) (err error) {
	r := e.newRequest(ctx, "Release")
	defer r.finish(&err)
	id, err := sessionID(transactionID, reservedID)
	if err != nil {
		return err
	}
	if id == 0 {
		return errorf(CodeInvalidArgument, ErrTxNotFound, "Release needs a transaction or reserved connection id")
	}
	r.txID, r.reservedID = transactionID, reservedID
	if err := e.enter(target, accessEnd); err != nil {
		return err
	}
	defer e.exit()
	t := e.txs
	s, err := t.acquire(id, r.method)
	if err != nil {
		return err
	}
	t.mu.Lock()
	inTx, reserved := s.inTx, s.reserved
	t.mu.Unlock()
	conclusion := conclusionRelease
	if inTx {
		b := e.newBudget(ctx, r.start, true, nil)
		if _, _, err := e.runStatement(ctx, r, s.pc.Conn, rollbackPlan, "ROLLBACK", &b, runOpts{}); err != nil {
			t.end(s, conclusionFail, fmt.Sprintf("ROLLBACK at release failed: %v", err), false)
			return nil
		}
		if !reserved {
			conclusion = conclusionRollback
		}
	}
	t.end(s, conclusion, "", false)
	return nil
}

// preQueries runs statements that set a reserved connection up (the
// session settings a gateway replays), each planned and checked like any
// other, without bind variables.
func (t *txEngine) preQueries(ctx context.Context, r *request, s *session, queries []string) error {
	for _, q := range queries {
		plan, err := t.e.getPlan(q, nil)
		if err != nil {
			return err
		}
		if _, err := t.run(ctx, r, s, plan, q, false); err != nil {
			return err
		}
	}
	return nil
}
