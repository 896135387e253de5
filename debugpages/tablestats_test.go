package debugpages

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
)

// fakeInfoSchema is a database/sql driver that answers mysqld.TablesQuery
// and mysqld.ColumnsQuery from fixed rows. It is for tests only.
type fakeInfoSchema struct {
	reads chan string // receives the database name at each tables query, if there is room

	mu      sync.Mutex // guards the fields below
	tables  [][]driver.Value
	columns [][]driver.Value
	fail    error // returned by every query while set
}

func newFakeInfoSchema() *fakeInfoSchema {
	return &fakeInfoSchema{
		reads: make(chan string, 100),
		tables: [][]driver.Value{
			{"orders", "BASE TABLE", "InnoDB", int64(1200), int64(98304), int64(32768), int64(4194304)},
			{"order_totals", "VIEW", nil, nil, nil, nil, nil},
		},
		columns: [][]driver.Value{
			{"order_totals", "customer", "bigint(20)", "", "YES"},
			{"orders", "id", "bigint(20) unsigned", "PRI", "NO"},
			{"orders", "customer", "bigint(20)", "MUL", "NO"},
		},
	}
}

func (f *fakeInfoSchema) setFail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

// db returns a *sql.DB over the fake.
func (f *fakeInfoSchema) db(t *testing.T) *sql.DB {
	db := sql.OpenDB(fakeConnector{f})
	t.Cleanup(func() { db.Close() })
	return db
}

type fakeConnector struct{ f *fakeInfoSchema }

func (c fakeConnector) Connect(context.Context) (driver.Conn, error) { return fakeConn(c), nil }
func (c fakeConnector) Driver() driver.Driver                        { return fakeDriver{} }

type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) { return nil, errors.New("use the connector") }

type fakeConn struct{ f *fakeInfoSchema }

func (fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("not supported") }
func (fakeConn) Close() error                        { return nil }
func (fakeConn) Begin() (driver.Tx, error)           { return nil, errors.New("not supported") }

func (c fakeConn) QueryContext(_ context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	if len(args) != 1 {
		return nil, errors.New("want one argument, the database name")
	}
	switch query {
	case mysqld.TablesQuery:
		select {
		case f.reads <- args[0].Value.(string):
		default:
		}
		return &fakeRows{cols: []string{"table_name", "table_type", "engine", "table_rows", "data_length", "index_length", "data_free"},
			rows: f.tables}, nil
	case mysqld.ColumnsQuery:
		return &fakeRows{cols: []string{"table_name", "column_name", "column_type", "column_key", "is_nullable"}, rows: f.columns}, nil
	}
	return nil, errors.New("unexpected query " + query)
}

type fakeRows struct {
	cols []string
	rows [][]driver.Value
}

func (r *fakeRows) Columns() []string { return r.cols }
func (r *fakeRows) Close() error      { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	if len(r.rows) == 0 {
		return io.EOF
	}
	copy(dest, r.rows[0])
	r.rows = r.rows[1:]
	return nil
}

func testTableStatsConfig() Config {
	c := DefaultConfig()
	c.DBName = "vt_commerce"
	return c
}

// varJSON reads a variable from the registry as JSON.
func varJSON(t *testing.T, vars *debugvars.Registry, name string) string {
	t.Helper()
	raw, ok := vars.Get(name)
	if !ok {
		t.Fatalf("variable %s is not registered", name)
	}
	return string(raw)
}

// TestTableStatsPublishes reads the fake schema once and checks the four
// variables, the snapshot and the schema pages.
func TestTableStatsPublishes(t *testing.T) {
	vars := debugvars.New()
	is := newFakeInfoSchema()
	ts := NewTableStats(testTableStatsConfig(), is.db(t), vars, nil)
	for _, name := range []string{"DataFree", "DataLength", "IndexLength", "TableRows"} {
		if got := varJSON(t, vars, name); got != "{}" {
			t.Errorf("%s before the first read = %s, want {}", name, got)
		}
	}
	if err := ts.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if db := <-is.reads; db != "vt_commerce" {
		t.Errorf("read database %q, want vt_commerce", db)
	}
	for name, want := range map[string]string{
		"DataFree":                `{"orders": 4194304}`,
		"DataLength":              `{"orders": 98304}`,
		"IndexLength":             `{"orders": 32768}`,
		"TableRows":               `{"orders": 1200}`,
		"TableStatsRefreshErrors": `0`,
	} {
		if got := varJSON(t, vars, name); got != want {
			t.Errorf("%s = %s, want %s (views left out)", name, got, want)
		}
	}

	snap := ts.Schema()
	if snap.Database != "vt_commerce" || len(snap.Tables) != 2 || snap.RefreshedAt.IsZero() || snap.Err != nil {
		t.Fatalf("snapshot = %+v", snap)
	}
	orders := snap.Tables[0]
	wantCols := []mysqld.ColumnInfo{
		{Name: "id", Type: "bigint(20) unsigned", PrimaryKey: true},
		{Name: "customer", Type: "bigint(20)"},
	}
	if orders.Name != "orders" || len(orders.Columns) != 2 || orders.Columns[0] != wantCols[0] || orders.Columns[1] != wantCols[1] {
		t.Errorf("orders = %+v", orders)
	}
	if view := snap.Tables[1]; view.Type != "VIEW" || view.Engine != "" || view.Rows != 0 || len(view.Columns) != 1 {
		t.Errorf("view = %+v", view)
	}

	srv := httptestServer(t, mountOnly(&server{schema: ts}))
	_, page := get(t, srv, "GET", "/schemaz", nil, nil)
	for _, want := range []string{"<td>orders</td>", "<td>InnoDB</td>", "96.0 KiB", "4.0 MiB", "<u>id</u>", "order_totals"} {
		if !strings.Contains(page, want) {
			t.Errorf("/schemaz lacks %q", want)
		}
	}
	_, body := get(t, srv, "GET", "/debug/schema", nil, nil)
	var js schemaJSON
	if err := json.Unmarshal([]byte(body), &js); err != nil {
		t.Fatal(err)
	}
	if js.Database != "vt_commerce" || js.RefreshedAt == nil || len(js.Tables) != 2 || js.Tables[0].DataFree != 4194304 {
		t.Errorf("/debug/schema = %s", body)
	}
}

// mountOnly mounts the pages of s on a fresh mux.
func mountOnly(s *server) *http.ServeMux {
	mux := http.NewServeMux()
	s.mount(mux)
	return mux
}

// TestTableStatsFailure checks that a failed read keeps the previous
// figures, is counted and shown, and that a later read recovers.
func TestTableStatsFailure(t *testing.T) {
	vars := debugvars.New()
	is := newFakeInfoSchema()
	ts := NewTableStats(testTableStatsConfig(), is.db(t), vars, nil)
	ctx := context.Background()
	if err := ts.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("Access denied for user 'vt_dba'")
	is.setFail(boom)
	if err := ts.Refresh(ctx); !errors.Is(err, boom) {
		t.Fatalf("Refresh = %v, want %v", err, boom)
	}
	if got := varJSON(t, vars, "DataLength"); got != `{"orders": 98304}` {
		t.Errorf("DataLength after a failed read = %s, want the previous figures", got)
	}
	if got := varJSON(t, vars, "TableStatsRefreshErrors"); got != "1" {
		t.Errorf("TableStatsRefreshErrors = %s, want 1", got)
	}
	snap := ts.Schema()
	if !errors.Is(snap.Err, boom) || snap.ErrAt.IsZero() || len(snap.Tables) != 2 {
		t.Errorf("snapshot after a failed read = %+v", snap)
	}
	srv := httptestServer(t, mountOnly(&server{schema: ts}))
	if _, page := get(t, srv, "GET", "/schemaz", nil, nil); !strings.Contains(page, "last read failed") ||
		!strings.Contains(page, "Access denied") {
		t.Errorf("/schemaz does not show the failure:\n%s", page)
	}

	is.setFail(nil)
	if err := ts.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if snap := ts.Schema(); snap.Err != nil {
		t.Errorf("error kept after a successful read: %v", snap.Err)
	}
}

// TestTableStatsRun runs the loop with a short interval: it must read at
// once and then on every tick, and return when its context ends.
func TestTableStatsRun(t *testing.T) {
	cfg := testTableStatsConfig()
	cfg.SchemaReloadInterval = time.Millisecond
	is := newFakeInfoSchema()
	ts := NewTableStats(cfg, is.db(t), debugvars.New(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.Run(ctx) }()
	for i := range 3 {
		waitRead(t, is.reads, i)
	}
	cancel()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after its context ended", err)
		}
	case <-timer.C:
		t.Fatal("Run did not return after its context ended")
	}
}

func waitRead(t *testing.T, reads <-chan string, i int) {
	t.Helper()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case <-reads:
	case <-timer.C:
		t.Fatalf("timed out waiting for read %d", i)
	}
}

// TestTableStatsMetrics checks the Prometheus side of the table
// statistics, and lints the whole /metrics page that carries them.
func TestTableStatsMetrics(t *testing.T) {
	vars := debugvars.New()
	ts := NewTableStats(testTableStatsConfig(), newFakeInfoSchema().db(t), vars, nil)
	if err := ts.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP tablet_table_data_free_bytes Bytes allocated to a table but unused, from information_schema.tables.data_free.
# TYPE tablet_table_data_free_bytes gauge
tablet_table_data_free_bytes{table="orders"} 4.194304e+06
# HELP tablet_table_data_length_bytes Bytes of a table's data, from information_schema.tables.data_length.
# TYPE tablet_table_data_length_bytes gauge
tablet_table_data_length_bytes{table="orders"} 98304
# HELP tablet_table_index_length_bytes Bytes of a table's secondary indexes, from information_schema.tables.index_length.
# TYPE tablet_table_index_length_bytes gauge
tablet_table_index_length_bytes{table="orders"} 32768
# HELP tablet_table_rows Estimated rows in a table, from information_schema.tables.table_rows.
# TYPE tablet_table_rows gauge
tablet_table_rows{table="orders"} 1200
# HELP tablet_table_stats_refresh_errors_total Reads of the table statistics from information_schema that failed.
# TYPE tablet_table_stats_refresh_errors_total counter
tablet_table_stats_refresh_errors_total 0
`
	if err := testutil.GatherAndCompare(vars.Gatherer(), strings.NewReader(want),
		"tablet_table_data_free_bytes", "tablet_table_data_length_bytes", "tablet_table_index_length_bytes",
		"tablet_table_rows", "tablet_table_stats_refresh_errors_total"); err != nil {
		t.Error(err)
	}
	lintMetrics(t, vars)
}

// lintMetrics runs promlint over the registry's whole /metrics page.
func lintMetrics(t *testing.T, vars *debugvars.Registry) {
	t.Helper()
	rec := httptest.NewRecorder()
	vars.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	problems, err := promlint.New(bytes.NewReader(rec.Body.Bytes())).Lint()
	if err != nil {
		t.Fatalf("lint /metrics: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"default with a database", func(*Config) {}, ""},
		{"no database", func(c *Config) { c.DBName = "" }, "database name"},
		{"zero interval", func(c *Config) { c.SchemaReloadInterval = 0 }, "--queryserver-config-schema-reload-time=0s"},
		{"negative timeout", func(c *Config) { c.RefreshTimeout = -time.Second }, "refresh timeout -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testTableStatsConfig()
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}
