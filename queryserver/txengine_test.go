package queryserver

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestTransactionLifecycle(t *testing.T) {
	db := newFakeDB(func(c *fakeConn, q string) fakeReply {
		if strings.HasPrefix(q, "insert") {
			return fakeReply{affected: 1, insertID: 7}
		}
		return okHandler(c, q)
	})
	h := newHarness(t, testConfig(), testPoolConfig(), primaryTarget, db)
	ctx := WithCaller(context.Background(), Caller{Username: "alice"})

	id, err := h.eng.Begin(ctx, &primaryTarget, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.eng.Execute(ctx, &primaryTarget, "insert into t (a) values (:a)", map[string]*BindVar{"a": ptr(Int64Var(1))}, id, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsAffected != 1 || res.InsertID != 7 {
		t.Errorf("result %+v", res)
	}
	if rid, err := h.eng.Commit(ctx, &primaryTarget, id); err != nil || rid != 0 {
		t.Fatalf("commit: %d, %v", rid, err)
	}
	// BEGIN, the insert and COMMIT ran on one connection.
	conns := map[string]bool{}
	for _, s := range append(append(db.statements("BEGIN"), db.statements("insert")...), db.statements("COMMIT")...) {
		conns[s[:strings.IndexByte(s, ':')]] = true
	}
	if len(conns) != 1 {
		t.Errorf("transaction statements ran on connections %v", conns)
	}
	if got := varValue(t, h.vars, "UserTransactionCount", "alice.commit"); got != 1 {
		t.Errorf("UserTransactionCount[alice.commit] = %d", got)
	}
	if got := timingCount(t, h.vars, "Transactions", "Completed"); got != 1 {
		t.Errorf("Transactions.Completed = %d", got)
	}
	log := h.eng.TxLog().Recent(0)
	if len(log) != 1 || log[0].ID != id || log[0].Conclusion != "commit" || len(log[0].Queries) != 1 {
		t.Errorf("tx log %+v", log)
	}

	rb, err := h.eng.Begin(ctx, &primaryTarget, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Rollback(ctx, &primaryTarget, rb); err != nil {
		t.Fatal(err)
	}
	if rb <= id {
		t.Errorf("ids do not grow: %d after %d", rb, id)
	}

	tests := []struct {
		name string
		id   int64
		want string
	}{
		{"committed", id, "ended at"},
		{"rolled back", rb, "(rollback)"},
		{"never begun", rb + 1000, "no transaction with this id was begun here"},
		{"earlier run", h.eng.txs.seed - 5, "earlier run of the query service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.eng.Execute(ctx, &primaryTarget, "select 1", nil, tt.id, 0, nil)
			wantErr(t, err, CodeAborted, ErrTxNotFound, fmt.Sprintf("transaction %d", tt.id), tt.want)
		})
	}
}

func TestTransactionKiller(t *testing.T) {
	cfg := testConfig()
	cfg.TransactionTimeout = 50 * time.Millisecond
	cfg.TransactionKillerInterval = 5 * time.Millisecond
	db := newFakeDB(okHandler)
	h := newHarness(t, cfg, testPoolConfig(), primaryTarget, db)
	ctx := context.Background()
	id, err := h.eng.Begin(ctx, &primaryTarget, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the killer", func() bool { return varValue(t, h.vars, "Kills", "Transactions") == 1 })
	_, err = h.eng.Execute(ctx, &primaryTarget, "select 1", nil, id, 0, nil)
	wantErr(t, err, CodeAborted, ErrTxKilled, "killed and rolled back", "--queryserver-config-transaction-timeout")
	_, err = h.eng.Commit(ctx, &primaryTarget, id)
	wantErr(t, err, CodeAborted, ErrTxKilled)
	if len(db.statements("ROLLBACK")) != 1 {
		t.Errorf("statements %v, want one ROLLBACK", db.statements(""))
	}
	if got := timingCount(t, h.vars, "Transactions", "Aborted"); got != 1 {
		t.Errorf("Transactions.Aborted = %d", got)
	}
	if got := h.set.Tx.InUse(); got != 0 {
		t.Errorf("%d transaction pool connections still in use", got)
	}
	if log := h.eng.TxLog().Recent(0); len(log) != 1 || log[0].Conclusion != "kill" {
		t.Errorf("tx log %+v", log)
	}
}

func TestTransactionPoolFull(t *testing.T) {
	pc := testPoolConfig()
	pc.TransactionCap = 1
	pc.TxPoolTimeout = 20 * time.Millisecond
	h := newHarness(t, testConfig(), pc, primaryTarget, newFakeDB(okHandler))
	ctx := context.Background()
	id, err := h.eng.Begin(ctx, &primaryTarget, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.eng.Begin(ctx, &primaryTarget, nil)
	wantErr(t, err, CodeResourceExhausted, ErrTxPoolFull, "transaction pool full", "--queryserver-config-transaction-cap")
	if _, err := h.eng.Rollback(ctx, &primaryTarget, id); err != nil {
		t.Fatal(err)
	}
	id, err = h.eng.Begin(ctx, &primaryTarget, nil)
	if err != nil {
		t.Fatalf("begin after the pool freed up: %v", err)
	}
	if _, err := h.eng.Rollback(ctx, &primaryTarget, id); err != nil {
		t.Fatal(err)
	}
}

func TestSessionRules(t *testing.T) {
	db := newFakeDB(func(c *fakeConn, q string) fakeReply {
		if strings.HasPrefix(q, "select") {
			return fakeReply{cols: []string{"id"}, types: []string{"BIGINT"}, rows: [][]driver.Value{{c.id}}}
		}
		return fakeReply{}
	})
	h := newHarness(t, testConfig(), testPoolConfig(), primaryTarget, db)
	ctx := context.Background()
	exec := func(sql string, txID, reservedID int64) error {
		_, err := h.eng.Execute(ctx, &primaryTarget, sql, nil, txID, reservedID, nil)
		return err
	}
	tx, err := h.eng.Begin(ctx, &primaryTarget, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		sql  string
		txID int64
		code Code
		kind error
	}{
		{"SET on the pool", "set @@session.sql_mode = 'ANSI'", 0, CodeFailedPrecondition, ErrNeedsReservedConn},
		{"USE on the pool", "use other", 0, CodeFailedPrecondition, ErrNeedsReservedConn},
		{"GET_LOCK on the pool", "select get_lock('x', 0)", 0, CodeFailedPrecondition, ErrNeedsReservedConn},
		{"temporary table on the pool", "create temporary table tt (id int)", 0, CodeFailedPrecondition, ErrNeedsReservedConn},
		{"BEGIN as a query", "begin", 0, CodeInvalidArgument, ErrNotAllowed},
		{"COMMIT in a transaction", "commit", tx, CodeInvalidArgument, ErrNotAllowed},
		{"SAVEPOINT outside a transaction", "savepoint s1", 0, CodeFailedPrecondition, ErrNotAllowed},
		{"SET in a plain transaction", "set @a = 1", tx, CodeFailedPrecondition, ErrNeedsReservedConn},
		{"DDL in a transaction", "create table t2 (id int)", tx, CodeFailedPrecondition, ErrNotAllowed},
		{"SAVEPOINT in a transaction", "savepoint s1", tx, CodeOK, nil},
		{"two statements", "select 1; select 2", 0, CodeInvalidArgument, ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := exec(tt.sql, tt.txID, 0)
			if tt.code == CodeOK {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tt.code, tt.kind)
		})
	}
	if _, err := h.eng.Rollback(ctx, &primaryTarget, tx); err != nil {
		t.Fatal(err)
	}

	// A reserved connection takes session state and is closed at Release.
	rid, res, err := h.eng.ReserveExecute(ctx, &primaryTarget, []string{"set @@session.sql_mode = 'ANSI'"}, "select connection_id()", nil, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := exec("set @a = 1", 0, rid); err != nil {
		t.Fatalf("SET on a reserved connection: %v", err)
	}
	connID := string(res.Rows[0][0])
	if err := h.eng.Release(ctx, &primaryTarget, 0, rid); err != nil {
		t.Fatal(err)
	}
	var id int64
	fmt.Sscan(connID, &id)
	if c := db.conn(id); c == nil || !c.closed.Load() {
		t.Error("the released reserved connection was not closed")
	}
	err = exec("select 1", 0, rid)
	wantErr(t, err, CodeAborted, ErrTxNotFound, "(release)")

	// ReserveBeginExecute: one id for both; Commit keeps the reservation.
	id2, _, err := h.eng.ReserveBeginExecute(ctx, &primaryTarget, []string{"set @x = 1"}, nil, "select 1", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := exec("set @y = 2", id2, id2); err != nil {
		t.Fatal(err)
	}
	if kept, err := h.eng.Commit(ctx, &primaryTarget, id2); err != nil || kept != id2 {
		t.Fatalf("commit of a reserved transaction: %d, %v; want the id kept", kept, err)
	}
	err = exec("select 1", id2, 0)
	wantErr(t, err, CodeAborted, ErrTxNotFound, "no transaction open")
	if err := exec("select 1", 0, id2); err != nil {
		t.Fatalf("reserved connection after commit: %v", err)
	}
	tx3, _, err := h.eng.BeginExecute(ctx, &primaryTarget, nil, "select 1", nil, id2, nil)
	if err != nil || tx3 != id2 {
		t.Fatalf("BeginExecute on a reserved connection: %d, %v", tx3, err)
	}
	if err := h.eng.Release(ctx, &primaryTarget, id2, id2); err != nil {
		t.Fatal(err)
	}
}

func TestSessionInUse(t *testing.T) {
	gate := make(chan struct{})
	db := newFakeDB(blockHandler(gate))
	db.started = make(chan string, 10)
	h := newHarness(t, testConfig(), testPoolConfig(), primaryTarget, db)
	ctx := context.Background()
	id, err := h.eng.Begin(ctx, &primaryTarget, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := h.eng.Execute(ctx, &primaryTarget, "SELECT SLEEP(1)", nil, id, 0, nil)
		done <- err
	}()
	<-db.started
	_, err = h.eng.Execute(ctx, &primaryTarget, "select 1", nil, id, 0, nil)
	wantErr(t, err, CodeFailedPrecondition, ErrInUse, "in use by another Execute")
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Rollback(ctx, &primaryTarget, id); err != nil {
		t.Fatal(err)
	}
}

func TestCloseDrainsThenKills(t *testing.T) {
	db := newFakeDB(blockHandler(nil))
	db.started = make(chan string, 10)
	h := newHarness(t, testConfig(), testPoolConfig(), primaryTarget, db)
	ctx := context.Background()
	tx, err := h.eng.Begin(ctx, &primaryTarget, nil)
	if err != nil {
		t.Fatal(err)
	}
	running := make(chan error, 1)
	go func() {
		_, err := h.eng.Execute(ctx, &primaryTarget, "SELECT SLEEP(100)", nil, 0, 0, nil)
		running <- err
	}()
	<-db.started

	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	closeErr := h.eng.Close(short)
	if closeErr == nil || !strings.Contains(closeErr.Error(), "1 requests in flight and 1 transactions") {
		t.Errorf("Close = %v, want it to report what it cut short", closeErr)
	}
	wantErr(t, <-running, CodeUnavailable, ErrNotServing, "shutting down")
	if got := varValue(t, h.vars, "InternalErrors", "StrayTransactions"); got != 1 {
		t.Errorf("StrayTransactions = %d", got)
	}
	_, err = h.eng.Execute(ctx, &primaryTarget, "select 1", nil, tx, 0, nil)
	wantErr(t, err, CodeUnavailable, ErrNotServing, "closed")
	if err2 := h.eng.Close(ctx); err2 != closeErr {
		t.Errorf("second Close = %v, want the first's result", err2)
	}
	if h.set.Tx.InUse() != 0 || h.set.Conn.InUse() != 0 {
		t.Error("connections still lent out after Close")
	}
}

func TestTransactionIDsOutliveRestarts(t *testing.T) {
	first := newTxEngine(&Engine{})
	var last int64
	for range 1000 {
		last = first.next.Add(1)
	}
	second := newTxEngine(&Engine{}) // a restart: a new engine, later
	if next := second.next.Add(1); next <= last {
		t.Fatalf("the restarted engine's first id %d is not above the earlier run's last %d", next, last)
	}
	second.mu.Lock()
	err := second.notFoundLocked(last)
	second.mu.Unlock()
	wantErr(t, err, CodeAborted, ErrTxNotFound, "earlier run")
}

func TestTransactionKilledWhileBusy(t *testing.T) {
	cfg := testConfig()
	cfg.TransactionTimeout = 50 * time.Millisecond
	cfg.TransactionKillerInterval = 5 * time.Millisecond
	h := newHarness(t, cfg, testPoolConfig(), primaryTarget, newFakeDB(blockHandler(nil)))
	ctx := context.Background()
	id, err := h.eng.Begin(ctx, &primaryTarget, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The statement is killed at the transaction's deadline; the killer,
	// finding the transaction busy, leaves the rest to the request.
	_, err = h.eng.Execute(ctx, &primaryTarget, "SELECT SLEEP(10)", nil, id, 0, nil)
	wantErr(t, err, CodeDeadlineExceeded, ErrQueryTimeout, "time left to transaction")
	_, err = h.eng.Execute(ctx, &primaryTarget, "select 1", nil, id, 0, nil)
	wantErr(t, err, CodeAborted, ErrTxKilled, "transaction timeout")
	if q, tx := varValue(t, h.vars, "Kills", "Queries"), varValue(t, h.vars, "Kills", "Transactions"); q != 1 || tx != 1 {
		t.Errorf("Kills = %d queries, %d transactions; want 1 and 1", q, tx)
	}
	if got := h.set.Tx.InUse(); got != 0 {
		t.Errorf("%d transaction connections still lent out", got)
	}
}
