// Package tabletmanagerdatapb holds the Go types generated from
// proto/tabletmanagerdata.proto: the messages of the tablet manager calls
// this tablet offers, with Vitess's names and field numbers.
//
// The generated code is committed. Regenerate it with make proto; the doc
// of package github.com/tabletd/tablet/proto says how and what is checked.
package tabletmanagerdatapb
