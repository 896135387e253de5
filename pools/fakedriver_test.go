package pools

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// fakeServer stands in for mysqld behind a database/sql/driver connection:
// it numbers connections, answers the connect-time query, returns scripted
// results and errors, and can hang up on every connection. Test-only.
type fakeServer struct {
	version string

	mu      sync.Mutex
	nextID  int64
	conns   []*fakeDriverConn
	results map[string]fakeResult // guarded by mu; by query text
	errs    map[string]error      // guarded by mu; by query text
	log     []string              // guarded by mu; statements run, with args
}

type fakeResult struct {
	cols  []string
	types []string
	rows  [][]driver.Value
}

func newFakeServer(version string) *fakeServer {
	return &fakeServer{version: version, results: map[string]fakeResult{}, errs: map[string]error{}}
}

// Connect makes fakeServer a driver.Connector.
func (s *fakeServer) Connect(context.Context) (driver.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	c := &fakeDriverConn{s: s, id: s.nextID}
	s.conns = append(s.conns, c)
	return c, nil
}

// Driver is required by driver.Connector; nothing calls it here.
func (s *fakeServer) Driver() driver.Driver { return nil }

func (s *fakeServer) script(query string, r fakeResult) {
	s.mu.Lock()
	s.results[query] = r
	s.mu.Unlock()
}

func (s *fakeServer) fail(query string, err error) {
	s.mu.Lock()
	s.errs[query] = err
	s.mu.Unlock()
}

// hangUp drops every open connection, as a killed mysqld does.
func (s *fakeServer) hangUp() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.gone = true
	}
}

func (s *fakeServer) statements() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// run answers one statement on c.
func (s *fakeServer) run(ctx context.Context, c *fakeDriverConn, query string, args []driver.NamedValue) (fakeResult, error) {
	s.mu.Lock()
	gone := c.gone
	entry := query
	for _, a := range args {
		entry += fmt.Sprintf(" [%v]", a.Value)
	}
	s.log = append(s.log, entry)
	res, hasRes := s.results[query]
	err := s.errs[query]
	s.mu.Unlock()
	switch {
	case c.closed:
		return fakeResult{}, driver.ErrBadConn
	case gone:
		c.closed = true
		return fakeResult{}, io.EOF
	case err != nil:
		return fakeResult{}, err
	case query == "SELECT CONNECTION_ID(), VERSION()":
		return fakeResult{cols: []string{"id", "v"}, rows: [][]driver.Value{{c.id, []byte(s.version)}}}, nil
	case strings.HasPrefix(query, "SELECT SLEEP"):
		// Runs until the context ends; the real driver then closes the
		// socket.
		<-ctx.Done()
		c.closed = true
		return fakeResult{}, ctx.Err()
	case hasRes:
		return res, nil
	}
	return fakeResult{}, nil
}

// fakeDriverConn is one connection to a fakeServer. Like a real driver
// connection it is used by one goroutine at a time. Test-only.
type fakeDriverConn struct {
	s      *fakeServer
	id     int64
	closed bool
	gone   bool // guarded by s.mu
}

var (
	_ driver.Conn               = (*fakeDriverConn)(nil)
	_ driver.ExecerContext      = (*fakeDriverConn)(nil)
	_ driver.QueryerContext     = (*fakeDriverConn)(nil)
	_ driver.ConnPrepareContext = (*fakeDriverConn)(nil)
	_ driver.SessionResetter    = (*fakeDriverConn)(nil)
	_ driver.Validator          = (*fakeDriverConn)(nil)
)

func (c *fakeDriverConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *fakeDriverConn) PrepareContext(_ context.Context, query string) (driver.Stmt, error) {
	if c.closed {
		return nil, driver.ErrBadConn
	}
	return &fakeStmt{c: c, query: query}, nil
}

func (c *fakeDriverConn) Close() error {
	c.closed = true
	return nil
}

func (c *fakeDriverConn) Begin() (driver.Tx, error) { return nil, errors.New("not supported") }

// ExecContext and QueryContext refuse arguments with driver.ErrSkip, as
// go-sql-driver/mysql does without InterpolateParams, so DBConn prepares.
func (c *fakeDriverConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) > 0 {
		return nil, driver.ErrSkip
	}
	if _, err := c.s.run(ctx, c, query, nil); err != nil {
		return nil, err
	}
	return driver.RowsAffected(1), nil
}

func (c *fakeDriverConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) > 0 {
		return nil, driver.ErrSkip
	}
	res, err := c.s.run(ctx, c, query, nil)
	if err != nil {
		return nil, err
	}
	return &fakeRows{res: res}, nil
}

func (c *fakeDriverConn) ResetSession(context.Context) error {
	c.s.mu.Lock()
	gone := c.gone
	c.s.mu.Unlock()
	if c.closed || gone {
		return driver.ErrBadConn
	}
	return nil
}

func (c *fakeDriverConn) IsValid() bool { return !c.closed }

type fakeStmt struct {
	c     *fakeDriverConn
	query string
}

func (s *fakeStmt) Close() error  { return nil }
func (s *fakeStmt) NumInput() int { return -1 }

func (s *fakeStmt) Exec([]driver.Value) (driver.Result, error) {
	return nil, errors.New("use ExecContext")
}

func (s *fakeStmt) Query([]driver.Value) (driver.Rows, error) {
	return nil, errors.New("use QueryContext")
}

func (s *fakeStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if _, err := s.c.s.run(ctx, s.c, s.query, args); err != nil {
		return nil, err
	}
	return driver.RowsAffected(1), nil
}

func (s *fakeStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	res, err := s.c.s.run(ctx, s.c, s.query, args)
	if err != nil {
		return nil, err
	}
	return &fakeRows{res: res}, nil
}

type fakeRows struct {
	res  fakeResult
	next int
	// bufs are reused across rows, as the real driver reuses its buffer.
	bufs [][]byte
}

func (r *fakeRows) Columns() []string { return r.res.cols }
func (r *fakeRows) Close() error      { return nil }

func (r *fakeRows) Next(dest []driver.Value) error {
	if r.next >= len(r.res.rows) {
		return io.EOF
	}
	if r.bufs == nil {
		r.bufs = make([][]byte, len(dest))
	}
	for i, v := range r.res.rows[r.next] {
		if b, ok := v.([]byte); ok {
			r.bufs[i] = append(r.bufs[i][:0], b...)
			v = r.bufs[i]
		}
		dest[i] = v
	}
	r.next++
	return nil
}

func (r *fakeRows) ColumnTypeDatabaseTypeName(i int) string {
	if i < len(r.res.types) {
		return r.res.types[i]
	}
	return ""
}
