package debugvars_test

import (
	"fmt"
	"time"

	"github.com/tabletd/tablet/debugvars"
)

// A query server registers its variables once, keeps handles for the hot
// path, and records as it serves. Both pages read the same values.
func Example() {
	r := debugvars.New()
	queries := r.NewTimings("Queries", "tablet_queries_duration_seconds",
		"Time spent serving queries, by plan.", "plan")
	errs := r.NewCountersWithLabels("Errors", "tablet_errors_total",
		"Query errors, by category.", []string{"category"})
	counts := r.NewCountersWithLabels("QueryCounts", "tablet_queries_total",
		"Queries served, by table and plan.", []string{"table", "plan"})

	// Declared categories show as zero before they happen.
	for _, c := range []string{"Deadlock", "Fail"} {
		errs.Handle(c)
	}
	selects := queries.Handle("PASS_SELECT")

	selects.Record(300 * time.Microsecond)
	selects.Record(2 * time.Millisecond)
	counts.Add(2, "users", "PASS_SELECT")
	errs.Add(1, "Fail")

	for _, name := range []string{"Queries", "Errors", "QueryCounts"} {
		v, _ := r.Get(name)
		fmt.Printf("%s: %s\n", name, v)
	}
	// Output:
	// Queries: {"Histograms": {"PASS_SELECT": {"500000": 1, "1000000": 1, "5000000": 2, "10000000": 2, "50000000": 2, "100000000": 2, "500000000": 2, "1000000000": 2, "5000000000": 2, "10000000000": 2, "inf": 2, "Count": 2, "Time": 2300000}}, "TotalCount": 2, "TotalTime": 2300000}
	// Errors: {"Deadlock": 0, "Fail": 1}
	// QueryCounts: {"users.PASS_SELECT": 2}
}
