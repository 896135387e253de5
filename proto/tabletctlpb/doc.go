// Package tabletctlpb holds the Go types generated from
// proto/tabletctl.proto: the gRPC client and server of this project's own
// tabletctl.TabletControl (ListBackups, TabletExternallyReparented), calls
// Vitess's tablets do not have.
//
// The generated code is committed. Regenerate it with make proto; the doc
// of package github.com/tabletd/tablet/proto says how and what is checked.
package tabletctlpb
