package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/topo"
	"github.com/tabletd/tablet/topo/topofactory"
)

// fakeQueries is a QueryService that records the calls it gets.
type fakeQueries struct {
	mu            sync.Mutex // guards the fields below
	calls         []string
	shutdownGrace time.Duration // the deadline Shutdown was given, from its call
}

func (q *fakeQueries) SetServing(_ context.Context, typ topodatapb.TabletType, serving bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls = append(q.calls, fmt.Sprintf("serve %s %t", typ, serving))
	return nil
}

func (q *fakeQueries) StartLameduck() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls = append(q.calls, "lameduck")
}

func (q *fakeQueries) Shutdown(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls = append(q.calls, "shutdown")
	if d, ok := ctx.Deadline(); ok {
		q.shutdownGrace = time.Until(d)
	}
	return nil
}

// TestRunWithMySQLDown: a tablet whose mysqld does not answer publishes
// its record, reports not serving, keeps trying to apply its role, and on
// cancel goes lameduck and shuts down within lameduck + grace + cleanup.
func TestRunWithMySQLDown(t *testing.T) {
	tcfg := topo.DefaultConfig()
	tcfg.Implementation, tcfg.GlobalRoot = topo.ImplMemory, "/vitess/global"
	ts, err := topofactory.Open(t.Context(), tcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	if err := ts.CreateCellInfo(t.Context(), "zone1", &topodatapb.CellInfo{ServerAddress: "memory", Root: "/vitess/zone1"}); err != nil {
		t.Fatal(err)
	}

	cfg := validConfig()
	cfg.Hostname, cfg.BindAddress, cfg.Port, cfg.GRPCPort = "127.0.0.1", "127.0.0.1", 0, 0
	cfg.LameduckPeriod, cfg.ShutdownGracePeriod = 300*time.Millisecond, 200*time.Millisecond
	db := mysqld.DefaultConfig()
	db.Socket = filepath.Join(t.TempDir(), "no-mysqld.sock")
	qs := &fakeQueries{}
	a := New(cfg, db, ts, debugvars.New(), slog.New(slog.NewTextHandler(io.Discard, nil)), WithQueryService(qs))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- a.Run(ctx) }()
	select {
	case <-a.Ready():
	case err := <-errc:
		t.Fatalf("Run returned before Ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("not Ready after 10s")
	}
	if rec := a.Record(); rec.GetType() != topodatapb.TabletType_REPLICA || rec.GetPortMap()["vt"] != int32(a.HTTPAddr().Port) ||
		rec.GetPortMap()["grpc"] != int32(a.GRPCAddr().Port) {
		t.Errorf("record = %v, want a REPLICA with the HTTP port %d and the gRPC port %d", rec, a.HTTPAddr().Port, a.GRPCAddr().Port)
	}
	resp, err := http.Get("http://" + a.HTTPAddr().String() + "/debug/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "STARTING") {
		t.Errorf("health with mysqld down = %d %q, want 503 STARTING", resp.StatusCode, body)
	}

	start := time.Now()
	cancel()
	bound := cfg.LameduckPeriod + cfg.ShutdownGracePeriod + cleanupTimeout + 200*time.Millisecond
	select {
	case <-a.Done():
	case <-time.After(bound):
		t.Fatalf("Run not done %v after cancel", bound)
	}
	if err := <-errc; err != nil {
		t.Errorf("Run = %v, want nil after a clean shutdown", err)
	}
	if took := time.Since(start); took < cfg.LameduckPeriod {
		t.Errorf("shut down %v after cancel, before the lameduck period %v was over", took, cfg.LameduckPeriod)
	}
	qs.mu.Lock()
	if got := strings.Join(qs.calls, ","); got != "lameduck,shutdown" {
		t.Errorf("query service calls = %s, want lameduck,shutdown (never serving: mysqld was down)", got)
	}
	if qs.shutdownGrace <= 0 || qs.shutdownGrace > cfg.ShutdownGracePeriod {
		t.Errorf("Shutdown got %v, want a deadline within the grace period %v", qs.shutdownGrace, cfg.ShutdownGracePeriod)
	}
	qs.mu.Unlock()
	ti, err := ts.GetTablet(context.Background(), &topodatapb.TabletAlias{Cell: "zone1", Uid: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(ti.Tablet.GetPortMap()) != 0 {
		t.Errorf("ports after shutdown = %v, want none", ti.Tablet.GetPortMap())
	}
}
