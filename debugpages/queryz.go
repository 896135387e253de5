package debugpages

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tabletd/tablet/queryserver"
)

// Average latencies from which /queryz highlights a query, as vttablet's
// page colours its rows.
const (
	slowQuery   = 10 * time.Millisecond
	slowerQuery = 100 * time.Millisecond
)

// queryzRow is one normalized query on /queryz.
type queryzRow struct {
	queryserver.QueryStat
	Table        string        // the tables, comma-separated
	Avg          time.Duration // Time / Count
	RowsPerQuery string        // RowsReturned / Count, formatted
	Class        string        // "", "slow" or "slower", from Avg
}

// queryzColumn is a column /queryz can be sorted by.
type queryzColumn struct {
	Key  string // the ?sort= value
	Name string // the heading
	Num  bool   // numeric: sorted largest first, right-aligned
	cmp  func(a, b *queryzRow) int
}

// queryzColumns are the columns of /queryz, in order.
func queryzColumns() []queryzColumn {
	num := func(key, name string, v func(r *queryzRow) int64) queryzColumn {
		return queryzColumn{key, name, true, func(a, b *queryzRow) int { return cmp.Compare(v(b), v(a)) }}
	}
	text := func(key, name string, v func(r *queryzRow) string) queryzColumn {
		return queryzColumn{key, name, false, func(a, b *queryzRow) int { return strings.Compare(v(a), v(b)) }}
	}
	return []queryzColumn{
		text("query", "Query", func(r *queryzRow) string { return r.Query }),
		text("table", "Table", func(r *queryzRow) string { return r.Table }),
		text("plan", "Plan", func(r *queryzRow) string { return r.PlanType }),
		num("count", "Count", func(r *queryzRow) int64 { return r.Count }),
		num("time", "Time (s)", func(r *queryzRow) int64 { return int64(r.Time) }),
		num("mysql", "MySQL (s)", func(r *queryzRow) int64 { return int64(r.MysqlTime) }),
		num("avg", "Per query", func(r *queryzRow) int64 { return int64(r.Avg) }),
		num("rows", "Rows", func(r *queryzRow) int64 { return r.RowsReturned }),
		num("affected", "Affected", func(r *queryzRow) int64 { return r.RowsAffected }),
		num("errors", "Errors", func(r *queryzRow) int64 { return r.Errors }),
	}
}

// defaultQueryzSort puts the queries that cost the most time first.
const defaultQueryzSort = "time"

// queryzPage is the data of /queryz.
type queryzPage struct {
	Columns []queryzColumn
	Sort    string
	Rows    []*queryzRow
}

// serveQueryz serves /queryz: one row per normalized query, sorted by the
// column ?sort= names (default: total time), largest first for numbers.
func (s *server) serveQueryz(w http.ResponseWriter, r *http.Request) {
	cols := queryzColumns()
	key := r.URL.Query().Get("sort")
	if key == "" {
		key = defaultQueryzSort
	}
	i := slices.IndexFunc(cols, func(c queryzColumn) bool { return c.Key == key })
	if i < 0 {
		keys := make([]string, len(cols))
		for j, c := range cols {
			keys[j] = c.Key
		}
		http.Error(w, fmt.Sprintf("sort=%q: unknown column; use one of %s", key, strings.Join(keys, ", ")),
			http.StatusBadRequest)
		return
	}
	stats := s.engine.QueryStats()
	rows := make([]*queryzRow, len(stats))
	for j, st := range stats {
		row := &queryzRow{QueryStat: st, Table: strings.Join(st.Tables, ", "), RowsPerQuery: "0"}
		if st.Count > 0 {
			row.Avg = st.Time / time.Duration(st.Count)
			row.RowsPerQuery = fmt.Sprintf("%.1f", float64(st.RowsReturned)/float64(st.Count))
		}
		switch {
		case row.Avg >= slowerQuery:
			row.Class = "slower"
		case row.Avg >= slowQuery:
			row.Class = "slow"
		}
		rows[j] = row
	}
	slices.SortStableFunc(rows, cols[i].cmp)
	s.render(w, "queryz", "Queries", queryzPage{Columns: cols, Sort: key, Rows: rows})
}

// queryStatJSON is one entry of /debug/query_stats, with vttablet's keys.
// Times are in nanoseconds.
type queryStatJSON struct {
	Query        string
	Table        string
	Tables       []string
	Plan         string
	QueryCount   int64
	Time         time.Duration
	MysqlTime    time.Duration
	RowsAffected int64
	RowsReturned int64
	ErrorCount   int64
}

// serveQueryStats serves /debug/query_stats: the statistics of every
// normalized query as JSON, most time-consuming first.
func (s *server) serveQueryStats(w http.ResponseWriter, _ *http.Request) {
	stats := s.engine.QueryStats()
	out := make([]queryStatJSON, len(stats))
	for i, st := range stats {
		out[i] = queryStatJSON{
			Query: st.Query, Table: strings.Join(st.Tables, ","), Tables: st.Tables, Plan: st.PlanType,
			QueryCount: st.Count, Time: st.Time, MysqlTime: st.MysqlTime,
			RowsAffected: st.RowsAffected, RowsReturned: st.RowsReturned, ErrorCount: st.Errors,
		}
	}
	s.writeJSON(w, out)
}

// queryPlanJSON is one entry of /debug/query_plans.
type queryPlanJSON struct {
	Query      string // the statement as sent, bind variable references included
	PlanType   string
	Tables     []string
	Normalized string
	Parsed     bool
	ParseError string `json:",omitempty"`
}

// serveQueryPlans serves /debug/query_plans: how the engine handles each
// cached statement, as JSON.
func (s *server) serveQueryPlans(w http.ResponseWriter, _ *http.Request) {
	plans := s.engine.Plans()
	out := make([]queryPlanJSON, len(plans))
	for i, p := range plans {
		out[i] = queryPlanJSON{
			Query: p.SQL, PlanType: p.Type.String(), Tables: p.Tables, Normalized: p.Normalized,
			Parsed: p.Parsed, ParseError: p.ParseError,
		}
	}
	s.writeJSON(w, out)
}
