package debugvars

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The benchmarks record from every P at once (b.RunParallel) into existing
// categories, in two modes: "same", every goroutine into one category (the
// worst case: the cells' cache lines move between cores on every record),
// and "spread", each goroutine into its own category (many plans and tables,
// as on a real query path). They run beside baselines in the same process so
// that figures read as ratios:
//
//   - mutex-map: one sync.Mutex around a map, the simplest correct design
//     (for labelled counters, keyed by strings.Join as Vitess does);
//   - prometheus-vec: client_golang's HistogramVec/CounterVec looked up with
//     WithLabelValues on every record;
//   - prometheus-kept: the same with the child resolved once, client_golang's
//     equivalent of keeping a handle.

// mutexTimings is the baseline Timings: one lock around everything.
type mutexTimings struct {
	mu      sync.Mutex
	cutoffs []int64
	m       map[string]*mutexHistogram // guarded by mu
}

type mutexHistogram struct {
	counts [11]int64
	total  int64
}

func (t *mutexTimings) record(category string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.m[category]
	if !ok {
		h = new(mutexHistogram)
		t.m[category] = h
	}
	i := 0
	for i < len(t.cutoffs) && int64(d) > t.cutoffs[i] {
		i++
	}
	h.counts[i]++
	h.total += int64(d)
}

// mutexCounters is the baseline labelled counter.
type mutexCounters struct {
	mu sync.Mutex
	m  map[string]int64 // guarded by mu
}

func (c *mutexCounters) add(n int64, values ...string) {
	key := strings.Join(values, ".")
	c.mu.Lock()
	c.m[key] += n
	c.mu.Unlock()
}

// spread is how many categories the "spread" mode cycles its goroutines
// through; more than the cores we run on.
const spread = 8

// benchParallel runs each case in both modes. A case's op records into
// category number g, which is 0 in "same" mode and the goroutine's own in
// "spread" mode.
func benchParallel(b *testing.B, cases []benchCase) {
	for _, mode := range []string{"same", "spread"} {
		for _, bc := range cases {
			b.Run(mode+"/"+bc.name, func(b *testing.B) {
				var next atomic.Int64
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					g := 0
					if mode == "spread" {
						g = int(next.Add(1)-1) % spread
					}
					for pb.Next() {
						bc.op(g)
					}
				})
			})
		}
	}
}

type benchCase struct {
	name string
	op   func(g int)
}

// benchNames returns n distinct names with the given prefix.
func benchNames(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return names
}

func BenchmarkTimingsRecord(b *testing.B) {
	const d = 700 * time.Microsecond
	plans := benchNames("PLAN_", spread)
	tables := benchNames("table", spread)
	r := New()
	queries := r.NewTimings("Queries", "tablet_queries_duration_seconds", "Time spent serving queries, by plan.", "plan")
	tableTimes := r.NewMultiTimings("QueryTableTimings", "tablet_table_queries_duration_seconds",
		"Time spent serving queries, by table and plan.", []string{"table", "plan"})
	base := &mutexTimings{cutoffs: timingCutoffs(), m: make(map[string]*mutexHistogram)}
	buckets := make([]float64, 0, 10)
	for _, c := range timingCutoffs() {
		buckets = append(buckets, time.Duration(c).Seconds())
	}
	vec := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "tablet_queries_duration_seconds", Help: "Time spent serving queries, by plan.", Buckets: buckets,
	}, []string{"plan"})
	kept := make([]*Timing, spread)
	obs := make([]prometheus.Observer, spread)
	for i, p := range plans {
		kept[i] = queries.Handle(p)
		obs[i] = vec.WithLabelValues(p)
		tableTimes.Handle(tables[i], "PASS_SELECT")
		base.record(p, d)
	}
	benchParallel(b, []benchCase{
		{"handle", func(g int) { kept[g].Record(d) }},
		{"lookup", func(g int) { queries.Record(plans[g], d) }},
		{"multi-lookup", func(g int) { tableTimes.Record([]string{tables[g], "PASS_SELECT"}, d) }},
		{"baseline=mutex-map", func(g int) { base.record(plans[g], d) }},
		{"baseline=prometheus-vec", func(g int) { vec.WithLabelValues(plans[g]).Observe(d.Seconds()) }},
		{"baseline=prometheus-kept", func(g int) { obs[g].Observe(d.Seconds()) }},
	})
}

func BenchmarkCountersAdd(b *testing.B) {
	tables := benchNames("table", spread)
	r := New()
	counts := r.NewCountersWithLabels("UserTableQueryCount", "tablet_user_table_queries_total",
		"Queries served, by user, table and plan.", []string{"user", "table", "plan"})
	base := &mutexCounters{m: make(map[string]int64)}
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tablet_user_table_queries_total", Help: "Queries served, by user, table and plan.",
	}, []string{"user", "table", "plan"})
	kept := make([]*Counter, spread)
	children := make([]prometheus.Counter, spread)
	for i, t := range tables {
		kept[i] = counts.Handle("app", t, "PASS_SELECT")
		children[i] = vec.WithLabelValues("app", t, "PASS_SELECT")
		base.add(1, "app", t, "PASS_SELECT")
	}
	benchParallel(b, []benchCase{
		{"handle", func(g int) { kept[g].Add(1) }},
		{"lookup", func(g int) { counts.Add(1, "app", tables[g], "PASS_SELECT") }},
		{"baseline=mutex-map", func(g int) { base.add(1, "app", tables[g], "PASS_SELECT") }},
		{"baseline=prometheus-vec", func(g int) { vec.WithLabelValues("app", tables[g], "PASS_SELECT").Add(1) }},
		{"baseline=prometheus-kept", func(g int) { children[g].Add(1) }},
	})
}
