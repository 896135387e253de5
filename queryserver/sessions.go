package queryserver

import (
	"context"
	"fmt"
)

// The two methods below open a session without running a statement in
// it. They are the first halves of Vitess's ReserveStreamExecute and
// BeginStreamExecute, whose statement then runs through StreamExecute with
// the id they return.

// Reserve reserves a connection and runs preQueries on it, as
// ReserveExecute does, and returns the reserved id. With transactionID it
// reserves that transaction's connection, whose id stays the same. If a
// pre-query fails, a new reservation is released and 0 returned; a
// reserved transaction stays open for the caller to end.
func (e *Engine) Reserve(ctx context.Context, target *Target, preQueries []string, transactionID int64) (reservedID int64, err error) {
	r := e.newRequest(ctx, "Reserve")
	defer r.finish(&err)
	acc := accessNew
	if transactionID != 0 {
		acc = accessSession
	}
	if err := e.enter(target, acc); err != nil {
		return 0, err
	}
	defer e.exit()
	t := e.txs
	var s *session
	if transactionID != 0 {
		if s, err = t.acquire(transactionID, r.method); err != nil {
			return 0, err
		}
		t.mu.Lock()
		s.reserved = true
		t.mu.Unlock()
	} else {
		b := e.newBudget(ctx, r.start, true, nil)
		if s, err = t.create(ctx, r, true, &b); err != nil {
			return 0, err
		}
	}
	r.reservedID = s.id
	if err := t.preQueries(ctx, r, s, preQueries); err != nil {
		if transactionID != 0 {
			t.release(s)
			return 0, err
		}
		t.end(s, conclusionRelease, fmt.Sprintf("a pre-query failed: %v", err), false)
		return 0, err
	}
	t.release(s)
	return s.id, nil
}

// BeginSession begins a transaction and returns its id, as Begin does;
// with reservedID it first runs preQueries on that reserved connection and
// begins the transaction there, as BeginExecute does (the transaction
// takes the reserved id). Pre-queries without a reserved connection are
// refused with ErrNeedsReservedConn, as in BeginExecute.
func (e *Engine) BeginSession(ctx context.Context, target *Target, preQueries []string, reservedID int64) (transactionID int64, err error) {
	if reservedID == 0 {
		if len(preQueries) > 0 {
			return 0, errorf(CodeInvalidArgument, ErrNeedsReservedConn,
				"BeginStreamExecute with pre-queries needs a reserved connection (ReserveBeginStreamExecute)")
		}
		return e.Begin(ctx, target, nil)
	}
	r := e.newRequest(ctx, "BeginSession")
	defer r.finish(&err)
	if err := e.enter(target, accessSession); err != nil {
		return 0, err
	}
	defer e.exit()
	t := e.txs
	s, err := t.acquire(reservedID, r.method)
	if err != nil {
		return 0, err
	}
	defer t.release(s)
	t.mu.Lock()
	inTx := s.inTx
	t.mu.Unlock()
	if inTx {
		return 0, errorf(CodeFailedPrecondition, ErrNotAllowed, "reserved connection %d already has a transaction open", reservedID)
	}
	r.txID, r.reservedID = s.id, s.id
	if err := t.preQueries(ctx, r, s, preQueries); err != nil {
		return 0, err
	}
	if err := t.begin(ctx, r, s); err != nil {
		return 0, err
	}
	return s.id, nil
}
