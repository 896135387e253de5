package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/proto/querypb"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/queryserver/client"
)

// TestDebugPagesThroughTheBinary runs the tablet binary on a private
// mysqld and etcd, sends it real traffic over gRPC, and reads every status
// and debug page from its HTTP port: each answers 200 with content from
// the running tablet, /debug/vars holds the reference's variables with
// live values, and the streaming-query kill takes POST only. Package
// debugpages' own tests check each page's rendering in detail; this one
// checks the wiring.
func TestDebugPagesThroughTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts etcd, mysqld and the tablet binary")
	}
	w := newWorld(t)
	p := startTablet(t, w.args(t, "zone1-100", "commerce", "0", "--tablet_hostname=127.0.0.1", "--pprof-http",
		"--queryserver-config-schema-reload-time=300ms"))
	p.waitType(t, "REPLICA")

	// A replica of a shard without a primary does not serve; the status
	// page shows the record and why.
	var hs struct{ Reason, Message string }
	p.waitFor(t, "not serving for want of replication", func() bool {
		code, body := p.get("/debug/health?format=json")
		return code == http.StatusServiceUnavailable && json.Unmarshal([]byte(body), &hs) == nil && hs.Reason == "NOT_CONFIGURED"
	})
	code, status := p.get("/debug/status")
	for _, want := range []string{"zone1-0000000100", "commerce/0", "REPLICA", "NOT_SERVING", hs.Reason, "vt_commerce"} {
		if code != http.StatusOK || !strings.Contains(status, want) {
			t.Errorf("/debug/status (%d) before a primary lacks %q", code, want)
		}
	}
	t.Logf("not serving before a primary: %s: %s", hs.Reason, hs.Message)

	w.reparent(t, "zone1-100")
	p.waitType(t, "PRIMARY")
	p.waitServing(t)
	c := dial(t, w.grpcAddr(t, "zone1-100"))
	ctx := client.WithCaller(context.Background(), client.Caller{Principal: "alice", Component: "debug-test", Username: "app"})
	target := &querypb.Target{Keyspace: "commerce", Shard: "0", TabletType: topodatapb.TabletType_PRIMARY}
	exec := func(sql string, binds map[string]*querypb.BindVariable, txID int64) {
		t.Helper()
		if _, err := c.Execute(ctx, target, sql, binds, txID, 0, nil); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE TABLE customer (id INT PRIMARY KEY, email VARCHAR(64))", nil, 0)
	tx, err := c.Begin(ctx, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		exec("INSERT INTO customer VALUES (:id, :email)", map[string]*querypb.BindVariable{
			"id": client.Int64(int64(i)), "email": client.String(fmt.Sprintf("c%d@example.com", i))}, tx)
	}
	if _, err := c.Commit(ctx, target, tx); err != nil {
		t.Fatal(err)
	}

	for i := 1; i <= 100; i++ {
		exec("SELECT id, email FROM customer WHERE id = :id", map[string]*querypb.BindVariable{"id": client.Int64(int64(i%10 + 1))}, 0)
	}

	// The live query log shows queries as they run: one sent after the
	// stream is open arrives on it.
	lines := make(chan string, 64)
	lctx, stopLog := context.WithTimeout(context.Background(), 30*time.Second)
	defer stopLog()
	go func() {
		defer close(lines)
		req, _ := http.NewRequestWithContext(lctx, http.MethodGet, "http://127.0.0.1:"+p.port+"/debug/querylog", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-lctx.Done():
				return
			}
		}
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var seen string
	for n := 0; seen == "" && lctx.Err() == nil; n++ {
		// Until the stream is open, a query may go unseen: send another.
		exec("SELECT :n AS querylog_probe", map[string]*querypb.BindVariable{"n": client.Int64(int64(n))}, 0)
	wait:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break wait
				}
				if strings.Contains(l, "querylog_probe") {
					seen = l
					break wait
				}
			case <-tick.C:
				break wait
			case <-lctx.Done():
				break wait
			}
		}
	}
	if seen == "" {
		t.Error("/debug/querylog showed no query within 30s")
	}
	t.Logf("/debug/querylog: %.200s", seen)
	stopLog()

	// A streaming query to list and kill.
	streamErr := make(chan error, 1)
	go func() {
		streamErr <- c.StreamExecute(ctx, target, "SELECT SLEEP(60) AS slept FROM customer LIMIT 1", nil, 0, 0, nil,
			func(*client.Result) error { return nil })
	}()
	var streamID string
	idRE := regexp.MustCompile(`name="id" value="(\d+)"`)
	p.waitFor(t, "the streaming query on /streamqueryz", func() bool {
		_, body := p.get("/streamqueryz")
		if m := idRE.FindStringSubmatch(body); m != nil && strings.Contains(body, "SLEEP(60)") {
			streamID = m[1]
			return true
		}
		return false
	})

	// Every page answers with content from this tablet.
	p.waitFor(t, "table sizes read (300ms reload)", func() bool {
		_, body := p.get("/schemaz")
		return strings.Contains(body, "customer")
	})
	pages := []struct{ path, want string }{
		{"/debug/status", "SERVING"},
		{"/debug/vars", `"TabletAlias"`},
		{"/metrics", "# HELP"},
		{"/debug/health", "ok"},
		{"/queryz", "PASS_SELECT"},
		{"/debug/query_stats", "customer"},
		{"/debug/query_plans", "customer"},
		{"/querylogz?limit=300", "WHERE id = :id"},
		{"/txlogz", "INSERT INTO customer"},
		{"/consolidations", "Consolidat"},
		{"/streamqueryz", "SLEEP(60)"},
		{"/schemaz", "email"},
		{"/debug/schema", `"customer"`},
		{"/debug/pprof/", "goroutine"},
	}
	for _, pg := range pages {
		code, body := p.get(pg.path)
		if code != http.StatusOK || !strings.Contains(strings.ToLower(body), strings.ToLower(pg.want)) {
			t.Errorf("GET %s = %d, %d bytes, want 200 containing %q:\n%.600s", pg.path, code, len(body), pg.want, body)
			continue
		}
		t.Logf("GET %-22s 200, %6d bytes", pg.path, len(body))
	}
	// /queryz has the normalized point select with its count.
	_, queryz := p.get("/queryz")
	row := regexp.MustCompile(`<td class="sql">([^<]*customer[^<]*)</td><td>customer</td><td>PASS_SELECT</td>\s*<td class="num">(\d+)</td>`)
	if m := row.FindStringSubmatch(queryz); m == nil || m[2] != "100" {
		t.Errorf("/queryz has no row for the point select with count 100 (match %q):\n%s", m, queryz)
	} else {
		t.Logf("/queryz: %s, count %s", m[1], m[2])
	}
	_, status = p.get("/debug/status")
	for _, want := range []string{"zone1-0000000100", "commerce/0", "PRIMARY", "SERVING", "ConnPool", "TransactionPool"} {
		if !strings.Contains(status, want) {
			t.Errorf("/debug/status lacks %q", want)
		}
	}
	if code, _ := p.get("/"); code != http.StatusOK { // redirected to /debug/status
		t.Errorf("GET / = %d, want the status page", code)
	}

	checkReferenceVars(t, p)

	// The kill takes POST only.
	if code, _ := p.get("/streamqueryz/terminate?id=" + streamID); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /streamqueryz/terminate = %d, want 405", code)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.PostForm("http://127.0.0.1:"+p.port+"/streamqueryz/terminate", url.Values{"id": {streamID}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("POST /streamqueryz/terminate = %d, want 303 back to /streamqueryz", resp.StatusCode)
	}
	select {
	case err := <-streamErr:
		if err == nil {
			t.Error("the killed streaming query ended without an error")
		}
		t.Logf("killed streaming query %s: %v", streamID, err)
	case <-time.After(30 * time.Second):
		t.Error("the streaming query still runs 30s after POST /streamqueryz/terminate")
	}
}

// checkReferenceVars checks that /debug/vars holds every variable the
// reference names, and live values for the traffic of
// TestDebugPagesThroughTheBinary: 100 point selects on customer, ten
// inserts in one transaction.
func checkReferenceVars(t *testing.T, p *proc) {
	t.Helper()
	_, body := p.get("/debug/vars")
	var vars map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &vars); err != nil {
		t.Fatalf("/debug/vars: %v", err)
	}
	names := []string{"Queries", "Results", "Mysql", "Transactions", "Waits", "Errors", "InfoErrors", "InternalErrors", "Kills",
		"QueryPlanCacheSize", "QueryCounts", "QueryErrorCounts", "QueryRowCounts", "QueryTimesNs",
		"UserTableQueryCount", "UserTableQueryTimesNs", "UserTransactionCount", "UserTransactionTimesNs",
		"DataFree", "DataLength", "IndexLength", "TableRows",
		"TabletAlias", "TabletKeyspace", "TabletShard", "TabletType", "HealthChecks", "memstats", "cmdline"}
	for _, pool := range []string{"TransactionPool", "ConnPool", "StreamConnPool"} {
		for _, suffix := range []string{"Available", "Capacity", "IdleTimeout", "MaxCap", "Timeout", "WaitCount", "WaitTime"} {
			names = append(names, pool+suffix)
		}
	}
	var missing []string
	for _, n := range names {
		if _, ok := vars[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		t.Errorf("/debug/vars lacks %v", missing)
	}
	counters := func(name string) map[string]int64 {
		var m map[string]int64
		if err := json.Unmarshal(vars[name], &m); err != nil {
			t.Errorf("%s = %s: %v", name, vars[name], err)
		}
		return m
	}
	var queries struct{ Histograms map[string]map[string]int64 }
	if err := json.Unmarshal(vars["Queries"], &queries); err != nil {
		t.Errorf("Queries = %s: %v", vars["Queries"], err)
	}
	if n := queries.Histograms["PASS_SELECT"]["Count"]; n < 100 {
		t.Errorf("Queries.Histograms.PASS_SELECT.Count = %d, want at least the 100 point selects", n)
	}
	if n := counters("QueryCounts")["customer.PASS_SELECT"]; n != 100 {
		t.Errorf(`QueryCounts["customer.PASS_SELECT"] = %d, want 100`, n)
	}
	if n := counters("UserTableQueryCount")["customer.app.PASS_SELECT"]; n != 100 {
		t.Errorf(`UserTableQueryCount["customer.app.PASS_SELECT"] = %d, want 100: %s`, n, vars["UserTableQueryCount"])
	}
	if n := counters("DataLength")["customer"]; n <= 0 {
		t.Errorf(`DataLength["customer"] = %d, want positive: %s`, n, vars["DataLength"])
	}
	var alias, typ string
	if json.Unmarshal(vars["TabletAlias"], &alias) != nil || json.Unmarshal(vars["TabletType"], &typ) != nil || typ != "PRIMARY" {
		t.Errorf("TabletAlias = %s, TabletType = %s; want the tablet's alias and PRIMARY", vars["TabletAlias"], vars["TabletType"])
	}
	t.Logf("/debug/vars: %d variables; Queries.PASS_SELECT = %v; QueryCounts = %s; TransactionPoolCapacity = %s",
		len(vars), queries.Histograms["PASS_SELECT"], vars["QueryCounts"], vars["TransactionPoolCapacity"])
}
