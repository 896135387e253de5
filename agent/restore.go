package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tabletd/tablet/backup"
	"github.com/tabletd/tablet/health"
	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/topo"
)

// RestoreConfig is the restore from backup on startup.
type RestoreConfig struct {
	// FromBackup restores the latest complete backup of the tablet's
	// shard when the local mysqld holds no user data
	// (--restore_from_backup). It needs a Backuper (--backup_storage_url).
	FromBackup bool
	// BackupTime picks the newest complete backup taken at or before it
	// instead of the newest (--restore_from_backup_ts, in the backup
	// names' form 2006-01-02.150405, UTC); zero picks the newest.
	BackupTime time.Time
	// CatchUpTimeout bounds the wait, after a restore, for the restored
	// replica to apply what the primary wrote since the backup, before the
	// role manager takes over and the tablet may serve
	// (--restore-catch-up-timeout). Past it the tablet goes on and health
	// judges the lag. Zero does not wait.
	CatchUpTimeout time.Duration
}

// DefaultRestoreConfig returns the defaults: no restore; a restored
// replica gets an hour to catch up (a day's writes replay in minutes,
// and a tablet that serves stale data is worse than one that waits).
func DefaultRestoreConfig() RestoreConfig {
	return RestoreConfig{CatchUpTimeout: time.Hour}
}

// Validate checks c without side effects.
func (c RestoreConfig) Validate() error {
	if c.CatchUpTimeout < 0 {
		return fmt.Errorf("--restore-catch-up-timeout=%s: must not be negative", c.CatchUpTimeout)
	}
	return nil
}

// restoreOnStartup runs before the role manager, when Config.Restore asks
// for it, and reports whether the tablet may go on to take its role. The
// rules, in order:
//
//   - the shard record names this tablet its primary: no restore (the
//     primary's data is the shard's), whatever its datadir holds;
//   - then the Backuper's plan (backup.Manager.Plan): the datadir holds
//     data: no restore; it holds the marker of an interrupted restore:
//     restore again; the shard has no backup: start empty, and say so; it
//     has backups but none complete, or the one asked for is missing:
//     fail; else restore the chosen backup.
//
// While it restores, the tablet record's type is RESTORE and health says
// RESTORING; maintenance is held. The restore sets the GTID position from
// the MANIFEST before it counts as complete; then replication is pointed
// at the shard's primary and the restored server is given
// RestoreConfig.CatchUpTimeout to catch up before the role manager (which
// keeps that replication) runs and health lets the tablet serve.
//
// On failure the tablet stays up without serving: the type stays
// RESTORE, health says RESTORE_FAILED and why (on /debug/health and the
// status page), the log says it once, and the datadir's marker and the
// staging directory are left as evidence; the next start restores again.
// It returns false then.
func (a *Agent) restoreOnStartup(ctx context.Context) bool {
	if !a.cfg.Restore.FromBackup {
		return true
	}
	rec := a.record.Load()
	alias, keyspace, shard := rec.GetAlias(), rec.GetKeyspace(), rec.GetShard()
	if a.backuper == nil {
		a.restoreFailed(ctx, fmt.Errorf("--restore_from_backup: %w", ErrBackupsNotConfigured))
		return false
	}
	si, err := a.ts.GetShard(ctx, keyspace, shard)
	if err != nil {
		a.restoreFailed(ctx, fmt.Errorf("read the shard record, to make sure this tablet is not its primary: %w", err))
		return false
	}
	primary := si.Shard.GetPrimaryAlias()
	if topo.TabletAliasEqual(primary, alias) {
		a.logger.Warn("not restoring from backup: the shard record names this tablet its primary, and a primary's data is the shard's",
			"alias", a.aliasString(), "shard", keyspace+"/"+shard)
		return true
	}
	req := RestoreRequest{Keyspace: keyspace, Shard: shard, TabletAlias: a.aliasString(), BackupTime: a.cfg.Restore.BackupTime}
	d := a.backuper.PlanRestore(ctx, req)
	switch d.Action {
	case backup.ActionNoRestore:
		a.logger.Info("not restoring from backup: the datadir holds data", "reason", d.Reason)
		return true
	case backup.ActionStartEmpty:
		a.logger.Warn("no backup to restore: starting with an empty database", "shard", keyspace+"/"+shard, "reason", d.Reason)
		return true
	case backup.ActionRestore:
	default:
		err := d.Err
		if err == nil {
			err = errors.New(d.Reason)
		}
		a.restoreFailed(ctx, err)
		return false
	}

	release := a.holdMaintenance("restore")
	defer release()
	if err := a.setRecordType(ctx, topodatapb.TabletType_RESTORE); err != nil {
		a.restoreFailed(ctx, err)
		return false
	}
	a.checker.SetTablet(health.Tablet{Type: health.TypeRestore})
	a.logger.Info("restoring from backup", "backup", d.Backup, "position", d.Position, "reason", d.Reason)
	start := time.Now()
	req.Name = d.Backup
	req.Configure = a.setRestoredPosition
	if err := a.backuper.Restore(ctx, req); err != nil {
		a.restoreFailed(ctx, err)
		return false
	}
	a.logger.Info("restored from backup", "backup", d.Backup, "position", d.Position,
		"elapsed", time.Since(start).Round(time.Millisecond).String())
	a.catchUp(ctx, primary)
	return true
}

// restoreFailed reports a failed restore: the record's type stays (or
// becomes) RESTORE, health says why, and the log says it once.
func (a *Agent) restoreFailed(ctx context.Context, err error) {
	a.logger.Error("restore from backup failed; the tablet will not serve until it is restarted and a restore succeeds", "err", err)
	a.checker.SetTablet(health.Tablet{Type: health.TypeRestore, RestoreError: err.Error()})
	if rerr := a.setRecordType(ctx, topodatapb.TabletType_RESTORE); rerr != nil {
		a.logger.Warn("could not record the tablet type RESTORE after the failed restore", "err", rerr)
	}
}

// setRecordType writes typ into the tablet record.
func (a *Agent) setRecordType(ctx context.Context, typ topodatapb.TabletType) error {
	ti, err := a.ts.UpdateTabletFields(ctx, a.record.Load().GetAlias(), func(t *topodatapb.Tablet) error {
		if t.GetType() == typ {
			return topo.ErrNoUpdateNeeded
		}
		t.Type = typ
		return nil
	})
	if err != nil {
		return fmt.Errorf("record the tablet type %v: %w", typ, err)
	}
	a.recordWritten(ti.Tablet)
	return nil
}

// setRestoredPosition is the restore's Configure step: with replication
// stopped, the restored server counts the backup's transactions as
// applied, so that replication resumes right after them.
func (a *Agent) setRestoredPosition(ctx context.Context, position string) error {
	f, err := mysqld.DetectFlavor(ctx, a.admin.db)
	if err != nil {
		return err
	}
	stmts := append([]string{f.StopReplication(mysqld.AllThreads)}, mysqld.RestorePositionStatements(f, position)...)
	for _, stmt := range stmts {
		if _, err := a.admin.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("set the restored position: %s: %w", stmt, err)
		}
	}
	a.logger.Info("set the restored server's GTID position from the MANIFEST", "position", position)
	return nil
}

// catchUp points replication at the shard's primary, as the role manager
// would, and waits up to RestoreConfig.CatchUpTimeout for the restored
// server to apply what the primary had written when the wait began. It
// only logs: past the wait, or when the primary cannot be reached, the
// role manager and health take over as on any start.
func (a *Agent) catchUp(ctx context.Context, primary *topodatapb.TabletAlias) {
	timeout := a.cfg.Restore.CatchUpTimeout
	if primary == nil || timeout <= 0 {
		return
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	src, err := a.roles.sourceOf(ctx, primary)
	if err == nil {
		_, err = a.admin.MakeReplica(ctx, src)
	}
	var f mysqld.Flavor
	if err == nil {
		f, err = mysqld.DetectFlavor(ctx, a.admin.db)
	}
	var pos string
	if err == nil {
		pos, err = mysqld.SourcePosition(ctx, *src, f, a.db.ConnectTimeout)
	}
	if err != nil {
		a.logger.Warn("could not wait for the restored server to catch up with the primary; going on", "primary", aliasOrNone(primary), "err", err)
		return
	}
	// The server's own wait ends a second before ctx, so that it answers
	// "timed out" rather than being cut off.
	ok, err := mysqld.WaitForPosition(ctx, a.admin.db, f, pos, max(time.Until(deadline(ctx))-time.Second, time.Second))
	switch {
	case err != nil:
		a.logger.Warn("waiting for the restored server to catch up with the primary failed; going on", "primary", aliasOrNone(primary), "position", pos, "err", err)
	case !ok:
		a.logger.Warn("the restored server did not catch up with the primary in time; going on, health judges the lag",
			"primary", aliasOrNone(primary), "position", pos, "timeout", timeout.String())
	default:
		a.logger.Info("the restored server caught up with the primary", "primary", aliasOrNone(primary), "position", pos,
			"elapsed", time.Since(start).Round(time.Millisecond).String())
	}
}

// deadline is ctx's deadline, which the caller has set.
func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}
