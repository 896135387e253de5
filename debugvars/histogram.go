package debugvars

import (
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// timingCutoffs returns the bucket cutoffs of every timing, in nanoseconds:
// vttablet's, from 500µs to 10s.
func timingCutoffs() []int64 {
	return []int64{
		500_000, 1_000_000, 5_000_000, 10_000_000, 50_000_000,
		100_000_000, 500_000_000, 1_000_000_000, 5_000_000_000, 10_000_000_000,
	}
}

// ResultRowCutoffs returns vttablet's cutoffs for the Results histogram
// (rows returned per query), for use with Registry.NewHistogram. The slice
// is the caller's.
func ResultRowCutoffs() []int64 {
	return []int64{0, 1, 5, 10, 50, 100, 500, 1000, 5000, 10000}
}

// histogram counts values into buckets. Bucket i holds the values v with
// cutoffs[i-1] < v <= cutoffs[i]; the last bucket holds those above every
// cutoff. Counts are per bucket here and made cumulative when read.
type histogram struct {
	cutoffs []int64 // ascending; shared and immutable
	// cells holds the sum of the values at cells[0], then one count per
	// bucket. One allocation in whole cache lines keeps the sum on the same
	// 64-byte line as the first seven buckets (up to 500ms for timings), so
	// a typical record dirties one line, not two.
	cells []atomic.Int64
}

// cacheLineWords is the int64s in a cache line on the machines we run on.
const cacheLineWords = 8

func (h *histogram) init(cutoffs []int64) {
	h.cutoffs = cutoffs
	n := len(cutoffs) + 2
	// Sizes in whole cache lines fall in allocator size classes that are
	// themselves line-aligned (64, 128, 192, ... bytes).
	lines := (n + cacheLineWords - 1) / cacheLineWords
	h.cells = make([]atomic.Int64, lines*cacheLineWords)[:n]
}

func (h *histogram) add(v int64) {
	i := 0
	for i < len(h.cutoffs) && v > h.cutoffs[i] {
		i++
	}
	h.cells[0].Add(v)
	h.cells[i+1].Add(1)
}

func (h *histogram) total() int64 {
	return h.cells[0].Load()
}

// histogramSnapshot is a histogram read at one moment.
type histogramSnapshot struct {
	cumulative []int64 // cumulative[i] counts values <= cutoffs[i]; the last is the count
	total      int64
}

func (s histogramSnapshot) count() int64 {
	return s.cumulative[len(s.cumulative)-1]
}

func (h *histogram) snapshot() histogramSnapshot {
	counts := h.cells[1:]
	s := histogramSnapshot{cumulative: make([]int64, len(counts)), total: h.total()}
	var n int64
	for i := range counts {
		n += counts[i].Load()
		s.cumulative[i] = n
	}
	return s
}

// count returns the number of values recorded.
func (h *histogram) count() int64 {
	var n int64
	for i := range h.cells[1:] {
		n += h.cells[1+i].Load()
	}
	return n
}

// appendJSON appends the Vitess histogram object: a key per cutoff, "inf",
// then countKey and totalKey. The count is derived from the buckets, so
// "inf" and countKey always agree.
func (s histogramSnapshot) appendJSON(b []byte, cutoffs []int64, countKey, totalKey string) []byte {
	b = append(b, '{')
	for i, c := range cutoffs {
		b = append(b, '"')
		b = strconv.AppendInt(b, c, 10)
		b = append(b, `": `...)
		b = strconv.AppendInt(b, s.cumulative[i], 10)
		b = append(b, ", "...)
	}
	b = append(b, `"inf": `...)
	b = strconv.AppendInt(b, s.count(), 10)
	b = append(b, `, "`...)
	b = append(b, countKey...)
	b = append(b, `": `...)
	b = strconv.AppendInt(b, s.count(), 10)
	b = append(b, `, "`...)
	b = append(b, totalKey...)
	b = append(b, `": `...)
	b = strconv.AppendInt(b, s.total, 10)
	return append(b, '}')
}

// metric converts s to a Prometheus histogram; seconds says the values are
// nanoseconds to export as seconds.
func (s histogramSnapshot) metric(desc *prometheus.Desc, cutoffs []int64, seconds bool, values []string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(cutoffs))
	for i, c := range cutoffs {
		buckets[toFloat(c, seconds)] = uint64(s.cumulative[i])
	}
	m, err := prometheus.NewConstHistogram(desc, uint64(s.count()), toFloat(s.total, seconds), buckets, values...)
	if err != nil {
		return prometheus.NewInvalidMetric(desc, err)
	}
	return m
}

// Timing is one category of a Timings or MultiTimings: a histogram of
// durations plus their count and total. It is safe for concurrent use;
// recording never locks or allocates. Get one from a Handle method.
type Timing struct {
	h histogram
}

// Record records one event that took d. A negative d counts as zero.
func (t *Timing) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	t.h.add(int64(d))
}

// Add records one event that started at start and ends now.
func (t *Timing) Add(start time.Time) {
	t.Record(time.Since(start))
}

// Count returns the number of events recorded.
func (t *Timing) Count() int64 {
	return t.h.count()
}

// Time returns the total duration recorded.
func (t *Timing) Time() time.Duration {
	return time.Duration(t.h.total())
}

// timings is the shared core of Timings and MultiTimings.
type timings struct {
	name    string           // variable name; immutable
	labels  []string         // label names; immutable
	cutoffs []int64          // nanoseconds; immutable
	desc    *prometheus.Desc // nil when not exported to Prometheus
	idx     *index[Timing]
}

func (r *Registry) newTimings(name, promName, help string, labels []string) *timings {
	checkLabels(name, labels)
	t := &timings{
		name:    name,
		labels:  slices.Clone(labels),
		cutoffs: timingCutoffs(),
		desc:    promSpec{name: promName, help: help, kind: promHistogram, seconds: true, labels: labels}.desc(name),
	}
	t.idx = newIndex(func() *Timing {
		tm := new(Timing)
		tm.h.init(t.cutoffs)
		return tm
	})
	var pc prometheus.Collector
	if t.desc != nil {
		pc = t
	}
	r.register(name, t, pc)
	return t
}

func (t *timings) appendJSON(b []byte) []byte {
	var count, total int64
	b = append(b, `{"Histograms": {`...)
	for i, e := range t.idx.entries() {
		if i > 0 {
			b = append(b, ", "...)
		}
		s := e.cell.h.snapshot()
		count += s.count()
		total += s.total
		b = appendJSONString(b, e.key)
		b = append(b, ": "...)
		b = s.appendJSON(b, t.cutoffs, "Count", "Time")
	}
	b = append(b, `}, "TotalCount": `...)
	b = strconv.AppendInt(b, count, 10)
	b = append(b, `, "TotalTime": `...)
	b = strconv.AppendInt(b, total, 10)
	return append(b, '}')
}

// Describe implements prometheus.Collector.
func (t *timings) Describe(ch chan<- *prometheus.Desc) {
	ch <- t.desc
}

// Collect implements prometheus.Collector.
func (t *timings) Collect(ch chan<- prometheus.Metric) {
	for _, e := range t.idx.entries() {
		ch <- e.cell.h.snapshot().metric(t.desc, t.cutoffs, true, splitKey(e.key, len(t.labels)))
	}
}

// Timings is a set of duration histograms by category, such as Queries by
// plan, in the Vitess Timings shape on /debug/vars and as one histogram in
// seconds on /metrics. It is safe for concurrent use.
//
// Record takes a duration and Add a start time; Vitess's Timings names them
// the other way round, and the argument types catch a port that mixes them.
type Timings struct {
	t *timings
}

// NewTimings registers a Timings. categoryLabel is the Prometheus label
// that holds the category (e.g. "plan"); promName must end in _seconds.
// Declare categories that should show before they happen with Handle.
func (r *Registry) NewTimings(name, promName, help, categoryLabel string) *Timings {
	return &Timings{r.newTimings(name, promName, help, []string{categoryLabel})}
}

// Record records one event of category that took d. Recording into an
// existing category neither locks nor allocates.
func (t *Timings) Record(category string, d time.Duration) {
	t.t.idx.get(category).Record(d)
}

// Add records one event of category that started at start and ends now.
func (t *Timings) Add(category string, start time.Time) {
	t.t.idx.get(category).Record(time.Since(start))
}

// Handle returns the Timing for category, creating it empty if needed so
// that it shows on both pages from now on.
func (t *Timings) Handle(category string) *Timing {
	return t.t.idx.get(category)
}

// MultiTimings is Timings with several dimensions, such as table and plan.
// On /debug/vars the categories are the label values joined with "."
// (a "." inside a value becomes "_"). It is safe for concurrent use.
type MultiTimings struct {
	t *timings
}

// NewMultiTimings registers a MultiTimings with the given Prometheus label
// names, one per dimension. promName must end in _seconds.
func (r *Registry) NewMultiTimings(name, promName, help string, labels []string) *MultiTimings {
	return &MultiTimings{r.newTimings(name, promName, help, labels)}
}

// Record records one event that took d under the label values, one per
// label. It panics if the number of values is wrong.
func (t *MultiTimings) Record(values []string, d time.Duration) {
	lookup(t.t.idx, t.t.name, t.t.labels, values).Record(d)
}

// Add records one event under the label values that started at start and
// ends now.
func (t *MultiTimings) Add(values []string, start time.Time) {
	lookup(t.t.idx, t.t.name, t.t.labels, values).Record(time.Since(start))
}

// Handle returns the Timing for the label values, creating it if needed.
func (t *MultiTimings) Handle(values ...string) *Timing {
	return lookup(t.t.idx, t.t.name, t.t.labels, values)
}

// Histogram counts values, such as rows per result, into buckets with
// fixed cutoffs. On /debug/vars it renders as Vitess's Results: a
// cumulative count per cutoff, "inf", "Count" and "Total" (the sum of the
// values); on /metrics as a histogram. It is safe for concurrent use;
// recording never locks or allocates.
type Histogram struct {
	h    histogram
	desc *prometheus.Desc // nil when not exported to Prometheus
}

// NewHistogram registers a histogram with the given cutoffs, which must be
// strictly ascending (ResultRowCutoffs gives vttablet's for Results).
// promName must not end in _total and should carry its unit (rows, bytes).
func (r *Registry) NewHistogram(name, promName, help string, cutoffs []int64) *Histogram {
	if len(cutoffs) == 0 {
		panic(fmt.Sprintf("debugvars: variable %q: histogram needs at least one cutoff", name))
	}
	for i := 1; i < len(cutoffs); i++ {
		if cutoffs[i] <= cutoffs[i-1] {
			panic(fmt.Sprintf("debugvars: variable %q: cutoffs %v are not strictly ascending", name, cutoffs))
		}
	}
	h := &Histogram{desc: promSpec{name: promName, help: help, kind: promHistogram}.desc(name)}
	h.h.init(slices.Clone(cutoffs))
	v := &histogramVar{h}
	var pc prometheus.Collector
	if h.desc != nil {
		pc = v
	}
	r.register(name, v, pc)
	return h
}

// Add records one value.
func (h *Histogram) Add(v int64) {
	h.h.add(v)
}

// Count returns the number of values recorded.
func (h *Histogram) Count() int64 {
	return h.h.count()
}

// Total returns the sum of the values recorded.
func (h *Histogram) Total() int64 {
	return h.h.total()
}

// histogramVar publishes a Histogram without adding collector methods to
// its exported API.
type histogramVar struct {
	h *Histogram
}

func (v *histogramVar) appendJSON(b []byte) []byte {
	return v.h.h.snapshot().appendJSON(b, v.h.h.cutoffs, "Count", "Total")
}

// Describe implements prometheus.Collector.
func (v *histogramVar) Describe(ch chan<- *prometheus.Desc) {
	ch <- v.h.desc
}

// Collect implements prometheus.Collector.
func (v *histogramVar) Collect(ch chan<- prometheus.Metric) {
	ch <- v.h.h.snapshot().metric(v.h.desc, v.h.h.cutoffs, false, nil)
}
