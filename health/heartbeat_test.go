package health

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
)

// fakeServer is a database/sql connector standing in for mysqld: it answers
// SELECT @@GLOBAL.server_id, records every statement executed, and fails
// heartbeat writes while failWrites is set.
type fakeServer struct {
	serverID int64
	attempts chan string // every Exec, sent before it answers; buffered

	mu         sync.Mutex // guards failWrites and execs
	failWrites error
	execs      []string
}

func newFakeServer() *fakeServer {
	return &fakeServer{serverID: 42, attempts: make(chan string, 10000)}
}

func (f *fakeServer) setFailWrites(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failWrites = err
}

func (f *fakeServer) executed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.execs...)
}

func (f *fakeServer) Connect(context.Context) (driver.Conn, error) { return fakeConn{f}, nil }
func (f *fakeServer) Driver() driver.Driver                        { return nil }

type fakeConn struct{ f *fakeServer }

func (c fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("fake: no prepare") }
func (c fakeConn) Close() error                        { return nil }
func (c fakeConn) Begin() (driver.Tx, error)           { return nil, errors.New("fake: no transactions") }

func (c fakeConn) ExecContext(_ context.Context, q string, _ []driver.NamedValue) (driver.Result, error) {
	c.f.mu.Lock()
	err := c.f.failWrites
	if !strings.HasPrefix(q, "INSERT") {
		err = nil
	}
	if err == nil {
		c.f.execs = append(c.f.execs, q)
	}
	c.f.mu.Unlock()
	c.f.attempts <- q
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(1), nil
}

func (c fakeConn) QueryContext(_ context.Context, q string, _ []driver.NamedValue) (driver.Rows, error) {
	if q != mysqld.ServerIDQuery {
		return nil, errors.New("fake: unexpected query " + q)
	}
	return &fakeRows{cols: []string{"@@GLOBAL.server_id"}, vals: [][]driver.Value{{c.f.serverID}}}, nil
}

type fakeRows struct {
	cols []string
	vals [][]driver.Value
}

func (r *fakeRows) Columns() []string { return r.cols }
func (r *fakeRows) Close() error      { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	if len(r.vals) == 0 {
		return io.EOF
	}
	copy(dest, r.vals[0])
	r.vals = r.vals[1:]
	return nil
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestWriter(t *testing.T, f *fakeServer, mutate func(*Config)) (*HeartbeatWriter, *syncBuffer, *debugvars.Registry) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.HeartbeatInterval = time.Millisecond
	if mutate != nil {
		mutate(&cfg)
	}
	db := sql.OpenDB(f)
	t.Cleanup(func() { db.Close() })
	logs := &syncBuffer{}
	vars := debugvars.New()
	w := NewHeartbeatWriter(cfg, db, vars, slog.New(slog.NewTextHandler(logs, nil)))
	t.Cleanup(w.Close)
	return w, logs, vars
}

// waitAttempts waits for n more statements to reach the fake and returns
// them.
func waitAttempts(t *testing.T, f *fakeServer, n int) []string {
	t.Helper()
	var got []string
	timeout := time.After(waitLimit)
	for len(got) < n {
		select {
		case q := <-f.attempts:
			got = append(got, q)
		case <-timeout:
			t.Fatalf("%d of %d statements within %v: %q", len(got), n, waitLimit, got)
		}
	}
	return got
}

func TestHeartbeatWriterWrites(t *testing.T) {
	f := newFakeServer()
	now := time.Unix(1700000000, 5)
	w, _, vars := newTestWriter(t, f, nil)
	w.now = func() time.Time { return now }
	w.Open()
	w.Open() // no-op
	// The table, then heartbeats; the third write has begun only once the
	// second was counted.
	got := waitAttempts(t, f, 5)
	write := mysqld.HeartbeatWrite(42, now)
	want := append(mysqld.HeartbeatTableDDL(), write, write, write)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("statement %d = %q, want %q", i, got[i], want[i])
		}
	}
	w.Close()
	if w.IsOpen() {
		t.Error("IsOpen after Close")
	}
	if w.writes.Get() < 2 || w.writeErrs.Get() != 0 {
		t.Errorf("writes %d errors %d, want at least 2 and 0", w.writes.Get(), w.writeErrs.Get())
	}
	if raw, ok := vars.Get("HeartbeatWrites"); !ok || string(raw) == "0" {
		t.Errorf("HeartbeatWrites = %s (found %t)", raw, ok)
	}

	// Open starts again after Close (which waited for the writer: the leak
	// check in TestMain would catch one left running).
	for len(f.attempts) > 0 {
		<-f.attempts
	}
	w.Open()
	if !w.IsOpen() {
		t.Error("not open after a second Open")
	}
	if got := waitAttempts(t, f, 3); got[2] != write {
		t.Errorf("after reopening: %q, want the table then a heartbeat", got)
	}
}

func TestHeartbeatWriterRetriesAndLogsOnce(t *testing.T) {
	f := newFakeServer()
	f.setFailWrites(errors.New("Error 1290: the server is running with --read-only"))
	w, logs, _ := newTestWriter(t, f, nil)
	w.Open()
	// Each failed write runs the DDL again (two statements) before the
	// insert: wait for four rounds, so three have been accounted.
	waitAttempts(t, f, 4*3)
	if got := strings.Count(logs.String(), "heartbeat write failed"); got != 1 {
		t.Errorf("failure logged %d times, want once:\n%s", got, logs)
	}
	if n := w.writeErrs.Get(); n < 3 {
		t.Errorf("write errors = %d, want at least 3", n)
	}
	f.setFailWrites(nil)
	// A statement reaches the fake only after the previous round was
	// accounted and logged: wait for a success, drop the statements queued
	// until then, and wait for one more.
	for w.writes.Get() == 0 {
		waitAttempts(t, f, 1)
	}
	for len(f.attempts) > 0 {
		<-f.attempts
	}
	waitAttempts(t, f, 1)
	if !strings.Contains(logs.String(), "heartbeat writes resumed") {
		t.Errorf("recovery not logged:\n%s", logs)
	}
}

func TestHeartbeatWriterDisabled(t *testing.T) {
	f := newFakeServer()
	w, _, _ := newTestWriter(t, f, func(c *Config) { c.HeartbeatEnable = false })
	w.Open()
	if w.IsOpen() {
		t.Error("writer opened with heartbeats off")
	}
	w.Close()
}
