// Package vttimepb holds the Go types generated from proto/vttime.proto:
// Vitess's vttime.Time and vttime.Duration, used inside topology records.
//
// The generated file is committed. Regenerate from the module root with
//
//	protoc -Iproto --plugin=protoc-gen-go="$(go tool -n protoc-gen-go)" \
//	    --go_out=. --go_opt=module=github.com/tabletd/tablet proto/vttime.proto
//
// or run go generate in this directory.
package vttimepb

//go:generate sh -c "cd ../.. && protoc -Iproto --plugin=protoc-gen-go=\"$(go tool -n protoc-gen-go)\" --go_out=. --go_opt=module=github.com/tabletd/tablet proto/vttime.proto"
