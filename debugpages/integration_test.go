package debugpages

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/health"
	"github.com/tabletd/tablet/pools"
	"github.com/tabletd/tablet/queryserver"
	"github.com/tabletd/tablet/testenv"
)

// testDB is the tablet database of the integration tests, with a table of
// customerRows rows and a view over it.
const (
	testDB       = "vt_commerce"
	customerRows = 100
	// pointSelect is the statement the tests send: one row by primary key.
	pointSelect = "SELECT id, email FROM customer WHERE id = :id"
)

// primaryTarget is the integration tests' tablet: the primary of commerce/0.
func primaryTarget() *queryserver.Target {
	return &queryserver.Target{Keyspace: "commerce", Shard: "0", TabletType: queryserver.TabletPrimary}
}

// realEnv is a tablet's observable parts over a private mysqld: the query
// engine on real pools, a health checker, table statistics, all pages
// served on a loopback port, as the agent wires them.
type realEnv struct {
	m       *testenv.MySQL
	set     *pools.Set
	vars    *debugvars.Registry
	eng     *queryserver.Engine
	checker *health.Checker
	stats   *TableStats
	srv     *httptest.Server
	ctx     context.Context // carries the caller "app"
}

// startReal builds a realEnv; the test's cleanup takes it down in reverse
// order. Under -short it skips.
func startReal(t *testing.T) *realEnv {
	t.Helper()
	m := testenv.StartMySQL(t)
	started := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := openRoleDB(t, m, testenv.RoleAdmin)
	values := make([]string, customerRows)
	for i := range values {
		values[i] = fmt.Sprintf("(%d, 'customer%d@example.com')", i+1, i+1)
	}
	stmts := append(m.Flavor().SetReadOnly(false),
		"CREATE DATABASE "+testDB,
		"CREATE TABLE "+testDB+".customer (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, "+
			"email VARCHAR(128) NOT NULL, KEY email (email)) ENGINE=InnoDB",
		"INSERT INTO "+testDB+".customer (id, email) VALUES "+strings.Join(values, ", "),
		"ANALYZE TABLE "+testDB+".customer",
		"CREATE VIEW "+testDB+".customer_emails AS SELECT email FROM "+testDB+".customer",
	)
	for _, s := range stmts {
		if _, err := admin.ExecContext(ctx, s); err != nil {
			t.Fatalf("%.60s: %v", s, err)
		}
	}

	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	appCfg := m.DriverConfig(testenv.RoleApp)
	appCfg.DBName = testDB
	app, err := pools.NewDBConnector(appCfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	dba, err := pools.NewDBConnector(m.DriverConfig(testenv.RoleDBA), logger)
	if err != nil {
		t.Fatal(err)
	}
	pcfg := pools.DefaultConfig()
	pcfg.PoolSize, pcfg.StreamPoolSize, pcfg.TransactionCap = 4, 2, 4
	set, err := pools.NewSet(pcfg, app, dba, logger)
	if err != nil {
		t.Fatal(err)
	}
	set.Open()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := set.Close(ctx); err != nil {
			t.Errorf("close pools: %v", err)
		}
	})

	vars := debugvars.New()
	eng := queryserver.New(queryserver.DefaultConfig(), set, vars, logger)
	if err := eng.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := eng.Close(ctx); err != nil {
			t.Errorf("close engine: %v", err)
		}
	})
	if err := eng.SetServingState(*primaryTarget(), queryserver.StateServing); err != nil {
		t.Fatal(err)
	}

	dbaDB := openRoleDB(t, m, testenv.RoleDBA)
	hcfg := health.DefaultConfig()
	hcfg.MinDwell = 0
	hcfg.HeartbeatEnable = false
	checker := health.New(hcfg, health.NewProber(hcfg, dbaDB), vars, logger)
	sub := checker.Subscribe()
	checker.SetTablet(health.Tablet{Type: health.TypePrimary, PrimaryTermStart: started})
	checker.Open()
	t.Cleanup(checker.Close)
	waitHealthy(t, sub)

	tcfg := DefaultConfig()
	tcfg.DBName = testDB
	stats := NewTableStats(tcfg, dbaDB, vars, logger)
	if err := stats.Refresh(ctx); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	status := func() StatusInfo {
		host, _ := os.Hostname()
		return StatusInfo{
			Alias: "zone1-0000000100", Keyspace: "commerce", Shard: "0", TabletType: "PRIMARY",
			Hostname: host, HTTPPort: srv.Listener.Addr().(*net.TCPAddr).Port, GRPCPort: 16100, MySQLPort: m.Port(),
			DBName: testDB, MySQLVersion: m.Flavor().Name() + " " + m.Flavor().Version().String(),
			Version: "devel", Started: started,
			Extra: []StatusField{{"Orchestrator", "not configured"}},
		}
	}
	Register(mux, Sources{
		Vars: vars, Engine: eng, Health: checker, Pools: set, Schema: stats, Status: status, Logger: logger,
	})
	srv.Start()
	t.Cleanup(srv.Close)

	return &realEnv{
		m: m, set: set, vars: vars, eng: eng, checker: checker, stats: stats, srv: srv,
		ctx: queryserver.WithCaller(context.Background(), queryserver.Caller{Username: "app"}),
	}
}

func openRoleDB(t *testing.T, m *testenv.MySQL, role testenv.Role) *sql.DB {
	t.Helper()
	db, err := m.DB(role)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// waitHealthy waits for the checker to publish Healthy, then closes sub.
func waitHealthy(t *testing.T, sub *health.Subscription) {
	t.Helper()
	defer sub.Close()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	for {
		select {
		case st, ok := <-sub.Updates():
			if !ok {
				t.Fatalf("health subscription ended: %v", sub.Err())
			}
			if st.State == health.Healthy {
				return
			}
		case <-timer.C:
			t.Fatal("timed out waiting for the tablet to be healthy")
		}
	}
}

// pointSelects runs n point selects through the engine.
func (r *realEnv) pointSelects(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		id := queryserver.Int64Var(int64(i%customerRows + 1))
		res, err := r.eng.Execute(r.ctx, primaryTarget(), pointSelect, map[string]*queryserver.BindVar{"id": &id}, 0, 0, nil)
		if err != nil {
			t.Fatalf("point select %d: %v", i, err)
		}
		if len(res.Rows) != 1 {
			t.Fatalf("point select %d: %d rows, want 1", i, len(res.Rows))
		}
	}
}

// page fetches path from the tablet's HTTP server.
func (r *realEnv) page(t *testing.T, path string) string {
	t.Helper()
	resp, body := get(t, r.srv.URL, "GET", path, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", path, resp.Status, body)
	}
	return body
}

// timingKeys are the keys of one category of a timings variable, as the
// reference shows them: cutoffs in nanoseconds, inf, Count and Time.
func timingKeys() []string {
	return []string{"500000", "1000000", "5000000", "10000000", "50000000", "100000000",
		"500000000", "1000000000", "5000000000", "10000000000", "inf", "Count", "Time"}
}

// resultKeys are the keys of the Results histogram, as the reference
// shows them: cutoffs in rows, inf, Count and Total.
func resultKeys() []string {
	return []string{"0", "1", "5", "10", "50", "100", "500", "1000", "5000", "10000", "inf", "Count", "Total"}
}

// varShape is the JSON shape of a /debug/vars variable.
type varShape int

const (
	shapeNumber    varShape = iota // an integer
	shapeTimings                   // {"Histograms": {cat: {timingKeys}}, "TotalCount", "TotalTime"}
	shapeHistogram                 // {resultKeys}
	shapeCounters                  // {key: integer, ...}
)

// referenceVars are the variables the reference's Monitoring section
// lists, with their shapes and the keys it shows for them.
func referenceVars() []struct {
	name  string
	shape varShape
	keys  []string // categories or keys the reference shows that we must have
} {
	type v = struct {
		name  string
		shape varShape
		keys  []string
	}
	out := []v{
		{"Queries", shapeTimings, []string{"PASS_SELECT"}},
		{"Results", shapeHistogram, nil},
		{"Mysql", shapeTimings, []string{"Exec", "ExecStream"}},
		{"Transactions", shapeTimings, []string{"Completed", "Aborted"}},
		{"Waits", shapeTimings, []string{"Consolidations"}},
		{"Errors", shapeCounters, nil},
		{"InfoErrors", shapeCounters, nil},
		{"InternalErrors", shapeCounters, []string{"HungQuery", "Panic", "StrayTransactions"}},
		{"Kills", shapeCounters, []string{"Queries", "Transactions"}},
		{"QueryPlanCacheSize", shapeNumber, nil},
		{"QueryCounts", shapeCounters, nil},
		{"QueryErrorCounts", shapeCounters, nil},
		{"QueryRowCounts", shapeCounters, nil},
		{"QueryTimesNs", shapeCounters, nil},
		{"UserTableQueryCount", shapeCounters, nil},
		{"UserTableQueryTimesNs", shapeCounters, nil},
		{"UserTransactionCount", shapeCounters, nil},
		{"UserTransactionTimesNs", shapeCounters, nil},
		{"DataFree", shapeCounters, nil},
		{"DataLength", shapeCounters, nil},
		{"IndexLength", shapeCounters, nil},
		{"TableRows", shapeCounters, nil},
	}
	for _, pool := range []string{"TransactionPool", "ConnPool", "StreamConnPool"} {
		for _, suffix := range []string{"Available", "Capacity", "IdleTimeout", "MaxCap", "Timeout", "WaitCount", "WaitTime"} {
			out = append(out, v{pool + suffix, shapeNumber, nil})
		}
	}
	return out
}

// checkShape fails t unless raw has the shape and keys.
func checkShape(t *testing.T, name string, raw json.RawMessage, shape varShape, keys []string) {
	t.Helper()
	switch shape {
	case shapeNumber:
		var n int64
		if err := json.Unmarshal(raw, &n); err != nil {
			t.Errorf("%s = %s: want an integer", name, raw)
		}
	case shapeCounters:
		var m map[string]int64
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Errorf("%s = %s: want an object of integers", name, raw)
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("%s lacks the key %q: %s", name, k, raw)
			}
		}
	case shapeHistogram:
		checkKeys(t, name, raw, resultKeys())
	case shapeTimings:
		var v map[string]json.RawMessage
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Errorf("%s = %s: want an object", name, raw)
			return
		}
		checkKeys(t, name, raw, []string{"Histograms", "TotalCount", "TotalTime"})
		var hs map[string]json.RawMessage
		if err := json.Unmarshal(v["Histograms"], &hs); err != nil {
			t.Errorf("%s.Histograms = %s: want an object", name, v["Histograms"])
		}
		for _, k := range keys {
			if _, ok := hs[k]; !ok {
				t.Errorf("%s.Histograms lacks the category %q", name, k)
			}
		}
		for cat, h := range hs {
			checkKeys(t, name+".Histograms."+cat, h, timingKeys())
		}
	}
}

// checkKeys fails t unless raw is an object with exactly keys, each an
// integer or an object.
func checkKeys(t *testing.T, name string, raw json.RawMessage, keys []string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Errorf("%s = %s: want an object", name, raw)
		return
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	want := slices.Clone(keys)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s has keys %v, want %v", name, got, want)
	}
}

// TestIntegrationVarsAndPages is acceptance 1 and 3: after 100 point
// selects through the engine, /debug/vars counts them under the
// reference's names and shapes, and /queryz shows the normalized query
// with its count. The pages escape a query carrying a script tag.
func TestIntegrationVarsAndPages(t *testing.T) {
	r := startReal(t)
	r.pointSelects(t, 100)

	var vars map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.page(t, "/debug/vars")), &vars); err != nil {
		t.Fatalf("decode /debug/vars: %v", err)
	}
	var queries struct {
		Histograms map[string]map[string]int64
		TotalCount int64
	}
	if err := json.Unmarshal(vars["Queries"], &queries); err != nil {
		t.Fatalf("Queries = %s: %v", vars["Queries"], err)
	}
	if got := queries.Histograms["PASS_SELECT"]["Count"]; got != 100 {
		t.Errorf("Queries.Histograms.PASS_SELECT.Count = %d, want 100", got)
	}
	t.Logf("Queries.Histograms.PASS_SELECT = %v", queries.Histograms["PASS_SELECT"])
	counters := func(name string) map[string]int64 {
		var m map[string]int64
		if err := json.Unmarshal(vars[name], &m); err != nil {
			t.Fatalf("%s = %s: %v", name, vars[name], err)
		}
		return m
	}
	for _, c := range []struct {
		name, key string
		want      int64 // -1: positive
	}{
		{"QueryCounts", "customer.PASS_SELECT", 100},
		{"QueryRowCounts", "customer.PASS_SELECT", 100},
		{"QueryErrorCounts", "customer.PASS_SELECT", 0},
		{"QueryTimesNs", "customer.PASS_SELECT", -1},
		{"UserTableQueryCount", "customer.app.PASS_SELECT", 100},
		{"UserTableQueryTimesNs", "customer.app.PASS_SELECT", -1},
		{"DataLength", "customer", -1},
		{"IndexLength", "customer", -1},
		{"TableRows", "customer", -1},
	} {
		got := counters(c.name)[c.key]
		if (c.want < 0 && got <= 0) || (c.want >= 0 && got != c.want) {
			t.Errorf("%s[%q] = %d, want %d (-1: positive)", c.name, c.key, got, c.want)
		}
	}
	t.Logf("QueryCounts = %s; TableRows = %s; DataLength = %s", vars["QueryCounts"], vars["TableRows"], vars["DataLength"])
	var results map[string]int64
	if err := json.Unmarshal(vars["Results"], &results); err != nil || results["Count"] != 100 || results["1"] != 100 {
		t.Errorf("Results = %s, want 100 queries of one row", vars["Results"])
	}

	// Every variable the reference lists, in its shape.
	for _, rv := range referenceVars() {
		raw, ok := vars[rv.name]
		if !ok {
			t.Errorf("/debug/vars lacks %s", rv.name)
			continue
		}
		checkShape(t, rv.name, raw, rv.shape, rv.keys)
	}
	// Variables the reference lists that this tablet does not have, and why.
	notImplemented := map[string]string{
		"TableACLAllowed":      "the tablet has no table ACLs",
		"TableACLDenied":       "the tablet has no table ACLs",
		"TableACLPseudoDenied": "the tablet has no table ACLs",
	}
	for name, why := range notImplemented {
		if _, ok := vars[name]; ok {
			t.Errorf("%s is now published: check its shape above instead of listing it as missing", name)
		} else {
			t.Logf("not implemented: %s (%s)", name, why)
		}
	}
	// Categories the reference shows that the engine names differently.
	for name, ref := range map[string][]string{
		"Errors":         {"Deadlock", "Fail", "NotInTx", "TxPoolFull"},
		"InternalErrors": {"HungQuery", "Invalidation", "MemcacheStats", "Mismatch", "Panic", "Schema", "StrayTransactions", "Task"},
	} {
		have := counters(name)
		var missing []string
		for _, k := range ref {
			if _, ok := have[k]; !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			t.Logf("%s: reference categories not published: %v (published: %s)", name, missing, vars[name])
		}
	}

	// /queryz and /debug/query_stats show the normalized query with its count.
	var normalized string
	for _, st := range r.eng.QueryStats() {
		if slices.Contains(st.Tables, "customer") && st.PlanType == "PASS_SELECT" {
			normalized = st.Query
		}
	}
	if normalized == "" {
		t.Fatal("the engine has no statistics for the point select")
	}
	row := tableRow(t, r.page(t, "/queryz"), normalized)
	if !strings.Contains(row, `<td class="num">100</td>`) || !strings.Contains(row, "<td>customer</td>") {
		t.Errorf("/queryz row of %q does not show its count of 100:\n%s", normalized, row)
	}
	t.Logf("/queryz row: %s", row)
	var qs []queryStatJSON
	if err := json.Unmarshal([]byte(r.page(t, "/debug/query_stats")), &qs); err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(qs, func(q queryStatJSON) bool { return q.Query == normalized }); i < 0 ||
		qs[i].QueryCount != 100 || qs[i].RowsReturned != 100 || qs[i].Table != "customer" {
		t.Errorf("/debug/query_stats lacks %q with 100 queries: %+v", normalized, qs)
	}

	// A statement carrying a script tag is shown, escaped, never run.
	one := queryserver.Int64Var(1)
	if _, err := r.eng.Execute(r.ctx, primaryTarget(), "SELECT '<script>alert(1)</script>' AS x FROM customer WHERE id = :id",
		map[string]*queryserver.BindVar{"id": &one}, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.Execute(r.ctx, primaryTarget(), "SELECT * FROM `<script>`", nil, 0, 0, nil); err == nil {
		t.Fatal("a select from a missing table succeeded")
	}
	for _, path := range []string{"/querylogz", "/queryz", "/debug/status"} {
		body := r.page(t, path)
		if strings.Contains(body, "<script") {
			t.Errorf("%s holds an unescaped script tag", path)
		}
		if path != "/queryz" && !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("%s does not show the statement escaped", path)
		}
	}

	status := r.page(t, "/debug/status")
	for _, want := range []string{
		`<span class="state good">SERVING</span> commerce/0 PRIMARY`, `<span class="state good">HEALTHY</span>`,
		"<td>ConnPool</td>", "<td>TransactionPool</td>", "doesn&#39;t exist", testDB,
	} {
		if !strings.Contains(status, want) {
			t.Errorf("/debug/status lacks %q", want)
		}
	}
	schemaz := r.page(t, "/schemaz")
	for _, want := range []string{"<td>customer</td>", "<td>customer_emails</td>", "<u>id</u>"} {
		if !strings.Contains(schemaz, want) {
			t.Errorf("/schemaz lacks %q", want)
		}
	}

	// The whole /metrics page, engine, pools, health and table statistics
	// together, follows Prometheus's naming rules.
	lintMetrics(t, r.vars)
}

// tableRow returns the HTML table row of page whose text holds text.
func tableRow(t *testing.T, page, text string) string {
	t.Helper()
	for _, row := range strings.Split(page, "<tr") {
		if strings.Contains(html.UnescapeString(row), text) {
			return row
		}
	}
	t.Fatalf("no row holds %q in:\n%s", text, page)
	return ""
}

// TestIntegrationPrometheus is acceptance 2: Debian's prometheus scrapes
// the tablet's /metrics every second while point selects run, and PromQL
// gives the table's query rate.
func TestIntegrationPrometheus(t *testing.T) {
	r := startReal(t)
	prom := testenv.StartPrometheus(t, r.srv.Listener.Addr().String())

	// Load at a steady pace until the test has its answer.
	loadCtx, stopLoad := context.WithCancel(r.ctx)
	var load sync.WaitGroup
	var done atomic.Int64
	loadStart := time.Now()
	load.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := int64(0); ; i++ {
			select {
			case <-loadCtx.Done():
				return
			case <-tick.C:
			}
			id := queryserver.Int64Var(i%customerRows + 1)
			if _, err := r.eng.Execute(loadCtx, primaryTarget(), pointSelect, map[string]*queryserver.BindVar{"id": &id}, 0, 0, nil); err == nil {
				done.Add(1)
			}
		}
	})
	defer func() {
		stopLoad()
		load.Wait()
	}()

	// rate() over a window the series does not yet fill extrapolates from
	// the samples it has and reads low, so wait until five scrapes (the
	// whole window) hold the counter, then take the rate.
	const (
		series = `tablet_table_queries_total{table="customer",plan="PASS_SELECT"}`
		expr   = `rate(` + series + `[5s])`
	)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	promWait(ctx, t, prom, `count_over_time(`+series+`[5s])`, func(v float64) bool { return v >= 5 })
	last := promWait(ctx, t, prom, expr, func(v float64) bool { return v > 0 })
	got := last[0].Value
	actual := float64(done.Load()) / time.Since(loadStart).Seconds()
	t.Logf("PromQL %s = %.1f/s (labels %v) after %v; the load ran at %.1f/s",
		expr, got, last[0].Labels, time.Since(loadStart).Round(time.Millisecond), actual)
	if got < actual/2 || got > actual*2 {
		t.Errorf("prometheus rate %.1f/s is far from the load's %.1f/s", got, actual)
	}
	if last[0].Labels["job"] != "tablet" || last[0].Labels["table"] != "customer" {
		t.Errorf("labels = %v", last[0].Labels)
	}
}

// promWait evaluates expr every 250ms until it gives one sample that
// satisfies cond, and returns it; it fails t when ctx ends first.
func promWait(ctx context.Context, t *testing.T, prom *testenv.Prometheus, expr string, cond func(float64) bool) []testenv.PromSample {
	t.Helper()
	poll := time.NewTicker(250 * time.Millisecond)
	defer poll.Stop()
	for {
		last, err := prom.Query(ctx, expr)
		if err == nil && len(last) == 1 && cond(last[0].Value) {
			return last
		}
		select {
		case <-ctx.Done():
			t.Fatalf("prometheus: %s: no satisfying result in time: last result %v, error %v", expr, last, err)
		case <-poll.C:
		}
	}
}

// TestIntegrationStreamKill lists a running streaming query on
// /streamqueryz and kills it with the page's POST action.
func TestIntegrationStreamKill(t *testing.T) {
	r := startReal(t)
	errc := make(chan error, 1)
	go func() {
		errc <- r.eng.StreamExecute(r.ctx, primaryTarget(), "SELECT SLEEP(30) AS slept FROM customer WHERE id = 1",
			nil, 0, 0, nil, func(*queryserver.Result) error { return nil })
	}()

	idRE := regexp.MustCompile(`name="id" value="(\d+)"`)
	var id string
	waitCond(t, "the streaming query to show on /streamqueryz", func() bool {
		if m := idRE.FindStringSubmatch(r.page(t, "/streamqueryz")); m != nil {
			id = m[1]
			return true
		}
		return false
	})
	if body := r.page(t, "/streamqueryz"); !strings.Contains(body, "SLEEP(30)") {
		t.Errorf("/streamqueryz does not show the statement:\n%s", body)
	}
	if resp, _ := get(t, r.srv.URL, "GET", "/streamqueryz/terminate?id="+id, nil, nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("kill by GET: %s, want 405", resp.Status)
	}
	start := time.Now()
	resp, body := get(t, r.srv.URL, "POST", "/streamqueryz/terminate", url.Values{"id": {id}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("kill: %s: %s", resp.Status, body)
	}
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case err := <-errc:
		if !errors.Is(err, queryserver.ErrQueryKilled) {
			t.Errorf("StreamExecute = %v, want ErrQueryKilled", err)
		}
		t.Logf("streaming query %s killed from the page after %v: %v", id, time.Since(start).Round(time.Millisecond), err)
	case <-timer.C:
		t.Fatal("the streaming query still runs 10s after the kill")
	}
	if body := r.page(t, "/streamqueryz"); !strings.Contains(body, "No streaming queries are running") {
		t.Errorf("/streamqueryz still lists a query:\n%s", body)
	}
	if resp, _ := get(t, r.srv.URL, "POST", "/streamqueryz/terminate", url.Values{"id": {id}}, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("killing an ended query: %s, want 404", resp.Status)
	}
}

// waitCond polls cond until it holds, failing after a long-stop timeout.
func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}
