package queryserver

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// rowsReply answers with one VARCHAR column "v" holding vals.
func rowsReply(vals ...string) fakeReply {
	r := fakeReply{cols: []string{"v"}, types: []string{"VARCHAR"}}
	for _, v := range vals {
		r.rows = append(r.rows, []driver.Value{[]byte(v)})
	}
	return r
}

// okHandler answers every statement with one row "ok".
func okHandler(*fakeConn, string) fakeReply { return rowsReply("ok") }

// blockHandler blocks statements containing "SLEEP" until gate closes (a
// nil gate blocks for ever) and answers the rest with okHandler.
func blockHandler(gate <-chan struct{}) func(*fakeConn, string) fakeReply {
	never := make(chan struct{})
	if gate == nil {
		gate = never
	}
	return func(c *fakeConn, q string) fakeReply {
		if strings.Contains(q, "SLEEP") {
			r := rowsReply("slept")
			r.wait = gate
			return r
		}
		return okHandler(c, q)
	}
}

func wantErr(t *testing.T, err error, code Code, kind error, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v %v", code, kind)
	}
	if CodeOf(err) != code || kind != nil && !errors.Is(err, kind) {
		t.Fatalf("error %q: code %v, want %v wrapping %v", err, CodeOf(err), code, kind)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

func TestServingStateAndTarget(t *testing.T) {
	h := newHarness(t, testConfig(), testPoolConfig(), primaryTarget, newFakeDB(okHandler))
	ctx := context.Background()
	txID, err := h.eng.Begin(ctx, &primaryTarget, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := Target{Keyspace: "ks", Shard: "0", TabletType: TabletReplica}

	tests := []struct {
		name   string
		state  ServingState
		target *Target
		txID   int64
		code   Code
		kind   error
	}{
		{"serving", StateServing, &primaryTarget, 0, CodeOK, nil},
		{"no target given", StateServing, nil, 0, CodeOK, nil},
		{"wrong tablet type", StateServing, &other, 0, CodeFailedPrecondition, ErrWrongTarget},
		{"not serving refuses new work", StateNotServing, &primaryTarget, 0, CodeUnavailable, ErrNotServing},
		{"not serving refuses queries in a transaction", StateNotServing, &primaryTarget, txID, CodeUnavailable, ErrNotServing},
		{"shutting down refuses new work", StateShuttingDown, &primaryTarget, 0, CodeUnavailable, ErrNotServing},
		{"shutting down serves transactions", StateShuttingDown, &primaryTarget, txID, CodeOK, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := h.eng.SetServingState(primaryTarget, tt.state); err != nil {
				t.Fatal(err)
			}
			_, err := h.eng.Execute(ctx, tt.target, "select 1", nil, tt.txID, 0, nil)
			if tt.code == CodeOK {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tt.code, tt.kind)
		})
	}
	// Ending a transaction works in any state.
	if err := h.eng.SetServingState(primaryTarget, StateNotServing); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Commit(ctx, &primaryTarget, txID); err != nil {
		t.Fatalf("commit while not serving: %v", err)
	}
}

func TestQueryTimeoutKillsQuery(t *testing.T) {
	cfg := testConfig()
	cfg.QueryTimeout = 50 * time.Millisecond
	cfg.Consolidator = ConsolidatorDisable
	pc := testPoolConfig()
	pc.PoolSize = 1
	h := newHarness(t, cfg, pc, primaryTarget, newFakeDB(blockHandler(nil)))

	_, err := h.eng.Execute(context.Background(), &primaryTarget, "SELECT SLEEP(10)", nil, 0, 0, nil)
	wantErr(t, err, CodeDeadlineExceeded, ErrQueryTimeout,
		"exceeded the query timeout of 50ms (--queryserver-config-query-timeout)", "killed with KILL QUERY on mysql connection")
	if kills := h.db.statements("KILL QUERY"); len(kills) != 1 {
		t.Errorf("KILL statements %v, want one KILL QUERY", kills)
	}
	if got := varValue(t, h.vars, "Kills", "Queries"); got != 1 {
		t.Errorf("Kills.Queries = %d, want 1", got)
	}
	// The statement came back interrupted: its connection is kept.
	if _, err := h.eng.Execute(context.Background(), &primaryTarget, "select 1", nil, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	if got := h.set.Conn.Metrics().BrokenClosed(); got != 0 {
		t.Errorf("%d connections replaced, want 0", got)
	}
}

func TestCallerDeadlineAndCancel(t *testing.T) {
	cfg := testConfig()
	cfg.Consolidator = ConsolidatorDisable
	db := newFakeDB(blockHandler(nil))
	db.started = make(chan string, 10)
	h := newHarness(t, cfg, testPoolConfig(), primaryTarget, db)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := h.eng.Execute(ctx, &primaryTarget, "SELECT SLEEP(10)", nil, 0, 0, nil)
	wantErr(t, err, CodeDeadlineExceeded, ErrQueryTimeout, "caller's deadline")
	<-db.started

	ctx, cancel = context.WithCancel(context.Background())
	go func() { <-db.started; cancel() }()
	_, err = h.eng.Execute(ctx, &primaryTarget, "SELECT SLEEP(10)", nil, 0, 0, nil)
	wantErr(t, err, CodeCanceled, ErrQueryKilled, "canceled by the caller")
	if got := varValue(t, h.vars, "Kills", "Queries"); got != 2 {
		t.Errorf("Kills.Queries = %d, want 2", got)
	}
}

func TestKillEscalatesToConnection(t *testing.T) {
	cfg := testConfig()
	cfg.QueryTimeout = 30 * time.Millisecond
	cfg.KillEscalationDelay = 50 * time.Millisecond
	pc := testPoolConfig()
	pc.PoolSize = 1
	never := make(chan struct{})
	h := newHarness(t, cfg, pc, primaryTarget, newFakeDB(func(c *fakeConn, q string) fakeReply {
		if strings.Contains(q, "hung") {
			return fakeReply{wait: never, ignoreKillQuery: true}
		}
		return fakeReply{cols: []string{"id"}, types: []string{"BIGINT"}, rows: [][]driver.Value{{c.id}}}
	}))
	ctx := context.Background()
	before, err := h.eng.Execute(ctx, &primaryTarget, "select connection_id()", nil, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.eng.Execute(ctx, &primaryTarget, "update t set a = 'hung'", nil, 0, 0, nil)
	wantErr(t, err, CodeDeadlineExceeded, ErrQueryTimeout, "KILL of the whole connection")
	id := string(before.Rows[0][0])
	if kills := h.db.statements("KILL " + id); len(kills) != 1 {
		t.Errorf("statements %v, want one KILL %s", h.db.statements("KILL"), id)
	}
	if got := varValue(t, h.vars, "InternalErrors", "HungQuery"); got != 1 {
		t.Errorf("InternalErrors.HungQuery = %d, want 1", got)
	}
	after, err := h.eng.Execute(ctx, &primaryTarget, "select connection_id()", nil, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(after.Rows[0][0]) == id {
		t.Error("the killed connection went back to the pool")
	}
}

func TestTransactionBudgetKillsQuery(t *testing.T) {
	cfg := testConfig()
	cfg.TransactionTimeout = 100 * time.Millisecond
	cfg.TransactionKillerInterval = time.Hour // only the budget acts
	h := newHarness(t, cfg, testPoolConfig(), primaryTarget, newFakeDB(blockHandler(nil)))
	ctx := context.Background()
	id, err := h.eng.Begin(ctx, &primaryTarget, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.eng.Execute(ctx, &primaryTarget, "SELECT SLEEP(10)", nil, id, 0, nil)
	wantErr(t, err, CodeDeadlineExceeded, ErrQueryTimeout, fmt.Sprintf("time left to transaction %d", id))
	// Past its timeout, the transaction was killed as its request let go,
	// without waiting for the killer.
	_, err = h.eng.Rollback(ctx, &primaryTarget, id)
	wantErr(t, err, CodeAborted, ErrTxKilled)
}

// consolidationHarness runs n identical reads at once against a statement
// that blocks until release is called, and returns their results.
type consolidationRun struct {
	results []*Result
	errs    []error
}

func startReads(h *harness, ctxs []context.Context, sql string) (wait func() consolidationRun) {
	n := len(ctxs)
	out := consolidationRun{results: make([]*Result, n), errs: make([]error, n)}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out.results[i], out.errs[i] = h.eng.Execute(ctxs[i], &replicaTarget, sql, nil, 0, 0, nil)
		})
	}
	return func() consolidationRun { wg.Wait(); return out }
}

func backgrounds(n int) []context.Context {
	out := make([]context.Context, n)
	for i := range out {
		out[i] = context.Background()
	}
	return out
}

func waiters(h *harness, sql string) int {
	c := h.eng.cons
	c.mu.Lock()
	defer c.mu.Unlock()
	if q := c.inflight[sql]; q != nil {
		return q.waiters
	}
	return -1
}

func TestConsolidation(t *testing.T) {
	const sql = "SELECT SLEEP(1), v FROM t"
	gate := make(chan struct{})
	db := newFakeDB(func(c *fakeConn, q string) fakeReply {
		r := rowsReply("a", "", "")
		r.rows[1][0] = nil // NULL, then an empty value
		r.wait = gate
		return r
	})
	h := newHarness(t, testConfig(), testPoolConfig(), replicaTarget, db) // replicas-only: on
	wait := startReads(h, backgrounds(10), sql)
	waitFor(t, "9 waiters", func() bool { return waiters(h, sql) == 9 })
	close(gate)
	run := wait()
	for i, err := range run.errs {
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	if n := len(db.statements(sql)); n != 1 {
		t.Errorf("the server ran the read %d times, want 1", n)
	}
	if got := timingCount(t, h.vars, "Waits", "Consolidations"); got != 9 {
		t.Errorf("Waits.Consolidations = %d, want 9", got)
	}
	// Every caller has its own copy: changing one changes no other.
	run.results[0].Rows[0][0][0] = 'X'
	for i, r := range run.results[1:] {
		if string(r.Rows[0][0]) != "a" || r.Rows[1][0] != nil || r.Rows[2][0] == nil || len(r.Rows[2][0]) != 0 {
			t.Errorf("result %d: %q", i+1, r.Rows)
		}
	}
	if got := h.eng.Consolidations(); len(got) != 1 || got[0].Query != sql || got[0].Count != 9 {
		t.Errorf("Consolidations() = %+v", got)
	}
}

func TestConsolidationCaps(t *testing.T) {
	const sql = "SELECT SLEEP(1), v FROM t"
	tests := []struct {
		name       string
		maxWaiters int
		maxBytes   int64
		callers    int
		joined     int // waiters that join the leader
		executions int
		skipped    string
	}{
		{"waiter cap", 2, 0, 5, 2, 3, capWaiters},
		{"result bytes cap", 0, 10, 4, 3, 4, capResultBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Consolidator = ConsolidatorEnable
			cfg.ConsolidatorMaxWaiters, cfg.ConsolidatorMaxResultBytes = tt.maxWaiters, tt.maxBytes
			pc := testPoolConfig()
			pc.PoolSize = tt.callers
			gate := make(chan struct{})
			var mu sync.Mutex
			first := true
			db := newFakeDB(func(c *fakeConn, q string) fakeReply {
				r := rowsReply("0123456789", "0123456789", "0123456789")
				mu.Lock()
				if first || tt.maxWaiters > 0 {
					r.wait = gate // the leader (and, with a waiter cap, the capped) block
				}
				first = false
				mu.Unlock()
				return r
			})
			h := newHarness(t, cfg, pc, primaryTarget, db)
			wait := func() consolidationRun {
				n := tt.callers
				out := consolidationRun{results: make([]*Result, n), errs: make([]error, n)}
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						out.results[i], out.errs[i] = h.eng.Execute(context.Background(), &primaryTarget, sql, nil, 0, 0, nil)
					})
				}
				waitFor(t, "callers in place", func() bool {
					return waiters(h, sql) == tt.joined && db.runningCount(sql) == tt.callers-tt.joined
				})
				close(gate)
				wg.Wait()
				return out
			}()
			for i, err := range wait.errs {
				if err != nil {
					t.Fatalf("caller %d: %v", i, err)
				}
				if len(wait.results[i].Rows) != 3 {
					t.Errorf("caller %d got %d rows, want all 3", i, len(wait.results[i].Rows))
				}
			}
			if n := len(db.statements(sql)); n != tt.executions {
				t.Errorf("the server ran the read %d times, want %d", n, tt.executions)
			}
			want := int64(tt.callers - 1 - tt.joined)
			if tt.skipped == capResultBytes {
				want = int64(tt.joined)
			}
			if got := varValue(t, h.vars, "ConsolidatorSkipped", tt.skipped); got != want {
				t.Errorf("ConsolidatorSkipped.%s = %d, want %d", tt.skipped, got, want)
			}
		})
	}
}

func TestConsolidationWaiterLeavesAlone(t *testing.T) {
	const sql = "SELECT SLEEP(1), v FROM t"
	gate := make(chan struct{})
	h := newHarness(t, testConfig(), testPoolConfig(), replicaTarget, newFakeDB(blockHandler(gate)))
	short, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	wait := startReads(h, backgrounds(2), sql)
	waitFor(t, "a waiter", func() bool { return waiters(h, sql) == 1 })
	_, err := h.eng.Execute(short, &replicaTarget, sql, nil, 0, 0, nil)
	wantErr(t, err, CodeDeadlineExceeded, ErrQueryTimeout, "identical query in flight")
	close(gate)
	for i, err := range wait().errs {
		if err != nil {
			t.Errorf("caller %d failed with the waiter that left: %v", i, err)
		}
	}
}

func TestConsolidationLeaderCanceled(t *testing.T) {
	const sql = "SELECT SLEEP(1), v FROM t"
	never, gate := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	runs := 0
	db := newFakeDB(func(c *fakeConn, q string) fakeReply {
		r := rowsReply("v")
		mu.Lock()
		r.wait = gate
		if runs == 0 {
			r.wait = never // the first leader blocks until killed
		}
		runs++
		mu.Unlock()
		return r
	})
	db.started = make(chan string, 10)
	h := newHarness(t, testConfig(), testPoolConfig(), replicaTarget, db)
	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderDone := make(chan error, 1)
	go func() {
		_, err := h.eng.Execute(leaderCtx, &replicaTarget, sql, nil, 0, 0, nil)
		leaderDone <- err
	}()
	<-db.started
	wait := startReads(h, backgrounds(3), sql)
	waitFor(t, "3 waiters", func() bool { return waiters(h, sql) == 3 })
	cancel()
	wantErr(t, <-leaderDone, CodeCanceled, ErrQueryKilled)
	waitFor(t, "a new leader and 2 waiters", func() bool { return waiters(h, sql) == 2 && db.runningCount(sql) == 1 })
	close(gate)
	for i, err := range wait().errs {
		if err != nil {
			t.Errorf("waiter %d failed with its leader: %v", i, err)
		}
	}
	if n := len(db.statements(sql)); n != 2 {
		t.Errorf("the read ran %d times, want 2 (the canceled leader, then one for the waiters)", n)
	}
}

func TestConsolidationOffOnPrimary(t *testing.T) {
	const sql = "SELECT SLEEP(1), v FROM t"
	gate := make(chan struct{})
	db := newFakeDB(blockHandler(gate))
	h := newHarness(t, testConfig(), testPoolConfig(), primaryTarget, db) // replicas-only
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, err := h.eng.Execute(context.Background(), &primaryTarget, sql, nil, 0, 0, nil); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, "three executions", func() bool { return db.runningCount(sql) == 3 })
	close(gate)
	wg.Wait()
}

func TestPoolFullAndAdmission(t *testing.T) {
	cfg := testConfig()
	cfg.Consolidator = ConsolidatorDisable
	pc := testPoolConfig()
	pc.PoolSize = 1
	pc.QueryPoolTimeout = 30 * time.Millisecond
	gate := make(chan struct{})
	db := newFakeDB(blockHandler(gate))
	db.started = make(chan string, 10)
	h := newHarness(t, cfg, pc, primaryTarget, db)
	ctx := context.Background()
	held := make(chan error, 1)
	go func() {
		_, err := h.eng.Execute(ctx, &primaryTarget, "SELECT SLEEP(1)", nil, 0, 0, nil)
		held <- err
	}()
	<-db.started

	_, err := h.eng.Execute(ctx, &primaryTarget, "select 1", nil, 0, 0, nil)
	wantErr(t, err, CodeResourceExhausted, ErrPoolFull, "connection pool full", "ConnPool", "--queryserver-config-pool-size")

	// The pool just made a caller wait 30ms: one with 10ms left is refused
	// at once rather than queued.
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	_, err = h.eng.Execute(short, &primaryTarget, "select 1", nil, 0, 0, nil)
	wantErr(t, err, CodeResourceExhausted, ErrOverloaded, "recent waits")
	if got := varValue(t, h.vars, "ConnPoolWaitCount", ""); got != 1 {
		t.Errorf("ConnPoolWaitCount = %d, want 1: the refused caller must not queue", got)
	}

	close(gate)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
}

func TestMaxResultRows(t *testing.T) {
	cfg := testConfig()
	cfg.MaxResultRows = 3
	pc := testPoolConfig()
	pc.PoolSize = 1
	h := newHarness(t, cfg, pc, primaryTarget, newFakeDB(func(c *fakeConn, q string) fakeReply {
		if strings.Contains(q, "big") {
			return rowsReply("1", "2", "3", "4")
		}
		return fakeReply{cols: []string{"id"}, types: []string{"BIGINT"}, rows: [][]driver.Value{{c.id}}}
	}))
	ctx := context.Background()
	before, _ := h.eng.Execute(ctx, &primaryTarget, "select connection_id()", nil, 0, 0, nil)
	_, err := h.eng.Execute(ctx, &primaryTarget, "select * from big", nil, 0, 0, nil)
	wantErr(t, err, CodeResourceExhausted, ErrResultTooLarge, "more than 3 rows", "--queryserver-config-max-result-size")
	after, err := h.eng.Execute(ctx, &primaryTarget, "select connection_id()", nil, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(before.Rows[0][0]) != string(after.Rows[0][0]) {
		t.Error("the connection was replaced after a too-large result")
	}
}

func TestMarginComments(t *testing.T) {
	const sql = "SELECT SLEEP(1), v FROM t"
	gate := make(chan struct{})
	db := newFakeDB(blockHandler(gate))
	h := newHarness(t, testConfig(), testPoolConfig(), replicaTarget, db)
	ctxs := backgrounds(2)
	done := make(chan error, 2)
	for i, c := range ctxs {
		go func() {
			_, err := h.eng.Execute(c, &replicaTarget, fmt.Sprintf("/* trace=%d */ %s", i, sql), nil, 0, 0, nil)
			done <- err
		}()
	}
	waitFor(t, "the second caller to join the first", func() bool { return waiters(h, sql) == 1 })
	close(gate)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	ran := db.statements(sql)
	if len(ran) != 1 || !strings.Contains(ran[0], "/* trace=") {
		t.Errorf("the server ran %q, want the statement once with its comment", ran)
	}
	if plans := h.eng.Plans(); len(plans) != 1 || plans[0].SQL != sql {
		t.Errorf("plans cached: %v, want one, without comments", plans)
	}
}
