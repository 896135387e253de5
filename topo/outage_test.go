package topo_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/testenv"
	"github.com/tabletd/tablet/topo"
	"github.com/tabletd/tablet/topo/topofactory"
	"github.com/tabletd/tablet/topo/topotest"
)

// TestEtcdOutage stops etcd under a working Server: every operation must
// fail within its deadline with an error that names a path and says
// Timeout or Unavailable, without hanging or panicking. After etcd
// restarts, the same Server works again.
func TestEtcdOutage(t *testing.T) {
	e := testenv.StartEtcd(t)
	ctx := t.Context()
	cfg := topo.DefaultConfig()
	cfg.GlobalServerAddress = e.Address()
	cfg.GlobalRoot = "/vitess/global"
	cfg.LeaseDuration = time.Second
	// Calls without a deadline get this one; calls below mostly pass none.
	cfg.CallTimeout = time.Second
	cfg.LockTimeout = time.Second
	ts, err := topofactory.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()

	// A cell on the same etcd under its own root, with some records.
	if err := ts.CreateCellInfo(ctx, "zone1", &topodatapb.CellInfo{ServerAddress: e.Endpoint(), Root: "/vitess/zone1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.GetOrCreateShard(ctx, "ks", "0"); err != nil {
		t.Fatal(err)
	}
	if err := ts.CreateTablet(ctx, tablet("zone1", 100, "ks", "0")); err != nil {
		t.Fatal(err)
	}
	if err := ts.RebuildSrvKeyspace(ctx, "ks"); err != nil {
		t.Fatal(err)
	}
	global := ts.GlobalConn()
	watched := "keyspaces/ks/Keyspace"
	_, changes, err := global.Watch(ctx, watched)
	if err != nil {
		t.Fatal(err)
	}

	e.Stop()

	bg := context.Background()
	withDeadline := func() (context.Context, context.CancelFunc) { return context.WithTimeout(bg, time.Second) }
	ops := []struct {
		name string
		run  func() error
	}{
		{"GetCellInfo", func() error { _, err := ts.GetCellInfo(bg, "zone1"); return err }},
		{"GetCellInfoNames", func() error { _, err := ts.GetCellInfoNames(bg); return err }},
		{"CreateCellInfo", func() error {
			return ts.CreateCellInfo(bg, "zone2", &topodatapb.CellInfo{ServerAddress: e.Endpoint(), Root: "/vitess/zone2"})
		}},
		{"DeleteCellInfo", func() error { return ts.DeleteCellInfo(bg, "zone1", false) }},
		{"GetKeyspace", func() error { _, err := ts.GetKeyspace(bg, "ks"); return err }},
		{"GetKeyspaceNames", func() error { _, err := ts.GetKeyspaceNames(bg); return err }},
		{"CreateKeyspace", func() error { return ts.CreateKeyspace(bg, "ks2", nil) }},
		{"UpdateKeyspaceFields", func() error {
			_, err := ts.UpdateKeyspaceFields(bg, "ks", func(k *topodatapb.Keyspace) error { k.DurabilityPolicy = "x"; return nil })
			return err
		}},
		{"GetShard", func() error { _, err := ts.GetShard(bg, "ks", "0"); return err }},
		{"GetShardNames", func() error { _, err := ts.GetShardNames(bg, "ks"); return err }},
		{"CreateShard", func() error { _, err := ts.CreateShard(bg, "ks", "-80"); return err }},
		{"GetOrCreateShard", func() error { _, err := ts.GetOrCreateShard(bg, "ks3", "0"); return err }},
		{"UpdateShardFields", func() error {
			_, err := ts.UpdateShardFields(bg, "ks", "0", func(s *topodatapb.Shard) error { s.PrimaryAlias = alias("zone1", 100); return nil })
			return err
		}},
		{"LockShard", func() error { _, err := ts.LockShard(bg, "ks", "0", "test"); return err }},
		{"GetTablet", func() error { _, err := ts.GetTablet(bg, alias("zone1", 100)); return err }},
		{"CreateTablet", func() error { return ts.CreateTablet(bg, tablet("zone1", 101, "ks", "0")) }},
		{"UpdateTabletFields", func() error {
			_, err := ts.UpdateTabletFields(bg, alias("zone1", 100), func(tb *topodatapb.Tablet) error { tb.Hostname = "h"; return nil })
			return err
		}},
		{"DeleteTablet", func() error { return ts.DeleteTablet(bg, alias("zone1", 100)) }},
		{"GetTabletsByCell", func() error { _, err := ts.GetTabletsByCell(bg, "zone1"); return err }},
		{"GetTabletsByShard", func() error { _, err := ts.GetTabletsByShard(bg, "ks", "0", []string{"zone1"}); return err }},
		{"GetShardReplication", func() error { _, err := ts.GetShardReplication(bg, "zone1", "ks", "0"); return err }},
		{"AddShardReplicationNode", func() error { return ts.AddShardReplicationNode(bg, "ks", "0", alias("zone1", 102)) }},
		{"RemoveShardReplicationNode", func() error { return ts.RemoveShardReplicationNode(bg, "ks", "0", alias("zone1", 100)) }},
		{"GetSrvKeyspace", func() error { _, err := ts.GetSrvKeyspace(bg, "zone1", "ks"); return err }},
		{"RebuildSrvKeyspace", func() error { return ts.RebuildSrvKeyspace(bg, "ks") }},
		{"GetVSchema", func() error { _, err := ts.GetVSchema(bg, "ks"); return err }},
		{"Conn.Create", func() error {
			ctx, cancel := withDeadline()
			defer cancel()
			_, err := global.Create(ctx, "raw/new", []byte("x"))
			return err
		}},
		{"Conn.Update", func() error {
			ctx, cancel := withDeadline()
			defer cancel()
			_, err := global.Update(ctx, "raw/new", []byte("x"), 0)
			return err
		}},
		{"Conn.Get", func() error {
			ctx, cancel := withDeadline()
			defer cancel()
			_, _, err := global.Get(ctx, watched)
			return err
		}},
		{"Conn.List", func() error {
			ctx, cancel := withDeadline()
			defer cancel()
			_, err := global.List(ctx, "keyspaces")
			return err
		}},
		{"Conn.Delete", func() error {
			ctx, cancel := withDeadline()
			defer cancel()
			return global.Delete(ctx, "raw/new", 0)
		}},
		{"Conn.Watch", func() error {
			ctx, cancel := withDeadline()
			defer cancel()
			_, _, err := global.Watch(ctx, watched)
			return err
		}},
		{"Conn.Lock", func() error {
			ctx, cancel := withDeadline()
			defer cancel()
			_, err := global.Lock(ctx, "keyspaces/ks", "test")
			return err
		}},
		{"LeaderParticipation.WaitForLeadership", func() error {
			ctx, cancel := withDeadline()
			defer cancel()
			p, err := global.NewLeaderParticipation("outage", "id")
			if err != nil {
				return err
			}
			defer p.Stop()
			_, err = p.WaitForLeadership(ctx)
			return err
		}},
		{"LeaderParticipation.GetCurrentLeaderID", func() error {
			ctx, cancel := withDeadline()
			defer cancel()
			p, err := global.NewLeaderParticipation("outage", "id")
			if err != nil {
				return err
			}
			_, err = p.GetCurrentLeaderID(ctx)
			return err
		}},
	}
	// Run every operation at once (t.Parallel would run only GOMAXPROCS at
	// a time), then judge each.
	type result struct {
		err  error
		took time.Duration
	}
	results := make([]chan result, len(ops))
	for i, op := range ops {
		results[i] = make(chan result, 1)
		go func() {
			start := time.Now()
			err := op.run()
			results[i] <- result{err, time.Since(start)}
		}()
	}
	for i, op := range ops {
		t.Run("down/"+op.name, func(t *testing.T) {
			var r result
			select {
			case r = <-results[i]:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s still running 10s into the outage", op.name)
			}
			if r.err == nil {
				t.Fatalf("%s succeeded with etcd down", op.name)
			}
			code := topo.CodeOf(r.err)
			if code != topo.Timeout && code != topo.Unavailable {
				t.Errorf("%s: error code %v, want Timeout or Unavailable: %v", op.name, code, r.err)
			}
			if !strings.Contains(r.err.Error(), "/vitess/") {
				t.Errorf("%s: error does not name a path: %v", op.name, r.err)
			}
			// The deadline is 1s; allow for scheduling on a busy machine.
			if r.took > 3*time.Second {
				t.Errorf("%s took %v, past its 1s deadline", op.name, r.took)
			}
			t.Logf("%v after %v", r.err, r.took.Round(time.Millisecond))
		})
	}

	if err := e.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	// The client reconnects by itself within the reconnect backoff.
	topotest.WaitFor(t, 30*time.Second, "the Server to read the keyspace again", func() bool {
		_, err := ts.GetKeyspace(ctx, "ks")
		return err == nil
	})
	t.Logf("global topo answered %v after the restart", time.Since(restarted).Round(time.Millisecond))
	if _, err := ts.UpdateShardFields(ctx, "ks", "0", func(s *topodatapb.Shard) error {
		s.PrimaryAlias = alias("zone1", 100)
		return nil
	}); err != nil {
		t.Fatalf("UpdateShardFields after restart: %v", err)
	}
	t.Logf("shard updated %v after the restart", time.Since(restarted).Round(time.Millisecond))
	if err := ts.CreateTablet(ctx, tablet("zone1", 101, "ks", "0")); err != nil {
		t.Fatalf("CreateTablet after restart: %v", err)
	}
	tablets, err := ts.GetTabletsByShard(ctx, "ks", "0", nil)
	if err != nil || len(tablets) != 2 {
		t.Fatalf("GetTabletsByShard after restart = %d tablets, %v", len(tablets), err)
	}
	if err := ts.RebuildSrvKeyspace(ctx, "ks"); err != nil {
		t.Fatalf("RebuildSrvKeyspace after restart: %v", err)
	}
	// The watch set up before the outage resumes and sees a change made
	// after it.
	if _, err := ts.UpdateKeyspaceFields(ctx, "ks", func(k *topodatapb.Keyspace) error {
		k.DurabilityPolicy = "semi_sync"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case wd, ok := <-changes:
			if !ok {
				t.Fatal("watch closed across the outage")
			}
			if wd.Err != nil {
				t.Fatalf("watch error across the outage: %v", wd.Err)
			}
			if strings.Contains(string(wd.Contents), "semi_sync") {
				t.Logf("watch saw the change %v after the restart", time.Since(restarted).Round(time.Millisecond))
				return
			}
		case <-deadline:
			t.Fatal("watch did not see the change made after the restart")
		}
	}
}
