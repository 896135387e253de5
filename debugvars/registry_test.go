package debugvars

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRegisterMistakes checks that each registration mistake panics with a
// message naming the variable and the problem.
func TestRegisterMistakes(t *testing.T) {
	const help = "Something worth counting."
	tests := []struct {
		name     string
		register func(r *Registry)
		want     string // substring of the panic message
	}{
		{"duplicate name", func(r *Registry) {
			r.NewCounter("Commits", "tablet_commits_total", help)
			r.NewGauge("Commits", "tablet_commits", help)
		}, `"Commits" registered twice`},
		{"duplicate prometheus name", func(r *Registry) {
			r.NewCounter("Commits", "tablet_commits_total", help)
			r.NewCounter("Commits2", "tablet_commits_total", help)
		}, `register variable "Commits2" with prometheus`},
		{"reserved cmdline", func(r *Registry) {
			r.PublishJSONFunc("cmdline", func() any { return nil })
		}, `"cmdline" is reserved`},
		{"reserved memstats", func(r *Registry) {
			r.NewGauge("memstats", "", "")
		}, `"memstats" is reserved`},
		{"empty name", func(r *Registry) {
			r.NewGauge("", "", "")
		}, "name is empty"},
		{"counter without _total", func(r *Registry) {
			r.NewCounter("Commits", "tablet_commits", help)
		}, "must end in _total"},
		{"gauge with _total", func(r *Registry) {
			r.NewGauge("Open", "tablet_open_total", help)
		}, "is not a counter"},
		{"duration gauge without _seconds", func(r *Registry) {
			r.NewGaugeDurationFunc("Timeout", "tablet_timeout", help, func() time.Duration { return 0 })
		}, "must carry the unit _seconds"},
		{"duration counter in nanoseconds", func(r *Registry) {
			r.NewCounterDuration("WaitTime", "tablet_wait_ns_total", help)
		}, "must carry the unit _seconds"},
		{"timings without _seconds", func(r *Registry) {
			r.NewTimings("Queries", "tablet_queries_duration", help, "plan")
		}, "must carry the unit _seconds"},
		{"camelCase name", func(r *Registry) {
			r.NewCounter("Commits", "tablet_Commits_total", help)
		}, "not snake_case"},
		{"reserved suffix", func(r *Registry) {
			r.NewGauge("Count", "tablet_queries_count", help)
		}, "histograms reserve"},
		{"help not a sentence", func(r *Registry) {
			r.NewCounter("Commits", "tablet_commits_total", "commits")
		}, "must be a sentence"},
		{"help empty", func(r *Registry) {
			r.NewCounter("Commits", "tablet_commits_total", "")
		}, "must be a sentence"},
		{"label not snake_case", func(r *Registry) {
			r.NewCountersWithLabels("QueryCounts", "tablet_queries_total", help, []string{"Table", "plan"})
		}, `label name "Table"`},
		{"label reserved", func(r *Registry) {
			r.NewMultiTimings("Q", "tablet_q_seconds", help, []string{"le"})
		}, "reserved by prometheus"},
		{"label repeated", func(r *Registry) {
			r.NewCountersWithLabels("QueryCounts", "tablet_queries_total", help, []string{"table", "table"})
		}, "repeated"},
		{"no labels", func(r *Registry) {
			r.NewCountersWithLabels("QueryCounts", "tablet_queries_total", help, nil)
		}, "needs at least one label"},
		{"cutoffs not ascending", func(r *Registry) {
			r.NewHistogram("Results", "tablet_result_rows", help, []int64{0, 5, 5})
		}, "not strictly ascending"},
		{"no cutoffs", func(r *Registry) {
			r.NewHistogram("Results", "tablet_result_rows", help, nil)
		}, "at least one cutoff"},
		{"nil function", func(r *Registry) {
			r.NewGaugeFunc("Available", "tablet_available_connections", help, nil)
		}, "function is nil"},
		{"nil labelled function", func(r *Registry) {
			r.NewGaugesFuncWithLabels("DataLength", "tablet_table_data_bytes", help, []string{"table"}, nil)
		}, "function is nil"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := panicMessage(func() { tc.register(New()) })
			if !strings.Contains(msg, tc.want) {
				t.Errorf("panic %q, want one containing %q", msg, tc.want)
			}
		})
	}
}

// TestRecordMistakes checks the only recording calls that panic.
func TestRecordMistakes(t *testing.T) {
	r := New()
	counts := r.NewCountersWithLabels("QueryCounts", "tablet_queries_total",
		"Queries served, by table and plan.", []string{"table", "plan"})
	times := r.NewCountersDurationWithLabels("QueryTimesNs", "tablet_query_time_seconds_total",
		"Time spent serving queries, by table and plan.", []string{"table", "plan"})
	tt := r.NewMultiTimings("QueryTableTimings", "tablet_table_queries_duration_seconds",
		"Time spent serving queries, by table and plan.", []string{"table", "plan"})
	tests := []struct {
		name   string
		record func()
		want   string
	}{
		{"too few values", func() { counts.Add(1, "users") }, `"QueryCounts" has labels [table plan], got 1 values [users]`},
		{"too many values", func() { tt.Record([]string{"a", "b", "c"}, 0) }, "got 3 values"},
		{"handle with wrong values", func() { times.Handle() }, "got 0 values"},
		{"negative count", func() { counts.Add(-1, "users", "PASS_SELECT") }, "cannot decrease"},
		{"negative duration", func() { times.Add(-time.Second, "users", "PASS_SELECT") }, "cannot decrease"},
		{"negative counter", func() { new(Counter).Add(-2) }, "cannot decrease"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := panicMessage(tc.record)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("panic %q, want one containing %q", msg, tc.want)
			}
		})
	}
}

// panicMessage runs f and returns what it panicked with, or "" if it
// returned normally.
func panicMessage(f func()) (msg string) {
	defer func() {
		if v := recover(); v != nil {
			msg = fmt.Sprint(v)
		}
	}()
	f()
	return ""
}
