package debugpages

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
)

// Config configures TableStats.
type Config struct {
	// DBName is the tablet's database, whose tables are reported
	// (vttablet's --db_name, or "vt_" plus the keyspace). Required.
	DBName string
	// SchemaReloadInterval is the time between two reads of the table
	// statistics (--queryserver-config-schema-reload-time; vttablet's
	// default, 30m). information_schema scans every table's metadata, so
	// reading it often costs the server on a large schema. Must be
	// positive.
	SchemaReloadInterval time.Duration
	// RefreshTimeout bounds one read. Must be positive.
	RefreshTimeout time.Duration
}

// DefaultConfig returns vttablet's reload interval and a 30s bound on one
// read; DBName is left for the caller.
func DefaultConfig() Config {
	return Config{
		SchemaReloadInterval: 30 * time.Minute,
		RefreshTimeout:       30 * time.Second,
	}
}

// Validate reports the first invalid field, naming its flag.
func (c Config) Validate() error {
	switch {
	case c.DBName == "":
		return errors.New("table stats: the database name (--db_name or --init_keyspace) is empty")
	case c.SchemaReloadInterval <= 0:
		return fmt.Errorf("--queryserver-config-schema-reload-time=%v: must be positive", c.SchemaReloadInterval)
	case c.RefreshTimeout <= 0:
		return fmt.Errorf("table stats refresh timeout %v: must be positive", c.RefreshTimeout)
	}
	return nil
}

// Querier runs a query; *sql.DB satisfies it. TableStats needs a user
// that can read the tablet database's metadata (the dba user).
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// SchemaSnapshot is the tablet's tables as last read.
type SchemaSnapshot struct {
	Database string
	// Tables are the tables and views, sorted by name, from the last
	// successful read; nil before it.
	Tables []mysqld.TableInfo
	// RefreshedAt is when the last successful read finished; zero before
	// the first.
	RefreshedAt time.Time
	// Err is the last read's error, nil if it succeeded; ErrAt is when it
	// failed. Tables then still hold the previous read.
	Err   error
	ErrAt time.Time
}

// tableGauges are the published values, keyed by table: one map per
// variable, built at each read and never modified after.
type tableGauges struct {
	dataFree, dataLength, indexLength, rows map[string]int64
}

// TableStats reads the size of each table of the tablet's database from
// information_schema every Config.SchemaReloadInterval and publishes it
// as vttablet's DataFree, DataLength, IndexLength and TableRows variables
// (labelled by table; views are left out), and as a SchemaSnapshot for
// /schemaz. Build it with NewTableStats and run Run. Methods are safe for
// concurrent use.
type TableStats struct {
	cfg    Config
	q      Querier
	logger *slog.Logger
	errors *debugvars.Counter

	mu      sync.Mutex // guards the fields below
	snap    SchemaSnapshot
	gauges  tableGauges
	failing bool // the last read failed; logged once until one succeeds
}

// NewTableStats builds a TableStats reading through q and registers its
// variables in vars: DataFree, DataLength, IndexLength, TableRows and
// TableStatsRefreshErrors. They are empty until the first read. It starts
// nothing. It panics if cfg is invalid (call Validate first), if q or vars
// is nil, or if the variables are already registered in vars.
func NewTableStats(cfg Config, q Querier, vars *debugvars.Registry, logger *slog.Logger) *TableStats {
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("debugpages.NewTableStats: invalid config: %v", err))
	}
	if q == nil || vars == nil {
		panic("debugpages.NewTableStats: nil querier or registry")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := &TableStats{cfg: cfg, q: q, logger: logger, snap: SchemaSnapshot{Database: cfg.DBName}}
	table := []string{"table"}
	vars.NewGaugesFuncWithLabels("DataFree", "tablet_table_data_free_bytes",
		"Bytes allocated to a table but unused, from information_schema.tables.data_free.", table,
		func() map[string]int64 { return t.current().dataFree })
	vars.NewGaugesFuncWithLabels("DataLength", "tablet_table_data_length_bytes",
		"Bytes of a table's data, from information_schema.tables.data_length.", table,
		func() map[string]int64 { return t.current().dataLength })
	vars.NewGaugesFuncWithLabels("IndexLength", "tablet_table_index_length_bytes",
		"Bytes of a table's secondary indexes, from information_schema.tables.index_length.", table,
		func() map[string]int64 { return t.current().indexLength })
	vars.NewGaugesFuncWithLabels("TableRows", "tablet_table_rows",
		"Estimated rows in a table, from information_schema.tables.table_rows.", table,
		func() map[string]int64 { return t.current().rows })
	t.errors = vars.NewCounter("TableStatsRefreshErrors", "tablet_table_stats_refresh_errors_total",
		"Reads of the table statistics from information_schema that failed.")
	return t
}

// current returns the published gauges.
func (t *TableStats) current() tableGauges {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.gauges
}

// Schema returns the latest snapshot.
func (t *TableStats) Schema() SchemaSnapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.snap
}

// Run reads the statistics at once and then every
// Config.SchemaReloadInterval, until ctx ends; then it returns nil. A
// failed read is logged (once until a read succeeds again), counted in
// TableStatsRefreshErrors and retried at the next interval; the previous
// figures stay published meanwhile.
func (t *TableStats) Run(ctx context.Context) error {
	tick := time.NewTicker(t.cfg.SchemaReloadInterval)
	defer tick.Stop()
	for {
		_ = t.Refresh(ctx) // logged and counted by Refresh
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Refresh reads the statistics once, bounded by Config.RefreshTimeout,
// and publishes them. On failure it keeps the previous figures, records
// the error in the snapshot, counts and logs it, and returns it.
func (t *TableStats) Refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.RefreshTimeout)
	defer cancel()
	tables, err := mysqld.ReadTables(ctx, t.q, t.cfg.DBName)
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
		}
		t.snap.Err, t.snap.ErrAt = err, now
		t.errors.Add(1)
		if !t.failing {
			t.logger.Warn("reading table statistics failed; retrying every interval, logging again when it succeeds",
				"database", t.cfg.DBName, "interval", t.cfg.SchemaReloadInterval.String(), "error", err)
			t.failing = true
		}
		return err
	}
	if t.failing {
		t.logger.Info("reading table statistics works again", "database", t.cfg.DBName, "tables", len(tables))
		t.failing = false
	}
	g := tableGauges{
		dataFree: map[string]int64{}, dataLength: map[string]int64{},
		indexLength: map[string]int64{}, rows: map[string]int64{},
	}
	for _, tb := range tables {
		if tb.Engine == "" {
			continue // a view: no storage of its own
		}
		g.dataFree[tb.Name] = tb.DataFree
		g.dataLength[tb.Name] = tb.DataLength
		g.indexLength[tb.Name] = tb.IndexLength
		g.rows[tb.Name] = tb.Rows
	}
	t.gauges = g
	t.snap = SchemaSnapshot{Database: t.cfg.DBName, Tables: tables, RefreshedAt: now}
	return nil
}
