package queryserver

import (
	"context"
	"database/sql/driver"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func TestStatistics(t *testing.T) {
	cfg := testConfig()
	cfg.StatsLabelLimit = 2
	db := newFakeDB(func(c *fakeConn, q string) fakeReply {
		switch {
		case strings.Contains(q, "dup"):
			return fakeReply{err: &mysql.MySQLError{Number: 1062, SQLState: [5]byte{'2', '3', '0', '0', '0'}, Message: "Duplicate entry '1' for key 'PRIMARY'"}}
		case strings.Contains(q, "missing"):
			return fakeReply{err: &mysql.MySQLError{Number: 1146, SQLState: [5]byte{'4', '2', 'S', '0', '2'}, Message: "Table 'missing' doesn't exist"}}
		case strings.HasPrefix(q, "insert"):
			return fakeReply{affected: 2}
		}
		return fakeReply{cols: []string{"a"}, types: []string{"INT"}, rows: [][]driver.Value{{int64(1)}, {int64(2)}}}
	})
	h := newHarness(t, cfg, testPoolConfig(), primaryTarget, db)
	ctx := WithCaller(context.Background(), Caller{Username: "alice"})
	for _, q := range []string{
		"select a from t where id = 1",
		"select a from t where id = 2",
		"insert into t (a) values (1), (2)",
		"insert into dup (a) values (1)",
		"select a from u",       // past the label limit of 2 tables (t, dup)
		"select a from missing", // likewise
	} {
		_, _ = h.eng.Execute(ctx, &primaryTarget, q, nil, 0, 0, nil)
	}

	for _, tt := range []struct {
		name, key string
		want      int64
	}{
		{"QueryCounts", "t.PASS_SELECT", 2},
		{"QueryCounts", "t.INSERT", 1},
		{"QueryCounts", "other.PASS_SELECT", 2},
		{"QueryRowCounts", "t.PASS_SELECT", 4},
		{"QueryRowCounts", "t.INSERT", 2},
		{"QueryErrorCounts", "other.PASS_SELECT", 1},
		{"QueryErrorCounts", "dup.INSERT", 1},
		{"UserTableQueryCount", "t.alice.PASS_SELECT", 2},
		{"Errors", "INVALID_ARGUMENT", 1},
		{"Errors", "ALREADY_EXISTS", 0},
		{"InfoErrors", "DupKey", 1},
	} {
		if got := varValue(t, h.vars, tt.name, tt.key); got != tt.want {
			t.Errorf("%s[%s] = %d, want %d", tt.name, tt.key, got, tt.want)
		}
	}
	if got := timingCount(t, h.vars, "Queries", "PASS_SELECT"); got != 4 {
		t.Errorf("Queries.PASS_SELECT count = %d, want 4", got)
	}
	if got := timingCount(t, h.vars, "Mysql", "Exec"); got != 6 {
		t.Errorf("Mysql.Exec count = %d, want 6", got)
	}
	if got := varValue(t, h.vars, "QueryPlanCacheSize", ""); got != 6 {
		t.Errorf("QueryPlanCacheSize = %d, want 6", got)
	}
	if got := varValue(t, h.vars, "QueryPlanCacheCapacity", ""); got != 5000 {
		t.Errorf("QueryPlanCacheCapacity = %d", got)
	}
	if got := varValue(t, h.vars, "ConnPoolCapacity", ""); got != 4 {
		t.Errorf("ConnPoolCapacity = %d, want 4", got)
	}

	// Per normalized query: the two selects on t are one query.
	var found bool
	for _, q := range h.eng.QueryStats() {
		if q.Query == "select `a` from `t` where `id` = ?" {
			found = true
			if q.Count != 2 || q.RowsReturned != 4 || q.PlanType != "PASS_SELECT" {
				t.Errorf("query stat %+v", q)
			}
		}
	}
	if !found {
		t.Errorf("no stat for the normalized select: %+v", h.eng.QueryStats())
	}

	log := h.eng.QueryLog().Recent(0)
	if len(log) != 6 || log[0].SQL != "select a from t where id = 1" || log[0].Caller.Username != "alice" ||
		log[0].RowsReturned != 2 || log[3].Code != CodeAlreadyExists || log[3].Error == "" {
		t.Errorf("query log %+v", log)
	}

	// /metrics follows Prometheus's naming rules.
	rec := httptest.NewRecorder()
	h.vars.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	problems, err := promlint.New(rec.Body).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
