package schema

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/pools"
)

// Config tunes the Tracker.
type Config struct {
	// ReloadInterval is the time between two reloads of the schema, which
	// notice tables and views changed outside the query service. Flag
	// --queryserver-config-schema-reload-time, default 30m (vttablet).
	// Zero disables periodic reloads: only DDL through the query service
	// (Trigger) reloads.
	ReloadInterval time.Duration
	// ReloadTimeout bounds one reload, and each GetSchema query. Flag
	// --queryserver-schema-reload-timeout (ours), default 30s. Must be
	// positive.
	ReloadTimeout time.Duration
}

// DefaultConfig returns the defaults given with each field.
func DefaultConfig() Config {
	return Config{ReloadInterval: 30 * time.Minute, ReloadTimeout: 30 * time.Second}
}

// Validate checks c without side effects; errors name the flag.
func (c Config) Validate() error {
	if c.ReloadInterval < 0 {
		return fmt.Errorf("--queryserver-config-schema-reload-time must not be negative, got %v", c.ReloadInterval)
	}
	if c.ReloadTimeout <= 0 {
		return fmt.Errorf("--queryserver-schema-reload-timeout must be positive, got %v", c.ReloadTimeout)
	}
	return nil
}

// DB runs one query on the local mysqld as the dba user and returns its
// rows, each value as bytes (nil for NULL). PoolDB adapts the dba pool.
type DB interface {
	Query(ctx context.Context, query string) ([][][]byte, error)
}

// PoolDB returns a DB over pool (the dba pool): each query takes a
// connection for its duration.
func PoolDB(pool *pools.Pool[*pools.DBConn]) DB { return poolDB{pool} }

type poolDB struct{ pool *pools.Pool[*pools.DBConn] }

func (p poolDB) Query(ctx context.Context, query string) ([][][]byte, error) {
	pc, err := p.pool.Get(ctx)
	if err != nil {
		return nil, err
	}
	defer pc.Release()
	res, err := pc.Conn.Fetch(ctx, query, 0)
	if err != nil {
		return nil, err
	}
	out := make([][][]byte, len(res.Rows))
	for i, row := range res.Rows {
		out[i] = make([][]byte, len(row))
		for j, v := range row {
			switch x := v.(type) {
			case nil:
			case []byte:
				out[i][j] = x
			default:
				out[i][j] = fmt.Append(nil, x)
			}
		}
	}
	return out, nil
}

// Kind selects what Definitions returns.
type Kind int

// The kinds, as Vitess's query.SchemaTableType.
const (
	KindViews  Kind = 0
	KindTables Kind = 1
	KindAll    Kind = 2
)

// Change names the tables and views created, altered or dropped, each list
// sorted.
type Change struct {
	Tables []string
	Views  []string
}

// Empty reports whether c names nothing.
func (c Change) Empty() bool { return len(c.Tables) == 0 && len(c.Views) == 0 }

// UDF is a loadable function (CREATE FUNCTION ... SONAME).
type UDF struct {
	Name        string
	Aggregating bool
	Return      mysqld.UDFReturn
}

// maxHistory is how many changes the Tracker remembers for ChangesSince. A
// subscriber further behind gets every object named: a gateway then reloads
// all, which is correct, only slower. Changes come from DDL, at most a few
// per second even during a migration, and a StreamHealth subscriber reads
// them within one health interval.
const maxHistory = 64

// object is a table or view as a reload saw it.
type object struct {
	view bool
	sig  string
}

// Tracker follows the schema of one database; see the package doc. Its
// methods are safe for concurrent use.
type Tracker struct {
	cfg    Config
	db     DB
	dbName string
	logger *slog.Logger

	trigger chan struct{} // one slot: a reload is wanted

	reloads, reloadErrors, changes *debugvars.Counter

	mu       sync.Mutex // guards the fields below
	objects  map[string]object
	loaded   bool          // objects holds a baseline
	version  uint64        // number of reloads that found a change
	history  []versioned   // the last maxHistory changes, oldest first
	notify   chan struct{} // closed and replaced when version grows
	failures int           // consecutive failed reloads, to log once
}

type versioned struct {
	version uint64
	change  Change
}

// New returns a Tracker of database dbName, read through db. It registers
// its variables in vars and starts nothing; Run does the work.
func New(cfg Config, db DB, dbName string, vars *debugvars.Registry, logger *slog.Logger) *Tracker {
	return &Tracker{
		cfg: cfg, db: db, dbName: dbName, logger: logger,
		trigger: make(chan struct{}, 1),
		notify:  make(chan struct{}),
		reloads: vars.NewCounter("SchemaReloads", "tablet_schema_reloads_total",
			"Reloads of the served database's schema, periodic or after DDL."),
		reloadErrors: vars.NewCounter("SchemaReloadErrors", "tablet_schema_reload_errors_total",
			"Reloads of the served database's schema that failed."),
		changes: vars.NewCounter("SchemaChanges", "tablet_schema_changes_total",
			"Tables and views found created, altered or dropped by a schema reload."),
	}
}

// Run reloads at once (the baseline), then every ReloadInterval and after
// each Trigger, until ctx ends. It returns when ctx ends.
func (t *Tracker) Run(ctx context.Context) {
	var tick <-chan time.Time
	if t.cfg.ReloadInterval > 0 {
		ticker := time.NewTicker(t.cfg.ReloadInterval)
		defer ticker.Stop()
		tick = ticker.C
	}
	for {
		t.reloadLogged(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-t.trigger:
		}
	}
}

// Trigger asks Run to reload soon; it never blocks. Calls before the
// reload starts are merged into one.
func (t *Tracker) Trigger() {
	select {
	case t.trigger <- struct{}{}:
	default:
	}
}

// reloadLogged reloads and logs a failure once per run of failures.
func (t *Tracker) reloadLogged(ctx context.Context) {
	_, err := t.Reload(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case err != nil && ctx.Err() == nil:
		t.failures++
		if t.failures == 1 {
			t.logger.Warn("schema reload failed; keeping the last schema and retrying at the next reload", "db", t.dbName, "err", err)
		}
	case err == nil && t.failures > 0:
		t.logger.Info("schema reload works again", "db", t.dbName, "failed_reloads", t.failures)
		t.failures = 0
	}
}

// Reload reads the schema now and returns what changed since the last
// successful reload (nothing for the first, which sets the baseline).
func (t *Tracker) Reload(ctx context.Context) (Change, error) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.ReloadTimeout)
	defer cancel()
	t.reloads.Add(1)
	rows, err := t.db.Query(ctx, mysqld.SchemaSignaturesQuery(t.dbName))
	if err != nil {
		t.reloadErrors.Add(1)
		return Change{}, fmt.Errorf("reload schema of %s: %w", t.dbName, err)
	}
	objects := make(map[string]object, len(rows))
	for _, r := range rows {
		if len(r) < 3 {
			t.reloadErrors.Add(1)
			return Change{}, fmt.Errorf("reload schema of %s: want 3 columns, got %d", t.dbName, len(r))
		}
		objects[string(r[0])] = object{view: string(r[1]) == mysqld.TableTypeView, sig: string(r[1]) + "/" + string(r[2])}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	prev, loaded := t.objects, t.loaded
	t.objects, t.loaded = objects, true
	if !loaded {
		t.logger.Info("loaded schema", "db", t.dbName, "tables_and_views", len(objects))
		return Change{}, nil
	}
	c := diff(prev, objects)
	if c.Empty() {
		return c, nil
	}
	t.version++
	t.history = append(t.history, versioned{t.version, c})
	if len(t.history) > maxHistory {
		t.history = slices.Delete(t.history, 0, len(t.history)-maxHistory)
	}
	close(t.notify)
	t.notify = make(chan struct{})
	t.changes.Add(int64(len(c.Tables) + len(c.Views)))
	t.logger.Info("schema changed", "db", t.dbName, "tables", c.Tables, "views", c.Views)
	return c, nil
}

// diff returns the objects of prev and cur that differ. A table that
// became a view (or the reverse) is named in both lists.
func diff(prev, cur map[string]object) Change {
	var c Change
	add := func(name string, view bool) {
		if view {
			c.Views = append(c.Views, name)
		} else {
			c.Tables = append(c.Tables, name)
		}
	}
	for name, o := range cur {
		p, ok := prev[name]
		switch {
		case !ok:
			add(name, o.view)
		case p.sig != o.sig:
			add(name, o.view)
			if p.view != o.view {
				add(name, p.view)
			}
		}
	}
	for name, p := range prev {
		if _, ok := cur[name]; !ok {
			add(name, p.view)
		}
	}
	sort.Strings(c.Tables)
	sort.Strings(c.Views)
	return c
}

// Version is the number of changes found so far; pass it to Changed and
// ChangesSince.
func (t *Tracker) Version() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.version
}

// Changed returns a channel closed once a change newer than version v has
// been found (at once if one has).
func (t *Tracker) Changed(v uint64) <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.version > v {
		c := make(chan struct{})
		close(c)
		return c
	}
	return t.notify
}

// ChangesSince returns every table and view changed after version v, and
// the current version. If v is older than what the Tracker remembers, it
// names every known object.
func (t *Tracker) ChangesSince(v uint64) (Change, uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v >= t.version {
		return Change{}, t.version
	}
	if len(t.history) == 0 || t.history[0].version > v+1 {
		var all Change
		for name, o := range t.objects {
			if o.view {
				all.Views = append(all.Views, name)
			} else {
				all.Tables = append(all.Tables, name)
			}
		}
		sort.Strings(all.Tables)
		sort.Strings(all.Views)
		return all, t.version
	}
	tables, views := map[string]bool{}, map[string]bool{}
	for _, h := range t.history {
		if h.version <= v {
			continue
		}
		for _, n := range h.change.Tables {
			tables[n] = true
		}
		for _, n := range h.change.Views {
			views[n] = true
		}
	}
	c := Change{Tables: sortedKeys(tables), Views: sortedKeys(views)}
	return c, t.version
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Definitions calls emit with the CREATE statement of each table (kind
// KindTables), view (KindViews) or both (KindAll) of the database, in name
// order; with names, only of those (names that are not such objects are
// left out, as are objects dropped while it runs). It stops at emit's
// first error and returns it.
func (t *Tracker) Definitions(ctx context.Context, kind Kind, names []string, emit func(name, create string) error) error {
	switch kind {
	case KindTables, KindViews, KindAll:
	default:
		return fmt.Errorf("schema definitions: unknown kind %d", kind)
	}
	qctx, cancel := context.WithTimeout(ctx, t.cfg.ReloadTimeout)
	rows, err := t.db.Query(qctx, mysqld.TableNamesQuery(t.dbName))
	cancel()
	if err != nil {
		return fmt.Errorf("list tables of %s: %w", t.dbName, err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, r := range rows {
		if len(r) < 2 {
			return fmt.Errorf("list tables of %s: want 2 columns, got %d", t.dbName, len(r))
		}
		name, view := string(r[0]), string(r[1]) == mysqld.TableTypeView
		if len(want) > 0 && !want[name] {
			continue
		}
		if (kind == KindTables && view) || (kind == KindViews && !view) {
			continue
		}
		qctx, cancel := context.WithTimeout(ctx, t.cfg.ReloadTimeout)
		def, err := t.db.Query(qctx, mysqld.ShowCreateTable(t.dbName, name))
		cancel()
		if isNoSuchTable(err) {
			continue // dropped since the listing
		}
		if err != nil {
			return fmt.Errorf("definition of %s.%s: %w", t.dbName, name, err)
		}
		if len(def) != 1 || len(def[0]) < 2 {
			return fmt.Errorf("definition of %s.%s: unexpected result shape", t.dbName, name)
		}
		if err := emit(name, string(def[0][1])); err != nil {
			return err
		}
	}
	return nil
}

// isNoSuchTable reports MySQL's "table doesn't exist" (1146).
func isNoSuchTable(err error) bool {
	me, ok := errors.AsType[*mysql.MySQLError](err)
	return ok && me.Number == 1146
}

// UDFs returns the server's loadable functions, by name.
func (t *Tracker) UDFs(ctx context.Context) ([]UDF, error) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.ReloadTimeout)
	defer cancel()
	rows, err := t.db.Query(ctx, mysqld.UDFsQuery)
	if err != nil {
		return nil, fmt.Errorf("list loadable functions (mysql.func): %w", err)
	}
	out := make([]UDF, 0, len(rows))
	for _, r := range rows {
		if len(r) < 3 {
			return nil, fmt.Errorf("list loadable functions: want 3 columns, got %d", len(r))
		}
		ret, err := mysqld.ParseUDFReturn(string(r[1]))
		if err != nil {
			return nil, err
		}
		out = append(out, UDF{Name: string(r[0]), Return: ret, Aggregating: string(r[2]) == "aggregate"})
	}
	return out, nil
}
