package debugvars

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Counter is a count that only goes up. It is safe for concurrent use and
// never locks or allocates. Get one from Registry.NewCounter or from
// CountersWithLabels.Handle; a zero Counter works but is published nowhere.
type Counter struct {
	v atomic.Int64
}

// Add adds n to the counter. It panics if n is negative.
func (c *Counter) Add(n int64) {
	if n < 0 {
		panicNegative(n)
	}
	c.v.Add(n)
}

// Get returns the current count.
func (c *Counter) Get() int64 {
	return c.v.Load()
}

// CounterDuration is a cumulative duration, such as total time spent
// waiting. It renders as nanoseconds on /debug/vars and seconds on /metrics.
// It is safe for concurrent use and never locks or allocates. Get one from
// Registry.NewCounterDuration or CountersDurationWithLabels.Handle.
type CounterDuration struct {
	v atomic.Int64
}

// Add adds d to the total. It panics if d is negative.
func (c *CounterDuration) Add(d time.Duration) {
	if d < 0 {
		panicNegative(int64(d))
	}
	c.v.Add(int64(d))
}

// Get returns the current total.
func (c *CounterDuration) Get() time.Duration {
	return time.Duration(c.v.Load())
}

// panicNegative is kept out of line so Add stays small enough to inline.
//
//go:noinline
func panicNegative(n int64) {
	panic(fmt.Sprintf("debugvars: counter cannot decrease: Add(%d)", n))
}

// Gauge is a value that goes up and down, such as a pool's capacity. It is
// safe for concurrent use and never locks or allocates. Get one from
// Registry.NewGauge.
type Gauge struct {
	v atomic.Int64
}

// Set sets the gauge to n.
func (g *Gauge) Set(n int64) {
	g.v.Store(n)
}

// Add adds n, which may be negative, to the gauge.
func (g *Gauge) Add(n int64) {
	g.v.Add(n)
}

// Get returns the current value.
func (g *Gauge) Get() int64 {
	return g.v.Load()
}

// scalar is a variable holding one number, read through a function.
type scalar struct {
	desc    *prometheus.Desc     // nil when not exported to Prometheus
	typ     prometheus.ValueType // counter or gauge
	seconds bool                 // read returns nanoseconds; export seconds
	read    func() int64
}

func (s *scalar) appendJSON(b []byte) []byte {
	return strconv.AppendInt(b, s.read(), 10)
}

// Describe implements prometheus.Collector.
func (s *scalar) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.desc
}

// Collect implements prometheus.Collector.
func (s *scalar) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(s.desc, s.typ, toFloat(s.read(), s.seconds))
}

// toFloat converts a recorded value to its Prometheus value: seconds for
// durations held in nanoseconds, the value itself otherwise.
func toFloat(v int64, seconds bool) float64 {
	if seconds {
		return time.Duration(v).Seconds()
	}
	return float64(v)
}

// addScalar registers a scalar variable read through f.
func (r *Registry) addScalar(name string, spec promSpec, f func() int64) {
	if f == nil {
		panic(fmt.Sprintf("debugvars: variable %q: function is nil", name))
	}
	s := &scalar{desc: spec.desc(name), seconds: spec.seconds, read: f, typ: prometheus.GaugeValue}
	if spec.kind == promCounter {
		s.typ = prometheus.CounterValue
	}
	var c prometheus.Collector
	if s.desc != nil {
		c = s
	}
	r.register(name, s, c)
}

// NewCounter registers and returns a counter. name is its /debug/vars name;
// promName, which must end in _total, and help describe it on /metrics
// (promName "" publishes it on /debug/vars only).
func (r *Registry) NewCounter(name, promName, help string) *Counter {
	c := new(Counter)
	r.addScalar(name, promSpec{name: promName, help: help, kind: promCounter}, c.Get)
	return c
}

// NewCounterDuration registers and returns a cumulative duration.
// promName must end in _seconds_total.
func (r *Registry) NewCounterDuration(name, promName, help string) *CounterDuration {
	c := new(CounterDuration)
	r.addScalar(name, promSpec{name: promName, help: help, kind: promCounter, seconds: true}, c.v.Load)
	return c
}

// NewCounterFunc registers a counter whose value f returns when read, for a
// count kept elsewhere (a pool's wait count). f must be safe for concurrent
// use, fast, and never decrease. promName must end in _total.
func (r *Registry) NewCounterFunc(name, promName, help string, f func() int64) {
	r.addScalar(name, promSpec{name: promName, help: help, kind: promCounter}, f)
}

// NewCounterDurationFunc registers a cumulative duration that f returns
// when read (a pool's total wait time). promName must end in
// _seconds_total.
func (r *Registry) NewCounterDurationFunc(name, promName, help string, f func() time.Duration) {
	if f == nil {
		panic(fmt.Sprintf("debugvars: variable %q: function is nil", name))
	}
	r.addScalar(name, promSpec{name: promName, help: help, kind: promCounter, seconds: true},
		func() int64 { return int64(f()) })
}

// NewGauge registers and returns a gauge. promName must not end in _total.
func (r *Registry) NewGauge(name, promName, help string) *Gauge {
	g := new(Gauge)
	r.addScalar(name, promSpec{name: promName, help: help, kind: promGauge}, g.Get)
	return g
}

// NewGaugeFunc registers a gauge whose value f computes when read (a pool's
// available connections). f must be safe for concurrent use and fast.
func (r *Registry) NewGaugeFunc(name, promName, help string, f func() int64) {
	r.addScalar(name, promSpec{name: promName, help: help, kind: promGauge}, f)
}

// NewGaugeDurationFunc registers a duration gauge computed by f when read
// (a pool's idle timeout): nanoseconds on /debug/vars, seconds on /metrics.
// promName must end in _seconds.
func (r *Registry) NewGaugeDurationFunc(name, promName, help string, f func() time.Duration) {
	if f == nil {
		panic(fmt.Sprintf("debugvars: variable %q: function is nil", name))
	}
	r.addScalar(name, promSpec{name: promName, help: help, kind: promGauge, seconds: true},
		func() int64 { return int64(f()) })
}
