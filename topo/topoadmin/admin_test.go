package topoadmin_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/testenv"
	"github.com/tabletd/tablet/topo"
	"github.com/tabletd/tablet/topo/topoadmin"
	"github.com/tabletd/tablet/topo/topofactory"
	"github.com/tabletd/tablet/topo/topotest"
)

func TestMain(m *testing.M) { topotest.Main(m) }

// run invokes topoadmin.Run and returns stdout, or fails t.
func run(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := topoadmin.Run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("topo %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// TestAddCellAndCatOnEtcd is the operator's path end to end on a real
// etcd: add a cell, read its CellInfo back decoded, then build a keyspace
// and read its records back.
func TestAddCellAndCatOnEtcd(t *testing.T) {
	e := testenv.StartEtcd(t)
	topoFlags := []string{
		"--topo_implementation", "etcd2",
		"--topo_global_server_address", e.Address(),
		"--topo_global_root", "/vitess/global",
	}
	cmd := func(args ...string) string { return run(t, append(append([]string{}, topoFlags...), args...)...) }

	cmd("AddCellInfo", "--server_address", e.Address(), "--root", "/vitess/zone1", "zone1")
	out := cmd("TopoCat", "--decode_proto", "--long", "/cells/zone1/CellInfo")
	for _, want := range []string{"path=/cells/zone1/CellInfo version=", "server_address:", e.Address(), "root:", `"/vitess/zone1"`} {
		if !strings.Contains(out, want) {
			t.Fatalf("TopoCat output lacks %q:\n%s", want, out)
		}
	}
	if out := cmd("GetCellInfoNames"); out != "zone1\n" {
		t.Fatalf("GetCellInfoNames = %q", out)
	}

	cmd("CreateKeyspace", "--durability-policy=semi_sync", "commerce")
	cmd("CreateShard", "commerce/-80")
	cmd("CreateShard", "commerce/80-")
	cmd("RebuildKeyspaceGraph", "commerce")
	out = cmd("TopoCat", "--decode_proto", "--long", "/keyspaces/*/Keyspace", "/keyspaces/commerce/shards/*/Shard")
	for _, want := range []string{
		"path=/keyspaces/commerce/Keyspace", `durability_policy:`, `"semi_sync"`,
		"path=/keyspaces/commerce/shards/-80/Shard", "path=/keyspaces/commerce/shards/80-/Shard", "is_primary_serving:",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("TopoCat output lacks %q:\n%s", want, out)
		}
	}
	out = cmd("TopoCat", "--cell", "zone1", "--decode_proto_json", "/keyspaces/commerce/SrvKeyspace")
	// protojson varies its spacing on purpose; compare without it.
	compact := strings.Join(strings.Fields(out), "")
	if !strings.Contains(compact, `"servedType":"PRIMARY"`) || !strings.Contains(compact, `"name":"-80"`) {
		t.Fatalf("SrvKeyspace JSON:\n%s", out)
	}

	// The records are where Vitess puts them in etcd: under the roots.
	cfg := topo.DefaultConfig()
	cfg.GlobalServerAddress, cfg.GlobalRoot = e.Address(), "/vitess/global"
	ts, err := topofactory.Open(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	if _, _, err := ts.GlobalConn().Get(t.Context(), "cells/zone1/CellInfo"); err != nil {
		t.Fatal(err)
	}
	cmd("DeleteCellInfo", "zone1")
	var stdout, stderr bytes.Buffer
	err = topoadmin.Run(t.Context(), append(append([]string{}, topoFlags...), "GetCellInfo", "zone1"), &stdout, &stderr)
	if !errors.Is(err, topo.ErrNoNode) || !strings.Contains(err.Error(), "/vitess/global/cells/zone1/CellInfo") {
		t.Fatalf("GetCellInfo after delete = %v, want NoNode naming the path", err)
	}
}

// newMemory returns a Server on a fresh memory store with cell zone1.
func newMemory(t *testing.T) *topo.Server {
	t.Helper()
	cfg := topo.DefaultConfig()
	cfg.Implementation = topo.ImplMemory
	cfg.GlobalRoot = "/vitess/global"
	ts, err := topofactory.Open(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	return ts
}

func TestCommands(t *testing.T) {
	ctx := t.Context()
	ts := newMemory(t)
	exec := func(args ...string) (string, error) {
		var stdout bytes.Buffer
		err := topoadmin.RunWithServer(ctx, ts, args, &stdout, io.Discard)
		return stdout.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := exec(args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out
	}
	// Flags may follow the positional argument; names ignore case.
	must("addcellinfo", "zone1", "--server_address=memory", "--root=/vitess/zone1")
	must("CreateShard", "--parent", "ks/0")
	for _, uid := range []uint32{100, 101} {
		if err := ts.CreateTablet(ctx, &topodatapb.Tablet{
			Alias: &topodatapb.TabletAlias{Cell: "zone1", Uid: uid}, Keyspace: "ks", Shard: "0",
			Hostname: "h", PortMap: map[string]int32{"vt": 15000}, MysqlHostname: "h", MysqlPort: 3306,
			Type: topodatapb.TabletType_REPLICA,
		}); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name    string
		args    []string
		want    []string // substrings of stdout
		wantErr string   // substring of the error; "" for success
	}{
		{"GetCellInfo", []string{"GetCellInfo", "zone1"}, []string{`root:`, `"/vitess/zone1"`}, ""},
		{"GetCells alias", []string{"GetCells"}, []string{"zone1\n"}, ""},
		{"GetKeyspaces", []string{"GetKeyspaces"}, []string{"ks\n"}, ""},
		{"GetKeyspace", []string{"GetKeyspace", "ks"}, nil, ""},
		{"GetShard", []string{"GetShard", "ks/0"}, []string{"is_primary_serving:", "true"}, ""},
		{"GetShardNames", []string{"GetShardNames", "ks"}, []string{"0\n"}, ""},
		{"GetTablets", []string{"GetTablets"}, []string{"zone1-0000000100 ks 0 replica h:15000 h:3306\n", "zone1-0000000101"}, ""},
		{"ListTablets by shard", []string{"ListTablets", "--keyspace=ks", "--shard=0", "--cell=zone1"}, []string{"zone1-0000000101"}, ""},
		{"GetTablet", []string{"GetTablet", "zone1-100"}, []string{"uid:", "100", "type:", "REPLICA"}, ""},
		{"TopoCat tablet", []string{"TopoCat", "--cell=zone1", "--decode_proto", "tablets/zone1-0000000100/Tablet"}, []string{"hostname:", `"h"`}, ""},
		{"TopoCat glob", []string{"TopoCat", "--cell=zone1", "--long", "--decode_proto", "/tablets/*/Tablet"},
			[]string{"path=/tablets/zone1-0000000100/Tablet", "path=/tablets/zone1-0000000101/Tablet"}, ""},
		{"TopoCat replication", []string{"TopoCat", "--cell=zone1", "--decode_proto", "keyspaces/ks/shards/0/ShardReplication"},
			[]string{"nodes:", "tablet_alias:"}, ""},
		{"UpdateCellInfo", []string{"UpdateCellInfo", "--server_address=memory2", "zone1"}, []string{`"memory2"`}, ""},
		{"CreateKeyspace exists", []string{"CreateKeyspace", "ks"}, nil, "node already exists"},
		{"CreateKeyspace force", []string{"CreateKeyspace", "--force", "ks"}, nil, ""},
		{"CreateShard no keyspace", []string{"CreateShard", "nope/0"}, nil, "keyspaces/nope/Keyspace"},
		{"CreateShard bad arg", []string{"CreateShard", "nope"}, nil, "not <keyspace>/<shard>"},
		{"TopoCat missing", []string{"TopoCat", "--decode_proto", "keyspaces/nope/Keyspace"}, nil, "/vitess/global/keyspaces/nope/Keyspace"},
		{"TopoCat no match", []string{"TopoCat", "keyspaces/*/Nope"}, nil, "no record matches"},
		// Last: these change the records the cases above read.
		{"TabletExternallyReparented", []string{"TabletExternallyReparented", "zone1-100"}, []string{"primary_alias:", "100", "primary_term_start_time:"}, ""},
		{"TabletExternallyReparented again", []string{"TabletExternallyReparented", "zone1-100"}, []string{"primary_alias:", "100"}, ""},
		{"TabletExternallyReparented unknown", []string{"TabletExternallyReparented", "zone1-999"}, nil, "zone1-0000000999"},
		{"DeleteTablet", []string{"DeleteTablet", "zone1-101"}, nil, ""},
		{"DeleteTablet gone", []string{"DeleteTablet", "zone1-101"}, nil, "zone1-0000000101"},
		{"GetTablets after delete", []string{"GetTablets"}, []string{"zone1-0000000100"}, ""},
		{"DeleteCellInfo with tablets", []string{"RemoveCellInfo", "zone1"}, nil, "tablet records remain"},
		{"AddCellInfo missing flags", []string{"AddCellInfo", "zone2"}, nil, "--server_address and --root are required"},
		{"unknown command", []string{"Frobnicate"}, nil, "unknown command"},
		{"bad flag", []string{"GetTablets", "--nope"}, nil, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec(tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("%v: error %v, want one containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v: %v", tt.args, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Fatalf("%v: output lacks %q:\n%s", tt.args, w, out)
				}
			}
		})
	}

	// Opaque and text records print without a schema.
	if err := ts.SaveVSchema(ctx, "ks", []byte{0x08, 0x01, 0x12, 0x03, 'a', 'b', 'c'}); err != nil {
		t.Fatal(err)
	}
	out := must("TopoCat", "--decode_proto", "keyspaces/ks/VSchema")
	if out != "1: 1\n2: \"abc\"\n" {
		t.Fatalf("VSchema dump = %q", out)
	}
	ld, err := ts.LockKeyspace(ctx, "ks", "testing locks")
	if err != nil {
		t.Fatal(err)
	}
	defer ld.Unlock(ctx)
	out = must("TopoCat", "--decode_proto", "keyspaces/ks/locks/*")
	if !strings.Contains(out, `"Action": "testing locks"`) {
		t.Fatalf("lock node = %q", out)
	}
	// Raw mode prints the stored bytes.
	if out := must("TopoCat", "keyspaces/ks/VSchema"); out != "\x08\x01\x12\x03abc" {
		t.Fatalf("raw TopoCat = %q", out)
	}
	must("DeleteCellInfo", "--force", "zone1")
	if out := must("GetCellInfoNames"); out != "" {
		t.Fatalf("cells after delete = %q", out)
	}
}

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no command", []string{"--topo_implementation=memory", "--topo_global_root=/vitess/global"}, "no command"},
		{"unknown command", []string{"--topo_implementation=memory", "--topo_global_root=/vitess/global", "Nope"}, "unknown command"},
		{"bad implementation", []string{"--topo_implementation=zk2", "--topo_global_root=/g", "GetCellInfoNames"}, "--topo_implementation"},
		{"no root", []string{"--topo_implementation=memory", "GetCellInfoNames"}, "--topo_global_root"},
		{"no address", []string{"--topo_global_root=/vitess/global", "GetCellInfoNames"}, "--topo_global_server_address"},
		{"works", []string{"--topo_implementation=memory", "--topo_global_root=/vitess/global", "GetCellInfoNames"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := topoadmin.Run(context.Background(), tt.args, io.Discard, io.Discard)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	if err := topoadmin.Run(context.Background(), []string{"-h"}, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Run -h = %v, want flag.ErrHelp", err)
	}
}
