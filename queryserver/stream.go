package queryserver

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/tabletd/tablet/pools"
)

// StreamExecute runs a read and hands its result to callback in pieces, as
// Vitess's StreamExecute RPC: first a Result holding only the fields, then
// Results holding rows, each with at most StreamBufferSize bytes of values
// (one larger row goes alone). It holds no more than one piece in memory,
// whatever the result's size, and applies no row limit.
//
// Outside a session it uses a StreamConnPool connection; with
// transactionID or reservedID, that session's connection. Its budget is
// ctx's deadline and, in a transaction, the transaction's remaining time;
// the query timeout does not apply. Only statements that return rows
// (SELECT, SHOW, EXPLAIN, ...) are allowed.
//
// callback is called from the calling goroutine, one call at a time. The
// Result and its values are valid only until callback returns (their
// memory is reused); copy what you keep. If callback returns an error the
// query is killed and StreamExecute returns an error wrapping it. Running
// streams are listed by StreamQueries and can be killed with
// KillStreamQuery.
func (e *Engine) StreamExecute(ctx context.Context, target *Target, sql string, bindVars map[string]*BindVar,
	transactionID, reservedID int64, opts *ExecuteOptions, callback func(*Result) error) (err error) {
	r := e.newRequest(ctx, "StreamExecute")
	defer r.finish(&err)
	id, err := sessionID(transactionID, reservedID)
	if err != nil {
		return err
	}
	acc := accessNew
	if id != 0 {
		acc = accessSession
	}
	if err := e.enter(target, acc); err != nil {
		return err
	}
	defer e.exit()
	plan, query, err := e.prepare(r, sql, bindVars, opts)
	if err != nil {
		return err
	}
	if !plan.Type.returnsRows() {
		return errorf(CodeInvalidArgument, ErrNotAllowed, "StreamExecute runs statements that return rows; a %v statement does not", plan.Type)
	}
	if id != 0 {
		return e.txs.stream(ctx, r, id, plan, query, callback)
	}
	if err := checkPooled(plan); err != nil {
		return err
	}
	b := e.newBudget(ctx, r.start, false, nil)
	pc, err := e.getConn(ctx, r, e.streamPool(), &b)
	if err != nil {
		return err
	}
	discard := true // as in execPooled
	defer func() { releasePooled(pc, discard) }()
	discard, err = e.runStream(ctx, r, pc.Conn, plan, query, &b, 0, callback)
	return err
}

// runStream runs a streaming read on conn; see StreamExecute. discard is
// as for runStatement.
func (e *Engine) runStream(ctx context.Context, r *request, conn *pools.DBConn, plan *Plan, query string,
	b *budget, txID int64, callback func(*Result) error) (discard bool, err error) {
	r.connID = conn.ID()
	if rem, ok := b.remaining(time.Now()); ok && rem <= 0 {
		return false, b.expired("before running the statement")
	}
	stmtCtx, cancelStmt := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelStmt()
	w := e.watch(ctx, conn.ID(), b, cancelStmt)
	sid := e.streams.add(StreamQueryInfo{
		SQL: plan.SQL, Caller: r.caller, Start: r.start, ConnID: conn.ID(), TransactionID: txID,
	}, w)
	defer e.streams.remove(sid)

	start := time.Now()
	rows, cbErr, err := e.streamRows(stmtCtx, conn, query, w, callback)
	d := time.Since(start)
	killed := w.stop()
	e.stats.mysqlStream.Record(d)
	r.mysqlTime += d
	r.rowsReturned += rows
	switch {
	case cbErr != nil:
		code := CodeOf(cbErr)
		if code == CodeUnknown {
			code = CodeCanceled
		}
		return killed && !isInterrupted(err), errorf(code, nil, "StreamExecute: handing rows to the receiver: %w", cbErr)
	case killed:
		return !isInterrupted(err), w.killedError("streaming query")
	case err != nil:
		return false, mysqlError(fmt.Sprintf("mysql connection %d", conn.ID()), err)
	}
	return false, nil
}

// streamRows reads the query's rows and hands them to callback in
// pieces. cbErr is the callback's error, after which the query is killed
// and its remaining rows discarded.
func (e *Engine) streamRows(ctx context.Context, conn *pools.DBConn, query string, w *statementWatch,
	callback func(*Result) error) (n int64, cbErr, err error) {
	rows, err := conn.Query(ctx, query)
	if err != nil {
		return 0, nil, err
	}
	defer func() {
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
	}()
	fields := makeFields(rows.Columns(), rows.ColumnTypes())
	if cbErr = callback(&Result{Fields: fields}); cbErr != nil {
		w.kill(killReason{code: CodeCanceled, kind: ErrQueryKilled, why: "the stream's receiver failed", callerSpecific: true})
		return 0, cbErr, nil
	}
	dest := make([]driver.Value, len(fields))
	var a arena
	chunk := &Result{}
	var size int64
	limit := int64(e.cfg.StreamBufferSize)
	flush := func() error {
		if len(chunk.Rows) == 0 {
			return nil
		}
		err := callback(chunk)
		clear(chunk.Rows)
		chunk.Rows = chunk.Rows[:0]
		a.reset()
		size = 0
		return err
	}
	for {
		err := rows.Next(dest)
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, nil, err
		}
		row := a.convertRow(dest, fields)
		rs := rowSize(row)
		if size > 0 && size+rs > limit {
			if cbErr = flush(); cbErr != nil {
				w.kill(killReason{code: CodeCanceled, kind: ErrQueryKilled, why: "the stream's receiver failed", callerSpecific: true})
				return n, cbErr, nil
			}
			row = a.convertRow(dest, fields) // the flush reused the arena
		}
		chunk.Rows = append(chunk.Rows, row)
		size += rs
		n++
	}
	if cbErr = flush(); cbErr != nil {
		return n, cbErr, nil
	}
	return n, nil, nil
}

// StreamQueryInfo describes a running StreamExecute, for /streamqueryz.
type StreamQueryInfo struct {
	ID            int64     // for KillStreamQuery
	SQL           string    // the statement with its bind variable references
	Caller        Caller    // who asked
	Start         time.Time // when the request arrived
	ConnID        int64     // the MySQL connection running it
	TransactionID int64     // its transaction or reserved connection, or 0
}

// streamRegistry tracks running streams.
type streamRegistry struct {
	mu   sync.Mutex // guards the fields below
	next int64
	m    map[int64]streamEntry
}

type streamEntry struct {
	info StreamQueryInfo
	w    *statementWatch
}

func newStreamRegistry() *streamRegistry { return &streamRegistry{m: map[int64]streamEntry{}} }

func (s *streamRegistry) add(info StreamQueryInfo, w *statementWatch) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	info.ID = s.next
	s.m[info.ID] = streamEntry{info, w}
	return info.ID
}

func (s *streamRegistry) remove(id int64) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

func (s *streamRegistry) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// StreamQueries returns the running StreamExecute requests, oldest first.
func (e *Engine) StreamQueries() []StreamQueryInfo {
	s := e.streams
	s.mu.Lock()
	out := make([]StreamQueryInfo, 0, len(s.m))
	for _, en := range s.m {
		out = append(out, en.info)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// KillStreamQuery kills the running StreamExecute with the given id (from
// StreamQueries), as an operator: its statement gets KILL QUERY (and KILL
// if it does not stop) and the request fails with ErrQueryKilled. It does
// not wait for the request to end. An unknown id is an error.
func (e *Engine) KillStreamQuery(id int64) error {
	e.streams.mu.Lock()
	en, ok := e.streams.m[id]
	e.streams.mu.Unlock()
	if !ok {
		return errorf(CodeNotFound, nil, "no streaming query %d is running", id)
	}
	en.w.kill(killReason{code: CodeCanceled, kind: ErrQueryKilled, why: "killed by an operator"})
	return nil
}
