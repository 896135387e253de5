package debugpages

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/tabletd/tablet/health"
	"github.com/tabletd/tablet/pools"
	"github.com/tabletd/tablet/queryserver"
)

// fakeEngine is an engine with fixed contents that records kills. It is
// for tests only.
type fakeEngine struct {
	stats   []queryserver.QueryStat
	plans   []*queryserver.Plan
	cons    []queryserver.ConsolidationStat
	state   queryserver.ServingState
	target  queryserver.Target
	mu      sync.Mutex // guards the fields below
	streams []queryserver.StreamQueryInfo
	killed  []int64
}

func (f *fakeEngine) QueryStats() []queryserver.QueryStat             { return slices.Clone(f.stats) }
func (f *fakeEngine) Plans() []*queryserver.Plan                      { return f.plans }
func (f *fakeEngine) Consolidations() []queryserver.ConsolidationStat { return f.cons }
func (f *fakeEngine) ServingState() (queryserver.ServingState, queryserver.Target) {
	return f.state, f.target
}

func (f *fakeEngine) StreamQueries() []queryserver.StreamQueryInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.streams)
}

// KillStreamQuery removes a running stream and records its id; an unknown
// id fails with CodeNotFound, as the engine's does.
func (f *fakeEngine) KillStreamQuery(id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.streams, func(q queryserver.StreamQueryInfo) bool { return q.ID == id })
	if i < 0 {
		return &queryserver.Error{Code: queryserver.CodeNotFound, Message: "no streaming query is running with that id"}
	}
	f.streams = slices.Delete(f.streams, i, i+1)
	f.killed = append(f.killed, id)
	return nil
}

func (f *fakeEngine) kills() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.killed)
}

// fakeFeed is an event log held in a slice, with subscribers that tests
// publish to. subscribed and stopped receive a value at each Subscribe
// and each stop, so that tests wait for them instead of sleeping.
type fakeFeed[T any] struct {
	subscribed chan struct{}
	stopped    chan struct{}

	mu     sync.Mutex // guards the fields below
	recent []T
	subs   map[chan T]bool
}

func newFakeFeed[T any](recent ...T) *fakeFeed[T] {
	return &fakeFeed[T]{
		subscribed: make(chan struct{}, 16), stopped: make(chan struct{}, 16),
		recent: recent, subs: map[chan T]bool{},
	}
}

// Recent returns the last n records, oldest first, as EventLog does.
func (f *fakeFeed[T]) Recent(n int) []T {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n <= 0 || n > len(f.recent) {
		n = len(f.recent)
	}
	return slices.Clone(f.recent[len(f.recent)-n:])
}

func (f *fakeFeed[T]) Subscribe() (<-chan T, func()) {
	ch := make(chan T, 64)
	f.mu.Lock()
	f.subs[ch] = true
	f.mu.Unlock()
	f.subscribed <- struct{}{}
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			f.mu.Lock()
			if f.subs[ch] { // else end closed it
				delete(f.subs, ch)
				close(ch)
			}
			f.mu.Unlock()
			f.stopped <- struct{}{}
		})
	}
}

// publish offers rec to every subscriber.
func (f *fakeFeed[T]) publish(rec T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recent = append(f.recent, rec)
	for ch := range f.subs {
		ch <- rec
	}
}

// end closes every subscription, as the engine's Close does.
func (f *fakeFeed[T]) end() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		delete(f.subs, ch)
		close(ch)
	}
}

// fakeHealth is a health checker with a fixed status.
type fakeHealth struct{ st health.Status }

func (f *fakeHealth) Status() health.Status { return f.st }
func (f *fakeHealth) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	_, _ = w.Write([]byte("ok\n"))
}

// fakeSchema is a fixed schema snapshot.
type fakeSchema struct{ snap SchemaSnapshot }

func (f *fakeSchema) Schema() SchemaSnapshot { return f.snap }

// fakePool is a pool with fixed statistics.
type fakePool struct {
	name  string
	stats pools.Stats
}

func (p fakePool) Name() string       { return p.name }
func (p fakePool) Stats() pools.Stats { return p.stats }

// fakes are the sources of a test server.
type fakes struct {
	engine   *fakeEngine
	queryLog *fakeFeed[*queryserver.QueryLogEntry]
	txLog    *fakeFeed[*queryserver.TxLogEntry]
	health   *fakeHealth
	schema   *fakeSchema
	pools    []poolStats
	status   StatusFunc
	pprof    bool
}

// serve mounts the pages over f on a fresh mux and serves them on a
// loopback port until the test ends. Nil fakes leave their pages out.
func (f fakes) serve(t *testing.T) *httptest.Server {
	t.Helper()
	s := &server{status: f.status, pprof: f.pprof}
	if f.engine != nil {
		s.engine, s.queryLog, s.txLog = f.engine, f.queryLog, f.txLog
	}
	if f.health != nil {
		s.health = f.health
	}
	if f.schema != nil {
		s.schema = f.schema
	}
	if f.pools != nil {
		s.pools = func() []poolStats { return f.pools }
	}
	mux := http.NewServeMux()
	s.mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// httptestServer serves h on a loopback port until the test ends and
// returns its URL.
func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
