package debugvars

import (
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")

// newFixture returns a registry holding every kind of variable, named as
// vttablet names them where vttablet has the variable, with a few values
// recorded in each.
func newFixture(t testing.TB) *Registry {
	t.Helper()
	r := New()

	queries := r.NewTimings("Queries", "tablet_queries_duration_seconds",
		"Time spent serving queries, by plan.", "plan")
	queries.Record("PASS_SELECT", 300*time.Microsecond)
	queries.Record("PASS_SELECT", 2*time.Millisecond)
	queries.Record("PASS_SELECT", 500*time.Microsecond) // on a cutoff: counts under it
	queries.Record("INSERT_PK", 20*time.Second)         // beyond the last cutoff
	queries.Handle("UPDATE_PK")                         // declared, still empty

	tableTimes := r.NewMultiTimings("QueryTableTimings", "tablet_table_queries_duration_seconds",
		"Time spent serving queries, by table and plan.", []string{"table", "plan"})
	tableTimes.Record([]string{"users", "PASS_SELECT"}, 7*time.Millisecond)

	results := r.NewHistogram("Results", "tablet_query_result_rows",
		"Rows returned per query.", ResultRowCutoffs())
	for _, rows := range []int64{0, 1, 3, 20000} {
		results.Add(rows)
	}

	errs := r.NewCountersWithLabels("Errors", "tablet_errors_total",
		"Query errors, by category.", []string{"category"})
	for _, c := range []string{"Deadlock", "Fail", "NotInTx", "TxPoolFull"} {
		errs.Handle(c)
	}
	errs.Add(1, "Fail")

	kills := r.NewCountersWithLabels("Kills", "tablet_kills_total",
		"Queries and transactions killed for running too long, by kind.", []string{"kind"})
	kills.Handle("Transactions")
	kills.Add(2, "Queries")

	counts := r.NewCountersWithLabels("QueryCounts", "tablet_queries_total",
		"Queries served, by table and plan.", []string{"table", "plan"})
	counts.Add(3, "users", "PASS_SELECT")
	counts.Add(1, "orders", "INSERT_PK")
	counts.Add(1, "odd.name", "PASS_SELECT")

	times := r.NewCountersDurationWithLabels("QueryTimesNs", "tablet_query_time_seconds_total",
		"Time spent serving queries, by table and plan.", []string{"table", "plan"})
	times.Add(1500*time.Microsecond, "users", "PASS_SELECT")

	userCounts := r.NewCountersWithLabels("UserTableQueryCount", "tablet_user_table_queries_total",
		"Queries served, by user, table and plan.", []string{"user", "table", "plan"})
	userCounts.Add(2, "app", "users", "PASS_SELECT")

	r.NewCounter("QueryCacheMisses", "tablet_query_plan_cache_misses_total",
		"Queries whose plan was not in the plan cache.").Add(5)
	capacity := r.NewGauge("TransactionPoolCapacity", "tablet_transaction_pool_capacity_connections",
		"Connections the transaction pool may hold.")
	capacity.Set(300)
	r.NewGaugeFunc("TransactionPoolAvailable", "tablet_transaction_pool_available_connections",
		"Connections the transaction pool can hand out now.", func() int64 { return 298 })
	r.NewGaugeDurationFunc("TransactionPoolTimeout", "tablet_transaction_pool_timeout_seconds",
		"Longest a transaction may stay open.", func() time.Duration { return 30 * time.Second })
	r.NewGaugeDurationFunc("TransactionPoolIdleTimeout", "tablet_transaction_pool_idle_timeout_seconds",
		"Idle time after which a pooled connection is closed.", func() time.Duration { return 10 * time.Minute })
	r.NewCounterFunc("TransactionPoolWaitCount", "tablet_transaction_pool_waits_total",
		"Times a transaction waited for a pool connection.", func() int64 { return 4 })
	r.NewCounterDuration("TransactionPoolWaitTime", "tablet_transaction_pool_wait_seconds_total",
		"Time transactions spent waiting for a pool connection.").Add(250 * time.Millisecond)
	r.NewCounterDurationFunc("ConnPoolWaitTime", "tablet_conn_pool_wait_seconds_total",
		"Time queries spent waiting for a pool connection.", func() time.Duration { return time.Second })

	r.NewGaugesFuncWithLabels("DataLength", "tablet_table_data_bytes",
		"Data length of each table, from information_schema.", []string{"table"},
		func() map[string]int64 { return map[string]int64{"users": 16384, "orders": 32768} })

	r.PublishJSONFunc("TabletState", func() any {
		return struct {
			Keyspace, Shard, Type string
			Serving               bool
		}{"commerce", "0", "REPLICA", true}
	})
	r.NewGauge("QueryPlanCacheSize", "", "").Set(7) // /debug/vars only
	return r
}

// get serves one request to h and returns the response body, failing the
// test unless the status is 200.
func get(t testing.TB, h http.Handler) (body []byte, contentType string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	res := rec.Result()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, body:\n%s", res.StatusCode, b)
	}
	return b, res.Header.Get("Content-Type")
}
