package debugpages

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/health"
	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/pools"
	"github.com/tabletd/tablet/queryserver"
)

// evil is text an attacker controls (a statement, a table or user name, an
// error message) that would run in a browser if a page did not escape it.
const evil = `<script>alert("owned")</script>`

// hostileFakes are sources whose every text field holds evil.
func hostileFakes() fakes {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	caller := queryserver.Caller{Username: "u" + evil}
	return fakes{
		engine: &fakeEngine{
			stats: []queryserver.QueryStat{{Query: "select " + evil, PlanType: "PASS_SELECT", Tables: []string{"t" + evil},
				Count: 3, Time: 3 * time.Millisecond}},
			plans:   []*queryserver.Plan{{SQL: "select " + evil, Normalized: "select ?", Tables: []string{evil}}},
			cons:    []queryserver.ConsolidationStat{{Query: "select " + evil, Count: 2}},
			streams: []queryserver.StreamQueryInfo{{ID: 7, SQL: "select " + evil, Caller: caller, Start: start}},
			state:   queryserver.StateServing,
			target:  queryserver.Target{Keyspace: "ks" + evil, Shard: "0", TabletType: queryserver.TabletReplica},
		},
		queryLog: newFakeFeed(&queryserver.QueryLogEntry{Method: "Execute", Caller: caller, SQL: "select " + evil,
			Tables: []string{evil}, Start: start, End: start.Add(time.Millisecond), Code: queryserver.CodeUnknown,
			Error: "failed: " + evil}),
		txLog: newFakeFeed(&queryserver.TxLogEntry{ID: 9, Caller: caller, Start: start, End: start.Add(time.Second),
			Conclusion: "kill", Reason: evil, Queries: []string{"update " + evil}}),
		health: &fakeHealth{st: health.Status{State: health.Degraded, Serving: true,
			Reason: health.ReasonLagOverThreshold, Message: evil}},
		schema: &fakeSchema{snap: SchemaSnapshot{Database: "db" + evil, Tables: []mysqld.TableInfo{{
			Name: "t" + evil, Type: "BASE TABLE", Engine: "InnoDB",
			Columns: []mysqld.ColumnInfo{{Name: "c" + evil, Type: "int"}},
		}}}},
		pools:  []poolStats{fakePool{name: "ConnPool" + evil}},
		status: func() StatusInfo { return StatusInfo{Alias: "zone1-100" + evil, Extra: []StatusField{{evil, evil}}} },
	}
}

// get fetches path from srv without following redirects.
func get(t *testing.T, srv string, method, path string, form url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, srv+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, string(b)
}

// TestHTMLPagesEscape renders every HTML page over sources full of
// script tags: each must show the text escaped, never as markup, and
// forbid scripts in its Content-Security-Policy.
func TestHTMLPagesEscape(t *testing.T) {
	srv := hostileFakes().serve(t)
	for _, path := range []string{
		"/debug/status", "/queryz", "/querylogz", "/txlogz", "/consolidations", "/schemaz", "/streamqueryz",
	} {
		t.Run(path, func(t *testing.T) {
			resp, body := get(t, srv.URL, "GET", path, nil, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %s: %s", resp.Status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("Content-Security-Policy = %q, want scripts refused", csp)
			}
			if strings.Contains(strings.ToLower(body), "<script") {
				t.Errorf("page holds an unescaped script tag:\n%s", body)
			}
			if !strings.Contains(body, "&lt;script&gt;") {
				t.Errorf("page does not show the hostile text escaped:\n%s", body)
			}
		})
	}
}

// TestJSONPages checks that the JSON pages decode, carry the text as it
// is, and are marked as JSON that browsers must not sniff.
func TestJSONPages(t *testing.T) {
	srv := hostileFakes().serve(t)
	tests := []struct {
		path string
		into any
		want func(v any) bool
	}{
		{"/debug/query_stats", &[]queryStatJSON{}, func(v any) bool {
			s := *v.(*[]queryStatJSON)
			return len(s) == 1 && s[0].Query == "select "+evil && s[0].QueryCount == 3 && s[0].Plan == "PASS_SELECT" &&
				s[0].Time == 3*time.Millisecond
		}},
		{"/debug/query_plans", &[]queryPlanJSON{}, func(v any) bool {
			s := *v.(*[]queryPlanJSON)
			return len(s) == 1 && s[0].Query == "select "+evil && s[0].Normalized == "select ?"
		}},
		{"/debug/schema", &schemaJSON{}, func(v any) bool {
			s := v.(*schemaJSON)
			return len(s.Tables) == 1 && s.Tables[0].Name == "t"+evil && s.RefreshedAt == nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, srv.URL, "GET", tt.path, nil, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %s: %s", resp.Status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("X-Content-Type-Options is not nosniff")
			}
			if strings.Contains(body, "<script") {
				t.Errorf("JSON holds a raw script tag (encoding/json escapes <):\n%s", body)
			}
			if err := json.Unmarshal([]byte(body), tt.into); err != nil {
				t.Fatalf("decode: %v\n%s", err, body)
			}
			if !tt.want(tt.into) {
				t.Errorf("unexpected content:\n%s", body)
			}
		})
	}
}

// TestMethods checks that pages answer GET only and that the kill action
// takes a same-origin POST only.
func TestMethods(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		path     string
		form     url.Values
		header   http.Header
		wantCode int
		wantKill []int64
	}{
		{"kill by GET", "GET", "/streamqueryz/terminate?id=7", nil, nil, http.StatusMethodNotAllowed, nil},
		{"page by POST", "POST", "/queryz", url.Values{}, nil, http.StatusMethodNotAllowed, nil},
		{"status by DELETE", "DELETE", "/debug/status", nil, nil, http.StatusMethodNotAllowed, nil},
		{"page by HEAD", "HEAD", "/queryz", nil, nil, http.StatusOK, nil},
		{"stream by HEAD", "HEAD", "/debug/querylog", nil, nil, http.StatusOK, nil},
		{"kill", "POST", "/streamqueryz/terminate", url.Values{"id": {"7"}}, nil, http.StatusSeeOther, []int64{7}},
		{"kill unknown id", "POST", "/streamqueryz/terminate", url.Values{"id": {"99"}}, nil, http.StatusNotFound, nil},
		{"kill bad id", "POST", "/streamqueryz/terminate", url.Values{"id": {"seven"}}, nil, http.StatusBadRequest, nil},
		{"kill without id", "POST", "/streamqueryz/terminate", url.Values{}, nil, http.StatusBadRequest, nil},
		{"kill from another site", "POST", "/streamqueryz/terminate", url.Values{"id": {"7"}},
			http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden, nil},
		{"kill from another origin", "POST", "/streamqueryz/terminate", url.Values{"id": {"7"}},
			http.Header{"Origin": {"http://attacker.example"}}, http.StatusForbidden, nil},
		{"kill from the page itself", "POST", "/streamqueryz/terminate", url.Values{"id": {"7"}},
			http.Header{"Sec-Fetch-Site": {"same-origin"}}, http.StatusSeeOther, []int64{7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := hostileFakes()
			srv := f.serve(t)
			resp, body := get(t, srv.URL, tt.method, tt.path, tt.form, tt.header)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("%s %s: %s, want %d: %s", tt.method, tt.path, resp.Status, tt.wantCode, body)
			}
			if tt.wantCode == http.StatusSeeOther && resp.Header.Get("Location") != "/streamqueryz" {
				t.Errorf("Location = %q, want /streamqueryz", resp.Header.Get("Location"))
			}
			if got := f.engine.kills(); !equalInts(got, tt.wantKill) {
				t.Errorf("killed %v, want %v", got, tt.wantKill)
			}
		})
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestQueryzSort checks the order of /queryz for each kind of column.
func TestQueryzSort(t *testing.T) {
	f := fakes{engine: &fakeEngine{stats: []queryserver.QueryStat{
		{Query: "select a", Count: 5, Time: time.Second, Errors: 1},
		{Query: "select b", Count: 50, Time: 100 * time.Millisecond},
		{Query: "select c", Count: 1, Time: 3 * time.Second, Errors: 4},
	}}, queryLog: newFakeFeed[*queryserver.QueryLogEntry](), txLog: newFakeFeed[*queryserver.TxLogEntry]()}
	srv := f.serve(t)
	tests := []struct {
		query string
		want  []string // in page order
		code  int
	}{
		{"", []string{"select c", "select a", "select b"}, http.StatusOK}, // total time, largest first
		{"?sort=count", []string{"select b", "select a", "select c"}, http.StatusOK},
		{"?sort=avg", []string{"select c", "select a", "select b"}, http.StatusOK},
		{"?sort=errors", []string{"select c", "select a", "select b"}, http.StatusOK},
		{"?sort=query", []string{"select a", "select b", "select c"}, http.StatusOK},
		{"?sort=bogus", nil, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			resp, body := get(t, srv.URL, "GET", "/queryz"+tt.query, nil, nil)
			if resp.StatusCode != tt.code {
				t.Fatalf("status %s, want %d: %s", resp.Status, tt.code, body)
			}
			last := -1
			for _, q := range tt.want {
				i := strings.Index(body, q+"</td>")
				if i < 0 {
					t.Fatalf("%q missing from the page", q)
				}
				if i < last {
					t.Errorf("%q comes too early; want order %v", q, tt.want)
				}
				last = i
			}
		})
	}
}

// TestLogzLimit checks ?limit= on /querylogz and /txlogz: the newest
// records first, 300 by default, a bad limit refused.
func TestLogzLimit(t *testing.T) {
	var qs []*queryserver.QueryLogEntry
	var txs []*queryserver.TxLogEntry
	for i := range 5 {
		qs = append(qs, &queryserver.QueryLogEntry{Method: "Execute", SQL: "select " + string(rune('a'+i))})
		txs = append(txs, &queryserver.TxLogEntry{ID: int64(1001 + i), Conclusion: "commit"})
	}
	f := fakes{engine: &fakeEngine{}, queryLog: newFakeFeed(qs...), txLog: newFakeFeed(txs...)}
	srv := f.serve(t)
	tests := []struct {
		path    string
		code    int
		want    []string // in page order
		without []string
	}{
		{"/querylogz", 200, []string{"select e", "select d", "select a"}, nil},
		{"/querylogz?limit=2", 200, []string{"select e", "select d"}, []string{"select c"}},
		{"/querylogz?limit=0", 400, nil, nil},
		{"/querylogz?limit=x", 400, nil, nil},
		{"/txlogz", 200, []string{">1005<", ">1004<", ">1001<"}, nil},
		{"/txlogz?limit=1", 200, []string{">1005<"}, []string{">1004<"}},
		{"/txlogz?limit=-1", 400, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, srv.URL, "GET", tt.path, nil, nil)
			if resp.StatusCode != tt.code {
				t.Fatalf("status %s, want %d: %s", resp.Status, tt.code, body)
			}
			last := -1
			for _, w := range tt.want {
				i := strings.Index(body, w)
				if i < 0 {
					t.Fatalf("%q missing from the page", w)
				}
				if i < last {
					t.Errorf("%q comes too early; want order %v", w, tt.want)
				}
				last = i
			}
			for _, w := range tt.without {
				if strings.Contains(body, w) {
					t.Errorf("%q is on the page, past the limit", w)
				}
			}
		})
	}
}

// TestLogStreams reads /debug/querylog and /debug/txlog as a client
// would: records published after it connects arrive one per line, and
// the subscription ends when the client goes away.
func TestLogStreams(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name        string
		path        string
		contentType string
		publish     func(f fakes, i int)
		check       func(t *testing.T, line string, i int)
	}{
		{"querylog json", "/debug/querylog", "application/x-ndjson", func(f fakes, i int) {
			f.queryLog.publish(&queryserver.QueryLogEntry{Method: "Execute", SQL: "select :id\tfrom t", PlanType: "PASS_SELECT",
				Caller: queryserver.Caller{Username: "app"}, Start: start, End: start.Add(time.Duration(i+1) * time.Millisecond),
				RowsReturned: i})
		}, func(t *testing.T, line string, i int) {
			var v queryLogJSON
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			if v.SQL != "select :id\tfrom t" || v.Username != "app" || v.RowsReturned != i || v.Code != "OK" ||
				v.TotalTime != float64(i+1)/1000 || v.PlanType != "PASS_SELECT" {
				t.Errorf("line %d = %+v", i, v)
			}
		}},
		{"querylog text", "/debug/querylog?format=text", "text/plain; charset=utf-8", func(f fakes, i int) {
			f.queryLog.publish(&queryserver.QueryLogEntry{Method: "Execute", SQL: "select\n1", Start: start, End: start})
		}, func(t *testing.T, line string, i int) {
			fields := strings.Split(line, "\t")
			if len(fields) != 18 || fields[0] != "Execute" || fields[8] != `"select\n1"` {
				t.Errorf("line %d = %q", i, line)
			}
		}},
		{"txlog", "/debug/txlog", "application/x-ndjson", func(f fakes, i int) {
			f.txLog.publish(&queryserver.TxLogEntry{ID: int64(100 + i), Conclusion: "commit", Start: start, End: start.Add(time.Second),
				Queries: []string{"update t set a = :a"}})
		}, func(t *testing.T, line string, i int) {
			var v txLogJSON
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			if v.ID != int64(100+i) || v.Conclusion != "commit" || v.Duration != 1 || len(v.Queries) != 1 {
				t.Errorf("line %d = %+v", i, v)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fakes{engine: &fakeEngine{}, queryLog: newFakeFeed[*queryserver.QueryLogEntry](),
				txLog: newFakeFeed[*queryserver.TxLogEntry]()}
			srv := f.serve(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if ct := resp.Header.Get("Content-Type"); ct != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", ct, tt.contentType)
			}
			// The headers arrive once the handler has subscribed.
			feedSubscribed, feedStopped := f.queryLog.subscribed, f.queryLog.stopped
			if strings.HasPrefix(tt.path, "/debug/txlog") {
				feedSubscribed, feedStopped = f.txLog.subscribed, f.txLog.stopped
			}
			waitSignal(t, feedSubscribed, "the stream to subscribe")
			lines := bufio.NewScanner(resp.Body)
			for i := range 3 {
				tt.publish(f, i)
				if !lines.Scan() {
					t.Fatalf("stream ended before record %d: %v", i, lines.Err())
				}
				tt.check(t, lines.Text(), i)
			}
			// The client goes away: the handler must notice and unsubscribe.
			cancel()
			resp.Body.Close()
			waitSignal(t, feedStopped, "the stream to unsubscribe after the client left")
		})
	}
}

// TestLogStreamEndsWithEngine checks that a stream ends, and the response
// with it, when the engine closes its log.
func TestLogStreamEndsWithEngine(t *testing.T) {
	f := fakes{engine: &fakeEngine{}, queryLog: newFakeFeed[*queryserver.QueryLogEntry](),
		txLog: newFakeFeed[*queryserver.TxLogEntry]()}
	srv := f.serve(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/debug/querylog", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	waitSignal(t, f.queryLog.subscribed, "the stream to subscribe")
	f.queryLog.end()
	if b, err := io.ReadAll(resp.Body); err != nil || len(b) != 0 {
		t.Errorf("body after the log closed = %q, %v; want an empty, complete body", b, err)
	}
}

func TestLogStreamBadFormat(t *testing.T) {
	f := fakes{engine: &fakeEngine{}, queryLog: newFakeFeed[*queryserver.QueryLogEntry](),
		txLog: newFakeFeed[*queryserver.TxLogEntry]()}
	resp, body := get(t, f.serve(t).URL, "GET", "/debug/querylog?format=xml", nil, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "want json or text") {
		t.Errorf("format=xml: %s %q", resp.Status, body)
	}
}

// waitSignal waits for a value on ch, failing after a long-stop timeout.
func waitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case <-ch:
	case <-timer.C:
		t.Fatalf("timed out waiting for %s", what)
	}
}

// TestStatusPage checks the sections of /debug/status.
func TestStatusPage(t *testing.T) {
	started := time.Now().Add(-time.Hour)
	f := fakes{
		engine: &fakeEngine{state: queryserver.StateServing,
			target: queryserver.Target{Keyspace: "commerce", Shard: "0", TabletType: queryserver.TabletPrimary}},
		queryLog: newFakeFeed(
			&queryserver.QueryLogEntry{Method: "Execute", SQL: "select ok"},
			&queryserver.QueryLogEntry{Method: "Execute", SQL: "insert into dup", Code: queryserver.CodeAlreadyExists,
				Error: "Duplicate entry '1' for key 'PRIMARY' (errno 1062) (sqlstate 23000)"},
		),
		txLog:  newFakeFeed[*queryserver.TxLogEntry](),
		health: &fakeHealth{st: health.Status{State: health.Healthy, Serving: true, TabletType: "PRIMARY", IsPrimary: true}},
		pools: []poolStats{
			fakePool{"ConnPool", pools.Stats{Capacity: 16, InUse: 3, Available: 13, WaitCount: 42}},
			fakePool{"TransactionPool", pools.Stats{Capacity: 20}},
		},
		status: func() StatusInfo {
			return StatusInfo{Alias: "zone1-0000000100", Keyspace: "commerce", Shard: "0", TabletType: "PRIMARY",
				Hostname: "db1.example", HTTPPort: 15100, GRPCPort: 16100, MySQLPort: 3306, DBName: "vt_commerce",
				MySQLVersion: "mariadb 10.11.19", Version: "v1.2.3", Started: started}
		},
	}
	_, body := get(t, f.serve(t).URL, "GET", "/debug/status", nil, nil)
	for _, want := range []string{
		"<title>Tablet status - zone1-0000000100</title>",
		"commerce/0", "db1.example", "http 15100", "grpc 16100", "mysql 3306", "vt_commerce", "mariadb 10.11.19", "v1.2.3",
		"(up 1h0m0s)",
		`<span class="state good">SERVING</span> commerce/0 PRIMARY`,
		`<span class="state good">HEALTHY</span>`,
		"<td>ConnPool</td><td class=\"num\">16</td><td class=\"num\">3</td><td class=\"num\">13</td>",
		"<td>TransactionPool</td>",
		"Duplicate entry", "ALREADY_EXISTS",
		`<a href="/queryz">/queryz</a>`, `<a href="/streamqueryz">/streamqueryz</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if strings.Contains(body, "select ok") {
		t.Error("a request that succeeded is listed among the errors")
	}
	if strings.Contains(body, "/debug/pprof") {
		t.Error("pprof is linked although it is off")
	}
}

// TestSourcesOptional checks that pages of a missing source are not
// mounted, and that the status page leaves their sections out.
func TestSourcesOptional(t *testing.T) {
	srv := fakes{}.serve(t)
	for path, code := range map[string]int{
		"/debug/status": 200, "/queryz": 404, "/debug/querylog": 404, "/schemaz": 404, "/debug/health": 404,
		"/streamqueryz/terminate": 404, "/debug/pprof/": 404,
	} {
		if resp, body := get(t, srv.URL, "GET", path, nil, nil); resp.StatusCode != code {
			t.Errorf("GET %s: %s, want %d: %s", path, resp.Status, code, body)
		}
	}
	_, body := get(t, srv.URL, "GET", "/debug/status", nil, nil)
	for _, absent := range []string{"Connection pools", "Recent errors", "Serving and health", "/queryz"} {
		if strings.Contains(body, absent) {
			t.Errorf("status page without sources shows %q", absent)
		}
	}
}

// TestRegister mounts the pages through the public entry point with
// real registry-backed sources and follows the root redirect.
func TestRegister(t *testing.T) {
	tests := []struct {
		name  string
		pprof bool
		path  string
		code  int
	}{
		{"root redirects", false, "/", http.StatusFound},
		{"unknown path", false, "/nope", http.StatusNotFound},
		{"health", false, "/debug/health", http.StatusOK},
		{"pprof off", false, "/debug/pprof/", http.StatusNotFound},
		{"pprof on", true, "/debug/pprof/", http.StatusOK},
		{"pprof cmdline", true, "/debug/pprof/cmdline", http.StatusOK},
		{"pprof heap", true, "/debug/pprof/heap?debug=1", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			Register(mux, Sources{Health: &fakeHealth{}, EnablePprof: tt.pprof})
			srv := httptestServer(t, mux)
			resp, body := get(t, srv, "GET", tt.path, nil, nil)
			if resp.StatusCode != tt.code {
				t.Fatalf("GET %s: %s, want %d: %s", tt.path, resp.Status, tt.code, body)
			}
			if tt.code == http.StatusFound && resp.Header.Get("Location") != "/debug/status" {
				t.Errorf("Location = %q", resp.Header.Get("Location"))
			}
		})
	}
}
