package backup_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tabletd/tablet/backup"
	"github.com/tabletd/tablet/backup/storagetest"
	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
)

// fakeEngine stands in for xtrabackup: Backup writes a fixed stream,
// Extract saves the stream it reads as dir/stream, Prepare adds a datadir's
// shape around it. Knobs make it fail or wait.
type fakeEngine struct {
	stream   []byte
	position string

	// failAfter, when positive, makes Backup fail with a *ToolError after
	// writing that many bytes.
	failAfter int
	// started, when set, is closed once Backup has written its first
	// bytes; Backup then waits for release (or ctx) before writing more.
	started, release chan struct{}
	// prepareErr fails Prepare.
	prepareErr error
	// readSmall makes Extract read through Read, 1000 bytes at a time,
	// rather than through the stream's WriteTo.
	readSmall bool

	backups atomic.Int32
}

const fakePosition = "0-100-42"

func newFakeEngine(n int) *fakeEngine {
	return &fakeEngine{stream: streamData(n, 1), position: fakePosition}
}

// streamData is n bytes that compress like database pages.
func streamData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := 0; i < n; i += 1024 {
		for j := i; j < min(i+300, n); j++ {
			b[j] = byte(r.Uint32())
		}
	}
	return b
}

func (e *fakeEngine) Name() string { return backup.EngineXtraBackup }
func (e *fakeEngine) Tool() string { return "fakebackup" }

func (e *fakeEngine) Backup(ctx context.Context, w io.Writer) (backup.EngineResult, error) {
	e.backups.Add(1)
	res := backup.EngineResult{ToolVersion: "fakebackup 1.0", Position: e.position, BinlogFile: "binlog.000001", BinlogPos: 4}
	const chunk = 64 << 10 // as a pipe delivers it
	for off := 0; off < len(e.stream); off += chunk {
		if e.failAfter > 0 && off >= e.failAfter {
			return res, &backup.ToolError{Tool: "fakebackup", Args: []string{"--backup"},
				Err: errors.New("exit status 1"), Stderr: "[00] FATAL ERROR: disk on fire"}
		}
		if _, err := w.Write(e.stream[off:min(off+chunk, len(e.stream))]); err != nil {
			return res, err
		}
		if off == 0 && e.started != nil {
			close(e.started)
			select {
			case <-e.release:
			case <-ctx.Done():
				return res, context.Cause(ctx)
			}
		}
	}
	return res, nil
}

func (e *fakeEngine) Extract(ctx context.Context, r io.Reader, dir string) error {
	f, err := os.Create(filepath.Join(dir, "stream"))
	if err != nil {
		return err
	}
	var src io.Reader = r
	if e.readSmall {
		src = io.LimitReader(struct{ io.Reader }{r}, 1<<62) // hides WriteTo
		_, err = io.CopyBuffer(struct{ io.Writer }{f}, src, make([]byte, 1000))
	} else {
		_, err = io.Copy(f, src)
	}
	if err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (e *fakeEngine) Prepare(ctx context.Context, dir string) (string, error) {
	if e.prepareErr != nil {
		return "", e.prepareErr
	}
	for _, d := range []string{"mysql", "app"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "app", "t.ibd"), []byte("table"), 0o640); err != nil {
		return "", err
	}
	return e.position, nil
}

// fakeServer records Stop and Start.
type fakeServer struct {
	mu             sync.Mutex
	stops, starts  int
	startErr       error
	stoppedOnStart bool
}

func (s *fakeServer) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stops++
	return nil
}

func (s *fakeServer) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts++
	return s.startErr
}

func (s *fakeServer) counts() (stops, starts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stops, s.starts
}

// fakeDB answers what Backup asks: the version, the number of user tables,
// the non-InnoDB tables, and their flush.
type fakeDB struct {
	version    string
	userTables atomic.Int64
	flushes    atomic.Int32
}

func newFakeDB(t *testing.T, userTables int64) (*sql.DB, *fakeDB) {
	f := &fakeDB{version: "10.11.19-MariaDB-log"}
	f.userTables.Store(userTables)
	db := sql.OpenDB(f)
	t.Cleanup(func() { db.Close() })
	return db, f
}

func (f *fakeDB) Connect(context.Context) (driver.Conn, error) { return fakeConn{f}, nil }
func (f *fakeDB) Driver() driver.Driver                        { return nil }

type fakeConn struct{ f *fakeDB }

func (c fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("not supported") }
func (c fakeConn) Close() error                        { return nil }
func (c fakeConn) Begin() (driver.Tx, error)           { return nil, errors.New("not supported") }

func (c fakeConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	switch {
	case query == mysqld.VersionQuery:
		return &fakeRows{v: c.f.version}, nil
	case strings.HasPrefix(query, "SELECT COUNT(*) FROM information_schema.TABLES"):
		return &fakeRows{v: c.f.userTables.Load()}, nil
	case strings.HasPrefix(query, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES"):
		return &fakeRows{cols: 2, rows: [][]driver.Value{{"mysql", "user"}, {"app", "we`ird"}}}, nil
	}
	return nil, fmt.Errorf("fakeDB: unexpected query %q", query)
}

func (c fakeConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if query != "SET STATEMENT lock_wait_timeout = 60 FOR FLUSH NO_WRITE_TO_BINLOG TABLES `mysql`.`user`, `app`.`we``ird`" {
		return nil, fmt.Errorf("fakeDB: unexpected statement %q", query)
	}
	c.f.flushes.Add(1)
	return driver.RowsAffected(0), nil
}

// fakeRows is one row of one value v, or, with cols set, rows.
type fakeRows struct {
	v    any
	cols int
	rows [][]driver.Value
	done bool
}

func (r *fakeRows) Columns() []string {
	if r.cols == 0 {
		return []string{"v"}
	}
	return make([]string, r.cols)
}

func (r *fakeRows) Close() error { return nil }

func (r *fakeRows) Next(dest []driver.Value) error {
	if r.cols > 0 {
		if len(r.rows) == 0 {
			return io.EOF
		}
		copy(dest, r.rows[0])
		r.rows = r.rows[1:]
		return nil
	}
	if r.done {
		return io.EOF
	}
	r.done = true
	dest[0] = r.v
	return nil
}

// fixture is a Manager over fakes.
type fixture struct {
	m       *backup.Manager
	store   *storagetest.Memory
	engine  *fakeEngine
	db      *fakeDB
	server  *fakeServer
	dataDir string
	reg     *debugvars.Registry
	clock   *fakeClock
}

// fakeClock starts at a fixed time and moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func testConfig() backup.Config {
	cfg := backup.DefaultConfig()
	cfg.StorageURL = "file:///unused"
	cfg.StripeBytes = 256 << 10
	cfg.Concurrency = 3
	cfg.RetryDelay = time.Millisecond
	cfg.ProgressInterval = time.Hour // reports at the end only: tests do not wait on tickers
	return cfg
}

func newFixture(t *testing.T, cfg backup.Config, streamBytes int) *fixture {
	t.Helper()
	flavor, err := mysqld.ParseFlavor("10.11.19-MariaDB")
	if err != nil {
		t.Fatal(err)
	}
	db, fdb := newFakeDB(t, 3)
	f := &fixture{
		store:   storagetest.NewMemory(),
		engine:  newFakeEngine(streamBytes),
		db:      fdb,
		server:  &fakeServer{},
		dataDir: filepath.Join(t.TempDir(), "data"),
		reg:     debugvars.New(),
		clock:   &fakeClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)},
	}
	f.m, err = backup.New(cfg, backup.Deps{
		Storage:  f.store,
		Flavor:   flavor,
		Engine:   f.engine,
		DB:       db,
		DataDir:  f.dataDir,
		Registry: f.reg,
		Now:      f.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) backup(t *testing.T) *backup.Manifest {
	t.Helper()
	man, err := f.m.Backup(context.Background(), backup.BackupRequest{Keyspace: "commerce", Shard: "-80", TabletAlias: "zone1-0000000100"})
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	f.clock.Advance(time.Minute)
	return man
}

func (f *fixture) restoreRequest() backup.RestoreRequest {
	return backup.RestoreRequest{Keyspace: "commerce", Shard: "-80", Server: f.server}
}

// variable returns a debugvars variable's JSON.
func (f *fixture) variable(t *testing.T, name string) string {
	t.Helper()
	v, ok := f.reg.Get(name)
	if !ok {
		t.Fatalf("no variable %s", name)
	}
	return string(v)
}

func mustFlavor(t *testing.T, version string) mysqld.Flavor {
	t.Helper()
	f, err := mysqld.ParseFlavor(version)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// mustDB opens a database/sql handle on an existing fakeDB.
func mustDB(t *testing.T, f *fakeDB) *sql.DB {
	db := sql.OpenDB(f)
	t.Cleanup(func() { db.Close() })
	return db
}
