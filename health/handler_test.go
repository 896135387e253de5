package health

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestServeHTTP(t *testing.T) {
	tests := []struct {
		name     string
		obs      []Observation // checks, 10ms apart
		code     int
		body     string // exact, or prefix when it ends in "..."
		jsonWant State
	}{
		{name: "healthy", obs: []Observation{heartbeatObs(0, time.Second)}, code: 200, body: "ok\n", jsonWant: Healthy},
		{name: "degraded", obs: []Observation{heartbeatObs(0, 20*time.Second)}, code: 200,
			body: "ok\ndegraded: LAG_OVER_THRESHOLD: replication lag 20s (heartbeat) is over the degraded threshold 10s\n", jsonWant: Degraded},
		{name: "unhealthy", obs: []Observation{sqlStoppedObs()}, code: 503,
			body: "not ok: REPLICATION_SQL_STOPPED: the replication SQL thread is stopped...", jsonWant: Unhealthy},
		{name: "unreachable", obs: []Observation{unreachableObs()}, code: 503,
			body: "not ok: MYSQL_UNREACHABLE: mysqld is unreachable: dial unix...", jsonWant: NotServing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.start(Tablet{Type: TypeReplica})
			for i, o := range tt.obs {
				h.check(10*i, o)
			}

			rec := httptest.NewRecorder()
			h.c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/health", nil))
			body := rec.Body.String()
			if rec.Code != tt.code {
				t.Errorf("code %d, want %d", rec.Code, tt.code)
			}
			if prefix, ok := strings.CutSuffix(tt.body, "..."); ok {
				if !strings.HasPrefix(body, prefix) {
					t.Errorf("body %q, want prefix %q", body, prefix)
				}
			} else if body != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}

			rec = httptest.NewRecorder()
			h.c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/health?format=json", nil))
			var st Status
			if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
				t.Fatalf("JSON body %s: %v", rec.Body, err)
			}
			if rec.Code != tt.code || st.State != tt.jsonWant || st.Serving != tt.jsonWant.Serving() ||
				st.CheckedAt.IsZero() || st.TabletType != TypeReplica {
				t.Errorf("JSON: code %d, status %+v; want %d %s", rec.Code, st, tt.code, tt.jsonWant)
			}
		})
	}
}
