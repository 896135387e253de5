package topo_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/topo"
	"github.com/tabletd/tablet/topo/topofactory"
)

// fuzzRecord is one record kind the decoding fuzz target writes raw
// bytes into: where it lives, which Conn holds it, and the reads that
// decode it.
type fuzzRecord struct {
	name string
	path string
	cell bool // in cell zone1 rather than the global cell
	// read decodes the record through Server's typed API and returns it.
	read func(ctx context.Context, ts *topo.Server) (proto.Message, error)
	// more runs the Server calls that read the record along the way
	// (listing tablets, rebuilding serving records); they must not panic.
	more func(ctx context.Context, ts *topo.Server)
}

var fuzzAlias = &topodatapb.TabletAlias{Cell: "zone1", Uid: 100}

var fuzzRecords = []fuzzRecord{
	{
		name: "CellInfo", path: topo.CellInfoPath("zone2"),
		read: func(ctx context.Context, ts *topo.Server) (proto.Message, error) { return ts.GetCellInfo(ctx, "zone2") },
		more: func(ctx context.Context, ts *topo.Server) {
			_, _ = ts.GetTabletsByShard(ctx, "ks", "-80", []string{"zone2"})
		},
	},
	{
		name: "Keyspace", path: topo.KeyspacePath("ks"),
		read: func(ctx context.Context, ts *topo.Server) (proto.Message, error) {
			ki, err := ts.GetKeyspace(ctx, "ks")
			if err != nil {
				return nil, err
			}
			return ki.Keyspace, nil
		},
		more: func(ctx context.Context, ts *topo.Server) { _ = ts.RebuildSrvKeyspace(ctx, "ks", "zone1") },
	},
	{
		name: "Shard", path: topo.ShardPath("ks", "-80"),
		read: func(ctx context.Context, ts *topo.Server) (proto.Message, error) {
			si, err := ts.GetShard(ctx, "ks", "-80")
			if err != nil {
				return nil, err
			}
			return si.Shard, nil
		},
		more: func(ctx context.Context, ts *topo.Server) {
			_ = ts.RebuildSrvKeyspace(ctx, "ks", "zone1")
			_, _ = ts.GetOrCreateShard(ctx, "ks", "-80")
		},
	},
	{
		name: "Tablet", path: topo.TabletPath(topo.TabletAliasString(fuzzAlias)), cell: true,
		read: func(ctx context.Context, ts *topo.Server) (proto.Message, error) {
			ti, err := ts.GetTablet(ctx, fuzzAlias)
			if err != nil {
				return nil, err
			}
			return ti.Tablet, nil
		},
		more: func(ctx context.Context, ts *topo.Server) {
			if tis, err := ts.GetTabletsByCell(ctx, "zone1"); err == nil {
				for _, ti := range tis {
					_ = ti.AliasString()
				}
			}
			_, _ = ts.GetTabletsByShard(ctx, "ks", "-80", nil)
		},
	},
	{
		name: "ShardReplication", path: topo.ShardReplicationPath("ks", "-80"), cell: true,
		read: func(ctx context.Context, ts *topo.Server) (proto.Message, error) {
			sri, err := ts.GetShardReplication(ctx, "zone1", "ks", "-80")
			if err != nil {
				return nil, err
			}
			return sri.ShardReplication, nil
		},
		more: func(ctx context.Context, ts *topo.Server) {
			_, _ = ts.GetTabletsByShard(ctx, "ks", "-80", []string{"zone1"})
			_ = ts.AddShardReplicationNode(ctx, "ks", "-80", &topodatapb.TabletAlias{Cell: "zone1", Uid: 101})
			_ = ts.RemoveShardReplicationNode(ctx, "ks", "-80", fuzzAlias)
		},
	},
	{
		name: "SrvKeyspace", path: topo.SrvKeyspacePath("ks"), cell: true,
		read: func(ctx context.Context, ts *topo.Server) (proto.Message, error) {
			return ts.GetSrvKeyspace(ctx, "zone1", "ks")
		},
	},
}

// FuzzDecodeRecord stores arbitrary bytes as each kind of topology record
// and reads them back through Server: decoding never panics, nor do the
// calls that read the record along the way; bytes that do not decode give
// an error naming the record's path; a record that decodes is what
// proto.Unmarshal makes of the bytes, and encoding it and decoding again
// gives the same record.
func FuzzDecodeRecord(f *testing.F) {
	seeds := []proto.Message{
		&topodatapb.CellInfo{ServerAddress: "localhost:2379", Root: "/vitess/zone2"},
		&topodatapb.Keyspace{DurabilityPolicy: "semi_sync"},
		&topodatapb.Shard{PrimaryAlias: fuzzAlias, KeyRange: &topodatapb.KeyRange{End: []byte{0x80}}, IsPrimaryServing: true},
		&topodatapb.Tablet{Alias: fuzzAlias, Hostname: "db1", Keyspace: "ks", Shard: "-80", Type: topodatapb.TabletType_PRIMARY,
			PortMap: map[string]int32{"grpc": 15991, "vt": 15101}, Tags: map[string]string{"a": "b"}, MysqlPort: 3306},
		&topodatapb.ShardReplication{Nodes: []*topodatapb.ShardReplication_Node{{TabletAlias: fuzzAlias}, {}}},
		&topodatapb.SrvKeyspace{Partitions: []*topodatapb.SrvKeyspace_KeyspacePartition{{
			ServedType:      topodatapb.TabletType_PRIMARY,
			ShardReferences: []*topodatapb.ShardReference{{Name: "-80", KeyRange: &topodatapb.KeyRange{End: []byte{0x80}}}},
		}}},
	}
	for i, m := range seeds {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
	}
	f.Add(uint8(3), []byte{0x0a, 0x05, 0x0a, 0x03, 0xff, 0xfe, 0xfd}) // alias cell of invalid UTF-8
	f.Add(uint8(2), []byte{0x12, 0x80})                               // truncated length
	f.Add(uint8(4), []byte{0x0a, 0x00, 0x0a, 0x02, 0x0a, 0x00})       // nodes without aliases
	f.Add(uint8(0), []byte{})

	ctx := context.Background()
	cfg := topo.DefaultConfig()
	cfg.Implementation = topo.ImplMemory
	cfg.GlobalRoot = "/vitess/global"
	cfg.LockTimeout = 5 * time.Second
	ts, err := topofactory.Open(ctx, cfg, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ts.Close() })
	if err := ts.CreateCellInfo(ctx, "zone1", &topodatapb.CellInfo{ServerAddress: "memory", Root: "/vitess/zone1"}); err != nil {
		f.Fatal(err)
	}
	if err := ts.CreateCellInfo(ctx, "zone2", &topodatapb.CellInfo{ServerAddress: "memory", Root: "/vitess/zone2"}); err != nil {
		f.Fatal(err)
	}
	if _, err := ts.GetOrCreateShard(ctx, "ks", "-80"); err != nil {
		f.Fatal(err)
	}
	if err := ts.CreateTablet(ctx, &topodatapb.Tablet{Alias: fuzzAlias, Hostname: "db1", Keyspace: "ks", Shard: "-80",
		Type: topodatapb.TabletType_REPLICA}); err != nil {
		f.Fatal(err)
	}
	if err := ts.RebuildSrvKeyspace(ctx, "ks", "zone1"); err != nil {
		f.Fatal(err)
	}
	cellConn, err := ts.ConnForCell(ctx, "zone1")
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		rec := fuzzRecords[int(kind)%len(fuzzRecords)]
		conn := ts.GlobalConn()
		if rec.cell {
			conn = cellConn
		}
		orig, _, err := conn.Get(ctx, rec.path)
		if err != nil {
			t.Fatalf("%s before the input: %v", rec.path, err)
		}
		if _, err := conn.Update(ctx, rec.path, data, 0); err != nil {
			t.Fatal(err)
		}
		// Put the record back, and anything the calls changed, so that
		// every input starts from the same topology.
		defer func() {
			if _, err := conn.Update(ctx, rec.path, orig, 0); err != nil {
				t.Fatal(err)
			}
			if rec.name == "ShardReplication" || rec.name == "Shard" || rec.name == "Keyspace" {
				if err := ts.RebuildSrvKeyspace(ctx, "ks", "zone1"); err != nil {
					t.Fatalf("restore SrvKeyspace: %v", err)
				}
			}
		}()

		got, err := rec.read(ctx, ts)
		direct := proto.Clone(topo.RecordMessage(rec.path))
		derr := proto.Unmarshal(data, direct)
		switch {
		case err != nil && derr == nil:
			t.Fatalf("read %s: %v; yet the bytes decode as %v", rec.name, err, direct)
		case err != nil:
			if !strings.Contains(err.Error(), rec.path) || errors.Is(err, topo.ErrNoNode) {
				t.Fatalf("read %s: error %q does not name %s", rec.name, err, rec.path)
			}
		case derr != nil:
			t.Fatalf("read %s = %v; yet the bytes do not decode: %v", rec.name, got, derr)
		case !proto.Equal(got, direct):
			t.Fatalf("read %s = %v, want %v", rec.name, got, direct)
		default:
			enc, err := proto.MarshalOptions{Deterministic: true}.Marshal(got)
			if err != nil {
				t.Fatalf("encode %s %v: %v", rec.name, got, err)
			}
			again := proto.Clone(direct)
			proto.Reset(again)
			if err := proto.Unmarshal(enc, again); err != nil || !proto.Equal(again, got) {
				t.Fatalf("%s: decode(encode(%v)) = %v, %v", rec.name, got, again, err)
			}
			// The encoding itself is stable: encoding what it decodes to
			// gives the same bytes.
			enc2, err := proto.MarshalOptions{Deterministic: true}.Marshal(again)
			if err != nil || string(enc2) != string(enc) {
				t.Fatalf("%s: encoding is not stable: %x then %x (%v)", rec.name, enc, enc2, err)
			}
		}
		if rec.more != nil {
			rec.more(ctx, ts)
		}
	})
}
