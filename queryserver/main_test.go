package queryserver

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/pools"
)

// TestMain fails the run if goroutines of this package, of the pools or of
// the MySQL driver outlive the tests: every engine must be closed, and
// Close must wait for everything it started.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := waitNoLeaks(10 * time.Second); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n\n%s\n", strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// waitNoLeaks polls until no leaked goroutine remains or limit passes, and
// returns those left: goroutines that are finishing need a moment to go.
func waitNoLeaks(limit time.Duration) []string {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		leaked := leakedGoroutines()
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		<-tick.C
	}
}

func leakedGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "leakedGoroutines") || strings.Contains(g, "testing.(*M)") {
			continue
		}
		if strings.Contains(g, "tabletd/tablet/queryserver.") || strings.Contains(g, "tabletd/tablet/pools.") ||
			strings.Contains(g, "go-sql-driver/mysql.") {
			out = append(out, g)
		}
	}
	return out
}

// waitFor polls cond until it holds or the long-stop timeout passes, then
// fails with msg. It is a condition wait with a deadline, not a sleep.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// testLogger logs warnings and errors to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

var (
	replicaTarget = Target{Keyspace: "ks", Shard: "0", TabletType: TabletReplica}
	primaryTarget = Target{Keyspace: "ks", Shard: "0", TabletType: TabletPrimary}
)

// testPoolConfig is small pools with short waits.
func testPoolConfig() pools.Config {
	c := pools.DefaultConfig()
	c.PoolSize = 4
	c.StreamPoolSize = 2
	c.TransactionCap = 4
	c.DBAPoolSize = 2
	c.TxPoolTimeout = 200 * time.Millisecond
	c.WatchdogInterval = 0
	return c
}

// testConfig is the default engine config with short kill delays.
func testConfig() Config {
	c := DefaultConfig()
	c.KillEscalationDelay = 200 * time.Millisecond
	return c
}

// harness is an engine over the real pools and a fake server.
type harness struct {
	db   *fakeDB
	set  *pools.Set
	vars *debugvars.Registry
	eng  *Engine
}

// newHarness builds, opens and serves an engine over db as target; the
// test's cleanup closes it.
func newHarness(t *testing.T, cfg Config, pcfg pools.Config, target Target, db *fakeDB) *harness {
	t.Helper()
	return newHarnessTB(t, cfg, pcfg, target, db)
}

// newHarnessTB is newHarness for tests and benchmarks alike.
func newHarnessTB(t testing.TB, cfg Config, pcfg pools.Config, target Target, db *fakeDB) *harness {
	t.Helper()
	logger := testLogger(t)
	dial := func(user string) pools.Connector[*pools.DBConn] {
		c := db.connector(user)
		return func(ctx context.Context) (*pools.DBConn, error) { return pools.Dial(ctx, c) }
	}
	set, err := pools.NewSet(pcfg, dial("app"), dial("dba"), logger)
	if err != nil {
		t.Fatal(err)
	}
	set.Open()
	vars := debugvars.New()
	eng := New(cfg, set, vars, logger)
	if err := eng.Open(); err != nil {
		t.Fatal(err)
	}
	if err := eng.SetServingState(target, StateServing); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		eng.mu.Lock()
		closedByTest := eng.closing
		eng.mu.Unlock()
		if err := eng.Close(ctx); err != nil && !closedByTest {
			t.Errorf("close engine: %v", err)
		}
		if err := set.Close(ctx); err != nil {
			t.Errorf("close pools: %v", err)
		}
	})
	return &harness{db: db, set: set, vars: vars, eng: eng}
}

// counter reads one key of a labelled counter variable (or the whole
// variable when key is empty) from the registry.
func varValue(t testing.TB, vars *debugvars.Registry, name, key string) int64 {
	t.Helper()
	raw, ok := vars.Get(name)
	if !ok {
		t.Fatalf("variable %s not registered", name)
	}
	if key == "" {
		var v int64
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("variable %s = %s: %v", name, raw, err)
		}
		return v
	}
	var m map[string]int64
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("variable %s = %s: %v", name, raw, err)
	}
	return m[key]
}

// timingCount reads the Count of one category of a Timings variable.
func timingCount(t testing.TB, vars *debugvars.Registry, name, category string) int64 {
	t.Helper()
	raw, ok := vars.Get(name)
	if !ok {
		t.Fatalf("variable %s not registered", name)
	}
	var v struct {
		Histograms map[string]map[string]int64
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("variable %s = %s: %v", name, raw, err)
	}
	return v.Histograms[category]["Count"]
}

func ptr[T any](v T) *T { return &v }
