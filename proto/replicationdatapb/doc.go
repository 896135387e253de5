// Package replicationdatapb holds the Go types generated from
// proto/replicationdata.proto: Vitess's replicationdata.Status,
// PrimaryStatus and FullStatus, the replication state the tablet manager
// reports.
//
// The generated code is committed. Regenerate it with make proto; the doc
// of package github.com/tabletd/tablet/proto says how and what is checked.
package replicationdatapb
