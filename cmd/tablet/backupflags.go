package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/tabletd/tablet/agent"
	"github.com/tabletd/tablet/backup"
	"github.com/tabletd/tablet/backup/blobstore"
	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
)

// localMySQLFlags say where the local mysqld keeps its files and how the
// tablet stops and starts it for a restore: settings of the backup group
// that belong to no package's Config.
type localMySQLFlags struct {
	dataDir   string // --mycnf_data_dir
	mycnfFile string // --mycnf_file
	control   mysqld.Control
	restoreTS string // --restore_from_backup_ts, parsed by validate
}

// defaultLocalMySQLFlags gives a stop or a start of mysqld half an hour:
// it may include InnoDB's crash recovery, or a slow shutdown flushing a
// large buffer pool.
func defaultLocalMySQLFlags() localMySQLFlags {
	return localMySQLFlags{control: mysqld.Control{Timeout: 30 * time.Minute}}
}

// bindBackup registers the Backup group: package backup's Config, the
// restore on startup, and the local mysqld's files and control.
func (c *config) bindBackup(fs *flag.FlagSet) {
	b, r, l := &c.backup, &c.agent.Restore, &c.local
	fs.StringVar(&b.StorageURL, "backup_storage_url", b.StorageURL, "where backups live: file:///path, s3://bucket?region=..&endpoint=.., gs://bucket, azblob://container (credentials from the cloud's environment); empty: no backups")
	fs.StringVar(&b.Engine, "backup_engine_implementation", b.Engine, "backup engine: xtrabackup (the binaries follow the flavor: xtrabackup or mariabackup) or mariabackup")
	fs.StringVar(&b.RootPath, "xtrabackup_root_path", b.RootPath, "directory of the backup binaries (default: PATH, /usr/sbin, /usr/local/mysql/bin, /usr/local/bin)")
	fs.StringVar(&b.StreamMode, "xtrabackup_stream_mode", b.StreamMode, "backup tool stream format (only xbstream)")
	fs.StringVar(&b.User, "xtrabackup_user", b.User, "MySQL user the backup tool connects as, with the password the tablet holds for it (default: the dba user)")
	fs.StringVar(&b.BackupFlags, "xtrabackup_backup_flags", b.BackupFlags, "extra flags for the backup run (on a replica: --slave-info --safe-slave-backup)")
	fs.StringVar(&b.PrepareFlags, "xtrabackup_prepare_flags", b.PrepareFlags, "extra flags for the prepare step of a restore")
	fs.StringVar(&b.RestoreFlags, "xbstream_restore_flags", b.RestoreFlags, "extra flags for the stream extractor (xbstream -x, mbstream -x)")
	fs.StringVar(&b.Compression, "compression-engine-name", b.Compression, "compression of stored files: zstd, gzip or none")
	fs.IntVar(&b.CompressionLevel, "compression-level", b.CompressionLevel, "compression level (zstd 1-22, gzip 1-9; 0: the codec's default)")
	fs.Int64Var(&b.StripeBytes, "backup-stripe-bytes", b.StripeBytes, "bytes of the tool's stream per stored file, before compression")
	fs.IntVar(&b.Concurrency, "backup-concurrency", b.Concurrency, "stored files compressed and uploaded (or fetched and decompressed) at once")
	fs.IntVar(&b.StorageAttempts, "backup-storage-attempts", b.StorageAttempts, "attempts to write or read one stored file before giving up")
	durationVar(fs, &b.RetryDelay, "backup-retry-delay", "wait before the second attempt at a stored file; doubles for each further one")
	fs.IntVar(&b.RetentionCount, "backup_retention_count", b.RetentionCount, "after a backup, keep only this many newest complete backups of the shard (0: no limit)")
	durationVar(fs, &b.RetentionAge, "backup-retention-age", "after a backup, remove complete backups older than this (0: no limit; the newest is always kept)")
	durationVar(fs, &b.IncompleteAge, "backup-incomplete-age", "after a backup, remove backups without MANIFEST older than this")
	durationVar(fs, &b.ProgressInterval, "backup-progress-interval", "time between two progress reports of a backup or restore")
	fs.BoolVar(&r.FromBackup, "restore_from_backup", r.FromBackup, "on startup, when mysqld holds no user data, restore the shard's latest complete backup")
	fs.StringVar(&l.restoreTS, "restore_from_backup_ts", l.restoreTS, "restore the newest backup taken at or before this UTC time, 2006-01-02.150405 as in backup names (default: the newest)")
	durationVar(fs, &r.CatchUpTimeout, "restore-catch-up-timeout", "after a restore, how long to wait for the restored replica to catch up with the primary before serving (0: no wait)")
	fs.StringVar(&l.dataDir, "mycnf_data_dir", l.dataDir, "mysqld's datadir, which a restore fills (default: asked of mysqld; required when mysqld is down)")
	fs.StringVar(&l.mycnfFile, "mycnf_file", l.mycnfFile, "mysqld's my.cnf, given to the backup tool as --defaults-file (default: the tool's usual files)")
	fs.StringVar(&l.control.StartCommand, "mysqld-start-command", l.control.StartCommand, "shell command that starts mysqld and returns (e.g. \"systemctl start mariadb\"); required by --restore_from_backup")
	fs.StringVar(&l.control.StopCommand, "mysqld-stop-command", l.control.StopCommand, "shell command that stops mysqld and returns (default: the SHUTDOWN statement; use the supervisor's command if it restarts mysqld)")
	durationVar(fs, &l.control.Timeout, "mysqld-control-timeout", "longest a stop or a start of mysqld may take, the wait for it included")
}

// validateBackup finishes and checks the Backup group. Errors name the
// flag.
func (c *config) validateBackup() error {
	if err := c.backup.Validate(); err != nil {
		return err
	}
	if ts := c.local.restoreTS; ts != "" {
		t, err := time.Parse(backup.NameTimeLayout, ts)
		if err != nil {
			return fmt.Errorf("--restore_from_backup_ts=%q: want a UTC time as %s, as backup names start", ts, backup.NameTimeLayout)
		}
		c.agent.Restore.BackupTime = t
	}
	if c.agent.Restore.FromBackup {
		if !c.backup.Enabled() {
			return fmt.Errorf("--restore_from_backup needs --backup_storage_url: where to restore from")
		}
		if c.local.control.StartCommand == "" {
			return fmt.Errorf("--restore_from_backup needs --mysqld-start-command: a restore stops mysqld, replaces its datadir and starts it again")
		}
	}
	if c.local.control.Timeout < 0 {
		return fmt.Errorf("--mysqld-control-timeout=%s: must not be negative", c.local.control.Timeout)
	}
	return nil
}

// backupLogAttrs is the Backup group for the start-up log line: the
// storage URL without its query (which may hold a token) and whether the
// mysqld commands are set, not their text (which may hold a password).
func (c *config) backupLogAttrs() []any {
	storage := c.backup.StorageURL
	if u, err := url.Parse(storage); err == nil {
		u.RawQuery, u.User = "", nil
		storage = u.String()
	}
	b := c.backup
	return []any{
		"backup_storage_url", storage, "backup_engine", b.Engine, "xtrabackup_user", b.User,
		"compression", b.Compression, "compression_level", b.CompressionLevel,
		"backup_retention_count", b.RetentionCount, "backup_retention_age", b.RetentionAge.String(),
		"restore_from_backup", c.agent.Restore.FromBackup, "restore_from_backup_ts", c.local.restoreTS,
		"mycnf_data_dir", c.local.dataDir, "mycnf_file", c.local.mycnfFile,
		"mysqld_start_command_set", c.local.control.StartCommand != "", "mysqld_stop_command_set", c.local.control.StopCommand != "",
	}
}

// openBackups opens the backup storage and returns the agent's Backuper
// over it, with a function that releases both once the agent has stopped.
func openBackups(ctx context.Context, cfg *config, vars *debugvars.Registry, logger *slog.Logger) (*agent.Backups, func(), error) {
	store, err := blobstore.Open(ctx, cfg.backup.StorageURL)
	if err != nil {
		return nil, nil, fmt.Errorf("--backup_storage_url: %w", err)
	}
	control := cfg.local.control
	control.DB, control.Logger = cfg.db, logger
	b := agent.NewBackups(cfg.backup, agent.BackupsDeps{
		Storage:      store,
		DB:           cfg.db,
		DefaultsFile: cfg.local.mycnfFile,
		DataDir:      cfg.local.dataDir,
		Server:       &control,
		Vars:         vars,
		Logger:       logger,
	})
	return b, func() {
		b.Close()
		store.Close()
	}, nil
}
