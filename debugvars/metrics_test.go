package debugvars

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// TestMetricsGolden compares the tablet_ metrics with the exposition text
// in testdata/metrics.golden.txt. Run with -update to rewrite it.
func TestMetricsGolden(t *testing.T) {
	r := newFixture(t)
	path := filepath.Join("testdata", "metrics.golden.txt")
	if *update {
		body, _ := get(t, r.MetricsHandler())
		if err := os.WriteFile(path, tabletLines(body), 0o644); err != nil {
			t.Fatalf("write golden: %v", err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	names := typedNames(want)
	if err := testutil.GatherAndCompare(r.Gatherer(), bytes.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	// Every tablet_ family gathered must be in the golden file too.
	mfs, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if n := mf.GetName(); strings.HasPrefix(n, "tablet_") && !slices.Contains(names, n) {
			t.Errorf("metric %s is missing from %s", n, path)
		}
	}
}

// TestPromlint lints the whole /metrics page of a registry holding every
// kind of variable, runtime and process collectors included.
func TestPromlint(t *testing.T) {
	body, _ := get(t, newFixture(t).MetricsHandler())
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestMetricsPage checks what the page carries besides our variables, and
// that variables published on /debug/vars only stay off it.
func TestMetricsPage(t *testing.T) {
	body, contentType := get(t, newFixture(t).MetricsHandler())
	if !strings.HasPrefix(contentType, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", contentType)
	}
	page := string(body)
	tests := []struct {
		name    string
		contain string
		want    bool
	}{
		{"go runtime collector", "\ngo_goroutines ", true},
		{"process collector", "\nprocess_start_time_seconds ", true},
		{"seconds buckets", `tablet_queries_duration_seconds_bucket{plan="PASS_SELECT",le="0.0005"} 2`, true},
		{"ten seconds bucket", `tablet_queries_duration_seconds_bucket{plan="INSERT_PK",le="10"} 0`, true},
		{"declared category", `tablet_errors_total{category="Deadlock"} 0`, true},
		{"duration in seconds", "tablet_transaction_pool_timeout_seconds 30\n", true},
		{"vars-only gauge", "QueryPlanCacheSize", false},
		{"json function", "commerce", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Contains(page, tc.contain); got != tc.want {
				t.Errorf("page contains %q: %v, want %v\n%s", tc.contain, got, tc.want, tabletLines(body))
			}
		})
	}
}

// TestMetricsBadKey checks that a gauge function key that does not split
// into its labels costs only that sample, not the scrape.
func TestMetricsBadKey(t *testing.T) {
	r := New()
	r.NewGaugesFuncWithLabels("TableRows", "tablet_table_rows", "Rows in each table and index.",
		[]string{"table", "index"}, func() map[string]int64 {
			return map[string]int64{"users.PRIMARY": 10, "orphan": 3}
		})
	r.NewGauge("Open", "tablet_open", "Whether the tablet is open.").Set(1)
	body, _ := get(t, r.MetricsHandler())
	for _, want := range []string{`tablet_table_rows{index="PRIMARY",table="users"} 10`, "tablet_open 1"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %q:\n%s", want, tabletLines(body))
		}
	}
	if strings.Contains(string(body), "orphan") {
		t.Errorf("page carries the bad key:\n%s", tabletLines(body))
	}
}

// tabletLines keeps the lines of an exposition page that describe or
// sample a tablet_ metric.
func tabletLines(page []byte) []byte {
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(page))
	for sc.Scan() {
		line := sc.Text()
		name := strings.TrimPrefix(strings.TrimPrefix(line, "# HELP "), "# TYPE ")
		if strings.HasPrefix(name, "tablet_") {
			out.WriteString(line)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

// typedNames returns the metric names declared by # TYPE lines.
func typedNames(text []byte) []string {
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			names = append(names, f[2])
		}
	}
	return names
}
