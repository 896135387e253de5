package debugvars

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// variable is one entry of /debug/vars.
type variable interface {
	// appendJSON appends the variable's current value as JSON to b.
	appendJSON(b []byte) []byte
}

// Names of the standard variables every /debug/vars page carries.
const (
	cmdlineName  = "cmdline"
	memstatsName = "memstats"
)

// Registry holds a set of named variables and serves them on /debug/vars and
// /metrics. Create one with New; the zero value is not usable. All methods
// are safe for concurrent use. Registration methods panic on a programmer's
// mistake (see the package documentation).
type Registry struct {
	prom *prometheus.Registry // private; never the default registerer

	mu   sync.RWMutex
	vars map[string]variable // guarded by mu
}

// New returns an empty registry whose Prometheus side already holds the Go
// runtime and process collectors. It starts no goroutines.
func New() *Registry {
	r := &Registry{
		prom: prometheus.NewRegistry(),
		vars: make(map[string]variable),
	}
	r.prom.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return r
}

// register adds v under name and, when c is not nil, c to the Prometheus
// registry. It panics if name is empty, reserved or taken, or if Prometheus
// refuses c.
func (r *Registry) register(name string, v variable, c prometheus.Collector) {
	if name == "" {
		panic("debugvars: variable name is empty")
	}
	if name == cmdlineName || name == memstatsName {
		panic(fmt.Sprintf("debugvars: variable name %q is reserved for the standard variable", name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.vars[name]; ok {
		panic(fmt.Sprintf("debugvars: variable %q registered twice", name))
	}
	if c != nil {
		if err := r.prom.Register(c); err != nil {
			panic(fmt.Sprintf("debugvars: register variable %q with prometheus: %v", name, err))
		}
	}
	r.vars[name] = v
}

// Get returns the current value of the variable registered under name,
// rendered as it appears on /debug/vars, and whether such a variable exists.
// The standard variables cmdline and memstats are not registered variables.
func (r *Registry) Get(name string) (json.RawMessage, bool) {
	r.mu.RLock()
	v, ok := r.vars[name]
	r.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return v.appendJSON(nil), true
}

// snapshot returns the registered variables sorted by name. Values are read
// later, without holding mu, so a function variable may use the registry.
func (r *Registry) snapshot() []namedVar {
	r.mu.RLock()
	vs := make([]namedVar, 0, len(r.vars)+2)
	for name, v := range r.vars {
		vs = append(vs, namedVar{name, v})
	}
	r.mu.RUnlock()
	vs = append(vs, namedVar{cmdlineName, jsonFunc(func() any { return RedactArgs(os.Args) })})
	vs = append(vs, namedVar{memstatsName, jsonFunc(func() any {
		ms := new(runtime.MemStats)
		runtime.ReadMemStats(ms)
		return ms
	})})
	slices.SortFunc(vs, func(a, b namedVar) int { return strings.Compare(a.name, b.name) })
	return vs
}

type namedVar struct {
	name string
	v    variable
}

// appendVars appends the whole /debug/vars document to b, one variable per
// line as expvar lays it out.
func (r *Registry) appendVars(b []byte) []byte {
	b = append(b, "{\n"...)
	for i, nv := range r.snapshot() {
		if i > 0 {
			b = append(b, ",\n"...)
		}
		b = appendJSONString(b, nv.name)
		b = append(b, ": "...)
		b = nv.v.appendJSON(b)
	}
	return append(b, "\n}\n"...)
}

// VarsHandler returns the /debug/vars handler: one JSON object holding
// cmdline, memstats and every registered variable, keys sorted.
func (r *Registry) VarsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(r.appendVars(make([]byte, 0, 16<<10)))
	})
}

// MetricsHandler returns the /metrics handler serving this registry's
// Prometheus side. Values are converted when scraped. A sample that cannot
// be produced (a gauge function returning a key with too few labels) is
// left out rather than failing the whole scrape.
func (r *Registry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(r.prom, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Gatherer returns the registry's private Prometheus gatherer, for tests
// (testutil.GatherAndCompare) and for serving /metrics some other way.
func (r *Registry) Gatherer() prometheus.Gatherer {
	return r.prom
}

// PublishJSONFunc registers a variable whose value is f's result encoded
// with encoding/json, computed each time the variable is read, for example
// the tablet's identity and serving state as a small object. The variable
// appears only on /debug/vars. f must be safe for concurrent use. If the
// result cannot be encoded, the variable renders as a JSON string holding
// the error.
func (r *Registry) PublishJSONFunc(name string, f func() any) {
	if f == nil {
		panic(fmt.Sprintf("debugvars: variable %q: function is nil", name))
	}
	r.register(name, jsonFunc(f), nil)
}

// jsonFunc is a variable computed by a function and encoded as JSON.
type jsonFunc func() any

func (f jsonFunc) appendJSON(b []byte) []byte {
	v, err := json.Marshal(f())
	if err != nil {
		return appendJSONString(b, fmt.Sprintf("encode variable: %v", err))
	}
	return append(b, v...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	v, err := json.Marshal(s)
	if err != nil {
		// A Go string always encodes; invalid UTF-8 becomes U+FFFD.
		panic(fmt.Sprintf("debugvars: encode string: %v", err))
	}
	return append(b, v...)
}
