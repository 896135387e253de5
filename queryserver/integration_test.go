package queryserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/pools"
	"github.com/tabletd/tablet/testenv"
)

// realEnv is an engine over the real pools and a private mysqld, made
// writable, with a database "qs". Under -short it skips.
type realEnv struct {
	m     *testenv.MySQL
	admin *sql.DB
	set   *pools.Set
	vars  *debugvars.Registry
	eng   *Engine
}

func startReal(t *testing.T, cfg Config, pcfg pools.Config, target Target, setup ...string) *realEnv {
	t.Helper()
	m := testenv.StartMySQL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := m.DB(testenv.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	stmts := append(m.Flavor().SetReadOnly(false), "CREATE DATABASE qs")
	for _, s := range append(stmts, setup...) {
		if _, err := admin.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	logger := testLogger(t)
	app, err := pools.NewDBConnector(m.DriverConfig(testenv.RoleApp), logger)
	if err != nil {
		t.Fatal(err)
	}
	dba, err := pools.NewDBConnector(m.DriverConfig(testenv.RoleDBA), logger)
	if err != nil {
		t.Fatal(err)
	}
	set, err := pools.NewSet(pcfg, app, dba, logger)
	if err != nil {
		t.Fatal(err)
	}
	set.Open()
	vars := debugvars.New()
	eng := New(cfg, set, vars, logger)
	if err := eng.Open(); err != nil {
		t.Fatal(err)
	}
	if err := eng.SetServingState(target, StateServing); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := eng.Close(ctx); err != nil {
			t.Errorf("close engine: %v", err)
		}
		if err := set.Close(ctx); err != nil {
			t.Errorf("close pools: %v", err)
		}
	})
	return &realEnv{m: m, admin: admin, set: set, vars: vars, eng: eng}
}

// processlist returns the ids of server threads whose statement contains
// both halves of a marker (split so that this query does not match
// itself).
func (r *realEnv) processlist(t *testing.T, a, b string) []int64 {
	t.Helper()
	ids, err := r.threadsRunning(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// threadsRunning is processlist for goroutines other than the test's.
func (r *realEnv) threadsRunning(a, b string) ([]int64, error) {
	rows, err := r.admin.Query("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE CONCAT('%', ?, ?, '%')", a, b)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func stringsOf(res *Result) [][]string {
	var out [][]string
	for _, row := range res.Rows {
		var r []string
		for _, v := range row {
			if v == nil {
				r = append(r, "NULL")
			} else {
				r = append(r, string(v))
			}
		}
		out = append(out, r)
	}
	return out
}

// Acceptance 1: SELECT SLEEP(10) with a 1s timeout fails with a deadline
// error within 2s, the processlist shows no such query afterwards, and
// Kills.Queries counted it.
func TestIntegrationQueryTimeoutKills(t *testing.T) {
	cfg := testConfig()
	cfg.QueryTimeout = time.Second
	r := startReal(t, cfg, testPoolConfig(), primaryTarget)
	start := time.Now()
	_, err := r.eng.Execute(context.Background(), &primaryTarget, "SELECT SLEEP(10)", nil, 0, 0, nil)
	took := time.Since(start)
	wantErr(t, err, CodeDeadlineExceeded, ErrQueryTimeout, "query timeout of 1s", "killed with KILL QUERY")
	t.Logf("SLEEP(10) under a 1s query timeout: %v after %v", err, took)
	if took > 2*time.Second {
		t.Errorf("took %v, want under 2s", took)
	}
	if ids := r.processlist(t, "SLEEP(", "10)"); len(ids) != 0 {
		t.Errorf("SLEEP(10) still running on threads %v", ids)
	}
	if got := varValue(t, r.vars, "Kills", "Queries"); got != 1 {
		t.Errorf("Kills.Queries = %d, want 1", got)
	}

	// The caller's deadline is a limit too, and the message names it.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = r.eng.Execute(ctx, &primaryTarget, "SELECT SLEEP(11)", nil, 0, 0, nil)
	wantErr(t, err, CodeDeadlineExceeded, ErrQueryTimeout, "caller's deadline")
	if ids := r.processlist(t, "SLEEP(", "11)"); len(ids) != 0 {
		t.Errorf("SLEEP(11) still running on threads %v", ids)
	}
}

// Acceptance 2: 50 concurrent identical slow reads reach MySQL once, all
// get the right rows, and Waits.Consolidations counts 49.
//
// Proof from MySQL's side: the query calls a stored function that counts
// its calls in a table (once per row, three rows), and a sampler watches
// the processlist for the query while the callers wait.
func TestIntegrationConsolidation(t *testing.T) {
	r := startReal(t, testConfig(), testPoolConfig(), replicaTarget, // replicas-only: on for a replica
		"SET GLOBAL log_bin_trust_function_creators = 1",
		"CREATE TABLE qs.items (id INT PRIMARY KEY, name VARCHAR(20))",
		"INSERT INTO qs.items VALUES (1, 'one'), (2, 'two'), (3, 'three')",
		"CREATE TABLE qs.calls (n INT NOT NULL)",
		"INSERT INTO qs.calls VALUES (0)",
		"CREATE FUNCTION qs.counted() RETURNS INT NOT DETERMINISTIC MODIFIES SQL DATA "+
			"BEGIN UPDATE qs.calls SET n = n + 1; RETURN SLEEP(0.2); END",
	)
	const query = "SELECT id, name, qs.counted() AS c FROM qs.items ORDER BY id"
	want := [][]string{{"1", "one", "0"}, {"2", "two", "0"}, {"3", "three", "0"}}

	// Sample the processlist until the callers are done.
	stop := make(chan struct{})
	threads := map[int64]bool{}
	maxConcurrent := 0
	var sampleErr error
	var sampler sync.WaitGroup
	sampler.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			ids, err := r.threadsRunning("qs.coun", "ted()")
			if err != nil && sampleErr == nil {
				sampleErr = err
			}
			maxConcurrent = max(maxConcurrent, len(ids))
			for _, id := range ids {
				threads[id] = true
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})

	const n = 50
	results := make([]*Result, n)
	errs := make([]error, n)
	ready := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-ready
			results[i], errs[i] = r.eng.Execute(context.Background(), &replicaTarget, query, nil, 0, 0, nil)
		})
	}
	close(ready)
	wg.Wait()
	close(stop)
	sampler.Wait()
	if sampleErr != nil {
		t.Fatalf("sampling the processlist: %v", sampleErr)
	}

	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if got := stringsOf(results[i]); !reflect.DeepEqual(got, want) {
			t.Errorf("caller %d got %v, want %v", i, got, want)
		}
	}
	var calls int
	if err := r.admin.QueryRow("SELECT n FROM qs.calls").Scan(&calls); err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Errorf("the function ran %d times: the query reached MySQL %d times, want once (3 rows)", calls, calls/3)
	}
	if len(threads) != 1 || maxConcurrent != 1 {
		t.Errorf("processlist showed the query on threads %v (at most %d at once), want one", threads, maxConcurrent)
	}
	if got := timingCount(t, r.vars, "Waits", "Consolidations"); got != n-1 {
		t.Errorf("Waits.Consolidations = %d, want %d", got, n-1)
	}
	t.Logf("50 identical reads: function calls %d (3 rows x 1 execution), threads seen %d, Waits.Consolidations %d",
		calls, len(threads), timingCount(t, r.vars, "Waits", "Consolidations"))
}

// Acceptance 3: a transaction left open past the transaction timeout is
// rolled back: its row lock is released (another transaction updates the
// row) and using its id gives the "killed" error.
func TestIntegrationTransactionKiller(t *testing.T) {
	cfg := testConfig()
	cfg.TransactionTimeout = time.Second
	r := startReal(t, cfg, testPoolConfig(), primaryTarget,
		"CREATE TABLE qs.items (id INT PRIMARY KEY, name VARCHAR(20))",
		"INSERT INTO qs.items VALUES (1, 'one')",
	)
	ctx := context.Background()
	id, err := r.eng.Begin(ctx, &primaryTarget, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.Execute(ctx, &primaryTarget, "UPDATE qs.items SET name = :n WHERE id = 1",
		map[string]*BindVar{"n": ptr(StringVar("held"))}, id, 0, nil); err != nil {
		t.Fatal(err)
	}
	began := time.Now()

	// Another transaction waits for the row lock, which only the kill can
	// release: it would wait 50s otherwise.
	other, err := r.admin.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, "SET SESSION innodb_lock_wait_timeout = 50"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.ExecContext(ctx, "UPDATE qs.items SET name = 'other' WHERE id = 1"); err != nil {
		t.Fatalf("the other transaction's update: %v", err)
	}
	waited := time.Since(began)
	t.Logf("the row lock was released %v after the transaction began (timeout 1s)", waited)
	if waited < 900*time.Millisecond {
		t.Errorf("the lock was free after %v, before the timeout", waited)
	}

	_, err = r.eng.Execute(ctx, &primaryTarget, "SELECT name FROM qs.items", nil, id, 0, nil)
	wantErr(t, err, CodeAborted, ErrTxKilled, fmt.Sprintf("transaction %d", id), "killed", "transaction timeout of 1s")
	t.Logf("using the killed transaction: %v", err)
	if got := varValue(t, r.vars, "Kills", "Transactions"); got != 1 {
		t.Errorf("Kills.Transactions = %d, want 1", got)
	}
	var name string
	if err := r.admin.QueryRow("SELECT name FROM qs.items WHERE id = 1").Scan(&name); err != nil || name != "other" {
		t.Errorf("row holds %q (%v), want the other transaction's update", name, err)
	}
}

// Acceptance 4: with a pool of 4, 8 concurrent long queries and a 100ms
// pool wait, exactly 4 fail with resource exhausted, quickly; the pool is
// whole afterwards.
func TestIntegrationPoolFullFailsFast(t *testing.T) {
	cfg := testConfig()
	cfg.Consolidator = ConsolidatorDisable
	pc := testPoolConfig()
	pc.PoolSize = 4
	pc.QueryPoolTimeout = 100 * time.Millisecond
	r := startReal(t, cfg, pc, primaryTarget)

	const n = 8
	errs := make([]error, n)
	took := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			start := time.Now()
			_, errs[i] = r.eng.Execute(context.Background(), &primaryTarget, "SELECT SLEEP(1), :i",
				map[string]*BindVar{"i": ptr(Int64Var(int64(i)))}, 0, 0, nil)
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	var failed, succeeded int
	for i, err := range errs {
		switch {
		case err == nil:
			succeeded++
		case CodeOf(err) == CodeResourceExhausted:
			failed++
			t.Logf("caller %d refused after %v: %v", i, took[i], err)
			if took[i] > 500*time.Millisecond {
				t.Errorf("caller %d took %v to be refused, want about the 100ms wait", i, took[i])
			}
		default:
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if failed != 4 || succeeded != 4 {
		t.Errorf("%d refused and %d served, want 4 and 4", failed, succeeded)
	}
	if s := r.set.Conn.Stats(); s.InUse != 0 || s.Available != 4 {
		t.Errorf("pool afterwards: %d in use, %d available; want 0 and 4", s.InUse, s.Available)
	}
	if _, err := r.eng.Execute(context.Background(), &primaryTarget, "SELECT 1", nil, 0, 0, nil); err != nil {
		t.Fatalf("query after the burst: %v", err)
	}
}

// Acceptance 5, first half: a result over the max size fails cleanly and
// the next query on the same pool (the same connection) works.
func TestIntegrationResultLimit(t *testing.T) {
	cfg := testConfig()
	cfg.MaxResultRows = 100
	pc := testPoolConfig()
	pc.PoolSize = 1
	r := startReal(t, cfg, pc, primaryTarget)
	ctx := context.Background()
	connID := func() string {
		t.Helper()
		res, err := r.eng.Execute(ctx, &primaryTarget, "SELECT CONNECTION_ID()", nil, 0, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		return string(res.Rows[0][0])
	}
	before := connID()
	_, err := r.eng.Execute(ctx, &primaryTarget, "SELECT seq FROM qs.seq_1_to_100000", nil, 0, 0, nil)
	wantErr(t, err, CodeResourceExhausted, ErrResultTooLarge, "more than 100 rows")
	res, err := r.eng.Execute(ctx, &primaryTarget, "SELECT seq FROM qs.seq_1_to_100", nil, 0, 0, nil)
	if err != nil || len(res.Rows) != 100 {
		t.Fatalf("a result at the limit: %v", err)
	}
	if after := connID(); after != before {
		t.Errorf("connection %s replaced by %s after the oversized result", before, after)
	}
}

// Acceptance 5, second half: StreamExecute of 1,000,000 rows keeps the
// heap bounded.
func TestIntegrationStreamHeapBounded(t *testing.T) {
	r := startReal(t, testConfig(), testPoolConfig(), primaryTarget)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	peak := base
	var rows, calls, bytes int64
	next := int64(1)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := r.eng.StreamExecute(ctx, &primaryTarget, "SELECT seq, REPEAT('x', 100) AS pad FROM qs.seq_1_to_1000000",
		nil, 0, 0, nil, func(res *Result) error {
			calls++
			for _, row := range res.Rows {
				if string(row[0]) != fmt.Sprint(next) {
					return fmt.Errorf("row %d holds %s", next, row[0])
				}
				next++
				bytes += rowSize(row)
			}
			rows += int64(len(res.Rows))
			if calls%64 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	growth := int64(peak) - int64(base)
	t.Logf("streamed %d rows (%.1f MiB of values) in %d pieces in %v; heap in use %.1f MiB before, peak %.1f MiB (+%.1f MiB)",
		rows, float64(bytes)/(1<<20), calls, time.Since(start).Round(time.Millisecond),
		float64(base)/(1<<20), float64(peak)/(1<<20), float64(growth)/(1<<20))
	if rows != 1_000_000 {
		t.Errorf("%d rows, want 1000000", rows)
	}
	if growth > 32<<20 {
		t.Errorf("heap grew by %.1f MiB while streaming %.1f MiB: not bounded", float64(growth)/(1<<20), float64(bytes)/(1<<20))
	}
}

// Acceptance 6 and values: a bind value like x' OR '1'='1 is matched
// literally; binary values come back byte for byte; floats as MySQL
// prints them; errors keep MySQL's number; session state stays on the
// reserved connection.
func TestIntegrationValues(t *testing.T) {
	pc := testPoolConfig()
	pc.PoolSize = 1
	r := startReal(t, testConfig(), pc, primaryTarget,
		"CREATE TABLE qs.people (id INT PRIMARY KEY, name VARCHAR(50))",
		`INSERT INTO qs.people VALUES (1, 'alice'), (2, 'x'' OR ''1''=''1'), (3, 'back\\slash')`,
		"CREATE TABLE qs.bin (id INT PRIMARY KEY, b VARBINARY(300), t VARCHAR(50))",
		"CREATE TABLE qs.nums (id INT PRIMARY KEY, u INT UNSIGNED, big BIGINT UNSIGNED, d DOUBLE, f FLOAT, dc DECIMAL(10,3))",
	)
	ctx := context.Background()
	exec := func(sql string, vars map[string]*BindVar) (*Result, error) {
		return r.eng.Execute(ctx, &primaryTarget, sql, vars, 0, 0, nil)
	}

	t.Run("hostile values are literals", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			want [][]string
		}{
			{"x' OR '1'='1", [][]string{{"2"}}},
			{"nobody' OR '1'='1", nil},
			{`\' OR 1=1 -- `, nil},
			{"' OR 1=1; DROP TABLE qs.people; --", nil},
			{`back\slash`, [][]string{{"3"}}},
		} {
			res, err := exec("SELECT id FROM qs.people WHERE name = :name ORDER BY id",
				map[string]*BindVar{"name": ptr(StringVar(tt.name))})
			if err != nil {
				t.Fatalf("%q: %v", tt.name, err)
			}
			if got := stringsOf(res); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%q matched %v, want %v", tt.name, got, tt.want)
			}
		}
		res, err := exec("SELECT id FROM qs.people WHERE name IN ::names ORDER BY id",
			map[string]*BindVar{"names": ptr(TupleVar(StringVar("alice"), StringVar("') OR ('1'='1")))})
		if err != nil || !reflect.DeepEqual(stringsOf(res), [][]string{{"1"}}) {
			t.Errorf("tuple: %v, %v", stringsOf(res), err)
		}
		_, err = exec("SELECT id FROM qs.people WHERE id = :id", map[string]*BindVar{"id": {Type: TypeInt64, Value: []byte("1 OR 1=1")}})
		wantErr(t, err, CodeInvalidArgument, ErrBindVariable)
	})

	t.Run("binary and text round trip", func(t *testing.T) {
		all := make([]byte, 256)
		for i := range all {
			all[i] = byte(i)
		}
		text := "a\\b'c\x00d\x1ae \u00e9\u4e16"
		for _, row := range []struct {
			id   int64
			b    *BindVar
			text *BindVar
		}{
			{1, ptr(BytesVar(all)), ptr(StringVar(text))},
			{2, ptr(BytesVar([]byte{})), ptr(StringVar(""))},
			{3, ptr(NullVar()), ptr(NullVar())},
		} {
			if _, err := exec("INSERT INTO qs.bin VALUES (:id, :b, :t)",
				map[string]*BindVar{"id": ptr(Int64Var(row.id)), "b": row.b, "t": row.text}); err != nil {
				t.Fatal(err)
			}
		}
		res, err := exec("SELECT b, t FROM qs.bin ORDER BY id", nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(res.Rows[0][0]) != string(all) || string(res.Rows[0][1]) != text {
			t.Errorf("row 1 came back %q %q", res.Rows[0][0], res.Rows[0][1])
		}
		if res.Rows[1][0] == nil || len(res.Rows[1][0]) != 0 || res.Rows[1][1] == nil {
			t.Errorf("empty values came back as %#v", res.Rows[1])
		}
		if res.Rows[2][0] != nil || res.Rows[2][1] != nil {
			t.Errorf("NULLs came back as %#v", res.Rows[2])
		}
		if f := res.Fields[0]; f.Type != TypeVarBinary || f.Flags&FlagBinary == 0 {
			t.Errorf("field %+v", f)
		}
		if f := res.Fields[1]; f.Type != TypeVarChar {
			t.Errorf("field %+v", f)
		}
		res, err = exec("SELECT id FROM qs.bin WHERE b = :b", map[string]*BindVar{"b": ptr(BytesVar(all))})
		if err != nil || !reflect.DeepEqual(stringsOf(res), [][]string{{"1"}}) {
			t.Errorf("lookup by binary value: %v, %v", stringsOf(res), err)
		}
	})

	t.Run("numbers as the server prints them", func(t *testing.T) {
		values := []string{"0.1", "1e15", "1e14", "123456789012345678", "1.5e-5", "1e-10", "1e-16",
			"-2.5", "3", "1.7976931348623157e308", "123.456", "0.000123456789012345", "1e20",
			"123456789", "16777217", "3.14159265", "1234567"} // FLOAT keeps 6 significant digits
		for i, v := range values {
			if _, err := r.admin.Exec(fmt.Sprintf("INSERT INTO qs.nums VALUES (%d, 4294967295, 18446744073709551615, %s, %s, 1234567.125)", i, v, v)); err != nil {
				t.Logf("%s: %v", v, err)
			}
		}
		res, err := exec("SELECT id, u, big, d, CAST(d AS CHAR), f, dc FROM qs.nums ORDER BY id", nil)
		if err != nil {
			t.Fatal(err)
		}
		// What the text protocol sends for each column, read raw.
		raw, err := r.admin.Query("SELECT u, big, CONCAT(d), CONCAT(f), dc FROM qs.nums ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		for _, row := range res.Rows {
			if !raw.Next() {
				t.Fatal("fewer raw rows")
			}
			var u, big, d, f, dec string
			if err := raw.Scan(&u, &big, &d, &f, &dec); err != nil {
				t.Fatal(err)
			}
			got := []string{string(row[1]), string(row[2]), string(row[3]), string(row[5]), string(row[6])}
			if want := []string{u, big, d, f, dec}; !reflect.DeepEqual(got, want) {
				t.Errorf("row %s: got %q, server text %q", row[0], got, want)
			}
			if string(row[3]) != string(row[4]) {
				t.Errorf("row %s: DOUBLE %q, CAST AS CHAR %q", row[0], row[3], row[4])
			}
		}
		if f := res.Fields[2]; f.Type != TypeUint64 || f.Flags&FlagUnsigned == 0 {
			t.Errorf("BIGINT UNSIGNED field %+v", f)
		}
	})

	t.Run("errors keep MySQL's number", func(t *testing.T) {
		_, err := exec("INSERT INTO qs.people VALUES (1, 'again')", nil)
		wantErr(t, err, CodeAlreadyExists, nil, "Duplicate entry", "(errno 1062) (sqlstate 23000)")
		var me *Error
		if !errors.As(err, &me) || me.Number != 1062 || me.SQLState != "23000" {
			t.Errorf("error %#v", me)
		}
		if got := varValue(t, r.vars, "InfoErrors", "DupKey"); got != 1 {
			t.Errorf("InfoErrors.DupKey = %d", got)
		}
		_, err = exec("SELECT * FROM qs.nope", nil)
		wantErr(t, err, CodeInvalidArgument, nil, "(errno 1146) (sqlstate 42S02)")
	})

	t.Run("session state stays on the reserved connection", func(t *testing.T) {
		rid, res, err := r.eng.ReserveExecute(ctx, &primaryTarget, []string{"SET SESSION sql_mode = 'ANSI_QUOTES'"},
			"SELECT @@SESSION.sql_mode, CONNECTION_ID()", nil, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(res.Rows[0][0]) != "ANSI_QUOTES" {
			t.Errorf("reserved sql_mode %q", res.Rows[0][0])
		}
		reservedConn := string(res.Rows[0][1])
		pooled, err := exec("SELECT @@SESSION.sql_mode", nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(pooled.Rows[0][0]), "ANSI_QUOTES") {
			t.Errorf("the reserved connection's SET leaked into the pool: %q", pooled.Rows[0][0])
		}
		_, err = exec("SET SESSION sql_mode = 'ANSI_QUOTES'", nil)
		wantErr(t, err, CodeFailedPrecondition, ErrNeedsReservedConn)
		if err := r.eng.Release(ctx, &primaryTarget, 0, rid); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the released connection to go", func() bool {
			var n int
			_ = r.admin.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?", reservedConn).Scan(&n)
			return n == 0
		})
	})
}
