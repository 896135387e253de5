package queryserver

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"time"

	"github.com/tabletd/tablet/pools"
)

// Execute runs one statement and returns its whole result, as Vitess's
// Execute RPC. sql may hold ":name" (and "::name" for lists) bind variable
// references, replaced by bindVars' values as safe literals.
//
// With transactionID or reservedID (the same id when both are set) it
// runs on that transaction's or reserved connection; otherwise on a
// ConnPool connection, sharing the execution of an identical read already
// in flight when the consolidator is on.
//
// The request has one time budget, the smallest of the query timeout, ctx's
// deadline and, in a transaction, the transaction's remaining time, spent
// on the pool wait and the statement together; when it runs out, the
// statement is killed and the error (ErrQueryTimeout) says which limit
// fired and after how long. A result over the max result size fails with
// ErrResultTooLarge. See the package doc for the other errors.
func (e *Engine) Execute(ctx context.Context, target *Target, sql string, bindVars map[string]*BindVar,
	transactionID, reservedID int64, opts *ExecuteOptions) (res *Result, err error) {
	r := e.newRequest(ctx, "Execute")
	defer r.finish(&err)
	id, err := sessionID(transactionID, reservedID)
	if err != nil {
		return nil, err
	}
	acc := accessNew
	if id != 0 {
		acc = accessSession
	}
	if err := e.enter(target, acc); err != nil {
		return nil, err
	}
	defer e.exit()
	plan, query, err := e.prepare(r, sql, bindVars, opts)
	if err != nil {
		return nil, err
	}
	if id != 0 {
		return e.txs.execute(ctx, r, id, transactionID != 0, plan, query)
	}
	return e.execute(ctx, r, plan, query)
}

// sessionID returns the one id of a request naming a transaction and/or a
// reserved connection (Vitess gives both the same id), or 0.
func sessionID(transactionID, reservedID int64) (int64, error) {
	if transactionID != 0 && reservedID != 0 && transactionID != reservedID {
		return 0, errorf(CodeInvalidArgument, ErrTxNotFound,
			"transaction %d and reserved connection %d differ: a reserved transaction has one id", transactionID, reservedID)
	}
	return max(transactionID, reservedID), nil
}

// prepare plans sql (without its margin comments) and substitutes its
// bind variables; the query returned carries the comments again, and
// r.key is the query without them, for consolidation.
func (e *Engine) prepare(r *request, sql string, bindVars map[string]*BindVar, opts *ExecuteOptions) (*Plan, string, error) {
	lead, body, trail := splitMarginComments(sql)
	plan, err := e.getPlan(body, opts)
	if err != nil {
		return nil, "", err
	}
	r.plan = plan
	query, err := substitute(plan, bindVars)
	if err != nil {
		return nil, "", err
	}
	r.key = query
	if lead != "" || trail != "" {
		query = lead + query + trail
	}
	return plan, query, nil
}

// checkPooled refuses statements that may not run on a shared pool
// connection outside a transaction.
func checkPooled(p *Plan) error {
	switch {
	case p.Type == PlanTransaction:
		return errorf(CodeInvalidArgument, ErrNotAllowed,
			"transaction statements are not allowed in a query; use Begin, Commit and Rollback")
	case p.needsReserved:
		return errorf(CodeFailedPrecondition, ErrNeedsReservedConn,
			"a %v statement changes session state, which would leak to the next user of a shared connection; run it on a reserved connection (ReserveExecute)", p.Type)
	case p.Type == PlanSavepoint || p.Type == PlanRelease || p.Type == PlanSRollback:
		return errorf(CodeFailedPrecondition, ErrNotAllowed, "a %v statement needs a transaction", p.Type)
	}
	return nil
}

// execute runs a statement outside any session.
func (e *Engine) execute(ctx context.Context, r *request, plan *Plan, query string) (*Result, error) {
	if err := checkPooled(plan); err != nil {
		return nil, err
	}
	b := e.newBudget(ctx, r.start, true, nil)
	if plan.consolidatable() && e.consolidating() {
		return e.consolidate(ctx, r, plan, query, &b)
	}
	return e.execPooled(ctx, r, plan, query, &b, nil)
}

// execPooled runs a statement on a ConnPool connection. observe, if not
// nil, is told the result's size as rows arrive.
func (e *Engine) execPooled(ctx context.Context, r *request, plan *Plan, query string, b *budget, observe func(int64)) (*Result, error) {
	pc, err := e.getConn(ctx, r, e.connPool(), b)
	if err != nil {
		return nil, err
	}
	// Should the statement panic, the connection is closed, not reused:
	// its kill watch may still fire.
	discard := true
	defer func() { releasePooled(pc, discard) }()
	var res *Result
	res, discard, err = e.runStatement(ctx, r, pc.Conn, plan, query, b, runOpts{maxRows: e.cfg.MaxResultRows, observe: observe})
	return res, err
}

// releasePooled returns a pooled connection, closing it first if discard
// is set: the pool then replaces it.
func releasePooled(pc *pools.Pooled[*pools.DBConn], discard bool) {
	if discard {
		_ = pc.Conn.Close()
	}
	pc.Release()
}

// runOpts tune runStatement.
type runOpts struct {
	maxRows int         // most rows in the result; 0 for no limit
	observe func(int64) // told the result's size after each row; may be nil
}

// runStatement runs one statement on conn under budget b, killing it if
// the budget runs out or ctx ends, and returns its result. discard is set
// when a kill was sent but the statement did not come back interrupted:
// the KILL QUERY may have raced its end, so a pooled connection should not
// be reused.
func (e *Engine) runStatement(ctx context.Context, r *request, conn *pools.DBConn, plan *Plan, query string,
	b *budget, o runOpts) (res *Result, discard bool, err error) {
	r.connID = conn.ID()
	if rem, ok := b.remaining(time.Now()); ok && rem <= 0 {
		return nil, false, b.expired("before running the statement")
	}
	if ctx.Err() != nil {
		ce := errorf(CodeCanceled, ErrQueryKilled, "canceled by the caller before the statement ran")
		ce.callerSpecific = true
		return nil, false, ce
	}
	// The statement's context ends only when the watch cancels it to close
	// the socket; the budget and the caller's context act through KILL.
	stmtCtx, cancelStmt := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelStmt()
	w := e.watch(ctx, conn.ID(), b, cancelStmt)
	start := time.Now()
	if plan.Type.returnsRows() {
		res, err = e.fetch(stmtCtx, conn, query, o)
	} else {
		var er pools.ExecResult
		if er, err = conn.Exec(stmtCtx, query); err == nil {
			res = &Result{RowsAffected: er.RowsAffected, InsertID: er.InsertID}
		}
	}
	d := time.Since(start)
	killed := w.stop()
	e.stats.mysqlExec.Record(d)
	r.mysqlTime += d
	if killed {
		return nil, !isInterrupted(err), w.killedError("query")
	}
	if err != nil {
		return nil, false, mysqlError(fmt.Sprintf("mysql connection %d", conn.ID()), err)
	}
	r.rowsReturned += int64(len(res.Rows))
	r.rowsAffected += res.RowsAffected
	return res, false, nil
}

// fetch runs a query and reads its whole result, failing with
// ErrResultTooLarge past o.maxRows rows (after draining the rest, so the
// connection stays usable).
func (e *Engine) fetch(ctx context.Context, conn *pools.DBConn, query string, o runOpts) (*Result, error) {
	rows, err := conn.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	res := &Result{Fields: makeFields(rows.Columns(), rows.ColumnTypes())}
	dest := make([]driver.Value, len(res.Fields))
	var a arena
	var size int64
	for {
		err := rows.Next(dest)
		if err == io.EOF {
			break
		}
		if err != nil {
			_ = rows.Close()
			return nil, err
		}
		if o.maxRows > 0 && len(res.Rows) == o.maxRows {
			if err := rows.Close(); err != nil {
				return nil, err
			}
			return nil, errorf(CodeResourceExhausted, ErrResultTooLarge,
				"result has more than %d rows (--queryserver-config-max-result-size); add a LIMIT or use StreamExecute", o.maxRows)
		}
		row := a.convertRow(dest, res.Fields)
		res.Rows = append(res.Rows, row)
		if o.observe != nil {
			size += rowSize(row)
			o.observe(size)
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return res, nil
}
