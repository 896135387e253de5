package pools

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func newTestSet(t *testing.T, cfg Config) (*Set, *fakeServer, *fakeServer) {
	t.Helper()
	app, dba := newFakeServer("10.11.6-MariaDB"), newFakeServer("10.11.6-MariaDB")
	dial := func(s *fakeServer) Connector[*DBConn] {
		return func(ctx context.Context) (*DBConn, error) { return Dial(ctx, s) }
	}
	s, err := NewSet(cfg, dial(app), dial(dba), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	s.Open()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, app, dba
}

func TestNewSetRejectsBadConfig(t *testing.T) {
	c := DefaultConfig()
	c.TransactionCap = 0
	srv := newFakeServer("8.0.36")
	dial := func(ctx context.Context) (*DBConn, error) { return Dial(ctx, srv) }
	_, err := NewSet(c, dial, dial, discardLogger())
	if err == nil || !strings.Contains(err.Error(), "--queryserver-config-transaction-cap") {
		t.Fatalf("NewSet = %v, want an error naming the flag", err)
	}
}

func TestSetPoolsAndKills(t *testing.T) {
	s, app, dba := newTestSet(t, DefaultConfig())
	ctx := context.Background()

	names := []string{}
	for _, p := range s.Pools() {
		names = append(names, p.Name())
	}
	if want := []string{"ConnPool", "StreamConnPool", "TransactionPool", "DBAPool"}; !slices.Equal(names, want) {
		t.Errorf("pools = %v, want %v", names, want)
	}

	pc, err := s.Tx.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Release()
	if err := s.KillQuery(ctx, pc.Conn.ID()); err != nil {
		t.Fatal(err)
	}
	if err := s.KillConnection(ctx, pc.Conn.ID()); err != nil {
		t.Fatal(err)
	}
	got := dba.statements()
	want := []string{"KILL QUERY 1", "KILL 1"}
	if !slices.Equal(got[len(got)-2:], want) {
		t.Errorf("dba statements = %q, want them to end with %q", got, want)
	}
	for _, st := range app.statements() {
		if strings.HasPrefix(st, "KILL") {
			t.Errorf("kill %q ran as the app user", st)
		}
	}
	if s.DBA.InUse() != 0 {
		t.Errorf("kill kept its dba connection")
	}
}

func TestSetTransactionPoolFull(t *testing.T) {
	c := DefaultConfig()
	c.TransactionCap = 1
	c.TxPoolTimeout = 5 * time.Millisecond
	s, _, _ := newTestSet(t, c)
	ctx := context.Background()
	pc, err := s.Tx.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Release()
	_, err = s.Tx.Get(ctx)
	if !errors.Is(err, ErrPoolExhausted) || !strings.Contains(err.Error(), "TransactionPool") {
		t.Fatalf("second Begin = %v, want ErrPoolExhausted naming TransactionPool", err)
	}
	vars := map[string]int64{}
	for _, v := range s.Vars() {
		vars[v.Name] = v.Value
	}
	for name, want := range map[string]int64{
		"TransactionPoolCapacity":    1,
		"TransactionPoolAvailable":   0,
		"TransactionPoolInUse":       1,
		"TransactionPoolMaxCap":      1,
		"TransactionPoolWaitCount":   1,
		"TransactionPoolExhausted":   1,
		"TransactionPoolTimeout":     int64(5 * time.Millisecond),
		"TransactionPoolIdleTimeout": int64(30 * time.Minute),
		"ConnPoolCapacity":           16,
		"StreamConnPoolCapacity":     200,
		"DBAPoolCapacity":            3,
	} {
		if got, ok := vars[name]; !ok || got != want {
			t.Errorf("%s = %d (present %v), want %d", name, got, ok, want)
		}
	}
	if vars["TransactionPoolWaitTime"] < int64(5*time.Millisecond) {
		t.Errorf("TransactionPoolWaitTime = %d, want at least the 5ms timeout", vars["TransactionPoolWaitTime"])
	}
}

func TestSetCloseWaitsForApps(t *testing.T) {
	app, dba := newFakeServer("8.0.36"), newFakeServer("8.0.36")
	dial := func(s *fakeServer) Connector[*DBConn] {
		return func(ctx context.Context) (*DBConn, error) { return Dial(ctx, s) }
	}
	s, err := NewSet(DefaultConfig(), dial(app), dial(dba), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	s.Open()
	ctx := context.Background()
	pc, err := s.Conn.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close(ctx) }()
	waitFor(t, "app pools to close", func() bool { return !s.Conn.IsOpen() && !s.Tx.IsOpen() })
	// The dba pool stays usable while app connections drain.
	if !s.DBA.IsOpen() {
		t.Fatal("dba pool closed before the app pools drained")
	}
	if err := s.KillQuery(ctx, pc.Conn.ID()); err != nil {
		t.Fatalf("kill during drain: %v", err)
	}
	pc.Release()
	if err := recv(t, "Set.Close", closed); err != nil {
		t.Fatal(err)
	}
	if s.DBA.IsOpen() {
		t.Error("dba pool still open after Close")
	}
}
