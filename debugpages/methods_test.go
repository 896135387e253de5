package debugpages

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tabletd/tablet/debugvars"
)

// TestOnlyPostChangesState walks every page the status page links to,
// with every source mounted and the profiler on: each refuses the methods
// that change state with 405, so that no page can be made to act by a
// non-GET request, and the only action, the streaming query kill, refuses
// every method but POST and kills nothing when refused.
func TestOnlyPostChangesState(t *testing.T) {
	f := hostileFakes()
	f.pprof = true
	s := &server{status: f.status, pprof: true, engine: f.engine, queryLog: f.queryLog, txLog: f.txLog,
		health: f.health, schema: f.schema, vars: debugvars.New()}
	s.pools = func() []poolStats { return f.pools }
	mux := http.NewServeMux()
	s.mount(mux)

	links := append(s.links(), link{Path: "/debug/pprof/cmdline"}, link{Path: "/debug/pprof/profile"},
		link{Path: "/debug/pprof/trace"}, link{Path: "/debug/pprof/heap"})
	if len(links) < 20 {
		t.Fatalf("only %d pages mounted: %v", len(links), links)
	}
	for _, l := range links {
		for _, method := range []string{"POST", "PUT", "DELETE", "PATCH"} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(method, l.Path, strings.NewReader("id=7"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			mux.ServeHTTP(rec, req)
			if rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("%s %s = %d, want 405", method, l.Path, rec.Code)
			}
		}
	}
	for _, method := range []string{"GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, "/streamqueryz/terminate?id=7", nil))
		if rec.Code != http.StatusMethodNotAllowed || !strings.Contains(rec.Header().Get("Allow"), "POST") {
			t.Errorf("%s /streamqueryz/terminate = %d (Allow %q), want 405 allowing POST", method, rec.Code, rec.Header().Get("Allow"))
		}
	}
	if k := f.engine.kills(); len(k) != 0 {
		t.Fatalf("a request that was not a POST killed %v", k)
	}
}
