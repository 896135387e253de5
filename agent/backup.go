package agent

import (
	"context"
	"errors"
	"time"

	"github.com/tabletd/tablet/backup"
)

// Backuper takes, lists and restores the backups of the tablet's shard,
// for the TabletManager's Backup and RestoreFromBackup and TabletControl's
// ListBackups. Package backup does the work; an adapter over its Manager
// is given with WithBackuper. Methods block until the operation ends or
// ctx does, and may refuse one that overlaps another.
type Backuper interface {
	// Backup takes a backup of the local mysqld and stores it, calling
	// req.Progress with a line of text as it goes.
	Backup(ctx context.Context, req BackupRequest) error
	// ListBackups returns the complete backups of a shard, oldest first.
	ListBackups(ctx context.Context, keyspace, shard string) ([]BackupInfo, error)
	// Restore replaces the local mysqld's data with a backup of the
	// shard, calling req.Progress as it goes.
	Restore(ctx context.Context, req RestoreRequest) error
	// PlanRestore decides what a starting tablet does about its datadir
	// (see backup.Manager.Plan): restore which backup, start empty, keep
	// the data it has, or fail. It changes nothing.
	PlanRestore(ctx context.Context, req RestoreRequest) backup.Decision
}

// BackupRequest asks for one backup.
type BackupRequest struct {
	// Keyspace, Shard and TabletAlias place and name the backup.
	Keyspace, Shard, TabletAlias string
	// ShardMayBeServing says some tablet of the shard may serve: a
	// database without user data is then not backed up (see
	// backup.BackupRequest).
	ShardMayBeServing bool
	// Progress, when set, receives progress lines; never concurrently.
	Progress func(msg string)
}

// RestoreRequest asks for one restore.
type RestoreRequest struct {
	// Keyspace and Shard say whose backups to restore from; TabletAlias is
	// the tablet restoring.
	Keyspace, Shard, TabletAlias string
	// BackupTime picks the newest backup taken no later than it; zero
	// picks the newest.
	BackupTime time.Time
	// Name, when set, picks that backup (the one PlanRestore chose).
	Name string
	// Configure, when set, runs once mysqld runs on the restored data and
	// before the restore counts as complete, with the GTID position of the
	// backup: the agent makes the server count those transactions as
	// applied here. A failure fails the restore.
	Configure func(ctx context.Context, position string) error
	// Progress, when set, receives progress lines; never concurrently.
	Progress func(msg string)
}

// BackupInfo describes one complete backup.
type BackupInfo struct {
	Name        string
	Directory   string // where it is stored, relative to the storage root
	TabletAlias string // the tablet that took it
	Time        time.Time
	Engine      string // the tool that took it: xtrabackup or mariabackup
}

// WithBackuper gives the agent what takes and restores backups. Without
// it, Backup, RestoreFromBackup and ListBackups answer that backups are
// not configured.
func WithBackuper(b Backuper) Option {
	return func(a *Agent) { a.backuper = b }
}

// ErrBackupsNotConfigured is the answer of the backup calls of a tablet
// with no Backuper.
var ErrBackupsNotConfigured = errors.New("backups are not configured (--backup_storage_url is empty)")
