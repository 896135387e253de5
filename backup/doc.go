// Package backup takes hot backups of the local mysqld into object storage
// and restores a datadir from them.
//
// # Pieces
//
//   - Engine runs the backup tool. XtraBackup is the one engine: Percona
//     XtraBackup (xtrabackup, xbstream) on MySQL, MariaDB Backup
//     (mariabackup, mbstream) on MariaDB, chosen by flavor. It passes the
//     tool's stream through, checks its xbstream framing and CRC-32s on the
//     way, and reads the GTID position from the binlog info file inside.
//   - Storage holds the files, by key. The blobstore subpackage implements
//     it over file://, s3://, gs:// and azblob:// URLs through
//     gocloud.dev/blob; storagetest has the conformance suite and an
//     in-memory fake.
//   - Manifest describes a complete backup. Layout:
//     <keyspace>/<shard>/<YYYY-MM-DD.HHMMSS>.<tablet alias>/ holding
//     backup.xbstream.000000.zst, ... and, written last, MANIFEST. A backup
//     without a valid MANIFEST is never listed or restored.
//   - Manager ties them together: Backup, List, Prune, Plan and Restore, one
//     backup or restore at a time (a second is refused with ErrBusy).
//
// # The stream
//
// The tool's stdout is cut into stripes of Config.StripeBytes. Up to
// Config.Concurrency stripes at a time are each compressed on their own (an
// independent zstd frame or gzip member, so the stored files concatenated
// are one valid .zst or .gz of the stream), hashed with SHA-256 and stored,
// with retries; the tool is slowed to storage's pace rather than memory
// growing. Restore fetches up to Concurrency stripes ahead, checks each
// one's size and SHA-256 against the MANIFEST before using a byte of it,
// decompresses them in parallel and feeds the extractor in order.
// Progress (bytes, rate, elapsed) is logged every Config.ProgressInterval,
// passed to the request's Progress function, and exported as metrics:
//
//	BackupCount, RestoreCount (tablet_backups_total, tablet_restores_total{result})
//	BackupInProgress, RestoreInProgress (tablet_backup_in_progress, tablet_restore_in_progress)
//	BackupBytes, RestoreBytes (tablet_backup_bytes_total, tablet_restore_bytes_total{stage="raw"|"stored"})
//	BackupDurationNanoseconds, RestoreDurationNanoseconds (tablet_backup_last_duration_seconds, ...)
//
// # Restore on startup
//
// The agent calls Plan, then acts on its Decision:
//
//	d := m.Plan(ctx, backup.PlanRequest{Keyspace: ks, Shard: shard})
//	switch d.Action {
//	case backup.ActionRestore:
//		res, err := m.Restore(ctx, backup.RestoreRequest{Keyspace: ks, Shard: shard, Name: d.Backup,
//			Server: local, Configure: setPositionAndReplicate})
//	case backup.ActionStartEmpty, backup.ActionNoRestore:
//		log(d.Reason) // and go on
//	case backup.ActionFail:
//		return d.Err
//	}
//
// Restore stops mysqld through the Server interface, writes a
// RESTORE_IN_PROGRESS marker into the datadir, unpacks and prepares the
// backup in <datadir>.restore, moves it into the datadir, starts mysqld,
// runs Configure (set gtid_slave_pos from the MANIFEST's position with
// mysqld.RestorePositionStatements, then replicate from the primary) and
// only then removes the marker. An interrupted restore leaves the marker, so
// Plan redoes it instead of taking the half-restored datadir for data; a
// failed one also leaves <datadir>.restore and says so.
//
// # What the package does not do
//
// It does not decide when to back up or restore, nor talk to the topology
// or Orchestrator: the agent does. It never starts or stops mysqld except
// through the Server the caller passes to Restore.
//
// # Errors
//
// Callers branch with errors.Is on ErrBusy, ErrNotFound, ErrNoBackup,
// ErrNoCompleteBackup, ErrEmptyDatabase, ErrDataPresent, ErrIncompatible,
// ErrChecksum (a *ChecksumError naming the stored file) and ErrExists; a
// failing tool is a *ToolError quoting the end of its stderr.
package backup
