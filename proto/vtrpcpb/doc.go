// Package vtrpcpb holds the Go types generated from proto/vtrpc.proto:
// Vitess's vtrpc.CallerID, the error Code and RPCError, shared by the query
// and tablet manager messages.
//
// The generated code is committed. Regenerate it with make proto; the doc
// of package github.com/tabletd/tablet/proto says how and what is checked.
package vtrpcpb
