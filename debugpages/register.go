package debugpages

import (
	"html/template"
	"log/slog"
	"net/http"
	"net/http/pprof"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/health"
	"github.com/tabletd/tablet/pools"
	"github.com/tabletd/tablet/queryserver"
)

// Vars serves a registry's variables; *debugvars.Registry satisfies it.
type Vars interface {
	// VarsHandler serves /debug/vars.
	VarsHandler() http.Handler
	// MetricsHandler serves /metrics.
	MetricsHandler() http.Handler
}

// Engine is what the pages read from the query engine;
// *queryserver.Engine satisfies it. Every method must be safe for
// concurrent use and must not block on queries.
type Engine interface {
	// QueryStats returns the statistics of each normalized query.
	QueryStats() []queryserver.QueryStat
	// Plans returns the cached plans.
	Plans() []*queryserver.Plan
	// Consolidations returns the consolidated queries, most recent first.
	Consolidations() []queryserver.ConsolidationStat
	// StreamQueries returns the running streaming queries.
	StreamQueries() []queryserver.StreamQueryInfo
	// KillStreamQuery kills the streaming query with the given id.
	KillStreamQuery(id int64) error
	// QueryLog returns the log of recent queries.
	QueryLog() *queryserver.EventLog[*queryserver.QueryLogEntry]
	// TxLog returns the log of recently ended transactions.
	TxLog() *queryserver.EventLog[*queryserver.TxLogEntry]
	// ServingState returns what the engine accepts, and its target.
	ServingState() (queryserver.ServingState, queryserver.Target)
}

// Health is the tablet's health checker; *health.Checker satisfies it. It
// serves /debug/health itself.
type Health interface {
	http.Handler
	// Status returns the published health.
	Status() health.Status
}

// Pools lists the MySQL connection pools; *pools.Set satisfies it.
type Pools interface {
	Pools() []*pools.Pool[*pools.DBConn]
}

// Schema reports the tablet's tables; *TableStats satisfies it.
type Schema interface {
	// Schema returns the latest snapshot. It must be fast.
	Schema() SchemaSnapshot
}

// Sources are what the pages show. Each may be nil (false for
// EnablePprof): the pages that need it are then not mounted.
type Sources struct {
	// Vars mounts /debug/vars and /metrics.
	Vars Vars
	// Engine mounts /queryz, /debug/query_stats, /debug/query_plans,
	// /querylogz, /debug/querylog, /txlogz, /debug/txlog,
	// /consolidations and /streamqueryz.
	Engine Engine
	// Health mounts /debug/health.
	Health Health
	// Pools adds the pools to /debug/status.
	Pools Pools
	// Schema mounts /schemaz and /debug/schema.
	Schema Schema
	// Status gives /debug/status the tablet's identity and role; nil shows
	// the page without them. It is called on every view and must be fast.
	Status StatusFunc
	// EnablePprof mounts Go's profiler under /debug/pprof/. Profiles cost
	// CPU while they run and show the process's internals: enable it only
	// where the HTTP port is private (vttablet's --pprof-http).
	EnablePprof bool
	// Logger receives template failures and operator kills; nil discards.
	Logger *slog.Logger
}

// Register mounts the pages on mux, each under the path listed in the
// package documentation, and a redirect from "/" to /debug/status. It
// panics, as ServeMux does, if a path is already registered on mux.
func Register(mux *http.ServeMux, src Sources) {
	s := &server{
		vars:   src.Vars,
		health: src.Health,
		schema: src.Schema,
		status: src.Status,
		logger: src.Logger,
	}
	if src.Engine != nil {
		s.engine = src.Engine
		s.queryLog = eventFeed[*queryserver.QueryLogEntry]{src.Engine.QueryLog()}
		s.txLog = eventFeed[*queryserver.TxLogEntry]{src.Engine.TxLog()}
	}
	if src.Pools != nil {
		s.pools = func() []poolStats {
			ps := src.Pools.Pools()
			out := make([]poolStats, len(ps))
			for i, p := range ps {
				out[i] = p
			}
			return out
		}
	}
	s.pprof = src.EnablePprof
	s.mount(mux)
}

// engine is Engine without its logs, which the pages read as feeds.
type engine interface {
	QueryStats() []queryserver.QueryStat
	Plans() []*queryserver.Plan
	Consolidations() []queryserver.ConsolidationStat
	StreamQueries() []queryserver.StreamQueryInfo
	KillStreamQuery(id int64) error
	ServingState() (queryserver.ServingState, queryserver.Target)
}

// poolStats is one pool as the status page shows it.
type poolStats interface {
	Name() string
	Stats() pools.Stats
}

// feed is an event log as the pages read it: the recent records, and a
// live subscription that stop ends (closing the channel).
type feed[T any] interface {
	Recent(n int) []T
	Subscribe() (records <-chan T, stop func())
}

// eventFeed adapts a queryserver.EventLog to feed.
type eventFeed[T any] struct{ log *queryserver.EventLog[T] }

func (f eventFeed[T]) Recent(n int) []T { return f.log.Recent(n) }

func (f eventFeed[T]) Subscribe() (<-chan T, func()) {
	s := f.log.Subscribe()
	return s.C, s.Close
}

// server holds the sources; its fields are set before mount and never
// change, so handlers read them without locks.
type server struct {
	vars     Vars
	health   Health
	schema   Schema
	status   StatusFunc
	engine   engine                           // nil: no engine pages
	queryLog feed[*queryserver.QueryLogEntry] // set with engine
	txLog    feed[*queryserver.TxLogEntry]    // set with engine
	pools    func() []poolStats               // nil: no pools section
	pprof    bool
	logger   *slog.Logger

	templates map[string]*template.Template // parsed by mount
}

// link is one entry of the navigation bar and of the status page's list.
type link struct {
	Path string
	Name string
	Help string
}

// mount registers every page whose source is set.
func (s *server) mount(mux *http.ServeMux) {
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.templates = parseTemplates()
	get := func(path string, h http.HandlerFunc) { mux.Handle("GET "+path, h) }

	get("/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/debug/status", http.StatusFound)
	})
	get("/debug/status", s.serveStatus)
	if s.vars != nil {
		mux.Handle("GET /debug/vars", s.vars.VarsHandler())
		mux.Handle("GET /metrics", s.vars.MetricsHandler())
	}
	if s.health != nil {
		mux.Handle("GET /debug/health", s.health)
	}
	if s.engine != nil {
		get("/queryz", s.serveQueryz)
		get("/debug/query_stats", s.serveQueryStats)
		get("/debug/query_plans", s.serveQueryPlans)
		get("/querylogz", s.serveQuerylogz)
		get("/debug/querylog", s.serveQueryLogStream)
		get("/txlogz", s.serveTxlogz)
		get("/debug/txlog", s.serveTxLogStream)
		get("/consolidations", s.serveConsolidations)
		get("/streamqueryz", s.serveStreamqueryz)
		// POST only: the mux answers any other method with 405. Browsers
		// mark a cross-site form post, which is refused with 403.
		mux.Handle("POST /streamqueryz/terminate",
			http.NewCrossOriginProtection().Handler(http.HandlerFunc(s.serveTerminate)))
	}
	if s.schema != nil {
		get("/schemaz", s.serveSchemaz)
		get("/debug/schema", s.serveSchemaJSON)
	}
	if s.pprof {
		// net/http/pprof also registers these on http.DefaultServeMux
		// when imported; the tablet never serves that mux.
		get("/debug/pprof/", pprof.Index)
		get("/debug/pprof/cmdline", serveCmdline)
		get("/debug/pprof/profile", pprof.Profile)
		get("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
		get("/debug/pprof/trace", pprof.Trace)
	}
}

// links returns the pages mounted, for navigation.
func (s *server) links() []link {
	ls := []link{{"/debug/status", "status", "this page"}}
	if s.vars != nil {
		ls = append(ls,
			link{"/debug/vars", "vars", "every variable as JSON"},
			link{"/metrics", "metrics", "the variables for Prometheus"})
	}
	if s.health != nil {
		ls = append(ls, link{"/debug/health", "health", `"ok" or "not ok", for load balancers`})
	}
	if s.engine != nil {
		ls = append(ls,
			link{"/queryz", "queryz", "statistics per normalized query"},
			link{"/debug/query_stats", "query_stats", "the same as JSON"},
			link{"/debug/query_plans", "query_plans", "the plan cache as JSON"},
			link{"/querylogz", "querylogz", "the most recent queries"},
			link{"/debug/querylog", "querylog", "a stream of every query from now on, JSON lines"},
			link{"/txlogz", "txlogz", "the most recently ended transactions"},
			link{"/debug/txlog", "txlog", "a stream of every ended transaction, JSON lines"},
			link{"/consolidations", "consolidations", "queries served by sharing another caller's execution"},
			link{"/streamqueryz", "streamqueryz", "running streaming queries, with a kill action"})
	}
	if s.schema != nil {
		ls = append(ls,
			link{"/schemaz", "schemaz", "tables with their sizes and columns"},
			link{"/debug/schema", "schema", "the same as JSON"})
	}
	if s.pprof {
		ls = append(ls, link{"/debug/pprof/", "pprof", "Go's profiler"})
	}
	return ls
}

// The tablet's own types are the sources; these fail the build if one
// drifts from its interface.
var (
	_ Vars   = (*debugvars.Registry)(nil)
	_ Engine = (*queryserver.Engine)(nil)
	_ Health = (*health.Checker)(nil)
	_ Pools  = (*pools.Set)(nil)
	_ Schema = (*TableStats)(nil)
)
