package debugvars

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// counters is the shared core of CountersWithLabels and
// CountersDurationWithLabels.
type counters struct {
	name    string           // variable name; immutable
	labels  []string         // label names; immutable
	desc    *prometheus.Desc // nil when not exported to Prometheus
	seconds bool             // cells hold nanoseconds; export seconds
	idx     *index[paddedCounter]
}

// paddedCounter fills a cache line, so that counters for different label
// values, allocated side by side and written from different cores, do not
// share a line.
type paddedCounter struct {
	Counter
	_ [cacheLineWords - 1]int64
}

func (r *Registry) newCounters(name string, spec promSpec) *counters {
	checkLabels(name, spec.labels)
	c := &counters{
		name:    name,
		labels:  slices.Clone(spec.labels),
		desc:    spec.desc(name),
		seconds: spec.seconds,
		idx:     newIndex(func() *paddedCounter { return new(paddedCounter) }),
	}
	var pc prometheus.Collector
	if c.desc != nil {
		pc = c
	}
	r.register(name, c, pc)
	return c
}

func (c *counters) appendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, e := range c.idx.entries() {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendJSONString(b, e.key)
		b = append(b, ": "...)
		b = strconv.AppendInt(b, e.cell.Get(), 10)
	}
	return append(b, '}')
}

// Describe implements prometheus.Collector.
func (c *counters) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.desc
}

// Collect implements prometheus.Collector.
func (c *counters) Collect(ch chan<- prometheus.Metric) {
	for _, e := range c.idx.entries() {
		ch <- constMetric(c.desc, prometheus.CounterValue, toFloat(e.cell.Get(), c.seconds),
			splitKey(e.key, len(c.labels)))
	}
}

func (c *counters) counts() map[string]int64 {
	es := c.idx.entries()
	m := make(map[string]int64, len(es))
	for _, e := range es {
		m[e.key] = e.cell.Get()
	}
	return m
}

// CountersWithLabels is a set of counters with one or more dimensions, such
// as Errors by category or QueryCounts by table and plan. On /debug/vars it
// is a flat object keyed by the label values joined with "."; on /metrics
// one counter with named labels. It is safe for concurrent use.
type CountersWithLabels struct {
	c *counters
}

// NewCountersWithLabels registers a labelled counter. labels are the
// Prometheus label names, one per dimension (e.g. "table", "plan");
// promName must end in _total. Declare categories that should show as zero
// before they happen by calling Handle at startup.
func (r *Registry) NewCountersWithLabels(name, promName, help string, labels []string) *CountersWithLabels {
	return &CountersWithLabels{r.newCounters(name, promSpec{name: promName, help: help, kind: promCounter, labels: labels})}
}

// Add adds n to the counter for the label values, one per label, creating
// it if needed. Adding to an existing combination neither locks nor
// allocates. It panics if n is negative or the number of values is wrong.
// A "." inside a value becomes "_" when there are several labels.
func (c *CountersWithLabels) Add(n int64, values ...string) {
	if n < 0 {
		panicNegative(n)
	}
	lookup(c.c.idx, c.c.name, c.c.labels, values).v.Add(n)
}

// Handle returns the counter for the label values, creating it at zero if
// needed, so that it shows on both pages from now on. A caller that records
// the same combination often keeps the handle and skips the lookup.
func (c *CountersWithLabels) Handle(values ...string) *Counter {
	return &lookup(c.c.idx, c.c.name, c.c.labels, values).Counter
}

// Counts returns a snapshot of every counter, keyed as on /debug/vars.
func (c *CountersWithLabels) Counts() map[string]int64 {
	return c.c.counts()
}

// CountersDurationWithLabels is CountersWithLabels for cumulative
// durations, such as QueryTimesNs by table and plan: nanoseconds on
// /debug/vars, seconds on /metrics. It is safe for concurrent use.
type CountersDurationWithLabels struct {
	c *counters
}

// NewCountersDurationWithLabels registers a labelled cumulative duration.
// promName must end in _seconds_total.
func (r *Registry) NewCountersDurationWithLabels(name, promName, help string, labels []string) *CountersDurationWithLabels {
	return &CountersDurationWithLabels{r.newCounters(name, promSpec{name: promName, help: help, kind: promCounter, seconds: true, labels: labels})}
}

// Add adds d to the total for the label values, as CountersWithLabels.Add.
func (c *CountersDurationWithLabels) Add(d time.Duration, values ...string) {
	if d < 0 {
		panicNegative(int64(d))
	}
	lookup(c.c.idx, c.c.name, c.c.labels, values).v.Add(int64(d))
}

// Handle returns the total for the label values, creating it at zero if
// needed, as CountersWithLabels.Handle.
func (c *CountersDurationWithLabels) Handle(values ...string) *CounterDuration {
	// Counter and CounterDuration share their layout.
	return (*CounterDuration)(&lookup(c.c.idx, c.c.name, c.c.labels, values).Counter)
}

// Counts returns a snapshot of every total, keyed as on /debug/vars.
func (c *CountersDurationWithLabels) Counts() map[string]time.Duration {
	m := make(map[string]time.Duration)
	for k, v := range c.c.counts() {
		m[k] = time.Duration(v)
	}
	return m
}

// gaugesFunc is a labelled gauge computed from a snapshot function.
type gaugesFunc struct {
	labels []string         // label names; immutable
	desc   *prometheus.Desc // nil when not exported to Prometheus
	f      func() map[string]int64
}

// NewGaugesFuncWithLabels registers a labelled gauge whose values f
// computes when read, such as DataLength per table from the latest schema
// snapshot. f returns values keyed as on /debug/vars: the label value
// itself with one label, the values joined with "." with several. A key
// that does not split into one value per label is left out of /metrics.
// f must be safe for concurrent use and fast.
func (r *Registry) NewGaugesFuncWithLabels(name, promName, help string, labels []string, f func() map[string]int64) {
	checkLabels(name, labels)
	if f == nil {
		panic(fmt.Sprintf("debugvars: variable %q: function is nil", name))
	}
	g := &gaugesFunc{
		labels: slices.Clone(labels),
		desc:   promSpec{name: promName, help: help, kind: promGauge, labels: labels}.desc(name),
		f:      f,
	}
	var pc prometheus.Collector
	if g.desc != nil {
		pc = g
	}
	r.register(name, g, pc)
}

func (g *gaugesFunc) appendJSON(b []byte) []byte {
	m := g.f()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendJSONString(b, k)
		b = append(b, ": "...)
		b = strconv.AppendInt(b, m[k], 10)
	}
	return append(b, '}')
}

// Describe implements prometheus.Collector.
func (g *gaugesFunc) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.desc
}

// Collect implements prometheus.Collector.
func (g *gaugesFunc) Collect(ch chan<- prometheus.Metric) {
	for k, v := range g.f() {
		values := splitKey(k, len(g.labels))
		if len(values) != len(g.labels) {
			ch <- prometheus.NewInvalidMetric(g.desc, fmt.Errorf("key %q does not split into labels %s",
				k, strings.Join(g.labels, ", ")))
			continue
		}
		ch <- constMetric(g.desc, prometheus.GaugeValue, float64(v), values)
	}
}

// constMetric returns a sample, or an invalid metric that Gather reports
// (and MetricsHandler skips) if the label values are unusable, such as
// invalid UTF-8 in a table name: a bad value must not crash a scrape.
func constMetric(desc *prometheus.Desc, typ prometheus.ValueType, v float64, values []string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(desc, typ, v, values...)
	if err != nil {
		return prometheus.NewInvalidMetric(desc, err)
	}
	return m
}
