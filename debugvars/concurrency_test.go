package debugvars

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestConcurrentRecordAndRead records from many goroutines, into existing
// and new label combinations, while both pages are read; run it with -race.
// Afterwards every record must be accounted for.
func TestConcurrentRecordAndRead(t *testing.T) {
	const (
		writers = 8
		records = 2000
		tables  = 13 // new keys keep arriving while others are read
	)
	r := New()
	queries := r.NewTimings("Queries", "tablet_queries_duration_seconds", "Time spent serving queries, by plan.", "plan")
	tableTimes := r.NewMultiTimings("QueryTableTimings", "tablet_table_queries_duration_seconds",
		"Time spent serving queries, by table and plan.", []string{"table", "plan"})
	counts := r.NewCountersWithLabels("QueryCounts", "tablet_queries_total", "Queries served, by table and plan.",
		[]string{"table", "plan"})
	results := r.NewHistogram("Results", "tablet_query_result_rows", "Rows returned per query.", ResultRowCutoffs())
	inFlight := r.NewGauge("InFlight", "tablet_queries_in_flight", "Queries being served.")
	kept := queries.Handle("PASS_SELECT")

	done := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		defer close(readerErr)
		read := func() error {
			if b := r.appendVars(nil); !json.Valid(b) {
				return fmt.Errorf("invalid /debug/vars JSON:\n%s", b)
			}
			if _, err := r.Gatherer().Gather(); err != nil {
				return fmt.Errorf("gather: %w", err)
			}
			return nil
		}
		for {
			select {
			case <-done:
				readerErr <- read() // at least one read, after all writes
				return
			default:
				if err := read(); err != nil {
					readerErr <- err
					return
				}
			}
		}
	}()

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range records {
				table := fmt.Sprintf("t%d", (w+i)%tables)
				inFlight.Add(1)
				queries.Record("PASS_SELECT", time.Duration(i)*time.Microsecond)
				kept.Record(time.Millisecond)
				tableTimes.Record([]string{table, "PASS_SELECT"}, time.Microsecond)
				counts.Add(1, table, "PASS_SELECT")
				counts.Handle(table, "INSERT_PK").Add(2)
				results.Add(int64(i % 20))
				inFlight.Add(-1)
			}
		})
	}
	wg.Wait()
	close(done)
	if err := <-readerErr; err != nil {
		t.Fatal(err)
	}

	const total = writers * records
	var perTable, timed int64
	for k, n := range counts.Counts() {
		perTable += n
		if k == "" {
			t.Errorf("empty key in QueryCounts")
		}
	}
	for _, table := range tableNames(tables) {
		timed += tableTimes.Handle(table, "PASS_SELECT").Count()
	}
	tests := []struct {
		name      string
		got, want int64
	}{
		{"Queries PASS_SELECT", kept.Count(), 2 * total},
		{"QueryCounts", perTable, 3 * total},
		{"QueryTableTimings", timed, total},
		{"Results", results.Count(), total},
		{"InFlight", inFlight.Get(), 0},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

func tableNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("t%d", i)
	}
	return names
}
