// Package topodatapb holds the Go types generated from proto/topodata.proto:
// the records of the topology service (CellInfo, Keyspace, Shard, Tablet,
// ShardReplication, SrvKeyspace) with Vitess's proto package name, message
// names and field numbers, so that Vitess tooling can read them.
//
// The generated file is committed; a build needs no protoc. After editing
// the .proto file, regenerate with Debian's protoc and the plugin pinned in
// go.mod (from the module root):
//
//	protoc -Iproto --plugin=protoc-gen-go="$(go tool -n protoc-gen-go)" \
//	    --go_out=. --go_opt=module=github.com/tabletd/tablet proto/topodata.proto
//
// or run go generate in this directory. A test fails when the committed
// file no longer matches what protoc generates.
package topodatapb

//go:generate sh -c "cd ../.. && protoc -Iproto --plugin=protoc-gen-go=\"$(go tool -n protoc-gen-go)\" --go_out=. --go_opt=module=github.com/tabletd/tablet proto/topodata.proto"
