// Package queryservicepb holds the Go types generated from
// proto/queryservice.proto: the gRPC client and server interfaces of
// Vitess's queryservice.Query. A server embeds UnimplementedQueryServer, so
// the methods it does not implement answer codes.Unimplemented.
//
// The generated code is committed. Regenerate it with make proto; the doc
// of package github.com/tabletd/tablet/proto says how and what is checked.
package queryservicepb
