package pools

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/go-sql-driver/mysql"
)

// Flavor names the kind of server at the other end of a DBConn, from its
// VERSION(). The mysqld package owns flavor behaviour; this is only the tag.
type Flavor string

// Flavors a DBConn can report.
const (
	FlavorMySQL   Flavor = "mysql"
	FlavorMariaDB Flavor = "mariadb"
)

// FlavorOf returns the flavor of a server from its version string, as
// SELECT VERSION() returns it ("10.11.6-MariaDB-0+deb12u1", "8.0.36").
func FlavorOf(version string) Flavor {
	if strings.Contains(strings.ToLower(version), "mariadb") {
		return FlavorMariaDB
	}
	return FlavorMySQL
}

// DBConn is one MySQL server connection, opened through
// github.com/go-sql-driver/mysql at the driver level (no database/sql pool
// in between). It knows its server-side connection id, for KILL, and the
// server's flavor and version, all read once when it connects.
//
// A DBConn marks itself broken when an error shows the connection can no
// longer be trusted (see IsConnError) or a context ended mid-statement (the
// driver then closes the socket); a broken DBConn refuses further statements
// and a Pool closes and replaces it.
//
// A DBConn runs one statement at a time: it is not safe for concurrent use,
// except ID, Flavor and ServerVersion.
type DBConn struct {
	dc      driver.Conn
	execer  driver.ExecerContext
	queryer driver.QueryerContext
	prep    driver.ConnPrepareContext
	reset   driver.SessionResetter
	valid   driver.Validator

	id      int64
	version string
	flavor  Flavor

	broken atomic.Bool
	closed atomic.Bool
}

// NewDBConnector returns a Connector that opens DBConns with a copy of cfg
// (github.com/go-sql-driver/mysql's configuration: user, password, socket or
// address, timeouts). When cfg's Logger is unset or the driver's default
// (standard error), the driver's messages go to logger at debug level: they
// report broken connections the pool already counts and replaces.
func NewDBConnector(cfg *mysql.Config, logger *slog.Logger) (Connector[*DBConn], error) {
	if cfg == nil {
		return nil, errors.New("mysql connector: nil config")
	}
	cfg = cfg.Clone()
	if logger != nil && (cfg.Logger == nil || isDriverDefaultLogger(cfg.Logger)) {
		cfg.Logger = driverLogger{logger}
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql connector for %s@%s: %w", cfg.User, cfg.Addr, err)
	}
	return func(ctx context.Context) (*DBConn, error) {
		return Dial(ctx, connector)
	}, nil
}

// isDriverDefaultLogger reports whether l is the driver's own default, the
// one mysql.NewConfig sets, which prints to standard error.
func isDriverDefaultLogger(l mysql.Logger) bool {
	def, _ := mysql.NewConfig().Logger.(*log.Logger)
	got, ok := l.(*log.Logger)
	return ok && def != nil && got == def
}

// driverLogger adapts a slog.Logger to the driver's Print-style Logger.
type driverLogger struct{ l *slog.Logger }

func (d driverLogger) Print(v ...any) { d.l.Debug("mysql driver", "msg", fmt.Sprint(v...)) }

// Dial opens one DBConn with connector (from mysql.NewConnector) and reads
// its CONNECTION_ID() and VERSION(). It fails if the driver lacks the
// context-aware interfaces DBConn needs.
func Dial(ctx context.Context, connector driver.Connector) (*DBConn, error) {
	dc, err := connector.Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to mysql: %w", err)
	}
	c := &DBConn{dc: dc}
	var ok [5]bool
	c.execer, ok[0] = dc.(driver.ExecerContext)
	c.queryer, ok[1] = dc.(driver.QueryerContext)
	c.prep, ok[2] = dc.(driver.ConnPrepareContext)
	c.reset, ok[3] = dc.(driver.SessionResetter)
	c.valid, ok[4] = dc.(driver.Validator)
	if ok != [5]bool{true, true, true, true, true} {
		_ = dc.Close()
		return nil, fmt.Errorf("connect to mysql: driver connection %T lacks context support", dc)
	}

	row, err := c.queryRow(ctx, "SELECT CONNECTION_ID(), VERSION()")
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("connect to mysql: read connection id: %w", err)
	}
	id, err := asInt64(row[0])
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("connect to mysql: connection id: %w", err)
	}
	c.id = id
	c.version = asString(row[1])
	c.flavor = FlavorOf(c.version)
	return c, nil
}

// ID is the server's id for this connection, CONNECTION_ID(): the argument
// to KILL and KILL QUERY.
func (c *DBConn) ID() int64 { return c.id }

// Flavor is the server's flavor, from its version.
func (c *DBConn) Flavor() Flavor { return c.flavor }

// ServerVersion is the server's VERSION() when this connection opened.
func (c *DBConn) ServerVersion() string { return c.version }

// IsBroken reports whether the connection must not be used again: an error
// marked it so, it was closed, a Rows on it is still open, or its socket
// shows the server hung up (a non-blocking read finds EOF, as after mysqld
// was killed or a KILL CONNECTION). It costs one non-blocking read on the
// socket and belongs to the connection's holder like the other methods.
func (c *DBConn) IsBroken() bool {
	if c.broken.Load() {
		return true
	}
	if err := c.reset.ResetSession(context.Background()); err != nil {
		c.broken.Store(true)
		return true
	}
	return false
}

// Close closes the connection (sending COM_QUIT when the socket is still
// up) and marks it broken. It is idempotent.
func (c *DBConn) Close() error {
	c.broken.Store(true)
	if c.closed.Swap(true) {
		return nil
	}
	return c.dc.Close()
}

// Ping checks the server answers on this connection.
func (c *DBConn) Ping(ctx context.Context) error {
	if err := c.usable(); err != nil {
		return err
	}
	p, ok := c.dc.(driver.Pinger)
	if !ok {
		_, err := c.Exec(ctx, "SELECT 1")
		return err
	}
	if err := p.Ping(ctx); err != nil {
		return c.fail(ctx, "ping", err)
	}
	return nil
}

// ExecResult is what a statement without a result set reports.
type ExecResult struct {
	RowsAffected uint64 // rows changed, as the server counts them
	InsertID     uint64 // LAST_INSERT_ID() after the statement; 0 if none
}

// Exec runs a statement and discards any rows it returns. With args, the
// statement is prepared on the server (unless the config set
// InterpolateParams) and its ? placeholders bound to args. ctx bounds the
// call; if it ends mid-statement the driver closes the connection, which is
// then broken.
func (c *DBConn) Exec(ctx context.Context, query string, args ...any) (ExecResult, error) {
	if err := c.usable(); err != nil {
		return ExecResult{}, err
	}
	nv, err := c.namedValues(args)
	if err != nil {
		return ExecResult{}, err
	}
	res, err := c.execer.ExecContext(ctx, query, nv)
	if errors.Is(err, driver.ErrSkip) {
		res, err = c.execPrepared(ctx, query, nv)
	}
	if err != nil {
		return ExecResult{}, c.fail(ctx, "exec", err)
	}
	var out ExecResult
	if n, err := res.RowsAffected(); err == nil {
		out.RowsAffected = uint64(n)
	}
	if id, err := res.LastInsertId(); err == nil {
		out.InsertID = uint64(id)
	}
	return out, nil
}

func (c *DBConn) execPrepared(ctx context.Context, query string, nv []driver.NamedValue) (driver.Result, error) {
	st, err := c.prep.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	se, ok := st.(driver.StmtExecContext)
	if !ok {
		return nil, fmt.Errorf("driver statement %T lacks context support", st)
	}
	return se.ExecContext(ctx, nv)
}

// Query runs a statement and returns its rows, streamed from the server.
// The caller must Close the Rows before the next statement on this
// connection. Arguments are as for Exec.
func (c *DBConn) Query(ctx context.Context, query string, args ...any) (*Rows, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	nv, err := c.namedValues(args)
	if err != nil {
		return nil, err
	}
	r := &Rows{c: c, ctx: ctx}
	r.rows, err = c.queryer.QueryContext(ctx, query, nv)
	if errors.Is(err, driver.ErrSkip) {
		r.rows, r.stmt, err = c.queryPrepared(ctx, query, nv)
	}
	if err != nil {
		return nil, c.fail(ctx, "query", err)
	}
	r.cols = r.rows.Columns()
	return r, nil
}

func (c *DBConn) queryPrepared(ctx context.Context, query string, nv []driver.NamedValue) (driver.Rows, driver.Stmt, error) {
	st, err := c.prep.PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	sq, ok := st.(driver.StmtQueryContext)
	if !ok {
		st.Close()
		return nil, nil, fmt.Errorf("driver statement %T lacks context support", st)
	}
	rows, err := sq.QueryContext(ctx, nv)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return rows, st, nil
}

// Result is a whole result set read into memory.
type Result struct {
	Columns []string         // column names
	Types   []string         // database type names ("INT", "VARCHAR"), where the driver knows them
	Rows    [][]driver.Value // int64, uint64, float32, float64, []byte, time.Time or nil
}

// Fetch runs a query and reads its whole result. If it has more than
// maxRows rows (maxRows > 0), Fetch stops reading, drains the rest and
// returns an error wrapping ErrRowLimitExceeded. Values are copies, safe to
// keep.
func (c *DBConn) Fetch(ctx context.Context, query string, maxRows int, args ...any) (*Result, error) {
	rows, err := c.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: rows.Columns(), Types: rows.ColumnTypes()}
	for {
		dest := make([]driver.Value, len(res.Columns))
		err := rows.Next(dest)
		if err == io.EOF {
			break
		}
		if err != nil {
			rows.Close()
			return nil, err
		}
		if maxRows > 0 && len(res.Rows) == maxRows {
			if err := rows.Close(); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("mysql connection %d: more than %d rows: %w", c.id, maxRows, ErrRowLimitExceeded)
		}
		for i, v := range dest {
			if b, ok := v.([]byte); ok {
				dest[i] = append([]byte(nil), b...)
			}
		}
		res.Rows = append(res.Rows, dest)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return res, nil
}

// Rows is a streamed result set of a DBConn. It is not safe for concurrent
// use.
type Rows struct {
	c    *DBConn
	ctx  context.Context // of the Query; consulted to classify errors
	rows driver.Rows
	stmt driver.Stmt // set when the query was prepared
	cols []string
	done bool
}

// Columns are the result's column names.
func (r *Rows) Columns() []string { return r.cols }

// ColumnTypes are the database type names of the columns ("BIGINT",
// "VARCHAR"), or nil if the driver does not report them.
func (r *Rows) ColumnTypes() []string {
	tn, ok := r.rows.(driver.RowsColumnTypeDatabaseTypeName)
	if !ok {
		return nil
	}
	out := make([]string, len(r.cols))
	for i := range out {
		out[i] = tn.ColumnTypeDatabaseTypeName(i)
	}
	return out
}

// Next reads the next row into dest, which must have one element per
// column. It returns io.EOF after the last row. []byte values point into the
// driver's buffer and are valid only until the next call: copy what you
// keep.
func (r *Rows) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	err := r.rows.Next(dest)
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		return r.c.fail(r.ctx, "read row", err)
	}
	return nil
}

// Close discards any rows not read (reading them off the connection) and
// frees the connection for its next statement. It is idempotent.
func (r *Rows) Close() error {
	if r.done {
		return nil
	}
	r.done = true
	err := r.rows.Close()
	if r.stmt != nil {
		if serr := r.stmt.Close(); err == nil {
			err = serr
		}
	}
	if err != nil {
		return r.c.fail(r.ctx, "close rows", err)
	}
	return nil
}

func (c *DBConn) queryRow(ctx context.Context, query string) ([]driver.Value, error) {
	rows, err := c.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	dest := make([]driver.Value, len(rows.Columns()))
	if err := rows.Next(dest); err != nil {
		rows.Close()
		if err == io.EOF {
			return nil, fmt.Errorf("%q returned no row", query)
		}
		return nil, err
	}
	for i, v := range dest {
		if b, ok := v.([]byte); ok {
			dest[i] = append([]byte(nil), b...)
		}
	}
	return dest, rows.Close()
}

func (c *DBConn) usable() error {
	if c.broken.Load() {
		return fmt.Errorf("mysql connection %d is broken: %w", c.id, driver.ErrBadConn)
	}
	return nil
}

// fail wraps err from operation op and marks the connection broken if err
// means it can no longer be trusted, or ctx ended (the driver closes the
// socket when a context ends mid-statement).
func (c *DBConn) fail(ctx context.Context, op string, err error) error {
	if IsConnError(err) || ctx.Err() != nil || !c.valid.IsValid() {
		c.broken.Store(true)
	}
	return fmt.Errorf("mysql connection %d: %s: %w", c.id, op, err)
}

func (c *DBConn) namedValues(args []any) ([]driver.NamedValue, error) {
	if len(args) == 0 {
		return nil, nil
	}
	nv := make([]driver.NamedValue, len(args))
	checker, _ := c.dc.(driver.NamedValueChecker)
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		err := driver.ErrSkip
		if checker != nil {
			err = checker.CheckNamedValue(&nv[i])
		}
		if errors.Is(err, driver.ErrSkip) {
			nv[i].Value, err = driver.DefaultParameterConverter.ConvertValue(a)
		}
		if err != nil {
			return nil, fmt.Errorf("mysql connection %d: argument %d (%T): %w", c.id, i+1, a, err)
		}
	}
	return nv, nil
}

// Server error numbers after which a connection is gone or cannot be
// trusted. The 2xxx are client codes (CR_*) that proxies and other clients
// pass along; the rest are server codes (ER_*). ER_QUERY_INTERRUPTED (1317,
// after KILL QUERY) is deliberately absent: the connection survives it.
var connErrorNumbers = map[uint16]bool{
	1040: true, // ER_CON_COUNT_ERROR: too many connections
	1053: true, // ER_SERVER_SHUTDOWN
	1152: true, // ER_ABORTING_CONNECTION
	1153: true, // ER_NET_PACKET_TOO_LARGE: the server drops the connection
	1154: true, // ER_NET_READ_ERROR_FROM_PIPE
	1156: true, // ER_NET_PACKETS_OUT_OF_ORDER
	1157: true, // ER_NET_UNCOMPRESS_ERROR
	1158: true, // ER_NET_READ_ERROR
	1159: true, // ER_NET_READ_INTERRUPTED
	1160: true, // ER_NET_ERROR_ON_WRITE
	1161: true, // ER_NET_WRITE_INTERRUPTED
	1184: true, // ER_NEW_ABORTING_CONNECTION
	1927: true, // ER_CONNECTION_KILLED (MariaDB)
	2002: true, // CR_CONNECTION_ERROR
	2003: true, // CR_CONN_HOST_ERROR
	2006: true, // CR_SERVER_GONE_ERROR
	2013: true, // CR_SERVER_LOST
	2055: true, // CR_SERVER_LOST_EXTENDED
	3169: true, // ER_SESSION_WAS_KILLED (MySQL 8.0)
	4031: true, // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8.0.24+)
}

// IsConnError reports whether err means the connection it came from is
// gone or out of step with the server, so it must not be used again:
// driver.ErrBadConn, the driver's invalid-connection and protocol errors,
// network and socket errors, EOF mid-packet, and the MySQL error numbers for
// a lost, killed or shut-down connection (2006, 2013, 1053, 1927 and
// others). An ordinary SQL error (syntax, duplicate key, lock wait timeout,
// KILL QUERY) leaves the connection usable and returns false.
func IsConnError(err error) bool {
	if err == nil {
		return false
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return connErrorNumbers[me.Number]
	}
	switch {
	case errors.Is(err, driver.ErrBadConn),
		errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, mysql.ErrMalformPkt),
		errors.Is(err, mysql.ErrPktSync),
		errors.Is(err, mysql.ErrPktSyncMul),
		errors.Is(err, mysql.ErrBusyBuffer),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED):
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

func asInt64(v driver.Value) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case uint64:
		return int64(x), nil
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("unexpected %T", v)
}

func asString(v driver.Value) string {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case string:
		return x
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
