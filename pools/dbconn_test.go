package pools

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func TestFlavorOf(t *testing.T) {
	tests := []struct {
		version string
		want    Flavor
	}{
		{"10.11.6-MariaDB-0+deb12u1-log", FlavorMariaDB},
		{"5.5.5-10.11.6-MariaDB", FlavorMariaDB},
		{"8.0.36", FlavorMySQL},
		{"5.7.44-log", FlavorMySQL},
		{"8.0.36-28 Percona Server", FlavorMySQL},
		{"", FlavorMySQL},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			if got := FlavorOf(tt.version); got != tt.want {
				t.Errorf("FlavorOf(%q) = %q, want %q", tt.version, got, tt.want)
			}
		})
	}
}

func TestIsConnError(t *testing.T) {
	myErr := func(n uint16) error { return &mysql.MySQLError{Number: n, Message: "test"} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"bad conn", driver.ErrBadConn, true},
		{"invalid connection", mysql.ErrInvalidConn, true},
		{"wrapped invalid connection", fmt.Errorf("exec: %w", mysql.ErrInvalidConn), true},
		{"packets out of sync", mysql.ErrPktSync, true},
		{"malformed packet", mysql.ErrMalformPkt, true},
		{"eof", io.EOF, true},
		{"unexpected eof", io.ErrUnexpectedEOF, true},
		{"connection reset", &net.OpError{Op: "read", Net: "unix", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{"broken pipe", fmt.Errorf("write: %w", syscall.EPIPE), true},
		{"server gone 2006", myErr(2006), true},
		{"server lost 2013", myErr(2013), true},
		{"server shutdown 1053", myErr(1053), true},
		{"connection killed 1927", myErr(1927), true},
		{"session killed 3169", myErr(3169), true},
		{"wrapped server gone", fmt.Errorf("query: %w", myErr(2006)), true},
		{"query interrupted 1317", myErr(1317), false},
		{"duplicate key 1062", myErr(1062), false},
		{"syntax 1064", myErr(1064), false},
		{"lock wait timeout 1205", myErr(1205), false},
		{"deadlock 1213", myErr(1213), false},
		{"context cancelled", context.Canceled, false},
		{"plain error", errors.New("something"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsConnError(tt.err); got != tt.want {
				t.Errorf("IsConnError(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestDialReadsIDAndFlavor(t *testing.T) {
	tests := []struct {
		version string
		flavor  Flavor
	}{
		{"10.11.6-MariaDB-0+deb12u1", FlavorMariaDB},
		{"8.0.36", FlavorMySQL},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			srv := newFakeServer(tt.version)
			ctx := context.Background()
			a, err := Dial(ctx, srv)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := Dial(ctx, srv)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if a.ID() != 1 || b.ID() != 2 {
				t.Errorf("IDs = %d, %d, want 1, 2", a.ID(), b.ID())
			}
			if a.Flavor() != tt.flavor || a.ServerVersion() != tt.version {
				t.Errorf("flavor %q version %q, want %q %q", a.Flavor(), a.ServerVersion(), tt.flavor, tt.version)
			}
			if a.IsBroken() {
				t.Errorf("fresh connection reports broken")
			}
			if err := a.Ping(ctx); err != nil {
				t.Errorf("Ping = %v", err)
			}
		})
	}
}

// TestDBConnMarksBroken: errors that lose the connection mark it broken;
// ordinary SQL errors do not.
func TestDBConnMarksBroken(t *testing.T) {
	tests := []struct {
		name       string
		err        error // returned by the server for the statement
		ctxTimeout time.Duration
		query      string
		wantBroken bool
	}{
		{name: "server lost", err: &mysql.MySQLError{Number: 2013, Message: "Lost connection"}, wantBroken: true},
		{name: "connection killed", err: &mysql.MySQLError{Number: 1927, Message: "Connection was killed"}, wantBroken: true},
		{name: "invalid connection", err: mysql.ErrInvalidConn, wantBroken: true},
		{name: "duplicate key", err: &mysql.MySQLError{Number: 1062, Message: "Duplicate entry"}},
		{name: "query killed", err: &mysql.MySQLError{Number: 1317, Message: "Query execution was interrupted"}},
		{name: "context ends mid-statement", query: "SELECT SLEEP(10)", ctxTimeout: 10 * time.Millisecond, wantBroken: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer("8.0.36")
			query := tt.query
			if query == "" {
				query = "UPDATE t SET a = 1"
				srv.fail(query, tt.err)
			}
			ctx := context.Background()
			c, err := Dial(ctx, srv)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tt.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
			}
			_, err = c.Exec(ctx, query)
			if err == nil {
				t.Fatal("Exec succeeded, want an error")
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("error %v does not wrap %v", err, tt.err)
			}
			if got := c.IsBroken(); got != tt.wantBroken {
				t.Errorf("IsBroken() = %v, want %v (err %v)", got, tt.wantBroken, err)
			}
			if tt.wantBroken {
				if _, err := c.Exec(context.Background(), "SELECT 1"); !errors.Is(err, driver.ErrBadConn) {
					t.Errorf("statement on a broken connection = %v, want ErrBadConn", err)
				}
			}
		})
	}
}

func TestDBConnServerHangUp(t *testing.T) {
	srv := newFakeServer("10.11.6-MariaDB")
	c, err := Dial(context.Background(), srv)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv.hangUp()
	if !c.IsBroken() {
		t.Fatal("IsBroken() = false after the server hung up")
	}
}

func TestDBConnFetch(t *testing.T) {
	srv := newFakeServer("8.0.36")
	const q = "SELECT a, b FROM t"
	srv.script(q, fakeResult{
		cols:  []string{"a", "b"},
		types: []string{"BIGINT", "VARCHAR"},
		rows: [][]driver.Value{
			{int64(1), []byte("one")},
			{int64(2), []byte("two")},
			{int64(3), nil},
		},
	})
	ctx := context.Background()
	c, err := Dial(ctx, srv)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	tests := []struct {
		name    string
		maxRows int
		wantErr error
	}{
		{"unlimited", 0, nil},
		{"at the limit", 3, nil},
		{"over the limit", 2, ErrRowLimitExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Fetch(ctx, q, tt.maxRows)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Fetch = %v, want %v", err, tt.wantErr)
			}
			if c.IsBroken() {
				t.Fatalf("Fetch left the connection broken")
			}
			if tt.wantErr != nil {
				return
			}
			if !slices.Equal(res.Columns, []string{"a", "b"}) || !slices.Equal(res.Types, []string{"BIGINT", "VARCHAR"}) {
				t.Errorf("columns %v types %v", res.Columns, res.Types)
			}
			// Values must be copies: the driver reuses its buffer.
			got := fmt.Sprintf("%v %s %v %s %v %v", res.Rows[0][0], res.Rows[0][1], res.Rows[1][0], res.Rows[1][1], res.Rows[2][0], res.Rows[2][1])
			if want := "1 one 2 two 3 <nil>"; got != want {
				t.Errorf("rows = %q, want %q", got, want)
			}
		})
	}
}

func TestDBConnArgsArePrepared(t *testing.T) {
	srv := newFakeServer("8.0.36")
	ctx := context.Background()
	c, err := Dial(ctx, srv)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Exec(ctx, "UPDATE t SET a = ? WHERE b = ?", 7, "x"); err != nil {
		t.Fatal(err)
	}
	rows, err := c.Query(ctx, "SELECT a FROM t WHERE b = ?", "y")
	if err != nil {
		t.Fatal(err)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	log := srv.statements()
	want := []string{"UPDATE t SET a = ? WHERE b = ? [7] [x]", "SELECT a FROM t WHERE b = ? [y]"}
	if !slices.Equal(log[len(log)-2:], want) {
		t.Errorf("statements = %q, want to end with %q", log, want)
	}
}

// TestPoolReplacesDBConnAfterHangUp: idle DBConns whose server hung up are
// found broken on reuse, counted, and replaced by fresh ones.
func TestPoolReplacesDBConnAfterHangUp(t *testing.T) {
	srv := newFakeServer("10.11.6-MariaDB")
	p := NewPool(PoolConfig{Name: "ConnPool", Capacity: 2}, func(ctx context.Context) (*DBConn, error) {
		return Dial(ctx, srv)
	}, discardLogger())
	p.Open()
	defer func() {
		if err := p.Close(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	ctx := context.Background()
	a, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.Release()
	b.Release()
	srv.hangUp()
	for range 2 {
		pc, err := p.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if pc.Conn.ID() <= 2 {
			t.Errorf("Get handed out connection %d from before the hang-up", pc.Conn.ID())
		}
		if _, err := pc.Conn.Exec(ctx, "SELECT 1"); err != nil {
			t.Errorf("fresh connection: %v", err)
		}
		defer pc.Release()
	}
	if got := p.Metrics().BrokenClosed(); got != 2 {
		t.Errorf("BrokenClosed = %d, want 2", got)
	}
}

func TestIsDriverDefaultLogger(t *testing.T) {
	tests := []struct {
		name   string
		logger mysql.Logger
		want   bool
	}{
		{"driver default", mysql.NewConfig().Logger, true},
		{"another standard logger", log.New(io.Discard, "", 0), false},
		{"nop", &mysql.NopLogger{}, false},
		{"ours", driverLogger{discardLogger()}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isDriverDefaultLogger(tt.logger); got != tt.want {
				t.Errorf("isDriverDefaultLogger = %v, want %v", got, tt.want)
			}
		})
	}
}
