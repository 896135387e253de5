// Package tabletmanagerservicepb holds the Go types generated from
// proto/tabletmanagerservice.proto: the gRPC client and server of Vitess's
// tabletmanagerservice.TabletManager, declaring only the calls this tablet
// offers.
//
// The generated code is committed. Regenerate it with make proto; the doc
// of package github.com/tabletd/tablet/proto says how and what is checked.
package tabletmanagerservicepb
