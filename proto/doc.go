// Package proto holds the protocol buffer definitions of the tablet's
// records and RPCs, and the tests that keep them honest. The Go types live
// in one generated package per .proto file:
//
//	vttime.proto               vttimepb               Vitess vttime: Time, Duration
//	topodata.proto             topodatapb             Vitess topodata: topology records
//	vtrpc.proto                vtrpcpb                Vitess vtrpc: CallerID, Code, RPCError
//	query.proto                querypb                Vitess query: messages of the query service
//	queryservice.proto         queryservicepb         Vitess queryservice: service Query
//	logutil.proto              logutilpb              Vitess logutil: Event (backup progress)
//	replicationdata.proto      replicationdatapb      Vitess replicationdata: FullStatus
//	tabletmanagerdata.proto    tabletmanagerdatapb    Vitess tabletmanagerdata: a subset
//	tabletmanagerservice.proto tabletmanagerservicepb Vitess tabletmanagerservice: a subset
//	tabletctl.proto            tabletctlpb            ours: service TabletControl
//
// # Compatibility with Vitess
//
// Every file except tabletctl.proto keeps Vitess's proto package name,
// file name, message, enum and service names and field numbers (Vitess
// release 24), so the descriptors register under the same names as
// Vitess's, the gRPC method paths are the same (/queryservice.Query/Execute)
// and either side decodes the other's bytes. Only the subset this tablet
// uses is declared; fields Vitess has and we do not declare would arrive as
// unknown fields and be kept. Numbers Vitess retired are reserved.
//
// The query service declares every Vitess Query method except VStream,
// VStreamRows, VStreamTables, VStreamResults and BinlogDumpGTID, whose
// messages live in Vitess's binlogdata.proto. The tablet implements
// Execute, StreamExecute, Begin, Commit, Rollback, BeginExecute,
// BeginStreamExecute, ReserveExecute, ReserveBeginExecute, Release and
// StreamHealth; the server answers the others with codes.Unimplemented.
//
// The tablet manager service declares Ping, SetReadOnly, SetReadWrite,
// ChangeType, FullStatus, Backup and RestoreFromBackup. Calls Vitess's
// tablets lack (ListBackups, TabletExternallyReparented) are in the
// separate package tabletctl, so a Vitess-named service never carries a
// method Vitess does not have.
//
// testdata/wire_fields.golden lists every field number, enum value,
// reserved number and RPC of these files, checked by hand against Vitess's
// .proto files; TestWireFieldsGolden compares it with the compiled
// descriptors. TestWire* marshal populated messages and decode the bytes
// with field numbers written out in the test, independent of the
// descriptors.
//
// # Regenerating
//
// The generated files are committed; a build needs no protoc. After
// editing a .proto file, regenerate all of them from the module root with
// Debian's protoc (apt-get install protobuf-compiler) and the plugins
// pinned in go.mod:
//
//	make proto
//
// which runs
//
//	protoc -Iproto \
//	    --plugin=protoc-gen-go="$(go tool -n protoc-gen-go)" \
//	    --plugin=protoc-gen-go-grpc="$(go tool -n protoc-gen-go-grpc)" \
//	    --go_out=. --go_opt=module=github.com/tabletd/tablet \
//	    --go-grpc_out=. --go-grpc_opt=module=github.com/tabletd/tablet \
//	    proto/*.proto
//
// (go generate in this directory runs the same). Files are named on the
// command line relative to -Iproto, so they register as "query.proto" and
// not "proto/query.proto", as Vitess's do. TestGeneratedCodeIsCurrent
// fails when a committed file differs from what protoc generates, and
// when a generated file has no .proto left. After a change to field
// numbers, run
//
//	go test ./proto -run TestWireFieldsGolden -update
//
// and check the diff of testdata/wire_fields.golden against Vitess's files
// by hand before committing it.
package proto

//go:generate sh -c "cd .. && protoc -Iproto --plugin=protoc-gen-go=\"$(go tool -n protoc-gen-go)\" --plugin=protoc-gen-go-grpc=\"$(go tool -n protoc-gen-go-grpc)\" --go_out=. --go_opt=module=github.com/tabletd/tablet --go-grpc_out=. --go-grpc_opt=module=github.com/tabletd/tablet proto/*.proto"
