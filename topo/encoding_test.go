package topo_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/proto/vttimepb"
	"github.com/tabletd/tablet/topo"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata from the current code")

const fieldsGolden = "testdata/topodata_fields.golden"

const fieldsGoldenHeader = `# Field numbers and enum values of the records this project writes, one
# "<message>.<field> = <number>" or "<enum>.<value> = <number>" per line.
# Every line was checked by hand against Vitess's proto/topodata.proto and
# proto/vttime.proto. TestFieldNumbersMatchGolden fails when the generated
# descriptors drift from this list; after an intended change, regenerate
# with "go test ./topo -run TestFieldNumbersMatchGolden -update" and check
# the diff against Vitess again.
`

// describeFile lists every field and enum value of fd, nested ones
// included, sorted.
func describeFile(fd protoreflect.FileDescriptor) []string {
	var lines []string
	var msgs func(protoreflect.MessageDescriptors)
	enums := func(es protoreflect.EnumDescriptors) {
		for i := 0; i < es.Len(); i++ {
			e := es.Get(i)
			for j := 0; j < e.Values().Len(); j++ {
				v := e.Values().Get(j)
				lines = append(lines, fmt.Sprintf("%s.%s = %d", e.FullName(), v.Name(), v.Number()))
			}
		}
	}
	msgs = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			m := ms.Get(i)
			if m.IsMapEntry() {
				continue
			}
			for j := 0; j < m.Fields().Len(); j++ {
				f := m.Fields().Get(j)
				lines = append(lines, fmt.Sprintf("%s.%s = %d", m.FullName(), f.Name(), f.Number()))
			}
			enums(m.Enums())
			msgs(m.Messages())
		}
	}
	enums(fd.Enums())
	msgs(fd.Messages())
	slices.Sort(lines)
	return lines
}

func TestFieldNumbersMatchGolden(t *testing.T) {
	var got []string
	got = append(got, describeFile(vttimepb.File_vttime_proto)...)
	got = append(got, describeFile(topodatapb.File_topodata_proto)...)
	if *update {
		if err := os.WriteFile(fieldsGolden, []byte(fieldsGoldenHeader+strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(fieldsGolden)
	if err != nil {
		t.Fatalf("read %s (create it with -update): %v", fieldsGolden, err)
	}
	var want []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			want = append(want, l)
		}
	}
	for _, l := range want {
		if !slices.Contains(got, l) {
			t.Errorf("%s: %q is not in the generated descriptors", filepath.Base(fieldsGolden), l)
		}
	}
	for _, l := range got {
		if !slices.Contains(want, l) {
			t.Errorf("generated descriptors have %q, which %s lacks", l, filepath.Base(fieldsGolden))
		}
	}
	if proto.Message((*topodatapb.Tablet)(nil)).ProtoReflect().Descriptor().ParentFile().Package() != "topodata" {
		t.Error("topodata.proto must declare package topodata")
	}
	if (&vttimepb.Time{}).ProtoReflect().Descriptor().FullName() != "vttime.Time" {
		t.Error("vttime.proto must declare package vttime")
	}
}

// wire is one level of a decoded protobuf message: the values of each
// field number, in order. It reads the bytes with protowire only, so these
// tests check field numbers and wire types without the descriptors.
type wire struct {
	t      *testing.T
	where  string
	fields map[protowire.Number][]wireValue
}

type wireValue struct {
	typ    protowire.Type
	varint uint64
	bytes  []byte
}

func parseWire(t *testing.T, where string, b []byte) *wire {
	t.Helper()
	w := &wire{t: t, where: where, fields: make(map[protowire.Number][]wireValue)}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("%s: bad tag: %v", where, protowire.ParseError(n))
		}
		b = b[n:]
		v := wireValue{typ: typ}
		switch typ {
		case protowire.VarintType:
			v.varint, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v.bytes, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			t.Fatalf("%s: field %d: %v", where, num, protowire.ParseError(n))
		}
		b = b[n:]
		w.fields[num] = append(w.fields[num], v)
	}
	return w
}

func marshalWire(t *testing.T, m proto.Message) *wire {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return parseWire(t, string(m.ProtoReflect().Descriptor().FullName()), b)
}

// only fails unless exactly the given field numbers are present.
func (w *wire) only(nums ...protowire.Number) {
	w.t.Helper()
	var got []int
	for n := range w.fields {
		got = append(got, int(n))
	}
	var want []int
	for _, n := range nums {
		want = append(want, int(n))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		w.t.Fatalf("%s: field numbers %v, want %v", w.where, got, want)
	}
}

func (w *wire) values(num protowire.Number, typ protowire.Type) []wireValue {
	w.t.Helper()
	vs := w.fields[num]
	if len(vs) == 0 {
		w.t.Fatalf("%s: field %d missing", w.where, num)
	}
	for _, v := range vs {
		if v.typ != typ {
			w.t.Fatalf("%s: field %d has wire type %d, want %d", w.where, num, v.typ, typ)
		}
	}
	return vs
}

func (w *wire) varint(num protowire.Number, want uint64) {
	w.t.Helper()
	if got := w.values(num, protowire.VarintType)[0].varint; got != want {
		w.t.Fatalf("%s: field %d = %d, want %d", w.where, num, got, want)
	}
}

func (w *wire) str(num protowire.Number, want string) {
	w.t.Helper()
	if got := string(w.values(num, protowire.BytesType)[0].bytes); got != want {
		w.t.Fatalf("%s: field %d = %q, want %q", w.where, num, got, want)
	}
}

func (w *wire) msg(num protowire.Number) *wire {
	w.t.Helper()
	return w.msgs(num)[0]
}

func (w *wire) msgs(num protowire.Number) []*wire {
	w.t.Helper()
	var out []*wire
	for i, v := range w.values(num, protowire.BytesType) {
		out = append(out, parseWire(w.t, fmt.Sprintf("%s.%d[%d]", w.where, num, i), v.bytes))
	}
	return out
}

// Field numbers below are Vitess's, written out by hand from its
// topodata.proto; they do not come from our descriptors.

func TestTabletWireFormat(t *testing.T) {
	w := marshalWire(t, &topodatapb.Tablet{
		Alias:                &topodatapb.TabletAlias{Cell: "zone1", Uid: 100},
		Hostname:             "host1",
		PortMap:              map[string]int32{"grpc": 16000},
		Keyspace:             "commerce",
		Shard:                "-80",
		KeyRange:             &topodatapb.KeyRange{End: []byte{0x80}},
		Type:                 topodatapb.TabletType_REPLICA,
		DbNameOverride:       "db",
		Tags:                 map[string]string{"k": "v"},
		MysqlHostname:        "mysql1",
		MysqlPort:            3306,
		PrimaryTermStartTime: &vttimepb.Time{Seconds: 7, Nanoseconds: 8},
		DefaultConnCollation: 45,
		TabletStartTime:      &vttimepb.Time{Seconds: 9},
	})
	w.only(1, 2, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 16, 17)
	alias := w.msg(1) // alias
	alias.only(1, 2)
	alias.str(1, "zone1") // cell
	alias.varint(2, 100)  // uid
	w.str(2, "host1")     // hostname
	pm := w.msg(4)        // port_map entry: key = 1, value = 2
	pm.str(1, "grpc")
	pm.varint(2, 16000)
	w.str(5, "commerce") // keyspace
	w.str(6, "-80")      // shard
	kr := w.msg(7)       // key_range
	kr.only(2)
	kr.str(2, "\x80")      // end
	w.varint(8, 2)         // type = REPLICA
	w.str(9, "db")         // db_name_override
	tags := w.msg(10)      // tags entry
	tags.str(1, "k")       //
	tags.str(2, "v")       //
	w.str(12, "mysql1")    // mysql_hostname
	w.varint(13, 3306)     // mysql_port
	ts := w.msg(14)        // primary_term_start_time (vttime.Time)
	ts.varint(1, 7)        // seconds
	ts.varint(2, 8)        // nanoseconds
	w.varint(16, 45)       // default_conn_collation
	w.msg(17).varint(1, 9) // tablet_start_time.seconds
	enumValues := map[topodatapb.TabletType]uint64{
		topodatapb.TabletType_UNKNOWN: 0, topodatapb.TabletType_PRIMARY: 1, topodatapb.TabletType_REPLICA: 2,
		topodatapb.TabletType_RDONLY: 3, topodatapb.TabletType_SPARE: 4, topodatapb.TabletType_EXPERIMENTAL: 5,
		topodatapb.TabletType_BACKUP: 6, topodatapb.TabletType_RESTORE: 7, topodatapb.TabletType_DRAINED: 8,
	}
	for typ, want := range enumValues {
		if uint64(typ) != want {
			t.Errorf("TabletType %v = %d, want %d", typ, typ, want)
		}
	}
	if topodatapb.TabletType_MASTER != topodatapb.TabletType_PRIMARY || topodatapb.TabletType_BATCH != topodatapb.TabletType_RDONLY {
		t.Error("MASTER and BATCH must alias PRIMARY and RDONLY")
	}
}

func TestShardWireFormat(t *testing.T) {
	w := marshalWire(t, &topodatapb.Shard{
		PrimaryAlias:         &topodatapb.TabletAlias{Cell: "zone1", Uid: 101},
		PrimaryTermStartTime: &vttimepb.Time{Seconds: 1},
		KeyRange:             &topodatapb.KeyRange{Start: []byte{0x40}, End: []byte{0x80}},
		SourceShards: []*topodatapb.Shard_SourceShard{{
			Uid: 3, Keyspace: "src", Shard: "0", KeyRange: &topodatapb.KeyRange{Start: []byte{1}}, Tables: []string{"t"},
		}},
		TabletControls: []*topodatapb.Shard_TabletControl{{
			TabletType: topodatapb.TabletType_RDONLY, Cells: []string{"zone1"}, DeniedTables: []string{"d"}, Frozen: true,
		}},
		IsPrimaryServing: true,
	})
	w.only(1, 2, 4, 6, 7, 8)
	pa := w.msg(1) // primary_alias
	pa.str(1, "zone1")
	pa.varint(2, 101)
	kr := w.msg(2) // key_range: start = 1, end = 2
	kr.str(1, "\x40")
	kr.str(2, "\x80")
	ss := w.msg(4) // source_shards
	ss.only(1, 2, 3, 4, 5)
	ss.varint(1, 3)
	ss.str(2, "src")
	ss.str(3, "0")
	ss.msg(4).str(1, "\x01")
	ss.str(5, "t")
	tc := w.msg(6) // tablet_controls
	tc.only(1, 2, 4, 5)
	tc.varint(1, 3) // tablet_type = RDONLY
	tc.str(2, "zone1")
	tc.str(4, "d") // denied_tables
	tc.varint(5, 1)
	w.varint(7, 1)        // is_primary_serving
	w.msg(8).varint(1, 1) // primary_term_start_time.seconds
}

func TestKeyspaceWireFormat(t *testing.T) {
	w := marshalWire(t, &topodatapb.Keyspace{
		KeyspaceType:     topodatapb.KeyspaceType_SNAPSHOT,
		BaseKeyspace:     "base",
		SnapshotTime:     &vttimepb.Time{Seconds: 5},
		DurabilityPolicy: "semi_sync",
		SidecarDbName:    "_vt",
	})
	w.only(5, 6, 7, 8, 10)
	w.varint(5, 1) // keyspace_type = SNAPSHOT
	w.str(6, "base")
	w.msg(7).varint(1, 5)
	w.str(8, "semi_sync")
	w.str(10, "_vt") // sidecar_db_name
}

func TestShardReplicationWireFormat(t *testing.T) {
	w := marshalWire(t, &topodatapb.ShardReplication{Nodes: []*topodatapb.ShardReplication_Node{
		{TabletAlias: &topodatapb.TabletAlias{Cell: "zone1", Uid: 100}},
		{TabletAlias: &topodatapb.TabletAlias{Cell: "zone1", Uid: 101}},
	}})
	w.only(1)
	nodes := w.msgs(1) // nodes
	if len(nodes) != 2 {
		t.Fatalf("%d nodes, want 2", len(nodes))
	}
	for i, n := range nodes {
		n.only(1)
		a := n.msg(1) // tablet_alias
		a.str(1, "zone1")
		a.varint(2, uint64(100+i))
	}
}

func TestSrvKeyspaceWireFormat(t *testing.T) {
	w := marshalWire(t, &topodatapb.SrvKeyspace{Partitions: []*topodatapb.SrvKeyspace_KeyspacePartition{{
		ServedType: topodatapb.TabletType_PRIMARY,
		ShardReferences: []*topodatapb.ShardReference{
			{Name: "-80", KeyRange: &topodatapb.KeyRange{End: []byte{0x80}}},
		},
		ShardTabletControls: []*topodatapb.ShardTabletControl{
			{Name: "-80", KeyRange: &topodatapb.KeyRange{End: []byte{0x80}}, QueryServiceDisabled: true},
		},
	}}})
	w.only(1)
	p := w.msg(1) // partitions
	p.only(1, 2, 3)
	p.varint(1, 1) // served_type = PRIMARY
	ref := p.msg(2)
	ref.only(1, 2)
	ref.str(1, "-80")
	ref.msg(2).str(2, "\x80")
	stc := p.msg(3)
	stc.only(1, 2, 3)
	stc.str(1, "-80")
	stc.varint(3, 1) // query_service_disabled
}

func TestCellInfoWireFormat(t *testing.T) {
	w := marshalWire(t, &topodatapb.CellInfo{ServerAddress: "etcd1:2379,etcd2:2379", Root: "/vitess/zone1"})
	w.only(1, 2)
	w.str(1, "etcd1:2379,etcd2:2379") // server_address
	w.str(2, "/vitess/zone1")         // root
}

// TestUnknownFieldsSurviveUpdate checks that a record carrying fields we do
// not model (here Keyspace.throttler_config = 9, as a newer Vitess writes
// it) keeps them through a read-modify-write.
func TestUnknownFieldsSurviveUpdate(t *testing.T) {
	var b []byte
	b = protowire.AppendTag(b, 8, protowire.BytesType) // durability_policy
	b = protowire.AppendString(b, "none")
	b = protowire.AppendTag(b, 9, protowire.BytesType) // throttler_config
	b = protowire.AppendBytes(b, []byte{0x08, 0x01})   // {enabled: true}
	ks := &topodatapb.Keyspace{}
	if err := proto.Unmarshal(b, ks); err != nil {
		t.Fatal(err)
	}
	ks.DurabilityPolicy = "semi_sync"
	w := marshalWire(t, ks)
	w.only(8, 9)
	w.str(8, "semi_sync")
	w.msg(9).varint(1, 1)
}

// TestStoredRecordsWireFormat reads back the bytes Server stores for each
// record type and checks their field numbers with protowire, against
// Vitess's numbers.
func TestStoredRecordsWireFormat(t *testing.T) {
	ctx := t.Context()
	ts := newMemoryServer(t) // cell zone1 at /vitess/zone1
	if err := ts.CreateKeyspace(ctx, "ks", &topodatapb.Keyspace{DurabilityPolicy: "semi_sync"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.CreateShard(ctx, "ks", "-80"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.UpdateShardFields(ctx, "ks", "-80", func(s *topodatapb.Shard) error {
		s.PrimaryAlias = &topodatapb.TabletAlias{Cell: "zone1", Uid: 100}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tb := tablet("zone1", 100, "ks", "-80")
	tb.Type = topodatapb.TabletType_PRIMARY
	if err := ts.CreateTablet(ctx, tb); err != nil {
		t.Fatal(err)
	}
	if err := ts.RebuildSrvKeyspace(ctx, "ks"); err != nil {
		t.Fatal(err)
	}
	zone1, err := ts.ConnForCell(ctx, "zone1")
	if err != nil {
		t.Fatal(err)
	}
	stored := func(conn topo.Conn, p string) *wire {
		t.Helper()
		data, _, err := conn.Get(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return parseWire(t, p, data)
	}

	ci := stored(ts.GlobalConn(), "cells/zone1/CellInfo")
	ci.only(1, 2)
	ci.str(1, "memory")        // server_address
	ci.str(2, "/vitess/zone1") // root

	ks := stored(ts.GlobalConn(), "keyspaces/ks/Keyspace")
	ks.only(8)
	ks.str(8, "semi_sync") // durability_policy

	sh := stored(ts.GlobalConn(), "keyspaces/ks/shards/-80/Shard")
	sh.only(1, 2, 7)
	sh.msg(1).str(1, "zone1") // primary_alias.cell
	sh.msg(1).varint(2, 100)  // primary_alias.uid
	sh.msg(2).only(2)         // key_range has only end
	sh.msg(2).str(2, "\x80")  // key_range.end
	sh.varint(7, 1)           // is_primary_serving

	tw := stored(zone1, "tablets/zone1-0000000100/Tablet")
	tw.only(1, 2, 4, 5, 6, 8, 13)
	tw.msg(1).str(1, "zone1") // alias.cell
	tw.msg(1).varint(2, 100)  // alias.uid
	tw.str(2, "host100")      // hostname
	tw.str(5, "ks")           // keyspace
	tw.str(6, "-80")          // shard
	tw.varint(8, 1)           // type = PRIMARY
	tw.varint(13, 3306)       // mysql_port

	sr := stored(zone1, "keyspaces/ks/shards/-80/ShardReplication")
	sr.only(1)
	node := sr.msg(1) // nodes
	node.only(1)
	node.msg(1).str(1, "zone1") // tablet_alias.cell
	node.msg(1).varint(2, 100)  // tablet_alias.uid

	sk := stored(zone1, "keyspaces/ks/SrvKeyspace")
	sk.only(1)
	parts := sk.msgs(1) // partitions
	if len(parts) != 3 {
		t.Fatalf("%d partitions, want 3", len(parts))
	}
	for i, want := range []uint64{1, 2, 3} { // PRIMARY, REPLICA, RDONLY
		parts[i].varint(1, want)              // served_type
		parts[i].msg(2).str(1, "-80")         // shard_references.name
		parts[i].msg(2).msg(2).str(2, "\x80") // shard_references.key_range.end
	}
}
