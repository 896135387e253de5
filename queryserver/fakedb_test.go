package queryserver

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"
)

// fakeDB is a scriptable stand-in for a MySQL server at the driver level,
// for tests that must run without one (-short). It is test-only. Each
// connection has an id; "KILL QUERY n" interrupts connection n's running
// statement (and is ignored when it is idle, as MariaDB does), "KILL n"
// closes it; every other statement goes to the handler. A statement whose
// reply has a wait channel blocks until that channel closes, a kill, or its
// context ends (which, like the real driver, breaks the connection).
type fakeDB struct {
	handler func(c *fakeConn, query string) fakeReply

	mu      sync.Mutex // guards the fields below
	nextID  int64
	conns   map[int64]*fakeConn
	log     []string // every statement, in order, as "id: query"
	running map[string]int

	started chan string // if set, receives each blocking statement as it starts waiting
}

// fakeReply is what the handler answers to one statement.
type fakeReply struct {
	cols     []string
	types    []string
	rows     [][]driver.Value
	affected int64
	insertID int64
	err      error

	wait            <-chan struct{} // block until closed (or killed)
	ignoreKillQuery bool            // a hung statement: only KILL or the context stops it
}

func newFakeDB(handler func(c *fakeConn, query string) fakeReply) *fakeDB {
	return &fakeDB{handler: handler, conns: map[int64]*fakeConn{}, running: map[string]int{}}
}

// connector returns a driver.Connector opening connections as user.
func (db *fakeDB) connector(user string) driver.Connector { return fakeConnector{db, user} }

type fakeConnector struct {
	db   *fakeDB
	user string
}

func (fc fakeConnector) Connect(ctx context.Context) (driver.Conn, error) {
	db := fc.db
	db.mu.Lock()
	defer db.mu.Unlock()
	db.nextID++
	c := &fakeConn{db: db, id: db.nextID, user: fc.user, killed: make(chan struct{})}
	db.conns[c.id] = c
	return c, nil
}

func (fc fakeConnector) Driver() driver.Driver { return nil }

// statements returns the statements run so far that contain substr.
func (db *fakeDB) statements(substr string) []string {
	db.mu.Lock()
	defer db.mu.Unlock()
	var out []string
	for _, s := range db.log {
		if strings.Contains(s, substr) {
			out = append(out, s)
		}
	}
	return out
}

// runningCount is how many statements equal to q are blocked now.
func (db *fakeDB) runningCount(q string) int {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.running[q]
}

// conn returns connection id.
func (db *fakeDB) conn(id int64) *fakeConn {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.conns[id]
}

// fakeConn is one fake server connection.
type fakeConn struct {
	db   *fakeDB
	id   int64
	user string

	closed atomic.Bool
	killed chan struct{} // closed by KILL
	once   sync.Once

	mu  sync.Mutex    // guards cur
	cur chan struct{} // the running statement's KILL QUERY signal; nil when idle
}

func (c *fakeConn) kill() { c.once.Do(func() { close(c.killed) }) }

func (c *fakeConn) killQuery() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil {
		select {
		case c.cur <- struct{}{}:
		default:
		}
	}
}

var errInterrupted = &mysql.MySQLError{Number: 1317, SQLState: [5]byte{'7', '0', '1', '0', '0'}, Message: "Query execution was interrupted"}

// run executes one statement.
func (c *fakeConn) run(ctx context.Context, q string) (fakeReply, error) {
	if c.closed.Load() {
		return fakeReply{}, driver.ErrBadConn
	}
	db := c.db
	db.mu.Lock()
	db.log = append(db.log, fmt.Sprintf("%d: %s", c.id, q))
	db.mu.Unlock()

	switch {
	case q == "SELECT CONNECTION_ID(), VERSION()":
		return fakeReply{cols: []string{"id", "v"}, types: []string{"BIGINT", "VARCHAR"},
			rows: [][]driver.Value{{c.id, []byte("10.11.0-MariaDB-fake")}}}, nil
	case strings.HasPrefix(q, "KILL QUERY "), strings.HasPrefix(q, "KILL "):
		id, err := strconv.ParseInt(q[strings.LastIndexByte(q, ' ')+1:], 10, 64)
		if err != nil {
			return fakeReply{}, err
		}
		target := db.conn(id)
		if target == nil || target.closed.Load() {
			return fakeReply{}, &mysql.MySQLError{Number: 1094, Message: "Unknown thread id"}
		}
		if strings.HasPrefix(q, "KILL QUERY ") {
			target.killQuery()
		} else {
			target.kill()
		}
		return fakeReply{}, nil
	}
	r := db.handler(c, q)
	if r.wait != nil {
		sig := make(chan struct{}, 1)
		c.mu.Lock()
		c.cur = sig
		c.mu.Unlock()
		db.mu.Lock()
		db.running[q]++
		db.mu.Unlock()
		if db.started != nil {
			db.started <- q
		}
		var err error
		if r.ignoreKillQuery {
			sig = nil
		}
		select {
		case <-r.wait:
		case <-sig:
			err = errInterrupted
		case <-c.killed:
			c.closed.Store(true)
			err = mysql.ErrInvalidConn
		case <-ctx.Done():
			c.closed.Store(true)
			err = ctx.Err()
		}
		c.mu.Lock()
		c.cur = nil
		c.mu.Unlock()
		db.mu.Lock()
		db.running[q]--
		db.mu.Unlock()
		if err != nil {
			return fakeReply{}, err
		}
	}
	return r, r.err
}

func (c *fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("fake: no prepare") }
func (c *fakeConn) PrepareContext(context.Context, string) (driver.Stmt, error) {
	return nil, errors.New("fake: no prepare")
}
func (c *fakeConn) Begin() (driver.Tx, error) { return nil, errors.New("fake: no Begin") }
func (c *fakeConn) Close() error              { c.closed.Store(true); return nil }
func (c *fakeConn) IsValid() bool             { return !c.closed.Load() }

func (c *fakeConn) ResetSession(context.Context) error {
	select {
	case <-c.killed:
		c.closed.Store(true)
	default:
	}
	if c.closed.Load() {
		return driver.ErrBadConn
	}
	return nil
}

func (c *fakeConn) ExecContext(ctx context.Context, q string, _ []driver.NamedValue) (driver.Result, error) {
	r, err := c.run(ctx, q)
	if err != nil {
		return nil, err
	}
	return fakeResult{r.affected, r.insertID}, nil
}

func (c *fakeConn) QueryContext(ctx context.Context, q string, _ []driver.NamedValue) (driver.Rows, error) {
	r, err := c.run(ctx, q)
	if err != nil {
		return nil, err
	}
	return &fakeRows{r: r}, nil
}

type fakeResult struct{ affected, insertID int64 }

func (r fakeResult) LastInsertId() (int64, error) { return r.insertID, nil }
func (r fakeResult) RowsAffected() (int64, error) { return r.affected, nil }

type fakeRows struct {
	r fakeReply
	i int
}

func (r *fakeRows) Columns() []string { return r.r.cols }
func (r *fakeRows) Close() error      { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	if r.i >= len(r.r.rows) {
		return io.EOF
	}
	copy(dest, r.r.rows[r.i])
	r.i++
	return nil
}

func (r *fakeRows) ColumnTypeDatabaseTypeName(i int) string {
	if i < len(r.r.types) {
		return r.r.types[i]
	}
	return "VARCHAR"
}
