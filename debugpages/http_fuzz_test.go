package debugpages

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/health"
	"github.com/tabletd/tablet/queryserver"
)

// fuzzPaths are the paths the pages are mounted on (pprof aside: Go's
// profiler is opt-in and its /profile and /trace run for as long as
// ?seconds= asks), then paths next to them.
var fuzzPaths = []string{
	"/", "/debug/status", "/debug/vars", "/metrics", "/debug/health",
	"/queryz", "/debug/query_stats", "/debug/query_plans", "/querylogz", "/debug/querylog",
	"/txlogz", "/debug/txlog", "/consolidations", "/streamqueryz", "/streamqueryz/terminate",
	"/schemaz", "/debug/schema",
	"/debug/", "/debug/status/", "/streamqueryz/", "/nope", "//debug/vars", "/debug/../queryz",
}

var fuzzMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND"}

// reset puts the running streams back and forgets the kills.
func (f *fakeEngine) reset(streams []queryserver.StreamQueryInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.streams = slices.Clone(streams)
	f.killed = nil
}

// subscribers counts the live subscriptions.
func (f *fakeFeed[T]) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// drain empties the Subscribe and stop notifications.
func (f *fakeFeed[T]) drain() {
	for {
		select {
		case <-f.subscribed:
		case <-f.stopped:
		default:
			return
		}
	}
}

// isToken reports whether s is a valid HTTP method name: a request
// with another one never reaches a handler.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// FuzzHandlers sends requests with arbitrary methods, query strings and
// form bodies to every page: no handler panics; none answers 5xx (except
// /debug/health saying the tablet does not serve, which is its verdict,
// not an error); a 400 names the parameter that was wrong; a request that
// is not a POST to the kill action changes nothing; and a page that only
// reads refuses other methods with 405.
func FuzzHandlers(f *testing.F) {
	for _, s := range []struct {
		method, query, body string
		path                uint8
	}{
		{"GET", "", "", 1},
		{"GET", "sort=count", "", 5},
		{"GET", "sort=nope", "", 5},
		{"GET", "sort=", "", 5},
		{"GET", "limit=5", "", 8},
		{"GET", "limit=-1", "", 8},
		{"GET", "limit=99999999999999999999", "", 10},
		{"GET", "limit=1&limit=x", "", 10},
		{"GET", "format=text", "", 9},
		{"GET", "format=xml", "", 9},
		{"GET", "format=json", "", 4},
		{"GET", "format=yaml", "", 4},
		{"GET", "id=7", "", 14},
		{"HEAD", "format=text", "", 9},
		{"HEAD", "", "", 11},
		{"POST", "", "id=7", 14},
		{"POST", "", "id=99", 14},
		{"POST", "", "id=-7", 14},
		{"POST", "id=7", "", 14},
		{"POST", "", "id=%zz", 14},
		{"POST", "", "id=7&id=8", 14},
		{"POST", "", "", 5},
		{"DELETE", "", "", 1},
		{"OPTIONS", "", "", 3},
		{"GET", "%zz=%zz&;;&=", "", 2},
		{"GET", "a=<script>", "", 15},
		{"gEt", "", "", 6},
	} {
		f.Add(s.method, s.path, s.query, s.body, "")
	}
	f.Add("GET", uint8(255), "", "", "/debug/../../etc/passwd")
	f.Add("GET", uint8(255), "", "", "/queryz%2F..")

	fk := hostileFakes()
	running := fk.engine.StreamQueries()
	vars := debugvars.New()
	hcfg := health.DefaultConfig()
	checker := health.New(hcfg, nil, vars, nil) // never opened: it says "not serving: starting"
	s := &server{vars: vars, health: checker, schema: fk.schema, status: fk.status,
		engine: fk.engine, queryLog: fk.queryLog, txLog: fk.txLog}
	s.pools = func() []poolStats { return fk.pools }
	mux := http.NewServeMux()
	s.mount(mux)
	// Requests come with their context already done, so that the log
	// streams, which run until the client goes away, answer and return.
	done, cancel := context.WithCancel(context.Background())
	cancel()

	f.Fuzz(func(t *testing.T, method string, pathIdx uint8, query, body, rawPath string) {
		if !isToken(method) {
			method = fuzzMethods[len(method)%len(fuzzMethods)]
		}
		path := rawPath
		if int(pathIdx) < len(fuzzPaths) || !strings.HasPrefix(rawPath, "/") {
			path = fuzzPaths[int(pathIdx)%len(fuzzPaths)]
		}
		u, err := url.Parse("http://tablet.test" + path)
		if err != nil {
			return // no client can send it
		}
		u.RawQuery = query
		req := (&http.Request{
			Method: method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Host: "tablet.test", RemoteAddr: "192.0.2.1:1234", RequestURI: u.RequestURI(),
			Body: http.NoBody,
		}).WithContext(done)
		if body != "" {
			req.Body = httpBody(body)
			req.ContentLength = int64(len(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		fk.engine.reset(running)
		fk.queryLog.drain()
		fk.txLog.drain()
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		code, text := rec.Code, rec.Body.String()
		where := method + " " + u.RequestURI() + " body " + strings.TrimSpace(body)

		if code >= 500 && !(u.Path == "/debug/health" && code == http.StatusServiceUnavailable &&
			(strings.HasPrefix(text, "not ok: ") || strings.Contains(text, `"serving": false`))) {
			t.Fatalf("%s: %d %s", where, code, text)
		}
		if code == http.StatusBadRequest && !namesParameter(text, u.Query(), body) {
			t.Fatalf("%s: 400 %q does not name the parameter", where, text)
		}
		kills := fk.engine.kills()
		isKill := method == http.MethodPost && u.Path == "/streamqueryz/terminate"
		if !isKill && (len(kills) != 0 || len(fk.engine.StreamQueries()) != len(running)) {
			t.Fatalf("%s: changed state: killed %v", where, kills)
		}
		if isKill && len(kills) > 0 && code != http.StatusSeeOther {
			t.Fatalf("%s: killed %v but answered %d", where, kills, code)
		}
		if n := fk.queryLog.subscribers() + fk.txLog.subscribers(); n != 0 {
			t.Fatalf("%s: %d log subscriptions left open", where, n)
		}
		readOnly := slices.Contains(fuzzPaths[:14], u.Path) || slices.Contains(fuzzPaths[15:17], u.Path)
		if readOnly && method != http.MethodGet && method != http.MethodHead && code != http.StatusMethodNotAllowed {
			t.Fatalf("%s: %d, want 405 for a page that only reads", where, code)
		}
		if code == http.StatusMethodNotAllowed && rec.Header().Get("Allow") == "" {
			t.Fatalf("%s: 405 without Allow", where)
		}
	})
}

// namesParameter reports whether a 400's message names one of the
// parameters the request sent, as "name=".
func namesParameter(msg string, query url.Values, body string) bool {
	form, _ := url.ParseQuery(body)
	for _, vs := range []url.Values{query, form} {
		for k := range vs {
			if strings.Contains(msg, k+"=") {
				return true
			}
		}
	}
	// A form field left out is named too (the kill's "id").
	return strings.HasPrefix(msg, "id=\"\"")
}

// httpBody is a request body over s.
func httpBody(s string) *bodyReader { return &bodyReader{Reader: strings.NewReader(s)} }

type bodyReader struct{ *strings.Reader }

func (bodyReader) Close() error { return nil }
