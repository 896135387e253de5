package topo_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/topo"
	"github.com/tabletd/tablet/topo/memory"
	"github.com/tabletd/tablet/topo/topofactory"
	"github.com/tabletd/tablet/topo/topotest"
)

func TestMain(m *testing.M) { topotest.Main(m) }

// newMemoryServer returns a Server on a fresh memory store with cell zone1
// (root /vitess/zone1) added.
func newMemoryServer(t *testing.T) *topo.Server {
	t.Helper()
	cfg := topo.DefaultConfig()
	cfg.Implementation = topo.ImplMemory
	cfg.GlobalRoot = "/vitess/global"
	ts, err := topofactory.Open(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("open memory topo: %v", err)
	}
	t.Cleanup(func() { ts.Close() })
	if err := ts.CreateCellInfo(t.Context(), "zone1", &topodatapb.CellInfo{ServerAddress: "memory", Root: "/vitess/zone1"}); err != nil {
		t.Fatalf("CreateCellInfo: %v", err)
	}
	return ts
}

func alias(cell string, uid uint32) *topodatapb.TabletAlias {
	return &topodatapb.TabletAlias{Cell: cell, Uid: uid}
}

func tablet(cell string, uid uint32, keyspace, shard string) *topodatapb.Tablet {
	return &topodatapb.Tablet{
		Alias:     alias(cell, uid),
		Hostname:  fmt.Sprintf("host%d", uid),
		PortMap:   map[string]int32{"vt": 15000 + int32(uid), "grpc": 16000 + int32(uid)},
		Keyspace:  keyspace,
		Shard:     shard,
		Type:      topodatapb.TabletType_REPLICA,
		MysqlPort: 3306,
	}
}

func TestCells(t *testing.T) {
	ctx := t.Context()
	ts := newMemoryServer(t)
	ci, err := ts.GetCellInfo(ctx, "zone1")
	if err != nil || ci.Root != "/vitess/zone1" || ci.ServerAddress != "memory" {
		t.Fatalf("GetCellInfo = %v, %v", ci, err)
	}
	// The record is where Vitess keeps it, in the global cell.
	if _, _, err := ts.GlobalConn().Get(ctx, "cells/zone1/CellInfo"); err != nil {
		t.Fatalf("raw get of cells/zone1/CellInfo: %v", err)
	}
	err = ts.CreateCellInfo(ctx, "zone1", &topodatapb.CellInfo{ServerAddress: "memory", Root: "/vitess/other"})
	if !errors.Is(err, topo.ErrNodeExists) || !strings.Contains(err.Error(), "cells/zone1/CellInfo") {
		t.Fatalf("second CreateCellInfo = %v, want NodeExists naming the path", err)
	}
	for _, bad := range []struct {
		cell string
		ci   *topodatapb.CellInfo
	}{
		{"global", &topodatapb.CellInfo{ServerAddress: "memory", Root: "/vitess/g"}},
		{"a/b", &topodatapb.CellInfo{ServerAddress: "memory", Root: "/vitess/g"}},
		{"zone9", &topodatapb.CellInfo{ServerAddress: "memory"}},
		{"zone9", &topodatapb.CellInfo{Root: "/vitess/zone9"}},
	} {
		if err := ts.CreateCellInfo(ctx, bad.cell, bad.ci); err == nil {
			t.Errorf("CreateCellInfo(%q, %v) succeeded", bad.cell, bad.ci)
		}
	}
	if err := ts.CreateCellInfo(ctx, "zone2", &topodatapb.CellInfo{ServerAddress: "memory", Root: "/vitess/zone2"}); err != nil {
		t.Fatal(err)
	}
	names, err := ts.GetCellInfoNames(ctx)
	if err != nil || strings.Join(names, ",") != "zone1,zone2" {
		t.Fatalf("GetCellInfoNames = %v, %v", names, err)
	}

	// A cell with tablets is not removed without force.
	if err := ts.CreateKeyspace(ctx, "ks", nil); err != nil {
		t.Fatal(err)
	}
	if err := ts.CreateTablet(ctx, tablet("zone2", 200, "ks", "0")); err != nil {
		t.Fatal(err)
	}
	err = ts.DeleteCellInfo(ctx, "zone2", false)
	if err == nil || !strings.Contains(err.Error(), "zone2-0000000200") {
		t.Fatalf("DeleteCellInfo with a tablet = %v, want a refusal naming the tablet", err)
	}
	if err := ts.DeleteCellInfo(ctx, "zone2", true); err != nil {
		t.Fatalf("forced DeleteCellInfo: %v", err)
	}
	if _, err := ts.ConnForCell(ctx, "zone2"); !errors.Is(err, topo.ErrNoNode) {
		t.Fatalf("ConnForCell after delete = %v, want NoNode", err)
	}
	if err := ts.DeleteCellInfo(ctx, "zone2", true); !errors.Is(err, topo.ErrNoNode) {
		t.Fatalf("second DeleteCellInfo = %v, want NoNode", err)
	}

	// Moving a cell's root through this Server takes effect at once.
	if _, err := ts.UpdateCellInfoFields(ctx, "zone1", func(ci *topodatapb.CellInfo) error {
		ci.Root = "/vitess/zone1b"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := ts.CreateTablet(ctx, tablet("zone1", 1, "ks", "0")); err != nil {
		t.Fatal(err)
	}
	conn, err := ts.ConnForCell(ctx, "zone1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := conn.Get(ctx, "tablets/zone1-0000000001/Tablet"); err != nil {
		t.Fatalf("tablet not under the new root: %v", err)
	}
}

func TestKeyspacesAndShards(t *testing.T) {
	ctx := t.Context()
	ts := newMemoryServer(t)
	if _, err := ts.CreateShard(ctx, "ks", "0"); !errors.Is(err, topo.ErrNoNode) || !strings.Contains(err.Error(), "keyspaces/ks/Keyspace") {
		t.Fatalf("CreateShard without keyspace = %v, want NoNode naming the keyspace", err)
	}
	if err := ts.CreateKeyspace(ctx, "ks", &topodatapb.Keyspace{DurabilityPolicy: "none"}); err != nil {
		t.Fatal(err)
	}
	if err := ts.CreateKeyspace(ctx, "ks", nil); !errors.Is(err, topo.ErrNodeExists) {
		t.Fatalf("second CreateKeyspace = %v, want NodeExists", err)
	}
	ki, err := ts.GetKeyspace(ctx, "ks")
	if err != nil || ki.Keyspace.DurabilityPolicy != "none" || ki.Version == 0 {
		t.Fatalf("GetKeyspace = %+v, %v", ki, err)
	}
	if _, err := ts.GetKeyspace(ctx, "nope"); !errors.Is(err, topo.ErrNoNode) {
		t.Fatalf("GetKeyspace(nope) = %v", err)
	}

	// Concurrent read-modify-write updates are all kept.
	const writers = 8
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ts.UpdateKeyspaceFields(ctx, "ks", func(k *topodatapb.Keyspace) error {
				k.SidecarDbName += "x"
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ki, _ := ts.GetKeyspace(ctx, "ks"); len(ki.Keyspace.SidecarDbName) != writers {
		t.Fatalf("sidecar_db_name %q after %d concurrent appends", ki.Keyspace.SidecarDbName, writers)
	}
	// ErrNoUpdateNeeded writes nothing.
	before, _ := ts.GetKeyspace(ctx, "ks")
	after, err := ts.UpdateKeyspaceFields(ctx, "ks", func(*topodatapb.Keyspace) error { return topo.ErrNoUpdateNeeded })
	if err != nil || after.Version != before.Version {
		t.Fatalf("no-op update = %v, %v; version %v -> %v", after, err, before.Version, after.Version)
	}

	// Shards: ranges from names; an overlapping shard does not serve.
	for _, s := range []string{"-80", "80-"} {
		si, err := ts.CreateShard(ctx, "ks", s)
		if err != nil {
			t.Fatalf("CreateShard %s: %v", s, err)
		}
		if !si.Shard.IsPrimaryServing {
			t.Fatalf("shard %s not serving", s)
		}
	}
	si, err := ts.CreateShard(ctx, "ks", "-40")
	if err != nil || si.Shard.IsPrimaryServing || fmt.Sprintf("%x", si.Shard.KeyRange.End) != "40" {
		t.Fatalf("CreateShard -40 = %+v, %v; want a non-serving shard ending at 40", si, err)
	}
	if _, err := ts.CreateShard(ctx, "ks", "-80"); !errors.Is(err, topo.ErrNodeExists) {
		t.Fatalf("second CreateShard = %v, want NodeExists", err)
	}
	if _, err := ts.CreateShard(ctx, "ks", "80-40"); err == nil {
		t.Fatal("CreateShard with a bad name succeeded")
	}
	names, err := ts.GetShardNames(ctx, "ks")
	if err != nil || strings.Join(names, ",") != "-40,-80,80-" {
		t.Fatalf("GetShardNames = %v, %v", names, err)
	}

	// Shard updates run under the shard lock, all of them kept.
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ts.UpdateShardFields(ctx, "ks", "-80", func(sh *topodatapb.Shard) error {
				sh.SourceShards = append(sh.SourceShards, &topodatapb.Shard_SourceShard{Uid: int32(i)})
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	si, err = ts.UpdateShardFields(ctx, "ks", "-80", func(sh *topodatapb.Shard) error {
		sh.PrimaryAlias = alias("zone1", 100)
		return nil
	})
	if err != nil || len(si.Shard.SourceShards) != 4 || si.Shard.PrimaryAlias.Uid != 100 {
		t.Fatalf("UpdateShardFields = %+v, %v", si, err)
	}
	if _, err := ts.UpdateShardFields(ctx, "ks", "c0-", func(*topodatapb.Shard) error { return nil }); !errors.Is(err, topo.ErrNoNode) {
		t.Fatalf("UpdateShardFields on a missing shard = %v, want NoNode", err)
	}
	// The shard lock is free again afterwards.
	ld, err := ts.LockShard(ctx, "ks", "-80", "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := ld.Unlock(ctx); err != nil {
		t.Fatal(err)
	}

	// GetOrCreateShard makes the keyspace and the shard as needed.
	si, err = ts.GetOrCreateShard(ctx, "other", "0")
	if err != nil || si.Shard.KeyRange != nil || !si.Shard.IsPrimaryServing {
		t.Fatalf("GetOrCreateShard = %+v, %v", si, err)
	}
	again, err := ts.GetOrCreateShard(ctx, "other", "0")
	if err != nil || again.Version != si.Version {
		t.Fatalf("second GetOrCreateShard = %+v, %v", again, err)
	}
	kss, err := ts.GetKeyspaceNames(ctx)
	if err != nil || strings.Join(kss, ",") != "ks,other" {
		t.Fatalf("GetKeyspaceNames = %v, %v", kss, err)
	}
}

func TestTablets(t *testing.T) {
	ctx := t.Context()
	ts := newMemoryServer(t)
	if err := ts.CreateCellInfo(ctx, "zone2", &topodatapb.CellInfo{ServerAddress: "memory", Root: "/vitess/zone2"}); err != nil {
		t.Fatal(err)
	}
	for _, tb := range []*topodatapb.Tablet{
		tablet("zone1", 100, "ks", "-80"),
		tablet("zone1", 101, "ks", "-80"),
		tablet("zone1", 102, "ks", "80-"),
		tablet("zone2", 200, "ks", "-80"),
	} {
		if err := ts.CreateTablet(ctx, tb); err != nil {
			t.Fatalf("CreateTablet %v: %v", tb.Alias, err)
		}
	}
	err := ts.CreateTablet(ctx, tablet("zone1", 100, "ks", "-80"))
	if !errors.Is(err, topo.ErrNodeExists) || !strings.Contains(err.Error(), "tablets/zone1-0000000100/Tablet") {
		t.Fatalf("duplicate CreateTablet = %v", err)
	}
	if err := ts.CreateTablet(ctx, tablet("zone9", 1, "ks", "0")); !errors.Is(err, topo.ErrNoNode) {
		t.Fatalf("CreateTablet in an unknown cell = %v, want NoNode", err)
	}

	// Records sit at Vitess's paths in their cell, decodable as topodata.
	zone1, err := ts.ConnForCell(ctx, "zone1")
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := zone1.Get(ctx, "tablets/zone1-0000000100/Tablet")
	if err != nil {
		t.Fatal(err)
	}
	var tb topodatapb.Tablet
	if err := proto.Unmarshal(data, &tb); err != nil || tb.Hostname != "host100" {
		t.Fatalf("stored tablet = %v, %v", &tb, err)
	}
	data, _, err = zone1.Get(ctx, "keyspaces/ks/shards/-80/ShardReplication")
	if err != nil {
		t.Fatal(err)
	}
	var sr topodatapb.ShardReplication
	if err := proto.Unmarshal(data, &sr); err != nil || len(sr.Nodes) != 2 {
		t.Fatalf("stored ShardReplication = %v, %v; want 2 nodes", &sr, err)
	}
	if _, _, err := ts.GlobalConn().Get(ctx, "tablets/zone1-0000000100/Tablet"); !errors.Is(err, topo.ErrNoNode) {
		t.Fatalf("tablet record in the global cell: %v", err)
	}

	byCell, err := ts.GetTabletsByCell(ctx, "zone1")
	if err != nil || len(byCell) != 3 {
		t.Fatalf("GetTabletsByCell = %d tablets, %v", len(byCell), err)
	}
	byShard, err := ts.GetTabletsByShard(ctx, "ks", "-80", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ti := range byShard {
		got = append(got, ti.AliasString())
	}
	if strings.Join(got, ",") != "zone1-0000000100,zone1-0000000101,zone2-0000000200" {
		t.Fatalf("GetTabletsByShard = %v", got)
	}
	if only2, err := ts.GetTabletsByShard(ctx, "ks", "-80", []string{"zone2"}); err != nil || len(only2) != 1 {
		t.Fatalf("GetTabletsByShard in zone2 = %d, %v", len(only2), err)
	}

	// Compare-and-swap on the tablet record.
	ti, err := ts.GetTablet(ctx, alias("zone1", 100))
	if err != nil {
		t.Fatal(err)
	}
	stale := &topo.TabletInfo{Tablet: proto.Clone(ti.Tablet).(*topodatapb.Tablet), Version: ti.Version}
	ti.Tablet.Type = topodatapb.TabletType_PRIMARY
	if err := ts.UpdateTablet(ctx, ti); err != nil {
		t.Fatal(err)
	}
	stale.Tablet.Type = topodatapb.TabletType_SPARE
	if err := ts.UpdateTablet(ctx, stale); !errors.Is(err, topo.ErrBadVersion) {
		t.Fatalf("UpdateTablet with a stale version = %v, want BadVersion", err)
	}
	ti, err = ts.UpdateTabletFields(ctx, alias("zone1", 100), func(tb *topodatapb.Tablet) error {
		tb.Tags = map[string]string{"rack": "r1"}
		return nil
	})
	if err != nil || ti.Tablet.Type != topodatapb.TabletType_PRIMARY || ti.Tablet.Tags["rack"] != "r1" {
		t.Fatalf("UpdateTabletFields = %v, %v", ti, err)
	}
	if _, err := ts.UpdateTabletFields(ctx, alias("zone1", 100), func(tb *topodatapb.Tablet) error {
		tb.Alias = alias("zone1", 999)
		return nil
	}); err == nil {
		t.Fatal("UpdateTabletFields changing the alias succeeded")
	}

	// Delete removes the record and the replication entry.
	if err := ts.DeleteTablet(ctx, alias("zone1", 101)); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.GetTablet(ctx, alias("zone1", 101)); !errors.Is(err, topo.ErrNoNode) {
		t.Fatalf("GetTablet after delete = %v", err)
	}
	sri, err := ts.GetShardReplication(ctx, "zone1", "ks", "-80")
	if err != nil || len(sri.ShardReplication.Nodes) != 1 {
		t.Fatalf("ShardReplication after delete = %v, %v", sri, err)
	}
	if err := ts.DeleteTablet(ctx, alias("zone1", 101)); !errors.Is(err, topo.ErrNoNode) {
		t.Fatalf("second DeleteTablet = %v, want NoNode", err)
	}
	// Adding twice and removing a missing tablet change nothing.
	if err := ts.AddShardReplicationNode(ctx, "ks", "-80", alias("zone1", 100)); err != nil {
		t.Fatal(err)
	}
	if err := ts.RemoveShardReplicationNode(ctx, "ks", "-80", alias("zone1", 555)); err != nil {
		t.Fatal(err)
	}
	if sri, _ := ts.GetShardReplication(ctx, "zone1", "ks", "-80"); len(sri.ShardReplication.Nodes) != 1 {
		t.Fatalf("ShardReplication nodes = %v", sri.ShardReplication.Nodes)
	}
}

func TestRebuildSrvKeyspace(t *testing.T) {
	ctx := t.Context()
	ts := newMemoryServer(t)
	if err := ts.RebuildSrvKeyspace(ctx, "ks"); !errors.Is(err, topo.ErrNoNode) {
		t.Fatalf("rebuild of a missing keyspace = %v, want NoNode", err)
	}
	if err := ts.CreateKeyspace(ctx, "ks", nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"80-", "-80"} {
		if _, err := ts.CreateShard(ctx, "ks", s); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.RebuildSrvKeyspace(ctx, "ks"); err != nil {
		t.Fatal(err)
	}
	sk, err := ts.GetSrvKeyspace(ctx, "zone1", "ks")
	if err != nil {
		t.Fatal(err)
	}
	if len(sk.Partitions) != 3 || sk.Partitions[0].ServedType != topodatapb.TabletType_PRIMARY ||
		len(sk.Partitions[0].ShardReferences) != 2 || sk.Partitions[0].ShardReferences[0].Name != "-80" {
		t.Fatalf("SrvKeyspace = %v", sk)
	}
	zone1, _ := ts.ConnForCell(ctx, "zone1")
	if _, _, err := zone1.Get(ctx, "keyspaces/ks/SrvKeyspace"); err != nil {
		t.Fatalf("SrvKeyspace not at its path: %v", err)
	}
	if _, err := ts.GetSrvKeyspace(ctx, "zone1", "nope"); !errors.Is(err, topo.ErrNoNode) {
		t.Fatalf("GetSrvKeyspace(nope) = %v", err)
	}
}

func TestVSchemaBytes(t *testing.T) {
	ctx := t.Context()
	ts := newMemoryServer(t)
	raw := []byte{0x08, 0x01} // vschema.Keyspace{sharded: true}
	if err := ts.SaveVSchema(ctx, "ks", raw); err != nil {
		t.Fatal(err)
	}
	if got, err := ts.GetVSchema(ctx, "ks"); err != nil || string(got) != string(raw) {
		t.Fatalf("GetVSchema = %x, %v", got, err)
	}
	if err := ts.UpdateSrvVSchema(ctx, "zone1", raw); err != nil {
		t.Fatal(err)
	}
	zone1, _ := ts.ConnForCell(ctx, "zone1")
	if _, _, err := zone1.Get(ctx, "SrvVSchema"); err != nil {
		t.Fatalf("SrvVSchema not at its path: %v", err)
	}
}

// stallingConn answers Get only when its context ends, like a store that
// does not respond.
type stallingConn struct{ topo.Conn }

func (c stallingConn) Get(ctx context.Context, p string) ([]byte, topo.Version, error) {
	<-ctx.Done()
	return nil, 0, topo.ContextError(ctx, "get", p)
}

func TestDefaultCallTimeout(t *testing.T) {
	st := memory.NewStore(memory.DefaultConfig())
	defer st.Close()
	conn, err := st.Open("/vitess/global")
	if err != nil {
		t.Fatal(err)
	}
	cfg := topo.DefaultConfig()
	cfg.CallTimeout = 50 * time.Millisecond
	ts, err := topo.NewServer(cfg, stallingConn{conn}, st.OpenFunc(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	done := make(chan error, 1)
	go func() {
		_, err := ts.GetKeyspace(context.Background(), "ks")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, topo.ErrTimeout) || !strings.Contains(err.Error(), "keyspaces/ks/Keyspace") {
			t.Fatalf("GetKeyspace on a stalled store = %v, want Timeout naming the path", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("GetKeyspace without a deadline did not get the default call timeout")
	}
}

func TestNewServerChecks(t *testing.T) {
	st := memory.NewStore(memory.DefaultConfig())
	defer st.Close()
	conn, _ := st.Open("/vitess/global")
	defer conn.Close()
	cfg := topo.DefaultConfig()
	cfg.CallTimeout = 0
	if _, err := topo.NewServer(cfg, conn, st.OpenFunc(), nil); err == nil {
		t.Fatal("NewServer with no call timeout succeeded")
	}
	if _, err := topo.NewServer(topo.DefaultConfig(), nil, st.OpenFunc(), nil); err == nil {
		t.Fatal("NewServer with no global Conn succeeded")
	}
}

func TestSetShardPrimary(t *testing.T) {
	ts := newMemoryServer(t)
	ctx := context.Background()
	for _, uid := range []uint32{100, 101} {
		if err := ts.CreateTablet(ctx, tablet("zone1", uid, "ks", "0")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ts.GetOrCreateShard(ctx, "ks", "0"); err != nil {
		t.Fatal(err)
	}
	si, err := ts.SetShardPrimary(ctx, alias("zone1", 100))
	if err != nil {
		t.Fatal(err)
	}
	if !topo.TabletAliasEqual(si.Shard.GetPrimaryAlias(), alias("zone1", 100)) || si.Shard.GetPrimaryTermStartTime() == nil || !si.Shard.GetIsPrimaryServing() {
		t.Fatalf("shard after SetShardPrimary(100) = %v", si.Shard)
	}
	first := si.Shard.GetPrimaryTermStartTime()

	again, err := ts.SetShardPrimary(ctx, alias("zone1", 100))
	if err != nil || again.Version != si.Version {
		t.Errorf("naming the primary again: version %v -> %v, %v; want no write", si.Version, again.Version, err)
	}

	si, err = ts.SetShardPrimary(ctx, alias("zone1", 101))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ts.GetShard(ctx, "ks", "0")
	if err != nil {
		t.Fatal(err)
	}
	if !topo.TabletAliasEqual(got.Shard.GetPrimaryAlias(), alias("zone1", 101)) ||
		(got.Shard.GetPrimaryTermStartTime().GetSeconds() == first.GetSeconds() && got.Shard.GetPrimaryTermStartTime().GetNanoseconds() == first.GetNanoseconds()) {
		t.Errorf("after switching to 101: %v (first term %v)", got.Shard, first)
	}
	if _, err := ts.SetShardPrimary(ctx, alias("zone1", 999)); !errors.Is(err, topo.ErrNoNode) {
		t.Errorf("SetShardPrimary(unknown) = %v, want NoNode", err)
	}
}
