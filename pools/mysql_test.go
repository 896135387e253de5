package pools_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/pools"
	"github.com/tabletd/tablet/testenv"
)

// startSet starts a private mysqld and a pool set on it, closed when the
// test ends. It skips under -short.
func startSet(t *testing.T, cfg pools.Config) (*testenv.MySQL, *pools.Set) {
	t.Helper()
	m := testenv.StartMySQL(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := pools.NewDBConnector(m.DriverConfig(testenv.RoleApp), logger)
	if err != nil {
		t.Fatal(err)
	}
	dba, err := pools.NewDBConnector(m.DriverConfig(testenv.RoleDBA), logger)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pools.NewSet(cfg, app, dba, logger)
	if err != nil {
		t.Fatal(err)
	}
	s.Open()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close pools: %v", err)
		}
	})
	return m, s
}

func smallConfig() pools.Config {
	c := pools.DefaultConfig()
	c.PoolSize = 4
	c.StreamPoolSize = 2
	c.TransactionCap = 2
	c.TxPoolTimeout = 100 * time.Millisecond
	c.DBAPoolSize = 2
	return c
}

// selectOne checks the connection answers SELECT 1.
func selectOne(ctx context.Context, c *pools.DBConn) error {
	res, err := c.Fetch(ctx, "SELECT 1", 1)
	if err != nil {
		return err
	}
	if len(res.Rows) != 1 || fmt.Sprint(res.Rows[0][0]) != "1" {
		return fmt.Errorf("SELECT 1 returned %v", res.Rows)
	}
	return nil
}

// TestMySQLServerRestart: idle connections die with the server; the pool
// finds them broken, counts them and, once the server is back, hands out
// working connections without being reopened.
func TestMySQLServerRestart(t *testing.T) {
	m, s := startSet(t, smallConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Leave three connections idle in the pool.
	var held []*pools.Pooled[*pools.DBConn]
	for range 3 {
		pc, err := s.Conn.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := selectOne(ctx, pc.Conn); err != nil {
			t.Fatal(err)
		}
		held = append(held, pc)
	}
	for _, pc := range held {
		pc.Release()
	}

	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	// While the server is down Get fails at once with the connect error,
	// having found an idle connection broken.
	getCtx, getCancel := context.WithTimeout(ctx, 20*time.Second)
	_, err := s.Conn.Get(getCtx)
	getCancel()
	if err == nil {
		t.Fatal("Get succeeded with the server down")
	}
	if errors.Is(err, pools.ErrPoolExhausted) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get with the server down = %v, want a connect error", err)
	}
	if got := s.Conn.Metrics().BrokenClosed(); got < 1 {
		t.Errorf("BrokenClosed = %d after the server died, want at least 1", got)
	}

	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		pc, err := s.Conn.Get(ctx)
		if err != nil {
			t.Fatalf("Get %d after restart: %v", i, err)
		}
		if err := selectOne(ctx, pc.Conn); err != nil {
			t.Fatalf("connection %d after restart: %v", i, err)
		}
		defer pc.Release()
	}
	if got := s.Conn.Metrics().BrokenClosed(); got != 3 {
		t.Errorf("BrokenClosed = %d, want the 3 connections that died", got)
	}
	if got := s.Conn.Metrics().ConnectErrors(); got < 1 {
		t.Errorf("ConnectErrors = %d, want the failed reconnect counted", got)
	}
}

// TestMySQLConnection covers what the tablet needs of a pooled connection:
// its id and flavor, kills through the dba pool, and the broken flag.
func TestMySQLConnection(t *testing.T) {
	_, s := startSet(t, smallConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("id and flavor", func(t *testing.T) {
		pc, err := s.Conn.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Release()
		res, err := pc.Conn.Fetch(ctx, "SELECT CONNECTION_ID(), VERSION()", 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(res.Rows[0][0]); got != fmt.Sprint(pc.Conn.ID()) {
			t.Errorf("ID() = %d, server says %s", pc.Conn.ID(), got)
		}
		version := string(res.Rows[0][1].([]byte))
		if pc.Conn.ServerVersion() != version {
			t.Errorf("ServerVersion() = %q, server says %q", pc.Conn.ServerVersion(), version)
		}
		want := pools.FlavorMySQL
		if strings.Contains(version, "MariaDB") {
			want = pools.FlavorMariaDB
		}
		if pc.Conn.Flavor() != want {
			t.Errorf("Flavor() = %q for %q, want %q", pc.Conn.Flavor(), version, want)
		}
		if err := pc.Conn.Ping(ctx); err != nil {
			t.Errorf("Ping = %v", err)
		}
	})

	t.Run("kill query leaves the connection usable", func(t *testing.T) {
		pc, err := s.Conn.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Release()
		done := make(chan error, 1)
		go func() {
			_, err := pc.Conn.Fetch(ctx, "SELECT SLEEP(60)", 1)
			done <- err
		}()
		waitRunning(t, ctx, s, pc.Conn.ID(), "SELECT SLEEP")
		if err := s.KillQuery(ctx, pc.Conn.ID()); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("killed query still running")
		}
		if pc.Conn.IsBroken() {
			t.Fatal("KILL QUERY broke the connection")
		}
		if err := selectOne(ctx, pc.Conn); err != nil {
			t.Fatalf("after KILL QUERY: %v", err)
		}
	})

	t.Run("kill connection breaks it and the pool replaces it", func(t *testing.T) {
		before := s.Conn.Metrics().BrokenClosed()
		pc, err := s.Conn.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		id := pc.Conn.ID()
		if err := s.KillConnection(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := selectOne(ctx, pc.Conn); err == nil {
			t.Fatal("statement on a killed connection succeeded")
		} else if !pools.IsConnError(err) {
			t.Errorf("error on a killed connection %v is not a connection error", err)
		}
		if !pc.Conn.IsBroken() {
			t.Fatal("killed connection not marked broken")
		}
		pc.Release()
		if got := s.Conn.Metrics().BrokenClosed(); got != before+1 {
			t.Errorf("BrokenClosed = %d, want %d", got, before+1)
		}
		pc, err = s.Conn.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Release()
		if pc.Conn.ID() == id {
			t.Fatal("pool handed out the killed connection")
		}
		if err := selectOne(ctx, pc.Conn); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("deadline mid-statement breaks the connection", func(t *testing.T) {
		pc, err := s.Conn.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		qctx, qcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, err = pc.Conn.Exec(qctx, "SELECT SLEEP(10)")
		qcancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Exec past its deadline = %v, want DeadlineExceeded", err)
		}
		if !pc.Conn.IsBroken() {
			t.Error("connection cut mid-statement not marked broken")
		}
		if _, err := pc.Conn.Exec(ctx, "SELECT 1"); !errors.Is(err, driver.ErrBadConn) {
			t.Errorf("statement on a broken connection = %v, want ErrBadConn", err)
		}
		pc.Release()
	})

	t.Run("transaction pool full", func(t *testing.T) {
		a, err := s.Tx.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Release()
		b, err := s.Tx.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Release()
		if _, err := s.Tx.Get(ctx); !errors.Is(err, pools.ErrPoolExhausted) {
			t.Fatalf("third transaction = %v, want ErrPoolExhausted", err)
		}
	})

	t.Run("arguments and rows", func(t *testing.T) {
		pc, err := s.Conn.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Release()
		res, err := pc.Conn.Fetch(ctx, "SELECT ? + 1, ?", 0, 41, "x")
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%v %s", res.Rows[0][0], res.Rows[0][1]); got != "42 x" {
			t.Errorf("row = %q, want %q", got, "42 x")
		}
		if _, err := pc.Conn.Fetch(ctx, "SELECT * FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) t", 2); !errors.Is(err, pools.ErrRowLimitExceeded) {
			t.Errorf("Fetch over the row limit = %v, want ErrRowLimitExceeded", err)
		}
		if err := selectOne(ctx, pc.Conn); err != nil {
			t.Fatalf("after a result over the limit: %v", err)
		}
	})
}

// waitRunning waits until server connection id runs a statement starting
// with prefix, as the dba user sees it in the process list.
func waitRunning(t *testing.T, ctx context.Context, s *pools.Set, id int64, prefix string) {
	t.Helper()
	dba, err := s.DBA.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer dba.Release()
	q := fmt.Sprintf("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %d AND INFO LIKE '%s%%'", id, prefix)
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := dba.Conn.Fetch(ctx, q, 1)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(res.Rows[0][0]) == "1" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection %d never started %q", id, prefix)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronization
	}
}
