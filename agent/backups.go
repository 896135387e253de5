package agent

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tabletd/tablet/backup"
	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
)

// flavorTimeout bounds asking the local mysqld its flavor and datadir
// when the backup manager is built.
const flavorTimeout = 5 * time.Second

// BackupsDeps are what Backups needs besides its backup.Config.
type BackupsDeps struct {
	// Storage holds the backups (backup/blobstore). Required; the caller
	// closes it after the agent has stopped.
	Storage backup.Storage
	// DB reaches the local mysqld: the dba user checks for user data and
	// flushes tables before a backup, and the backup tool connects like
	// the tablet (as backup.Config.User, or the dba user).
	DB mysqld.Config
	// DefaultsFile is mysqld's my.cnf, passed to the backup tool
	// (--mycnf_file); empty lets the tool read its usual files.
	DefaultsFile string
	// DataDir is mysqld's datadir, which a restore fills (--mycnf_data_dir);
	// empty asks the running mysqld (@@datadir).
	DataDir string
	// Server stops and starts the local mysqld around a restore
	// (mysqld.Control). Nil: restores are refused.
	Server backup.Server
	// Vars receives package backup's variables; Logger one line per event.
	Vars   *debugvars.Registry
	Logger *slog.Logger
}

// Backups is the agent's Backuper over a backup.Manager. It builds the
// Manager on first use, once mysqld can say its flavor (or, while mysqld
// is down, the server binary can) and the datadir is known, so that a
// tablet starts even while its mysqld is down. After a successful backup
// it prunes the shard's backups by the retention settings. Its methods
// are safe for concurrent use; the Manager refuses a second backup or
// restore while one runs.
type Backups struct {
	cfg  backup.Config
	deps BackupsDeps

	mu  sync.Mutex      // guards m and dba
	m   *backup.Manager // nil until built
	dba *sql.DB         // nil until m is built
}

var _ Backuper = (*Backups)(nil)

// NewBackups returns the Backuper for cfg, which must be valid and
// enabled. It touches neither mysqld nor the storage. Close releases its
// mysqld connections.
func NewBackups(cfg backup.Config, deps BackupsDeps) *Backups {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Backups{cfg: cfg, deps: deps}
}

// Close closes the mysqld connections. The storage is the caller's.
func (b *Backups) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dba != nil {
		return b.dba.Close()
	}
	return nil
}

// manager builds the Manager the first time it can.
func (b *Backups) manager(ctx context.Context) (*backup.Manager, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m != nil {
		return b.m, nil
	}
	dba, err := openDB(b.deps.DB, mysqld.RoleDBA, 2)
	if err != nil {
		return nil, err
	}
	m, err := b.build(ctx, dba)
	if err != nil {
		dba.Close()
		return nil, fmt.Errorf("set up backups: %w", err)
	}
	b.m, b.dba = m, dba
	return m, nil
}

func (b *Backups) build(ctx context.Context, dba *sql.DB) (*backup.Manager, error) {
	qctx, cancel := context.WithTimeout(ctx, flavorTimeout)
	defer cancel()
	flavor, askErr := mysqld.DetectFlavor(qctx, dba)
	dataDir := b.deps.DataDir
	if askErr == nil && dataDir == "" {
		askErr = dba.QueryRowContext(qctx, "SELECT @@GLOBAL.datadir").Scan(&dataDir)
	}
	if askErr != nil {
		if dataDir == "" {
			return nil, fmt.Errorf("--mycnf_data_dir is not set and mysqld does not answer to say its datadir: %w", askErr)
		}
		// mysqld is down (a new host, an empty datadir): the server
		// binary beside the tablet says the flavor.
		server, err := mysqld.FindServer()
		if err != nil {
			return nil, fmt.Errorf("mysqld does not answer (%v) and its binary is not found: %w", askErr, err)
		}
		if flavor, _, err = mysqld.BinaryFlavor(ctx, server); err != nil {
			return nil, fmt.Errorf("mysqld does not answer (%v) and its binary does not say its version: %w", askErr, err)
		}
		b.deps.Logger.Info("mysqld does not answer; took the flavor from the server binary", "binary", server,
			"flavor", flavor.Name(), "version", flavor.Version().String(), "reason", askErr.Error())
	}
	m, err := backup.New(b.cfg, backup.Deps{
		Storage:  b.deps.Storage,
		Flavor:   flavor,
		ToolConn: backup.NewToolConn(b.cfg, b.deps.DB, b.deps.DefaultsFile),
		DB:       dba,
		DataDir:  dataDir,
		Logger:   b.deps.Logger,
		Registry: b.deps.Vars,
	})
	if err != nil {
		return nil, err
	}
	b.deps.Logger.Info("backups ready", "engine", m.Engine().Name(), "tool", m.Engine().Tool(),
		"flavor", flavor.Name(), "datadir", dataDir)
	return m, nil
}

// Backup takes a backup, then prunes the shard's backups. A failed prune
// is reported in the progress and the log, and does not fail the backup.
func (b *Backups) Backup(ctx context.Context, req BackupRequest) error {
	m, err := b.manager(ctx)
	if err != nil {
		return err
	}
	man, err := m.Backup(ctx, backup.BackupRequest{
		Keyspace: req.Keyspace, Shard: req.Shard, TabletAlias: req.TabletAlias,
		ShardMayBeServing: req.ShardMayBeServing,
		Progress:          progressLines(req.Progress),
	})
	if err != nil {
		return refusal(err)
	}
	say(req.Progress, fmt.Sprintf("backup %s complete: position %s, %d bytes of stream stored as %d bytes in %d files, %s",
		man.Name, man.Position, man.RawBytes, man.StoredBytes, len(man.Files), man.Duration().Round(time.Millisecond)))
	res, err := m.Prune(ctx, req.Keyspace, req.Shard)
	switch {
	case err != nil:
		b.deps.Logger.Error("prune backups after a backup", "shard", req.Keyspace+"/"+req.Shard, "removed", res.Removed, "err", err)
		say(req.Progress, "pruning old backups failed: "+err.Error())
	case len(res.Removed) > 0:
		say(req.Progress, fmt.Sprintf("pruned %d old backups: %v", len(res.Removed), res.Removed))
	}
	return nil
}

// ListBackups lists the shard's complete backups, oldest first.
func (b *Backups) ListBackups(ctx context.Context, keyspace, shard string) ([]BackupInfo, error) {
	m, err := b.manager(ctx)
	if err != nil {
		return nil, err
	}
	list, err := m.List(ctx, keyspace, shard)
	if err != nil {
		return nil, err
	}
	out := make([]BackupInfo, 0, len(list))
	for _, i := range list {
		out = append(out, BackupInfo{Name: i.Name, Directory: backup.Dir(keyspace, shard, i.Name),
			TabletAlias: i.TabletAlias, Time: i.Time, Engine: i.Manifest.Tool})
	}
	return out, nil
}

// Restore restores the local datadir from a backup (req.Name, or the
// newest at or before req.BackupTime), stopping and starting mysqld
// through deps.Server.
func (b *Backups) Restore(ctx context.Context, req RestoreRequest) error {
	if b.deps.Server == nil {
		return fmt.Errorf("%w: the tablet cannot stop and start mysqld (no --mysqld-start-command)", ErrRefused)
	}
	m, err := b.manager(ctx)
	if err != nil {
		return err
	}
	breq := backup.RestoreRequest{Keyspace: req.Keyspace, Shard: req.Shard, Name: req.Name, Before: req.BackupTime,
		Server: b.deps.Server, Progress: progressLines(req.Progress)}
	if req.Configure != nil {
		breq.Configure = func(ctx context.Context, man *backup.Manifest) error { return req.Configure(ctx, man.Position) }
	}
	res, err := m.Restore(ctx, breq)
	if err != nil {
		return refusal(err)
	}
	say(req.Progress, fmt.Sprintf("restored %s at position %s in %s", res.Manifest.Name, res.Position, res.Elapsed.Round(time.Millisecond)))
	return nil
}

// PlanRestore decides what a starting tablet does about its datadir.
func (b *Backups) PlanRestore(ctx context.Context, req RestoreRequest) backup.Decision {
	m, err := b.manager(ctx)
	if err != nil {
		return backup.Decision{Action: backup.ActionFail, Reason: err.Error(), Err: err}
	}
	return m.Plan(ctx, backup.PlanRequest{Keyspace: req.Keyspace, Shard: req.Shard, Name: req.Name, Before: req.BackupTime})
}

// refused are the backup errors that say the request does not fit the
// tablet's or the shard's state, rather than that something failed.
var refused = []error{backup.ErrBusy, backup.ErrEmptyDatabase, backup.ErrDataPresent, backup.ErrNoBackup,
	backup.ErrNoCompleteBackup, backup.ErrIncompatible, backup.ErrNotFound, backup.ErrExists}

// refusal marks err as ErrRefused (FAILED_PRECONDITION) when it is one of
// those.
func refusal(err error) error {
	for _, r := range refused {
		if errors.Is(err, r) {
			return fmt.Errorf("%w: %w", ErrRefused, err)
		}
	}
	return err
}

// progressLines turns the package's progress reports into lines of text.
func progressLines(f func(string)) func(backup.Progress) {
	if f == nil {
		return nil
	}
	return func(p backup.Progress) {
		line := fmt.Sprintf("%s %s: %s, %s elapsed, %d bytes of stream, %d bytes stored in %d files, %.1f MB/s",
			p.Operation, p.Name, p.Phase, p.Elapsed.Round(time.Second), p.RawBytes, p.StoredBytes, p.Files, p.RateBytesPerSecond()/1e6)
		if p.TotalStoredBytes > 0 {
			line += fmt.Sprintf(" (%d%% of %d bytes)", p.StoredBytes*100/p.TotalStoredBytes, p.TotalStoredBytes)
		}
		f(line)
	}
}

// say sends one line to f, if set.
func say(f func(string), line string) {
	if f != nil {
		f(line)
	}
}
