package queryserver

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/pools"
)

// Info and internal error categories, and kill kinds, as vttablet names
// them where it has the name.
const (
	infoDupKey = "DupKey"

	internalPanic      = "Panic"             // a request panicked; it was recovered
	internalHungQuery  = "HungQuery"         // a query survived KILL QUERY; its connection was killed
	internalKillFailed = "KillFailed"        // a KILL statement failed
	internalStrayTx    = "StrayTransactions" // transactions still open at Close, rolled back

	killQueries      = "Queries"
	killTransactions = "Transactions"

	txCompleted = "Completed"
	txAborted   = "Aborted"

	mysqlExec       = "Exec"
	mysqlExecStream = "ExecStream"

	otherLabel = "other" // a table or user name past the label limit
)

// stats holds the engine's variables, published in a debugvars registry
// under vttablet's names (see the package doc for the list).
type stats struct {
	queries      *debugvars.Timings
	results      *debugvars.Histogram
	mysqlExec    *debugvars.Timing
	mysqlStream  *debugvars.Timing
	txCompleted  *debugvars.Timing
	txAborted    *debugvars.Timing
	consolidated *debugvars.Timing

	errors         *debugvars.CountersWithLabels
	infoErrors     *debugvars.CountersWithLabels
	internalErrors *debugvars.CountersWithLabels
	killedQueries  *debugvars.Counter
	killedTxs      *debugvars.Counter
	consSkipped    *debugvars.CountersWithLabels

	queryCounts      *debugvars.CountersWithLabels
	queryErrorCounts *debugvars.CountersWithLabels
	queryRowCounts   *debugvars.CountersWithLabels
	queryTimes       *debugvars.CountersDurationWithLabels
	userTableCount   *debugvars.CountersWithLabels
	userTableTimes   *debugvars.CountersDurationWithLabels
	userTxCount      *debugvars.CountersWithLabels
	userTxTimes      *debugvars.CountersDurationWithLabels

	tables *labelLimiter
	users  *labelLimiter
}

// newStats registers the engine's variables in r. Gauges that read engine
// state are registered by the engine itself (registerGauges).
func newStats(r *debugvars.Registry, labelLimit int) *stats {
	s := &stats{
		tables: newLabelLimiter(labelLimit),
		users:  newLabelLimiter(labelLimit),
	}
	s.queries = r.NewTimings("Queries", "tablet_queries_duration_seconds",
		"Time spent serving queries, by plan type.", "plan")
	s.results = r.NewHistogram("Results", "tablet_query_result_rows",
		"Rows returned per query.", debugvars.ResultRowCutoffs())
	mysql := r.NewTimings("Mysql", "tablet_mysql_duration_seconds",
		"Time spent in MySQL, by kind of execution.", "kind")
	s.mysqlExec, s.mysqlStream = mysql.Handle(mysqlExec), mysql.Handle(mysqlExecStream)
	txs := r.NewTimings("Transactions", "tablet_transactions_duration_seconds",
		"Lifetime of transactions, by outcome.", "outcome")
	s.txCompleted, s.txAborted = txs.Handle(txCompleted), txs.Handle(txAborted)
	waits := r.NewTimings("Waits", "tablet_waits_duration_seconds",
		"Time spent waiting, by kind of wait.", "kind")
	s.consolidated = waits.Handle("Consolidations")

	s.errors = r.NewCountersWithLabels("Errors", "tablet_errors_total",
		"Failed requests, by error code.", []string{"code"})
	for c := CodeCanceled; c <= CodeUnauthenticated; c++ {
		s.errors.Handle(c.String())
	}
	s.infoErrors = r.NewCountersWithLabels("InfoErrors", "tablet_info_errors_total",
		"Errors that are normal for applications, such as duplicate keys, by category.", []string{"category"})
	s.infoErrors.Handle(infoDupKey)
	s.internalErrors = r.NewCountersWithLabels("InternalErrors", "tablet_internal_errors_total",
		"Unexpected conditions that may point to a bug, by category.", []string{"category"})
	for _, c := range []string{internalPanic, internalHungQuery, internalKillFailed, internalStrayTx} {
		s.internalErrors.Handle(c)
	}
	kills := r.NewCountersWithLabels("Kills", "tablet_kills_total",
		"Queries and transactions killed for exceeding a time limit, or on request.", []string{"kind"})
	s.killedQueries, s.killedTxs = kills.Handle(killQueries), kills.Handle(killTransactions)
	s.consSkipped = r.NewCountersWithLabels("ConsolidatorSkipped", "tablet_consolidator_skipped_total",
		"Consolidatable reads that ran on their own because a consolidator cap was reached, by cap.", []string{"cap"})
	s.consSkipped.Handle(capWaiters)
	s.consSkipped.Handle(capResultBytes)

	tp := []string{"table", "plan"}
	s.queryCounts = r.NewCountersWithLabels("QueryCounts", "tablet_table_queries_total",
		"Queries, by table and plan type.", tp)
	s.queryErrorCounts = r.NewCountersWithLabels("QueryErrorCounts", "tablet_table_query_errors_total",
		"Failed queries, by table and plan type.", tp)
	s.queryRowCounts = r.NewCountersWithLabels("QueryRowCounts", "tablet_table_query_rows_total",
		"Rows returned or affected by queries, by table and plan type.", tp)
	s.queryTimes = r.NewCountersDurationWithLabels("QueryTimesNs", "tablet_table_query_seconds_total",
		"Time spent serving queries, by table and plan type.", tp)
	tup := []string{"table", "user", "plan"}
	s.userTableCount = r.NewCountersWithLabels("UserTableQueryCount", "tablet_user_table_queries_total",
		"Queries, by table, calling user and plan type.", tup)
	s.userTableTimes = r.NewCountersDurationWithLabels("UserTableQueryTimesNs", "tablet_user_table_query_seconds_total",
		"Time spent serving queries, by table, calling user and plan type.", tup)
	uc := []string{"user", "conclusion"}
	s.userTxCount = r.NewCountersWithLabels("UserTransactionCount", "tablet_user_transactions_total",
		"Ended transactions, by calling user and conclusion.", uc)
	s.userTxTimes = r.NewCountersDurationWithLabels("UserTransactionTimesNs", "tablet_user_transaction_seconds_total",
		"Lifetime of ended transactions, by calling user and conclusion.", uc)
	return s
}

// queryRecord is what one request reports to the statistics.
type queryRecord struct {
	plan         *Plan
	user         string // label value, already bounded
	elapsed      time.Duration
	mysqlTime    time.Duration
	rowsReturned int64
	rowsAffected int64
	err          error
}

// recordQuery counts one statement execution under every view: by plan,
// by table and plan, by user, table and plan, and on the plan itself.
func (s *stats) recordQuery(r *queryRecord) {
	p := r.plan
	planName := p.Type.String()
	s.queries.Record(planName, r.elapsed)
	failed := r.err != nil
	if !failed && p.Type.returnsRows() {
		s.results.Add(r.rowsReturned)
	}
	rows := r.rowsReturned + r.rowsAffected
	for _, t := range p.statsTables {
		s.queryCounts.Add(1, t, planName)
		s.queryTimes.Add(r.elapsed, t, planName)
		if rows > 0 {
			s.queryRowCounts.Add(rows, t, planName)
		}
		if failed {
			s.queryErrorCounts.Add(1, t, planName)
		}
		s.userTableCount.Add(1, t, r.user, planName)
		s.userTableTimes.Add(r.elapsed, t, r.user, planName)
	}
	p.stats.record(r.elapsed, r.mysqlTime, r.rowsReturned, r.rowsAffected, failed)
}

// recordError counts a failed request under Errors by its code, except
// duplicate keys, which are normal for applications and go to InfoErrors.
func (s *stats) recordError(err error) {
	if err == nil {
		return
	}
	if e, ok := asError(err); ok && (e.Number == 1062 || e.Number == 1586) {
		s.infoErrors.Add(1, infoDupKey)
		return
	}
	s.errors.Add(1, CodeOf(err).String())
}

// recordTx counts an ended transaction.
func (s *stats) recordTx(user, conclusion string, d time.Duration) {
	if conclusion == conclusionCommit {
		s.txCompleted.Record(d)
	} else {
		s.txAborted.Record(d)
	}
	s.userTxCount.Add(1, user, conclusion)
	s.userTxTimes.Add(d, user, conclusion)
}

// labelLimiter bounds the distinct values of a statistics label: the first
// limit values seen pass, later new ones become "other". Lookups of known
// values take a read lock only.
type labelLimiter struct {
	limit int
	mu    sync.RWMutex // guards known
	known map[string]bool
}

func newLabelLimiter(limit int) *labelLimiter {
	return &labelLimiter{limit: limit, known: map[string]bool{}}
}

func (l *labelLimiter) label(v string) string {
	l.mu.RLock()
	ok := l.known[v]
	full := len(l.known) >= l.limit
	l.mu.RUnlock()
	if ok {
		return v
	}
	if full {
		return otherLabel
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.known[v] {
		return v
	}
	if len(l.known) >= l.limit {
		return otherLabel
	}
	l.known[v] = true
	return v
}

// QueryStat is the cumulative statistics of one normalized query, summed
// over the cached plans that normalize to it: the rows of /queryz and
// /debug/query_stats. Plans evicted from the cache take their counts with
// them, as in vttablet.
type QueryStat struct {
	Query        string        // normalized statement
	PlanType     string        // plan type
	Tables       []string      // tables it names
	Count        int64         // executions
	Time         time.Duration // total time serving it
	MysqlTime    time.Duration // total time in MySQL
	RowsReturned int64         // rows in results
	RowsAffected int64         // rows changed
	Errors       int64         // failed executions
}

// queryStats aggregates the plans' statistics by normalized text, most
// time-consuming first.
func queryStats(plans []*Plan) []QueryStat {
	byQuery := map[string]*QueryStat{}
	var order []*QueryStat
	for _, p := range plans {
		st := &p.stats
		q, ok := byQuery[p.Normalized]
		if !ok {
			q = &QueryStat{Query: p.Normalized, PlanType: p.Type.String(), Tables: p.Tables}
			byQuery[p.Normalized] = q
			order = append(order, q)
		}
		q.Count += st.count.Load()
		q.Time += time.Duration(st.timeNanos.Load())
		q.MysqlTime += time.Duration(st.mysqlNanos.Load())
		q.RowsReturned += st.rowsReturned.Load()
		q.RowsAffected += st.rowsAffected.Load()
		q.Errors += st.errors.Load()
	}
	out := make([]QueryStat, len(order))
	for i, q := range order {
		out[i] = *q
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time > out[j].Time })
	return out
}

// registerPoolVars publishes the pools' variables (ConnPoolCapacity,
// TransactionPoolWaitCount, ...) in r, with Prometheus names derived from
// them: tablet_conn_pool_wait_count_total, tablet_conn_pool_wait_time_seconds_total.
func registerPoolVars(r *debugvars.Registry, set *pools.Set) {
	for _, v := range set.VarFuncs() {
		prom := "tablet_" + snakeCase(v.Name)
		help := v.Help
		switch {
		case v.Kind == pools.Counter && v.Duration:
			prom += "_seconds_total"
			f := v.Value
			r.NewCounterDurationFunc(v.Name, prom, help, func() time.Duration { return time.Duration(f()) })
		case v.Kind == pools.Counter:
			r.NewCounterFunc(v.Name, prom+"_total", help, v.Value)
		case v.Duration:
			f := v.Value
			r.NewGaugeDurationFunc(v.Name, prom+"_seconds", help, func() time.Duration { return time.Duration(f()) })
		default:
			r.NewGaugeFunc(v.Name, prom, help, v.Value)
		}
	}
}

// snakeCase turns "TransactionPoolWaitCount" into
// "transaction_pool_wait_count" and "DBAPoolGet" into "dba_pool_get": a run
// of capitals is one word.
func snakeCase(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 &&
			(!unicode.IsUpper(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// asError is errors.As for *Error.
func asError(err error) (*Error, bool) { return errors.AsType[*Error](err) }
