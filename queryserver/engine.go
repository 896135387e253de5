package queryserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/pools"
)

// TabletType is the tablet's role, numbered as Vitess's
// topodata.TabletType so that the gRPC layer converts with a cast.
type TabletType int32

// The tablet types the engine distinguishes; others may be used too.
const (
	TabletUnknown TabletType = 0
	TabletPrimary TabletType = 1
	TabletReplica TabletType = 2
	TabletRdonly  TabletType = 3
)

// String returns Vitess's name for t.
func (t TabletType) String() string {
	switch t {
	case TabletUnknown:
		return "UNKNOWN"
	case TabletPrimary:
		return "PRIMARY"
	case TabletReplica:
		return "REPLICA"
	case TabletRdonly:
		return "RDONLY"
	}
	return fmt.Sprintf("TabletType(%d)", int32(t))
}

// Target is what a request expects the tablet to be, as Vitess's
// query.Target. A request whose target differs from the engine's fails
// with ErrWrongTarget.
type Target struct {
	Keyspace   string     // the keyspace the tablet serves
	Shard      string     // its shard, such as "0" or "-80"
	TabletType TabletType // its role: PRIMARY, REPLICA, RDONLY
}

// String returns "keyspace/shard TYPE".
func (t Target) String() string { return t.Keyspace + "/" + t.Shard + " " + t.TabletType.String() }

// ServingState is what the engine accepts.
type ServingState int

// The serving states.
const (
	// StateNotServing accepts only Commit, Rollback and Release of
	// existing transactions and reserved connections. Engines start here.
	StateNotServing ServingState = iota
	// StateServing accepts everything.
	StateServing
	// StateShuttingDown (lameduck) refuses new work but lets existing
	// transactions and reserved connections run queries and end.
	StateShuttingDown
)

// String returns the state's name as vttablet prints it.
func (s ServingState) String() string {
	switch s {
	case StateNotServing:
		return "NOT_SERVING"
	case StateServing:
		return "SERVING"
	case StateShuttingDown:
		return "SHUTTING_DOWN"
	}
	return fmt.Sprintf("ServingState(%d)", int(s))
}

// Caller identifies who sent a request: the effective caller (Vitess's
// vtrpc.CallerID) and the immediate caller (VTGateCallerID). The gRPC layer
// puts it in the request's context with WithCaller.
type Caller struct {
	Principal    string // effective caller: who the request is for
	Component    string // effective caller: the application component
	Subcomponent string // effective caller: the part of the component
	Username     string // immediate caller: who sent it (the gateway's user)
}

// user is the name statistics count the caller under: the immediate
// caller's username, else the effective principal.
func (c Caller) user() string {
	if c.Username != "" {
		return c.Username
	}
	return c.Principal
}

type callerKey struct{}

// WithCaller returns a copy of ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFromContext returns the caller WithCaller put in ctx, or the zero
// Caller.
func CallerFromContext(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// ExecuteOptions are per-request options, a subset of Vitess's
// query.ExecuteOptions. A nil *ExecuteOptions means the defaults.
type ExecuteOptions struct {
	// SkipQueryPlanCache builds the statement's plan without caching it,
	// for one-off statements that would only evict useful plans.
	SkipQueryPlanCache bool
}

// Engine is the query service: it plans statements, runs them through the
// tablet's MySQL pools under time budgets it enforces by killing, keeps
// transactions and reserved connections, consolidates identical reads and
// records statistics. Its methods map one to one onto Vitess's
// queryservice.Query RPCs and are safe for concurrent use.
//
// Life: New builds it, Open starts its transaction killer, SetServingState
// lets it serve, Close drains and stops it. The pools it is given must be
// open before Open and closed after Close; the engine never opens or
// closes them.
type Engine struct {
	cfg    Config
	pools  *pools.Set
	logger *slog.Logger

	stats    *stats
	plans    *planCache
	cons     *consolidator
	txs      *txEngine
	streams  *streamRegistry
	queryLog *EventLog[*QueryLogEntry]
	txLog    *EventLog[*TxLogEntry]

	connWait, streamWait, txWait waitEstimator

	// lifeCtx is the engine's owner-lifetime context: Close cancels it when
	// draining gives up, which kills every statement still running.
	lifeCtx    context.Context
	lifeCancel context.CancelFunc

	workers    sync.WaitGroup // background goroutines (the transaction killer)
	stopWorker chan struct{}  // closed by Close to stop them
	closeOnce  sync.Once
	closeErr   error

	// primary mirrors target.TabletType == TabletPrimary for the
	// consolidator's replicas-only check, read without mu on every query.
	primary atomic.Bool

	mu       sync.Mutex // guards the fields below
	state    ServingState
	target   Target
	opened   bool
	closing  bool // Close has begun: no new work whatever the state
	closed   bool // Close has drained: nothing at all
	inflight int
	changed  chan struct{} // one slot: a request ended or a session closed, for Close's wait
}

// New builds an engine over set (whose pools it uses: Conn for queries,
// Stream for StreamExecute, Tx for transactions and reserved connections,
// DBA for kills) and registers its variables, and the pools' variables, in
// vars. It starts nothing. It panics if cfg is invalid (call Validate
// first), if set or vars is nil, or if the variables are already
// registered in vars: one engine per registry.
func New(cfg Config, set *pools.Set, vars *debugvars.Registry, logger *slog.Logger) *Engine {
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("queryserver.New: invalid config: %v", err))
	}
	if set == nil || vars == nil {
		panic("queryserver.New: nil pools or registry")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		cfg:        cfg,
		pools:      set,
		logger:     logger,
		stats:      newStats(vars, cfg.StatsLabelLimit),
		plans:      newPlanCache(cfg.PlanCacheCapacity),
		cons:       newConsolidator(cfg.ConsolidatorMaxWaiters, cfg.ConsolidatorMaxResultBytes),
		streams:    newStreamRegistry(),
		queryLog:   newEventLog[*QueryLogEntry](cfg.QueryLogSize, 1000),
		txLog:      newEventLog[*TxLogEntry](cfg.TxLogSize, 100),
		stopWorker: make(chan struct{}),
		changed:    make(chan struct{}, 1),
	}
	e.txs = newTxEngine(e)
	e.lifeCtx, e.lifeCancel = context.WithCancel(context.Background())
	e.registerGauges(vars)
	registerPoolVars(vars, set)
	return e
}

func (e *Engine) registerGauges(r *debugvars.Registry) {
	r.NewGaugeFunc("QueryPlanCacheSize", "tablet_query_plan_cache_entries",
		"Query plans in the plan cache.", func() int64 { return int64(e.plans.size()) })
	r.NewGaugeFunc("QueryPlanCacheCapacity", "tablet_query_plan_cache_capacity_entries",
		"Most query plans the plan cache keeps.", func() int64 { return int64(e.plans.cap()) })
	r.NewCounterFunc("QueryPlanCacheHits", "tablet_query_plan_cache_hits_total",
		"Plan cache lookups that found the plan.", e.plans.hits.Load)
	r.NewCounterFunc("QueryPlanCacheMisses", "tablet_query_plan_cache_misses_total",
		"Plan cache lookups that had to parse the statement.", e.plans.misses.Load)
	r.NewCounterFunc("QueryPlanCacheEvictions", "tablet_query_plan_cache_evictions_total",
		"Plans evicted from the plan cache to make room.", e.plans.evictions.Load)
	r.NewGaugeFunc("OpenTransactions", "tablet_open_transactions",
		"Transactions open now.", func() int64 { n, _ := e.txs.counts(); return int64(n) })
	r.NewGaugeFunc("ReservedConnections", "tablet_reserved_connections",
		"Reserved connections held now, in or out of a transaction.", func() int64 { _, n := e.txs.counts(); return int64(n) })
	r.NewGaugeFunc("StreamQueriesRunning", "tablet_stream_queries_running",
		"StreamExecute requests running now.", func() int64 { return int64(e.streams.count()) })
	r.NewGaugeFunc("ConsolidationsInFlight", "tablet_consolidations_in_flight",
		"Reads in flight that identical reads may join.", func() int64 { return int64(e.cons.inFlight()) })
}

// Open starts the engine's background work (the transaction killer). The
// engine then answers requests according to its serving state, which
// starts as StateNotServing. Open on an open engine does nothing; an engine
// cannot be opened again after Close.
func (e *Engine) Open() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closing:
		return errors.New("query engine: open after close")
	case e.opened:
		return nil
	}
	e.opened = true
	e.workers.Go(e.txs.runKiller)
	e.logger.Info("query engine open", "query_timeout", e.cfg.QueryTimeout.String(),
		"transaction_timeout", e.cfg.TransactionTimeout.String(), "max_result_rows", e.cfg.MaxResultRows,
		"consolidator", e.cfg.Consolidator)
	return nil
}

// SetServingState sets the tablet's target (keyspace, shard, type) and what
// the engine accepts. The tablet type decides the consolidator in
// replicas-only mode. It fails after Close has begun.
func (e *Engine) SetServingState(target Target, state ServingState) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		return errorf(CodeUnavailable, ErrNotServing, "query service is shutting down; cannot change its state to %v", state)
	}
	if e.state != state || e.target != target {
		e.logger.Info("query service state change", "from", e.state.String(), "to", state.String(), "target", target.String())
	}
	e.state, e.target = state, target
	e.primary.Store(target.TabletType == TabletPrimary)
	return nil
}

// ServingState returns the engine's state and target.
func (e *Engine) ServingState() (ServingState, Target) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		return StateShuttingDown, e.target
	}
	return e.state, e.target
}

// Close stops the engine. In order it (1) refuses new work; (2) waits,
// until ctx ends, for requests in flight to finish and for open
// transactions and reserved connections to end (the transaction killer
// still ends those past their timeout); (3) refuses everything, kills the
// statements still running and waits for their requests; (4) stops the
// transaction killer and waits for it; (5) rolls back and closes the
// transactions and reserved connections left; (6) ends the log
// subscriptions. It returns nil if everything ended by itself in (2), else
// an error saying what was cut short. Close is idempotent; the pools stay
// open for the caller to close.
func (e *Engine) Close(ctx context.Context) error {
	e.closeOnce.Do(func() { e.closeErr = e.close(ctx) })
	return e.closeErr
}

func (e *Engine) close(ctx context.Context) error {
	e.mu.Lock()
	e.closing = true
	opened := e.opened
	e.mu.Unlock()

	// (2) Drain gracefully.
	forced := e.drain(ctx)

	// (3) Refuse everything, kill what still runs and wait for it.
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.lifeCancel()
	for e.requestsInFlight() > 0 {
		<-e.changed
	}

	// (4) Stop the killer, so that it and (5) never end one session twice.
	close(e.stopWorker)
	e.workers.Wait()

	// (5) End what is left.
	if n := e.txs.closeAll("the query service shut down"); n > 0 {
		e.logger.Warn("rolled back transactions and reserved connections at shutdown", "count", n)
	}

	// (6) End subscriptions.
	e.queryLog.close()
	e.txLog.close()
	if opened {
		e.logger.Info("query engine closed", "forced", forced != nil)
	}
	return forced
}

// drain waits until no request is in flight and no transaction or
// reserved connection is open, or until ctx ends; then it returns an error
// saying what was left.
func (e *Engine) drain(ctx context.Context) error {
	for {
		busy, open := e.requestsInFlight(), e.txs.open()
		if busy == 0 && open == 0 {
			return nil
		}
		select {
		case <-e.changed:
		case <-ctx.Done():
			return fmt.Errorf("query engine closed with %d requests in flight and %d transactions or reserved connections open: %w",
				busy, open, context.Cause(ctx))
		}
	}
}

func (e *Engine) requestsInFlight() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.inflight
}

// access is what a request needs from the serving state.
type access int

const (
	accessNew     access = iota // new work: needs StateServing
	accessSession               // work on an existing session: StateServing or StateShuttingDown
	accessEnd                   // ending a session (Commit, Rollback, Release): any state
)

// enter checks the engine accepts a request of kind acc for target and
// counts it in flight; the caller must call e.exit when it ends.
func (e *Engine) enter(target *Target, acc access) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case !e.opened:
		return errorf(CodeUnavailable, ErrNotServing, "query service not open")
	case e.closed:
		return errorf(CodeUnavailable, ErrNotServing, "query service closed")
	}
	if target != nil && *target != e.target {
		return errorf(CodeFailedPrecondition, ErrWrongTarget, "wrong target: request for %v, this tablet is %v", *target, e.target)
	}
	state := e.state
	if e.closing {
		state = StateShuttingDown
	}
	switch {
	case acc == accessNew && state != StateServing:
		return errorf(CodeUnavailable, ErrNotServing, "query service not serving (state %v): new work refused", state)
	case acc == accessSession && state == StateNotServing:
		return errorf(CodeUnavailable, ErrNotServing, "query service not serving (state %v): only Commit, Rollback and Release are allowed", state)
	}
	e.inflight++
	return nil
}

// exit ends a request counted by enter.
func (e *Engine) exit() {
	e.mu.Lock()
	e.inflight--
	e.mu.Unlock()
	e.signal()
}

// signal wakes Close's wait, if any.
func (e *Engine) signal() {
	select {
	case e.changed <- struct{}{}:
	default:
	}
}

// consolidating reports whether reads may be consolidated now.
func (e *Engine) consolidating() bool {
	switch e.cfg.Consolidator {
	case ConsolidatorEnable:
		return true
	case ConsolidatorReplicasOnly:
		return !e.primary.Load()
	}
	return false
}

// getPlan returns the plan for sql from the cache, building and caching it
// on a miss (unless opts asks not to cache).
func (e *Engine) getPlan(sql string, opts *ExecuteOptions) (*Plan, error) {
	if p, ok := e.plans.get(sql); ok {
		return p, nil
	}
	p, err := BuildPlan(sql)
	if err != nil {
		return nil, err
	}
	p.statsTables = make([]string, 0, max(len(p.Tables), 1))
	for _, t := range p.Tables {
		p.statsTables = append(p.statsTables, e.stats.tables.label(t))
	}
	if len(p.statsTables) == 0 {
		p.statsTables = append(p.statsTables, "")
	}
	if opts == nil || !opts.SkipQueryPlanCache {
		e.plans.put(p)
	}
	return p, nil
}

// request is one call into the engine: what it reports to the statistics
// and the query log when it ends.
type request struct {
	e      *Engine
	method string
	caller Caller
	start  time.Time

	plan         *Plan
	key          string // the statement with its values, without margin comments
	txID         int64
	reservedID   int64
	connID       int64
	waitTime     time.Duration
	mysqlTime    time.Duration
	consolidated bool
	rowsReturned int64
	rowsAffected uint64
}

func (e *Engine) newRequest(ctx context.Context, method string) *request {
	return &request{e: e, method: method, caller: CallerFromContext(ctx), start: time.Now()}
}

// finish records the request: statistics for its statement (if it got as
// far as a plan), its error if any, and a query log entry. A panic in the
// request is recovered here and turned into an internal error in *errp.
func (r *request) finish(errp *error) {
	if p := recover(); p != nil {
		r.e.stats.internalErrors.Add(1, internalPanic)
		r.e.logger.Error("query engine request panicked", "method", r.method, "panic", p, "stack", string(debug.Stack()))
		*errp = errorf(CodeInternal, nil, "%s: internal error: %v", r.method, p)
	}
	err := *errp
	end := time.Now()
	if r.plan != nil {
		r.e.stats.recordQuery(&queryRecord{
			plan:         r.plan,
			user:         r.e.stats.users.label(r.caller.user()),
			elapsed:      end.Sub(r.start),
			mysqlTime:    r.mysqlTime,
			rowsReturned: r.rowsReturned,
			rowsAffected: int64(r.rowsAffected),
			err:          err,
		})
	}
	r.e.stats.recordError(err)
	if !r.e.queryLog.wanted() {
		return
	}
	entry := &QueryLogEntry{
		Method: r.method, Caller: r.caller, TransactionID: r.txID, ReservedID: r.reservedID,
		ConnID: r.connID, Start: r.start, End: end, WaitTime: r.waitTime, MysqlTime: r.mysqlTime,
		Consolidated: r.consolidated, RowsReturned: int(r.rowsReturned), RowsAffected: r.rowsAffected,
		Code: CodeOf(err),
	}
	if r.plan != nil {
		entry.SQL, entry.PlanType, entry.Tables = r.plan.SQL, r.plan.Type.String(), r.plan.Tables
	}
	if err != nil {
		entry.Error = err.Error()
	}
	r.e.queryLog.publish(entry)
}

// QueryLog returns the log of requests: recent ones and a live feed.
func (e *Engine) QueryLog() *EventLog[*QueryLogEntry] { return e.queryLog }

// TxLog returns the log of ended transactions and reserved connections.
func (e *Engine) TxLog() *EventLog[*TxLogEntry] { return e.txLog }

// QueryStats returns per-query statistics over the cached plans, grouped
// by normalized statement, most time-consuming first.
func (e *Engine) QueryStats() []QueryStat { return queryStats(e.plans.plans()) }

// Plans returns the cached plans, most recently used first.
func (e *Engine) Plans() []*Plan { return e.plans.plans() }

// SetPlanCacheCapacity changes the plan cache's capacity (at least 1),
// evicting at once if it shrinks.
func (e *Engine) SetPlanCacheCapacity(n int) error {
	if n < 1 {
		return fmt.Errorf("plan cache capacity must be at least 1, got %d", n)
	}
	e.plans.setCapacity(n)
	return nil
}

// Consolidations returns the queries most recently served by
// consolidation, most recent first, with how many callers each served
// that way (for /consolidations).
func (e *Engine) Consolidations() []ConsolidationStat { return e.cons.mru.list() }
