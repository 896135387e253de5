package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/proto/replicationdatapb"
	"github.com/tabletd/tablet/proto/tabletctlpb"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/proto/vttimepb"
	"github.com/tabletd/tablet/topo"
)

// The operations of the TabletManager and TabletControl services, as plain
// Go: managerserver.go turns their errors into gRPC codes.

// Errors of the operations, for the gRPC layer to categorize.
var (
	// ErrRefused: the operation does not fit the tablet's state (it is
	// the primary, it is not, ...). FAILED_PRECONDITION.
	ErrRefused = errors.New("refused")
	// ErrBadRequest: the request is wrong whatever the tablet's state.
	// INVALID_ARGUMENT.
	ErrBadRequest = errors.New("bad request")
)

// changeTypes are the types ChangeType may set: every type a tablet may
// start as.
var changeTypes = map[topodatapb.TabletType]bool{
	topodatapb.TabletType_REPLICA: true, topodatapb.TabletType_RDONLY: true, topodatapb.TabletType_SPARE: true,
	topodatapb.TabletType_DRAINED: true, topodatapb.TabletType_BACKUP: true, topodatapb.TabletType_EXPERIMENTAL: true,
}

// changeType makes typ the tablet's type while it is not the primary and
// waits until the role manager has applied it (mysqld, health, the query
// service, _vt.local_metadata and the record) or ctx ends. It refuses
// PRIMARY either way: moving the primary is a reparent.
func (a *Agent) changeType(ctx context.Context, typ topodatapb.TabletType) error {
	alias := a.aliasString()
	switch {
	case typ == topodatapb.TabletType_PRIMARY:
		return fmt.Errorf("%w: ChangeType cannot make tablet %s the primary: that is a reparent; run TabletExternallyReparented on it once its mysqld is the primary", ErrRefused, alias)
	case !changeTypes[typ]:
		return fmt.Errorf("%w: ChangeType to %v: want one of REPLICA, RDONLY, SPARE, DRAINED, BACKUP, EXPERIMENTAL", ErrBadRequest, typ)
	}
	if rec := a.record.Load(); rec.GetType() == topodatapb.TabletType_PRIMARY {
		return fmt.Errorf("%w: tablet %s is the primary of %s/%s; ChangeType cannot change that: reparent to another tablet first",
			ErrRefused, alias, rec.GetKeyspace(), rec.GetShard())
	}
	a.roles.setNonPrimaryType(typ)
	ctx, cancel := bounded(ctx)
	defer cancel()
	rec, err := a.waitRecord(ctx, func(t *topodatapb.Tablet) bool {
		return t.GetType() == typ || t.GetType() == topodatapb.TabletType_PRIMARY
	})
	switch {
	case err != nil:
		return fmt.Errorf("tablet %s: type %v not applied yet (mysqld or the topology may be down; it is applied as soon as they answer): %w", alias, typ, err)
	case rec.GetType() == topodatapb.TabletType_PRIMARY:
		return fmt.Errorf("%w: tablet %s became the primary while changing its type; it will be %v when it is no longer the primary", ErrRefused, alias, typ)
	}
	a.logger.Info("tablet type changed by ChangeType", "alias", alias, "type", typ.String())
	return nil
}

// setReadOnly makes mysqld read-only (holding it so against the role
// manager until setReadOnly(false) or a new primary term) or writable.
// Only the primary may be made writable: a replica's role keeps it
// read-only.
func (a *Agent) setReadOnly(ctx context.Context, readOnly bool) error {
	if !readOnly {
		if rec := a.record.Load(); rec.GetType() != topodatapb.TabletType_PRIMARY {
			return fmt.Errorf("%w: tablet %s is a %v: its role keeps mysqld read-only; only the primary may be made writable",
				ErrRefused, a.aliasString(), rec.GetType())
		}
	}
	if err := a.admin.SetReadOnly(ctx, readOnly); err != nil {
		return err
	}
	a.logger.Info("mysqld read_only set by the operator", "read_only", readOnly)
	return nil
}

// fullStatus reads mysqld's status and the tablet's type.
func (a *Agent) fullStatus(ctx context.Context) (*replicationdatapb.FullStatus, error) {
	f, err := mysqld.DetectFlavor(ctx, a.dba)
	if err != nil {
		return nil, err
	}
	st, err := mysqld.ReadServerStatus(ctx, a.dba, f)
	if err != nil {
		return nil, err
	}
	fs := &replicationdatapb.FullStatus{
		ServerId: st.ServerID, ServerUuid: st.ServerUUID, Version: st.Version, VersionComment: st.VersionComment,
		ReadOnly: st.ReadOnly, SuperReadOnly: st.SuperReadOnly, GtidMode: st.GTIDMode, GtidPurged: st.GTIDPurged,
		BinlogFormat: st.BinlogFormat, BinlogRowImage: st.BinlogRowImage, LogBinEnabled: st.LogBin,
		LogReplicaUpdates: st.LogReplicaUpdates,
		PrimaryStatus:     &replicationdatapb.PrimaryStatus{Position: st.Position, ServerUuid: st.ServerUUID},
		TabletType:        a.record.Load().GetType(),
	}
	if r := st.Replication; r != nil {
		rs := &replicationdatapb.Status{
			Position: r.ExecutedGTIDs, RelayLogPosition: r.RetrievedGTIDs,
			SourceHost: r.SourceHost, SourcePort: int32(r.SourcePort), SourceUser: r.SourceUser, SourceServerId: r.SourceServerID,
			IoState: int32(r.IOState) + 1, SqlState: 1, LastIoError: r.LastIOError, LastSqlError: r.LastSQLError,
			SqlDelay: uint32(r.SQLDelay / time.Second), AutoPosition: r.UsingGTID, UsingGtid: r.UsingGTID,
			ReplicationLagUnknown: r.SecondsBehind == nil,
		}
		if f.IsMariaDB() {
			rs.Position = st.Position
		}
		if r.SQLRunning {
			rs.SqlState = 3
		}
		if r.SecondsBehind != nil && *r.SecondsBehind > 0 {
			rs.ReplicationLagSeconds = uint32(*r.SecondsBehind)
		}
		fs.ReplicationStatus = rs
	}
	return fs, nil
}

// externallyReparented records this tablet as its shard's primary with a
// new term (the operator or Orchestrator made its mysqld the primary) and
// waits, until ctx ends, for the tablet to take the role.
func (a *Agent) externallyReparented(ctx context.Context) (*tabletctlpb.TabletExternallyReparentedResponse, error) {
	rec := a.record.Load()
	alias := rec.GetAlias()
	si, err := a.ts.GetShard(ctx, rec.GetKeyspace(), rec.GetShard())
	if err != nil {
		return nil, err
	}
	old := si.Shard.GetPrimaryAlias()
	if _, err := a.ts.SetShardPrimary(ctx, alias); err != nil {
		return nil, err
	}
	a.logger.Info("recorded as the shard's primary by TabletExternallyReparented", "alias", a.aliasString(), "old_primary", aliasOrNone(old))
	ctx, cancel := bounded(ctx)
	defer cancel()
	if _, err := a.waitRecord(ctx, func(t *topodatapb.Tablet) bool { return t.GetType() == topodatapb.TabletType_PRIMARY }); err != nil {
		return nil, fmt.Errorf("the shard record names tablet %s its primary, but the tablet has not taken the role yet (it will as soon as its mysqld answers): %w",
			a.aliasString(), err)
	}
	return &tabletctlpb.TabletExternallyReparentedResponse{
		Keyspace: rec.GetKeyspace(), Shard: rec.GetShard(), NewPrimary: alias, OldPrimary: old,
	}, nil
}

// backup takes a backup through the Backuper. A primary is backed up only
// when allowPrimary: the backup tool's load would fall on the writes.
func (a *Agent) backup(ctx context.Context, allowPrimary bool, progress func(string)) error {
	if a.backuper == nil {
		return fmt.Errorf("%w: %w", ErrRefused, ErrBackupsNotConfigured)
	}
	rec := a.record.Load()
	if rec.GetType() == topodatapb.TabletType_PRIMARY && !allowPrimary {
		return fmt.Errorf("%w: tablet %s is the primary: back up a replica, or set allow_primary", ErrRefused, a.aliasString())
	}
	a.logger.Info("backup requested", "alias", a.aliasString())
	release := a.holdMaintenance("backup")
	defer release()
	return a.backuper.Backup(ctx, BackupRequest{Keyspace: rec.GetKeyspace(), Shard: rec.GetShard(), TabletAlias: a.aliasString(),
		ShardMayBeServing: a.shardMayBeServing(ctx, rec), Progress: progress})
}

// shardMayBeServing reports whether some tablet of rec's shard may serve,
// for the refusal to back up an empty database: yes unless the shard
// record names no primary (replicas without a primary do not serve) or
// this tablet is that primary (its empty database is the shard's).
// Unsure (the topology does not answer) means yes.
func (a *Agent) shardMayBeServing(ctx context.Context, rec *topodatapb.Tablet) bool {
	if a.ts == nil {
		return true
	}
	si, err := a.ts.GetShard(ctx, rec.GetKeyspace(), rec.GetShard())
	if err != nil {
		return true
	}
	p := si.Shard.GetPrimaryAlias()
	return p != nil && !topo.TabletAliasEqual(p, rec.GetAlias())
}

// restore restores the local mysqld from a backup through the Backuper.
// The primary is never restored: its data is the shard's.
func (a *Agent) restore(ctx context.Context, backupTime time.Time, progress func(string)) error {
	if a.backuper == nil {
		return fmt.Errorf("%w: %w", ErrRefused, ErrBackupsNotConfigured)
	}
	rec := a.record.Load()
	if rec.GetType() == topodatapb.TabletType_PRIMARY {
		return fmt.Errorf("%w: tablet %s is the primary: restoring it would replace the shard's data", ErrRefused, a.aliasString())
	}
	a.logger.Info("restore requested", "alias", a.aliasString(), "backup_time", backupTime)
	release := a.holdMaintenance("restore")
	defer release()
	err := a.backuper.Restore(ctx, RestoreRequest{Keyspace: rec.GetKeyspace(), Shard: rec.GetShard(), TabletAlias: a.aliasString(),
		BackupTime: backupTime, Configure: a.setRestoredPosition, Progress: progress})
	if err == nil && a.roles != nil {
		// Replicate from the primary now, not at the next role check.
		a.roles.setNonPrimaryType(a.roles.nonPrimaryType())
	}
	return err
}

// listBackups returns the shard's complete backups, newest first, at most
// limit (0: all).
func (a *Agent) listBackups(ctx context.Context, limit int) ([]*tabletctlpb.BackupInfo, error) {
	if a.backuper == nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, ErrBackupsNotConfigured)
	}
	rec := a.record.Load()
	infos, err := a.backuper.ListBackups(ctx, rec.GetKeyspace(), rec.GetShard())
	if err != nil {
		return nil, err
	}
	var out []*tabletctlpb.BackupInfo
	for i := len(infos) - 1; i >= 0 && (limit == 0 || len(out) < limit); i-- {
		b := infos[i]
		bi := &tabletctlpb.BackupInfo{
			Name: b.Name, Directory: b.Directory, Keyspace: rec.GetKeyspace(), Shard: rec.GetShard(),
			Engine: b.Engine, Status: tabletctlpb.BackupInfo_COMPLETE,
		}
		if alias, err := topo.ParseTabletAlias(b.TabletAlias); err == nil {
			bi.TabletAlias = alias
		}
		if !b.Time.IsZero() {
			bi.Time = &vttimepb.Time{Seconds: b.Time.Unix(), Nanoseconds: int32(b.Time.Nanosecond())}
		}
		out = append(out, bi)
	}
	return out, nil
}

// bounded gives ctx a deadline of roleAttemptTimeout when it has none, so
// that an operation waiting for the role manager does not wait forever on
// a mysqld that is down.
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, roleAttemptTimeout)
}

// aliasString is the tablet's alias as the record has it.
func (a *Agent) aliasString() string {
	if rec := a.record.Load(); rec != nil {
		return topo.TabletAliasString(rec.GetAlias())
	}
	return strings.TrimSpace(a.cfg.TabletPath)
}

// recordWritten implements roleObserver.
func (a *Agent) recordWritten(t *topodatapb.Tablet) {
	a.record.Store(t)
	a.tabletUpdated(t)
	a.recordMu.Lock()
	close(a.recordChanged)
	a.recordChanged = make(chan struct{})
	a.recordMu.Unlock()
}

// waitRecord waits until the record as last written satisfies ok, or ctx
// ends; it returns the record either way.
func (a *Agent) waitRecord(ctx context.Context, ok func(*topodatapb.Tablet) bool) (*topodatapb.Tablet, error) {
	for {
		a.recordMu.Lock()
		changed := a.recordChanged
		a.recordMu.Unlock()
		if rec := a.record.Load(); ok(rec) {
			return rec, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return a.record.Load(), context.Cause(ctx)
		}
	}
}
