package proto_test

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tabletd/tablet/proto/logutilpb"
	"github.com/tabletd/tablet/proto/querypb"
	"github.com/tabletd/tablet/proto/queryservicepb"
	"github.com/tabletd/tablet/proto/replicationdatapb"
	"github.com/tabletd/tablet/proto/tabletmanagerdatapb"
	"github.com/tabletd/tablet/proto/tabletmanagerservicepb"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/proto/vtrpcpb"
	"github.com/tabletd/tablet/proto/vttimepb"
)

// The tests in this file check the encoding against field numbers and wire
// types written out by hand from Vitess's .proto files, without looking at
// the generated descriptors: they marshal populated messages and walk the
// raw bytes with protowire, and they build Vitess-shaped bytes by hand and
// unmarshal them.

// wireField is one decoded field of a message, one level deep.
type wireField struct {
	num protowire.Number
	typ protowire.Type
	v   uint64 // varint, fixed32 and fixed64 values
	b   []byte // bytes values: strings, nested messages, packed lists
}

// decode splits b into its top-level fields, failing the test on malformed
// input.
func decode(t *testing.T, b []byte) []wireField {
	t.Helper()
	var out []wireField
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		f := wireField{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			t.Fatalf("field %d: unexpected wire type %d", num, typ)
		}
		if n < 0 {
			t.Fatalf("field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		out = append(out, f)
	}
	return out
}

// msg is a decoded message, indexed by field number.
type msg map[protowire.Number][]wireField

func parse(t *testing.T, b []byte) msg {
	t.Helper()
	m := make(msg)
	for _, f := range decode(t, b) {
		m[f.num] = append(m[f.num], f)
	}
	return m
}

func marshal(t *testing.T, m proto.Message) msg {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatalf("marshal %T: %v", m, err)
	}
	return parse(t, b)
}

// only fails unless the message holds exactly the field numbers given.
func (m msg) only(t *testing.T, what string, nums ...protowire.Number) {
	t.Helper()
	want := make(map[protowire.Number]bool)
	for _, n := range nums {
		want[n] = true
		if len(m[n]) == 0 {
			t.Errorf("%s: field %d missing", what, n)
		}
	}
	for n := range m {
		if !want[n] {
			t.Errorf("%s: unexpected field %d", what, n)
		}
	}
}

func (m msg) one(t *testing.T, what string, num protowire.Number, typ protowire.Type) wireField {
	t.Helper()
	fs := m[num]
	if len(fs) != 1 {
		t.Fatalf("%s: field %d occurs %d times, want once", what, num, len(fs))
	}
	if fs[0].typ != typ {
		t.Fatalf("%s: field %d has wire type %d, want %d", what, num, fs[0].typ, typ)
	}
	return fs[0]
}

func (m msg) varint(t *testing.T, what string, num protowire.Number, want uint64) {
	t.Helper()
	if got := m.one(t, what, num, protowire.VarintType).v; got != want {
		t.Errorf("%s: field %d = %d, want %d", what, num, got, want)
	}
}

// sint is a zigzag-encoded signed varint (sint32, sint64).
func (m msg) sint(t *testing.T, what string, num protowire.Number, want int64) {
	t.Helper()
	if got := protowire.DecodeZigZag(m.one(t, what, num, protowire.VarintType).v); got != want {
		t.Errorf("%s: field %d = %d, want %d", what, num, got, want)
	}
}

func (m msg) str(t *testing.T, what string, num protowire.Number, want string) {
	t.Helper()
	if got := string(m.one(t, what, num, protowire.BytesType).b); got != want {
		t.Errorf("%s: field %d = %q, want %q", what, num, got, want)
	}
}

func (m msg) strs(t *testing.T, what string, num protowire.Number, want ...string) {
	t.Helper()
	var got []string
	for _, f := range m[num] {
		if f.typ != protowire.BytesType {
			t.Fatalf("%s: field %d has wire type %d, want bytes", what, num, f.typ)
		}
		got = append(got, string(f.b))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: field %d = %q, want %q", what, num, got, want)
	}
}

func (m msg) double(t *testing.T, what string, num protowire.Number, want float64) {
	t.Helper()
	if got := math.Float64frombits(m.one(t, what, num, protowire.Fixed64Type).v); got != want {
		t.Errorf("%s: field %d = %v, want %v", what, num, got, want)
	}
}

func (m msg) sub(t *testing.T, what string, num protowire.Number) msg {
	t.Helper()
	return parse(t, m.one(t, what, num, protowire.BytesType).b)
}

// packed decodes a packed repeated varint field.
func (m msg) packed(t *testing.T, what string, num protowire.Number) []uint64 {
	t.Helper()
	b := m.one(t, what, num, protowire.BytesType).b
	var out []uint64
	for len(b) > 0 {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			t.Fatalf("%s: field %d: %v", what, num, protowire.ParseError(n))
		}
		out = append(out, v)
		b = b[n:]
	}
	return out
}

// Hand-written Vitess numbers. Names follow the .proto field names.
const (
	// query.Target, query.VTGateCallerID, vtrpc.CallerID
	targetKeyspace, targetShard, targetTabletType, targetCell = 1, 2, 3, 4
	vtgateUsername, vtgateGroups                              = 1, 2
	callerPrincipal, callerComponent, callerSubcomponent      = 1, 2, 3
	callerGroups                                              = 4

	// The common head of every query request.
	reqEffectiveCallerID, reqImmediateCallerID, reqTarget = 1, 2, 3

	// query.BoundQuery, query.BindVariable, query.Value
	boundSQL, boundBindVariables = 1, 2
	mapKey, mapValue             = 1, 2
	bvType, bvValue, bvValues    = 1, 2, 3
	valueType, valueValue        = 1, 2

	// query.ExecuteOptions
	optIncludedFields, optClientFoundRows, optWorkload  = 4, 5, 6
	optSQLSelectLimit, optTransactionIsolation          = 8, 9
	optSkipQueryPlanCache, optPlannerVersion            = 10, 11
	optHasCreatedTempTables, optConsolidator            = 12, 13
	optTransactionAccessMode, optWorkloadName           = 14, 15
	optPriority, optAuthoritativeTimeout                = 16, 17
	optFetchLastInsertID, optInDMLExecution             = 18, 19
	optTransactionTimeout, optNoResult                  = 20, 21
	execQuery, execTransactionID, execOptions, execResv = 4, 5, 6, 7

	// query.QueryResult, query.Field, query.Row
	qrFields, qrRowsAffected, qrInsertID, qrRows = 1, 2, 3, 4
	qrInfo, qrSessionStateChanges, qrInsertIDSet = 6, 7, 8
	fieldName, fieldType, fieldTable             = 1, 2, 3
	fieldOrgTable, fieldDatabase, fieldOrgName   = 4, 5, 6
	fieldColumnLength, fieldCharset              = 7, 8
	fieldDecimals, fieldFlags, fieldColumnType   = 9, 10, 11
	rowLengths, rowValues                        = 1, 2

	// vtrpc.RPCError (1 is retired)
	rpcErrorMessage, rpcErrorCode = 2, 3

	// topodata.TabletAlias, vttime.Time, vttime.Duration
	aliasCell, aliasUID          = 1, 2
	timeSeconds, timeNanoseconds = 1, 2
	durSeconds, durNanos         = 1, 2
)

func callerIDs() (*vtrpcpb.CallerID, *querypb.VTGateCallerID) {
	return &vtrpcpb.CallerID{Principal: "app", Component: "web:8080", Subcomponent: "/orders", Groups: []string{"g1"}},
		&querypb.VTGateCallerID{Username: "vt_app", Groups: []string{"readers", "writers"}}
}

func target() *querypb.Target {
	return &querypb.Target{Keyspace: "commerce", Shard: "-80", TabletType: topodatapb.TabletType_REPLICA, Cell: "zone1"}
}

// checkHead checks fields 1 to 3 shared by the query requests.
func checkHead(t *testing.T, what string, m msg) {
	t.Helper()
	c := m.sub(t, what+".effective_caller_id", reqEffectiveCallerID)
	c.only(t, "CallerID", callerPrincipal, callerComponent, callerSubcomponent, callerGroups)
	c.str(t, "CallerID.principal", callerPrincipal, "app")
	c.str(t, "CallerID.component", callerComponent, "web:8080")
	c.str(t, "CallerID.subcomponent", callerSubcomponent, "/orders")
	c.strs(t, "CallerID.groups", callerGroups, "g1")

	v := m.sub(t, what+".immediate_caller_id", reqImmediateCallerID)
	v.only(t, "VTGateCallerID", vtgateUsername, vtgateGroups)
	v.str(t, "VTGateCallerID.username", vtgateUsername, "vt_app")
	v.strs(t, "VTGateCallerID.groups", vtgateGroups, "readers", "writers")

	tg := m.sub(t, what+".target", reqTarget)
	tg.only(t, "Target", targetKeyspace, targetShard, targetTabletType, targetCell)
	tg.str(t, "Target.keyspace", targetKeyspace, "commerce")
	tg.str(t, "Target.shard", targetShard, "-80")
	tg.varint(t, "Target.tablet_type", targetTabletType, 2) // REPLICA
	tg.str(t, "Target.cell", targetCell, "zone1")
}

func boundQuery() *querypb.BoundQuery {
	return &querypb.BoundQuery{
		Sql: "select * from t where id = :id and k in ::ks",
		BindVariables: map[string]*querypb.BindVariable{
			"id": {Type: querypb.Type_INT64, Value: []byte("42")},
			"ks": {Type: querypb.Type_TUPLE, Values: []*querypb.Value{
				{Type: querypb.Type_VARBINARY, Value: []byte("a")},
				{Type: querypb.Type_NULL_TYPE},
			}},
		},
	}
}

func checkBoundQuery(t *testing.T, m msg) {
	t.Helper()
	m.only(t, "BoundQuery", boundSQL, boundBindVariables)
	m.str(t, "BoundQuery.sql", boundSQL, "select * from t where id = :id and k in ::ks")
	entries := m[boundBindVariables]
	if len(entries) != 2 {
		t.Fatalf("BoundQuery.bind_variables has %d entries, want 2", len(entries))
	}
	for _, e := range entries { // deterministic marshaling sorts map keys
		if e.typ != protowire.BytesType {
			t.Fatalf("bind_variables entry has wire type %d, want bytes", e.typ)
		}
	}
	id := parse(t, entries[0].b)
	id.only(t, "bind_variables entry", mapKey, mapValue)
	id.str(t, "entry key", mapKey, "id")
	idv := id.sub(t, "entry value", mapValue)
	idv.only(t, "BindVariable", bvType, bvValue)
	idv.varint(t, "BindVariable.type", bvType, 265) // INT64
	idv.str(t, "BindVariable.value", bvValue, "42")

	ks := parse(t, entries[1].b)
	ks.str(t, "entry key", mapKey, "ks")
	ksv := ks.sub(t, "entry value", mapValue)
	ksv.only(t, "BindVariable", bvType, bvValues)
	ksv.varint(t, "BindVariable.type", bvType, 28) // TUPLE
	if n := len(ksv[bvValues]); n != 2 {
		t.Fatalf("BindVariable.values has %d elements, want 2", n)
	}
	a := parse(t, ksv[bvValues][0].b)
	a.varint(t, "Value.type", valueType, 10262) // VARBINARY
	a.str(t, "Value.value", valueValue, "a")
	// A NULL_TYPE value with no bytes is an empty message.
	if len(ksv[bvValues][1].b) != 0 {
		t.Errorf("NULL Value encodes as %x, want nothing", ksv[bvValues][1].b)
	}
}

func executeOptions() *querypb.ExecuteOptions {
	return &querypb.ExecuteOptions{
		IncludedFields:       querypb.ExecuteOptions_ALL,
		ClientFoundRows:      true,
		Workload:             querypb.ExecuteOptions_OLAP,
		SqlSelectLimit:       500,
		TransactionIsolation: querypb.ExecuteOptions_READ_COMMITTED,
		SkipQueryPlanCache:   true,
		PlannerVersion:       querypb.ExecuteOptions_Gen4,
		HasCreatedTempTables: true,
		Consolidator:         querypb.ExecuteOptions_CONSOLIDATOR_DISABLED,
		TransactionAccessMode: []querypb.ExecuteOptions_TransactionAccessMode{
			querypb.ExecuteOptions_CONSISTENT_SNAPSHOT, querypb.ExecuteOptions_READ_ONLY,
		},
		WorkloadName:       "reports",
		Priority:           "50",
		Timeout:            &querypb.ExecuteOptions_AuthoritativeTimeout{AuthoritativeTimeout: 3000},
		FetchLastInsertId:  true,
		InDmlExecution:     true,
		TransactionTimeout: proto.Int64(0), // set to zero: presence must still be sent
		NoResult:           true,
	}
}

func checkExecuteOptions(t *testing.T, m msg) {
	t.Helper()
	m.only(t, "ExecuteOptions",
		optIncludedFields, optClientFoundRows, optWorkload, optSQLSelectLimit,
		optTransactionIsolation, optSkipQueryPlanCache, optPlannerVersion,
		optHasCreatedTempTables, optConsolidator, optTransactionAccessMode,
		optWorkloadName, optPriority, optAuthoritativeTimeout, optFetchLastInsertID,
		optInDMLExecution, optTransactionTimeout, optNoResult)
	m.varint(t, "included_fields", optIncludedFields, 2) // ALL
	m.varint(t, "client_found_rows", optClientFoundRows, 1)
	m.varint(t, "workload", optWorkload, 2) // OLAP
	m.varint(t, "sql_select_limit", optSQLSelectLimit, 500)
	m.varint(t, "transaction_isolation", optTransactionIsolation, 2) // READ_COMMITTED
	m.varint(t, "skip_query_plan_cache", optSkipQueryPlanCache, 1)
	m.varint(t, "planner_version", optPlannerVersion, 2) // Gen4
	m.varint(t, "has_created_temp_tables", optHasCreatedTempTables, 1)
	m.varint(t, "consolidator", optConsolidator, 1) // CONSOLIDATOR_DISABLED
	// proto3 packs repeated enums: one length-delimited field.
	if got := m.packed(t, "transaction_access_mode", optTransactionAccessMode); fmt.Sprint(got) != "[0 2]" {
		t.Errorf("transaction_access_mode = %v, want [0 2]", got)
	}
	m.str(t, "WorkloadName", optWorkloadName, "reports")
	m.str(t, "priority", optPriority, "50")
	m.varint(t, "authoritative_timeout", optAuthoritativeTimeout, 3000)
	m.varint(t, "fetch_last_insert_id", optFetchLastInsertID, 1)
	m.varint(t, "in_dml_execution", optInDMLExecution, 1)
	m.varint(t, "transaction_timeout", optTransactionTimeout, 0)
	m.varint(t, "no_result", optNoResult, 1)
	for _, n := range []protowire.Number{1, 2, 3, 7} {
		if len(m[n]) != 0 {
			t.Errorf("ExecuteOptions: retired or unused field %d is set", n)
		}
	}
}

func TestWireExecuteRequest(t *testing.T) {
	eff, imm := callerIDs()
	req := &querypb.ExecuteRequest{
		EffectiveCallerId: eff,
		ImmediateCallerId: imm,
		Target:            target(),
		Query:             boundQuery(),
		TransactionId:     1234567890123,
		Options:           executeOptions(),
		ReservedId:        77,
	}
	m := marshal(t, req)
	m.only(t, "ExecuteRequest", 1, 2, 3, execQuery, execTransactionID, execOptions, execResv)
	checkHead(t, "ExecuteRequest", m)
	checkBoundQuery(t, m.sub(t, "ExecuteRequest.query", execQuery))
	m.varint(t, "ExecuteRequest.transaction_id", execTransactionID, 1234567890123)
	checkExecuteOptions(t, m.sub(t, "ExecuteRequest.options", execOptions))
	m.varint(t, "ExecuteRequest.reserved_id", execResv, 77)
}

// queryResult has a NULL in the middle of a row, an empty string (length
// 0, not NULL) and a full Field.
func queryResult() *querypb.QueryResult {
	return &querypb.QueryResult{
		Fields: []*querypb.Field{
			{
				Name: "id", Type: querypb.Type_INT64, Table: "t", OrgTable: "t_orig",
				Database: "vt_commerce", OrgName: "id_orig", ColumnLength: 20,
				Charset: 63, Decimals: 0, Flags: 49667, ColumnType: "bigint",
			},
			{Name: "name", Type: querypb.Type_VARCHAR},
			{Name: "note", Type: querypb.Type_TEXT},
		},
		RowsAffected: 3,
		InsertId:     9,
		Rows: []*querypb.Row{
			{Lengths: []int64{1, -1, 0}, Values: []byte("7")},
			{Lengths: []int64{2, 3, 5}, Values: []byte("12abchello")},
		},
		Info:                "Rows matched: 3",
		SessionStateChanges: "gtid:abc",
		InsertIdChanged:     true,
	}
}

func checkQueryResult(t *testing.T, what string, m msg) {
	t.Helper()
	m.only(t, what, qrFields, qrRowsAffected, qrInsertID, qrRows, qrInfo, qrSessionStateChanges, qrInsertIDSet)
	if len(m[5]) != 0 {
		t.Errorf("%s: retired field 5 is set", what)
	}
	if n := len(m[qrFields]); n != 3 {
		t.Fatalf("%s.fields has %d elements, want 3", what, n)
	}
	f := parse(t, m[qrFields][0].b)
	f.only(t, "Field", fieldName, fieldType, fieldTable, fieldOrgTable, fieldDatabase,
		fieldOrgName, fieldColumnLength, fieldCharset, fieldFlags, fieldColumnType)
	f.str(t, "Field.name", fieldName, "id")
	f.varint(t, "Field.type", fieldType, 265) // INT64
	f.str(t, "Field.table", fieldTable, "t")
	f.str(t, "Field.org_table", fieldOrgTable, "t_orig")
	f.str(t, "Field.database", fieldDatabase, "vt_commerce")
	f.str(t, "Field.org_name", fieldOrgName, "id_orig")
	f.varint(t, "Field.column_length", fieldColumnLength, 20)
	f.varint(t, "Field.charset", fieldCharset, 63)
	f.varint(t, "Field.flags", fieldFlags, 49667)
	f.str(t, "Field.column_type", fieldColumnType, "bigint")
	parse(t, m[qrFields][1].b).varint(t, "Field.type", fieldType, 6165) // VARCHAR
	parse(t, m[qrFields][2].b).varint(t, "Field.type", fieldType, 6163) // TEXT

	m.varint(t, what+".rows_affected", qrRowsAffected, 3)
	m.varint(t, what+".insert_id", qrInsertID, 9)
	if n := len(m[qrRows]); n != 2 {
		t.Fatalf("%s.rows has %d elements, want 2", what, n)
	}
	r := parse(t, m[qrRows][0].b)
	r.only(t, "Row", rowLengths, rowValues)
	// lengths is packed sint64: zigzag 1 -> 2, -1 -> 1, 0 -> 0.
	if got := r.packed(t, "Row.lengths", rowLengths); fmt.Sprint(got) != "[2 1 0]" {
		t.Errorf("Row.lengths encodes as %v, want zigzag [2 1 0] (1, NULL, empty)", got)
	}
	r.str(t, "Row.values", rowValues, "7")
	r2 := parse(t, m[qrRows][1].b)
	if got := r2.packed(t, "Row.lengths", rowLengths); fmt.Sprint(got) != "[4 6 10]" {
		t.Errorf("Row.lengths encodes as %v, want zigzag [4 6 10]", got)
	}
	r2.str(t, "Row.values", rowValues, "12abchello")
	m.str(t, what+".info", qrInfo, "Rows matched: 3")
	m.str(t, what+".session_state_changes", qrSessionStateChanges, "gtid:abc")
	m.varint(t, what+".insert_id_changed", qrInsertIDSet, 1)
}

func TestWireExecuteResponse(t *testing.T) {
	m := marshal(t, &querypb.ExecuteResponse{Result: queryResult()})
	m.only(t, "ExecuteResponse", 1)
	checkQueryResult(t, "QueryResult", m.sub(t, "ExecuteResponse.result", 1))
}

func TestWireStreamExecuteRequest(t *testing.T) {
	eff, imm := callerIDs()
	m := marshal(t, &querypb.StreamExecuteRequest{
		EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target(),
		Query: boundQuery(), Options: executeOptions(), TransactionId: 5, ReservedId: 6,
	})
	m.only(t, "StreamExecuteRequest", 1, 2, 3, 4, 5, 6, 7)
	checkHead(t, "StreamExecuteRequest", m)
	checkBoundQuery(t, m.sub(t, "query", 4))
	checkExecuteOptions(t, m.sub(t, "options", 5))
	m.varint(t, "transaction_id", 6, 5)
	m.varint(t, "reserved_id", 7, 6)

	resp := marshal(t, &querypb.StreamExecuteResponse{Result: queryResult()})
	resp.only(t, "StreamExecuteResponse", 1)
	checkQueryResult(t, "QueryResult", resp.sub(t, "result", 1))
}

func TestWireTransactionCalls(t *testing.T) {
	eff, imm := callerIDs()
	alias := &topodatapb.TabletAlias{Cell: "zone1", Uid: 101}

	begin := marshal(t, &querypb.BeginRequest{EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target(), Options: executeOptions()})
	begin.only(t, "BeginRequest", 1, 2, 3, 4)
	checkHead(t, "BeginRequest", begin)
	checkExecuteOptions(t, begin.sub(t, "options", 4))

	br := marshal(t, &querypb.BeginResponse{TransactionId: 8, TabletAlias: alias, SessionStateChanges: "s"})
	br.only(t, "BeginResponse", 1, 2, 3)
	br.varint(t, "transaction_id", 1, 8)
	a := br.sub(t, "tablet_alias", 2)
	a.str(t, "TabletAlias.cell", aliasCell, "zone1")
	a.varint(t, "TabletAlias.uid", aliasUID, 101)
	br.str(t, "session_state_changes", 3, "s")

	for name, m := range map[string]proto.Message{
		"CommitRequest":   &querypb.CommitRequest{EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target(), TransactionId: 8},
		"RollbackRequest": &querypb.RollbackRequest{EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target(), TransactionId: 8},
	} {
		w := marshal(t, m)
		w.only(t, name, 1, 2, 3, 4)
		checkHead(t, name, w)
		w.varint(t, name+".transaction_id", 4, 8)
	}
	marshal(t, &querypb.CommitResponse{ReservedId: 3}).varint(t, "CommitResponse.reserved_id", 1, 3)
	marshal(t, &querypb.RollbackResponse{ReservedId: 3}).varint(t, "RollbackResponse.reserved_id", 1, 3)

	rel := marshal(t, &querypb.ReleaseRequest{EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target(), TransactionId: 8, ReservedId: 9})
	rel.only(t, "ReleaseRequest", 1, 2, 3, 4, 5)
	checkHead(t, "ReleaseRequest", rel)
	rel.varint(t, "transaction_id", 4, 8)
	rel.varint(t, "reserved_id", 5, 9)
}

func rpcError() *vtrpcpb.RPCError {
	return &vtrpcpb.RPCError{Message: "target: commerce.-80.replica: no such table", Code: vtrpcpb.Code_FAILED_PRECONDITION}
}

func checkRPCError(t *testing.T, m msg) {
	t.Helper()
	m.only(t, "RPCError", rpcErrorMessage, rpcErrorCode)
	m.str(t, "RPCError.message", rpcErrorMessage, "target: commerce.-80.replica: no such table")
	m.varint(t, "RPCError.code", rpcErrorCode, 9) // FAILED_PRECONDITION
}

func TestWireBeginExecute(t *testing.T) {
	eff, imm := callerIDs()
	req := marshal(t, &querypb.BeginExecuteRequest{
		EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target(),
		Query: boundQuery(), Options: executeOptions(), ReservedId: 4,
		PreQueries: []string{"set @a = 1", "set @b = 2"},
	})
	req.only(t, "BeginExecuteRequest", 1, 2, 3, 4, 5, 6, 7)
	checkHead(t, "BeginExecuteRequest", req)
	checkBoundQuery(t, req.sub(t, "query", 4))
	checkExecuteOptions(t, req.sub(t, "options", 5))
	req.varint(t, "reserved_id", 6, 4)
	req.strs(t, "pre_queries", 7, "set @a = 1", "set @b = 2")

	resp := marshal(t, &querypb.BeginExecuteResponse{
		Error: rpcError(), Result: queryResult(), TransactionId: 12,
		TabletAlias: &topodatapb.TabletAlias{Cell: "zone1", Uid: 101}, SessionStateChanges: "x",
	})
	resp.only(t, "BeginExecuteResponse", 1, 2, 3, 4, 5)
	checkRPCError(t, resp.sub(t, "error", 1))
	checkQueryResult(t, "QueryResult", resp.sub(t, "result", 2))
	resp.varint(t, "transaction_id", 3, 12)
	resp.sub(t, "tablet_alias", 4).varint(t, "TabletAlias.uid", aliasUID, 101)
	resp.str(t, "session_state_changes", 5, "x")

	// BeginStreamExecuteRequest swaps the numbers of reserved_id and
	// pre_queries relative to BeginExecuteRequest.
	sreq := marshal(t, &querypb.BeginStreamExecuteRequest{
		EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target(),
		Query: boundQuery(), Options: executeOptions(), PreQueries: []string{"set @a = 1"}, ReservedId: 4,
	})
	sreq.only(t, "BeginStreamExecuteRequest", 1, 2, 3, 4, 5, 6, 7)
	sreq.strs(t, "pre_queries", 6, "set @a = 1")
	sreq.varint(t, "reserved_id", 7, 4)
}

func TestWireReserveCalls(t *testing.T) {
	eff, imm := callerIDs()
	alias := &topodatapb.TabletAlias{Cell: "zone1", Uid: 101}

	re := marshal(t, &querypb.ReserveExecuteRequest{
		EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target(),
		Query: boundQuery(), TransactionId: 3, Options: executeOptions(), PreQueries: []string{"set @a = 1"},
	})
	re.only(t, "ReserveExecuteRequest", 1, 2, 3, 4, 5, 6, 7)
	checkHead(t, "ReserveExecuteRequest", re)
	re.varint(t, "transaction_id", 5, 3)
	checkExecuteOptions(t, re.sub(t, "options", 6))
	re.strs(t, "pre_queries", 7, "set @a = 1")

	rer := marshal(t, &querypb.ReserveExecuteResponse{Error: rpcError(), Result: queryResult(), ReservedId: 21, TabletAlias: alias})
	rer.only(t, "ReserveExecuteResponse", 1, 2, 3, 4)
	checkRPCError(t, rer.sub(t, "error", 1))
	rer.varint(t, "reserved_id", 3, 21)

	rbe := marshal(t, &querypb.ReserveBeginExecuteRequest{
		EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target(),
		Query: boundQuery(), Options: executeOptions(),
		PreQueries: []string{"set @a = 1"}, PostBeginQueries: []string{"savepoint s"},
	})
	rbe.only(t, "ReserveBeginExecuteRequest", 1, 2, 3, 4, 5, 6, 7)
	checkHead(t, "ReserveBeginExecuteRequest", rbe)
	checkBoundQuery(t, rbe.sub(t, "query", 4))
	checkExecuteOptions(t, rbe.sub(t, "options", 5))
	rbe.strs(t, "pre_queries", 6, "set @a = 1")
	rbe.strs(t, "post_begin_queries", 7, "savepoint s")

	rber := marshal(t, &querypb.ReserveBeginExecuteResponse{
		Error: rpcError(), Result: queryResult(), TransactionId: 30, ReservedId: 31,
		TabletAlias: alias, SessionStateChanges: "y",
	})
	rber.only(t, "ReserveBeginExecuteResponse", 1, 2, 3, 4, 5, 6)
	checkRPCError(t, rber.sub(t, "error", 1))
	checkQueryResult(t, "QueryResult", rber.sub(t, "result", 2))
	rber.varint(t, "transaction_id", 3, 30)
	rber.varint(t, "reserved_id", 4, 31)
	rber.sub(t, "tablet_alias", 5).str(t, "TabletAlias.cell", aliasCell, "zone1")
	rber.str(t, "session_state_changes", 6, "y")
}

func TestWireStreamHealthResponse(t *testing.T) {
	m := marshal(t, &querypb.StreamHealthResponse{
		Target:                    target(),
		Serving:                   true,
		PrimaryTermStartTimestamp: 1700000000,
		RealtimeStats: &querypb.RealtimeStats{
			HealthError:                   "replication stopped",
			ReplicationLagSeconds:         12,
			BinlogPlayersCount:            1,
			FilteredReplicationLagSeconds: 3,
			CpuUsage:                      0.25,
			Qps:                           1500.5,
			TableSchemaChanged:            []string{"t1"},
			ViewSchemaChanged:             []string{"v1"},
			UdfsChanged:                   true,
			TxUnresolved:                  true,
		},
		TabletAlias: &topodatapb.TabletAlias{Cell: "zone1", Uid: 101},
	})
	m.only(t, "StreamHealthResponse", 1, 2, 3, 4, 5)
	tg := m.sub(t, "target", 1)
	tg.str(t, "Target.keyspace", targetKeyspace, "commerce")
	tg.varint(t, "Target.tablet_type", targetTabletType, 2)
	m.varint(t, "serving", 2, 1)
	m.varint(t, "primary_term_start_timestamp", 3, 1700000000)
	rs := m.sub(t, "realtime_stats", 4)
	rs.only(t, "RealtimeStats", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	rs.str(t, "health_error", 1, "replication stopped")
	rs.varint(t, "replication_lag_seconds", 2, 12)
	rs.varint(t, "binlog_players_count", 3, 1)
	rs.varint(t, "filtered_replication_lag_seconds", 4, 3)
	rs.double(t, "cpu_usage", 5, 0.25)
	rs.double(t, "qps", 6, 1500.5)
	rs.strs(t, "table_schema_changed", 7, "t1")
	rs.strs(t, "view_schema_changed", 8, "v1")
	rs.varint(t, "udfs_changed", 9, 1)
	rs.varint(t, "tx_unresolved", 10, 1)
	a := m.sub(t, "tablet_alias", 5)
	a.str(t, "TabletAlias.cell", aliasCell, "zone1")
	a.varint(t, "TabletAlias.uid", aliasUID, 101)
}

func TestWireTabletManager(t *testing.T) {
	ct := marshal(t, &tabletmanagerdatapb.ChangeTypeRequest{TabletType: topodatapb.TabletType_RDONLY, SemiSync: true})
	ct.only(t, "ChangeTypeRequest", 1, 2)
	ct.varint(t, "tablet_type", 1, 3) // RDONLY
	ct.varint(t, "semiSync", 2, 1)

	marshal(t, &tabletmanagerdatapb.PingRequest{Payload: "p"}).str(t, "PingRequest.payload", 1, "p")

	br := marshal(t, &tabletmanagerdatapb.BackupRequest{
		Concurrency:          4,
		AllowPrimary:         true,
		IncrementalFromPos:   "MySQL56/abc:1-10",
		UpgradeSafe:          true,
		BackupEngine:         proto.String("xtrabackup"),
		MysqlShutdownTimeout: &vttimepb.Duration{Seconds: 30, Nanos: 5},
		InitSql: &tabletmanagerdatapb.BackupRequest_InitSQL{
			Queries:     []string{"flush tables"},
			TabletTypes: []topodatapb.TabletType{topodatapb.TabletType_REPLICA, topodatapb.TabletType_BACKUP},
			Timeout:     &vttimepb.Duration{Seconds: 10},
			FailOnError: true,
		},
	})
	br.only(t, "BackupRequest", 1, 2, 3, 4, 5, 6, 7)
	br.varint(t, "concurrency", 1, 4)
	br.varint(t, "allow_primary", 2, 1)
	br.str(t, "incremental_from_pos", 3, "MySQL56/abc:1-10")
	br.varint(t, "upgrade_safe", 4, 1)
	br.str(t, "backup_engine", 5, "xtrabackup")
	d := br.sub(t, "mysql_shutdown_timeout", 6)
	d.varint(t, "Duration.seconds", durSeconds, 30)
	d.varint(t, "Duration.nanos", durNanos, 5)
	is := br.sub(t, "init_sql", 7)
	is.only(t, "InitSQL", 1, 2, 3, 4)
	is.strs(t, "InitSQL.queries", 1, "flush tables")
	if got := is.packed(t, "InitSQL.tablet_types", 2); fmt.Sprint(got) != "[2 6]" {
		t.Errorf("InitSQL.tablet_types = %v, want [2 6] (REPLICA, BACKUP)", got)
	}
	is.sub(t, "InitSQL.timeout", 3).varint(t, "Duration.seconds", durSeconds, 10)
	is.varint(t, "InitSQL.fail_on_error", 4, 1)

	ev := marshal(t, &tabletmanagerdatapb.BackupResponse{Event: &logutilpb.Event{
		Time:  &vttimepb.Time{Seconds: 1700000000, Nanoseconds: 7},
		Level: logutilpb.Level_WARNING,
		File:  "backup.go",
		Line:  120,
		Value: "copied 10 of 20 files",
	}})
	ev.only(t, "BackupResponse", 1)
	e := ev.sub(t, "event", 1)
	e.only(t, "Event", 1, 2, 3, 4, 5)
	tm := e.sub(t, "Event.time", 1)
	tm.varint(t, "Time.seconds", timeSeconds, 1700000000)
	tm.varint(t, "Time.nanoseconds", timeNanoseconds, 7)
	e.varint(t, "Event.level", 2, 1) // WARNING
	e.str(t, "Event.file", 3, "backup.go")
	e.varint(t, "Event.line", 4, 120)
	e.str(t, "Event.value", 5, "copied 10 of 20 files")

	rr := marshal(t, &tabletmanagerdatapb.RestoreFromBackupRequest{
		BackupTime:           &vttimepb.Time{Seconds: 1},
		RestoreToPos:         "MySQL56/abc:1-20",
		DryRun:               true,
		RestoreToTimestamp:   &vttimepb.Time{Seconds: 2},
		AllowedBackupEngines: []string{"xtrabackup"},
	})
	rr.only(t, "RestoreFromBackupRequest", 1, 2, 3, 4, 5)
	rr.sub(t, "backup_time", 1).varint(t, "Time.seconds", timeSeconds, 1)
	rr.str(t, "restore_to_pos", 2, "MySQL56/abc:1-20")
	rr.varint(t, "dry_run", 3, 1)
	rr.sub(t, "restore_to_timestamp", 4).varint(t, "Time.seconds", timeSeconds, 2)
	rr.strs(t, "allowed_backup_engines", 5, "xtrabackup")

	fs := marshal(t, &tabletmanagerdatapb.FullStatusResponse{Status: &replicationdatapb.FullStatus{
		ServerId:   101,
		ServerUuid: "uuid-1",
		ReplicationStatus: &replicationdatapb.Status{
			Position: "MySQL56/abc:1-20", ReplicationLagSeconds: 2, SourceHost: "db1", SourcePort: 3306,
			IoState: 3, SqlState: 3, LastSqlError: "none", SemiSyncReplicaStatus: true,
		},
		PrimaryStatus:            &replicationdatapb.PrimaryStatus{Position: "MySQL56/abc:1-20", FilePosition: "FilePos/bin.000001:4", ServerUuid: "uuid-1"},
		ReadOnly:                 true,
		SemiSyncPrimaryTimeout:   10000,
		SuperReadOnly:            true,
		ReplicationConfiguration: &replicationdatapb.Configuration{HeartbeatInterval: 1.5, ReplicaNetTimeout: 8},
		TabletType:               topodatapb.TabletType_REPLICA,
	}})
	fs.only(t, "FullStatusResponse", 1)
	st := fs.sub(t, "status", 1)
	st.only(t, "FullStatus", 1, 2, 3, 4, 8, 19, 21, 22, 25)
	st.varint(t, "server_id", 1, 101)
	st.str(t, "server_uuid", 2, "uuid-1")
	rs := st.sub(t, "replication_status", 3)
	rs.only(t, "Status", 1, 4, 5, 6, 13, 15, 16, 29)
	rs.str(t, "Status.position", 1, "MySQL56/abc:1-20")
	rs.varint(t, "Status.replication_lag_seconds", 4, 2)
	rs.str(t, "Status.source_host", 5, "db1")
	rs.varint(t, "Status.source_port", 6, 3306)
	rs.varint(t, "Status.io_state", 13, 3)
	rs.varint(t, "Status.sql_state", 15, 3)
	rs.str(t, "Status.last_sql_error", 16, "none")
	rs.varint(t, "Status.semi_sync_replica_status", 29, 1)
	ps := st.sub(t, "primary_status", 4)
	ps.only(t, "PrimaryStatus", 1, 2, 3)
	ps.str(t, "PrimaryStatus.file_position", 2, "FilePos/bin.000001:4")
	st.varint(t, "read_only", 8, 1)
	st.varint(t, "semi_sync_primary_timeout", 19, 10000)
	st.varint(t, "super_read_only", 21, 1)
	rc := st.sub(t, "replication_configuration", 22)
	rc.double(t, "Configuration.heartbeat_interval", 1, 1.5)
	rc.varint(t, "Configuration.replica_net_timeout", 2, 8)
	st.varint(t, "tablet_type", 25, 2)
}

// TestWireDecodeVitessBytes builds messages the way a Vitess gateway
// encodes them, from hand-written numbers, and checks that every field
// lands where it should and none is left over as unknown.
func TestWireDecodeVitessBytes(t *testing.T) {
	str := func(b []byte, num protowire.Number, s string) []byte {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		return protowire.AppendString(b, s)
	}
	sub := func(b []byte, num protowire.Number, m []byte) []byte {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		return protowire.AppendBytes(b, m)
	}
	vi := func(b []byte, num protowire.Number, v uint64) []byte {
		b = protowire.AppendTag(b, num, protowire.VarintType)
		return protowire.AppendVarint(b, v)
	}

	var tg, bv, entry, bq, opts, req []byte
	tg = str(tg, targetKeyspace, "commerce")
	tg = str(tg, targetShard, "0")
	tg = vi(tg, targetTabletType, 1) // PRIMARY
	bv = vi(bv, bvType, 6165)        // VARCHAR
	bv = str(bv, bvValue, "x")
	entry = str(entry, mapKey, "v")
	entry = sub(entry, mapValue, bv)
	bq = str(bq, boundSQL, "select :v")
	bq = sub(bq, boundBindVariables, entry)
	opts = vi(opts, optIncludedFields, 1)        // TYPE_ONLY
	opts = vi(opts, optTransactionAccessMode, 1) // unpacked READ_WRITE: decoders accept both forms
	opts = vi(opts, optTransactionTimeout, 0)
	req = sub(req, reqTarget, tg)
	req = sub(req, execQuery, bq)
	req = vi(req, execTransactionID, 99)
	req = sub(req, execOptions, opts)
	req = vi(req, execResv, 100)

	var got querypb.ExecuteRequest
	if err := proto.Unmarshal(req, &got); err != nil {
		t.Fatalf("unmarshal ExecuteRequest: %v", err)
	}
	want := &querypb.ExecuteRequest{
		Target: &querypb.Target{Keyspace: "commerce", Shard: "0", TabletType: topodatapb.TabletType_PRIMARY},
		Query: &querypb.BoundQuery{Sql: "select :v", BindVariables: map[string]*querypb.BindVariable{
			"v": {Type: querypb.Type_VARCHAR, Value: []byte("x")},
		}},
		TransactionId: 99,
		Options: &querypb.ExecuteOptions{
			IncludedFields:        querypb.ExecuteOptions_TYPE_ONLY,
			TransactionAccessMode: []querypb.ExecuteOptions_TransactionAccessMode{querypb.ExecuteOptions_READ_WRITE},
			TransactionTimeout:    proto.Int64(0),
		},
		ReservedId: 100,
	}
	if !proto.Equal(&got, want) {
		t.Errorf("ExecuteRequest decoded as %v, want %v", &got, want)
	}
	if u := got.ProtoReflect().GetUnknown(); len(u) != 0 {
		t.Errorf("ExecuteRequest left unknown fields %x", u)
	}

	// A QueryResult row with a NULL, encoded as Vitess does.
	var row, qr, resp []byte
	var lengths []byte
	for _, l := range []int64{3, -1} {
		lengths = protowire.AppendVarint(lengths, protowire.EncodeZigZag(l))
	}
	row = sub(row, rowLengths, lengths)
	row = str(row, rowValues, "abc")
	qr = vi(qr, qrRowsAffected, 1)
	qr = sub(qr, qrRows, row)
	resp = sub(resp, 1, qr)
	var er querypb.ExecuteResponse
	if err := proto.Unmarshal(resp, &er); err != nil {
		t.Fatalf("unmarshal ExecuteResponse: %v", err)
	}
	r := er.GetResult().GetRows()
	if len(r) != 1 || fmt.Sprint(r[0].GetLengths()) != "[3 -1]" || !bytes.Equal(r[0].GetValues(), []byte("abc")) {
		t.Errorf("ExecuteResponse rows decoded as %v", r)
	}

	// An RPCError from a Vitess version that still sent legacy_code (1)
	// decodes, keeping the retired field as unknown.
	var re []byte
	re = vi(re, 1, 3)
	re = str(re, rpcErrorMessage, "boom")
	re = vi(re, rpcErrorCode, 14) // UNAVAILABLE
	var e vtrpcpb.RPCError
	if err := proto.Unmarshal(re, &e); err != nil {
		t.Fatalf("unmarshal RPCError: %v", err)
	}
	if e.GetMessage() != "boom" || e.GetCode() != vtrpcpb.Code_UNAVAILABLE {
		t.Errorf("RPCError decoded as %v", &e)
	}
	if len(e.ProtoReflect().GetUnknown()) == 0 {
		t.Error("RPCError dropped the retired legacy_code field instead of keeping it as unknown")
	}
}

// TestWireTypeValues checks the numbers of query.Type against the rule
// Vitess derives them from: an ordinal ORed with the Flag bits.
func TestWireTypeValues(t *testing.T) {
	const (
		integral = 256
		unsigned = 512
		float    = 1024
		quoted   = 2048
		text     = 4096
		binary   = 8192
	)
	tests := []struct {
		typ  querypb.Type
		want int32
	}{
		{querypb.Type_NULL_TYPE, 0},
		{querypb.Type_INT8, 1 | integral},
		{querypb.Type_UINT8, 2 | integral | unsigned},
		{querypb.Type_INT16, 3 | integral},
		{querypb.Type_UINT16, 4 | integral | unsigned},
		{querypb.Type_INT24, 5 | integral},
		{querypb.Type_UINT24, 6 | integral | unsigned},
		{querypb.Type_INT32, 7 | integral},
		{querypb.Type_UINT32, 8 | integral | unsigned},
		{querypb.Type_INT64, 9 | integral},
		{querypb.Type_UINT64, 10 | integral | unsigned},
		{querypb.Type_FLOAT32, 11 | float},
		{querypb.Type_FLOAT64, 12 | float},
		{querypb.Type_TIMESTAMP, 13 | quoted},
		{querypb.Type_DATE, 14 | quoted},
		{querypb.Type_TIME, 15 | quoted},
		{querypb.Type_DATETIME, 16 | quoted},
		{querypb.Type_YEAR, 17 | integral | unsigned},
		{querypb.Type_DECIMAL, 18},
		{querypb.Type_TEXT, 19 | quoted | text},
		{querypb.Type_BLOB, 20 | quoted | binary},
		{querypb.Type_VARCHAR, 21 | quoted | text},
		{querypb.Type_VARBINARY, 22 | quoted | binary},
		{querypb.Type_CHAR, 23 | quoted | text},
		{querypb.Type_BINARY, 24 | quoted | binary},
		{querypb.Type_BIT, 25 | quoted},
		{querypb.Type_ENUM, 26 | quoted},
		{querypb.Type_SET, 27 | quoted},
		{querypb.Type_TUPLE, 28},
		{querypb.Type_GEOMETRY, 29 | quoted},
		{querypb.Type_JSON, 30 | quoted},
		{querypb.Type_EXPRESSION, 31},
		{querypb.Type_HEXNUM, 32 | text},
		{querypb.Type_HEXVAL, 33 | text},
		{querypb.Type_BITNUM, 34 | text},
		{querypb.Type_VECTOR, 35 | quoted},
		{querypb.Type_RAW, 36 | quoted},       // Vitess's number; its comment says no flags
		{querypb.Type_ROW_TUPLE, 37 | quoted}, // likewise
	}
	if len(tests) != len(querypb.Type_name) {
		t.Errorf("test covers %d types, query.Type has %d", len(tests), len(querypb.Type_name))
	}
	for _, tt := range tests {
		if int32(tt.typ) != tt.want {
			t.Errorf("%v = %d, want %d", tt.typ, int32(tt.typ), tt.want)
		}
	}
}

// TestWireMethodNames checks the gRPC method paths against Vitess's, written
// out by hand: a Vitess client dials these exact strings.
func TestWireMethodNames(t *testing.T) {
	query := []string{
		"Execute", "StreamExecute", "Begin", "Commit", "Rollback", "Prepare",
		"CommitPrepared", "RollbackPrepared", "CreateTransaction", "StartCommit",
		"SetRollback", "ConcludeTransaction", "ReadTransaction",
		"UnresolvedTransactions", "BeginExecute", "BeginStreamExecute",
		"MessageStream", "MessageAck", "ReserveExecute", "ReserveBeginExecute",
		"ReserveStreamExecute", "ReserveBeginStreamExecute", "Release",
		"StreamHealth", "GetSchema",
	}
	queryStreams := map[string]bool{
		"StreamExecute": true, "BeginStreamExecute": true, "MessageStream": true,
		"ReserveStreamExecute": true, "ReserveBeginStreamExecute": true,
		"StreamHealth": true, "GetSchema": true,
	}
	checkService(t, queryservicepb.Query_ServiceDesc.ServiceName, "queryservice.Query",
		serviceMethods(queryservicepb.Query_ServiceDesc.Methods, queryservicepb.Query_ServiceDesc.Streams), query, queryStreams)

	tm := []string{"Ping", "SetReadOnly", "SetReadWrite", "ChangeType", "FullStatus", "Backup", "RestoreFromBackup"}
	tmStreams := map[string]bool{"Backup": true, "RestoreFromBackup": true}
	d := tabletmanagerservicepb.TabletManager_ServiceDesc
	checkService(t, d.ServiceName, "tabletmanagerservice.TabletManager", serviceMethods(d.Methods, d.Streams), tm, tmStreams)

	if queryservicepb.Query_StreamHealth_FullMethodName != "/queryservice.Query/StreamHealth" {
		t.Errorf("StreamHealth path is %s", queryservicepb.Query_StreamHealth_FullMethodName)
	}
}

// serviceMethods maps each method of a service to whether it streams.
func serviceMethods(unary []grpc.MethodDesc, streams []grpc.StreamDesc) map[string]bool {
	m := make(map[string]bool)
	for _, u := range unary {
		m[u.MethodName] = false
	}
	for _, s := range streams {
		m[s.StreamName] = s.ServerStreams && !s.ClientStreams
	}
	return m
}

func checkService(t *testing.T, gotName, wantName string, got map[string]bool, want []string, streams map[string]bool) {
	t.Helper()
	if gotName != wantName {
		t.Errorf("service is %s, want %s", gotName, wantName)
	}
	for _, name := range want {
		isStream, ok := got[name]
		if !ok {
			t.Errorf("%s: method %s missing", wantName, name)
			continue
		}
		if isStream != streams[name] {
			t.Errorf("%s: method %s server-streaming = %v, want %v", wantName, name, isStream, streams[name])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s has %d methods, want %d", wantName, len(got), len(want))
	}
}
