// Package logutilpb holds the Go types generated from proto/logutil.proto:
// Vitess's logutil.Event, the progress events streamed by Backup and
// RestoreFromBackup.
//
// The generated code is committed. Regenerate it with make proto; the doc
// of package github.com/tabletd/tablet/proto says how and what is checked.
package logutilpb
