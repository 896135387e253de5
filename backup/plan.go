package backup

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Action is what Plan decides a starting tablet does about its datadir.
type Action int

// The actions, in the order Plan considers them.
const (
	// ActionRestore: restore Decision.Backup (Restore with that Name).
	ActionRestore Action = iota + 1
	// ActionStartEmpty: the shard has no backup at all; start with the
	// empty database, and say so.
	ActionStartEmpty
	// ActionNoRestore: the datadir already holds data; use it.
	ActionNoRestore
	// ActionFail: do not start; Decision.Err says why.
	ActionFail
)

// String returns "restore", "start-empty", "no-restore" or "fail".
func (a Action) String() string {
	switch a {
	case ActionRestore:
		return "restore"
	case ActionStartEmpty:
		return "start-empty"
	case ActionNoRestore:
		return "no-restore"
	case ActionFail:
		return "fail"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Decision is Plan's answer.
type Decision struct {
	// Action is what to do.
	Action Action
	// Backup is, with ActionRestore, the name of the backup to restore.
	Backup string
	// Position is, with ActionRestore, that backup's GTID position.
	Position string
	// Reason says why, in words fit for a log line.
	Reason string
	// Err is, with ActionFail, the error that stops the tablet.
	Err error
}

// PlanRequest says which backups a starting tablet may restore.
type PlanRequest struct {
	// Keyspace and Shard say whose backups.
	Keyspace string
	Shard    string
	// Name and Before pick a backup as in RestoreRequest.
	Name   string
	Before time.Time
}

// Plan decides what a starting tablet does about its datadir, by these
// rules, in order:
//
//   - the datadir holds the marker of an interrupted restore: restore
//     again (the partial datadir is not data), or fail if no backup can
//     be restored;
//   - the datadir holds user data (DataDirHasData): no restore;
//   - the shard has no backup at all: start empty;
//   - the shard has backups but none complete, or the asked-for backup
//     does not exist: fail;
//   - otherwise: restore the chosen backup.
//
// It reads the datadir and the storage and changes neither.
func (m *Manager) Plan(ctx context.Context, req PlanRequest) Decision {
	fail := func(err error) Decision {
		return Decision{Action: ActionFail, Reason: err.Error(), Err: err}
	}
	if m.dataDir == "" {
		return fail(errors.New("plan restore: the Manager has no datadir (Deps.DataDir)"))
	}
	mk, err := ReadRestoreMarker(m.dataDir)
	if err != nil {
		return fail(fmt.Errorf("plan restore: %w", err))
	}
	if mk == nil {
		has, evidence, err := DataDirHasData(m.dataDir)
		if err != nil {
			return fail(fmt.Errorf("plan restore: %w", err))
		}
		if has {
			return Decision{Action: ActionNoRestore, Reason: fmt.Sprintf("the datadir %s already holds data (%s)", m.dataDir, evidence)}
		}
	}
	shard := req.Keyspace + "/" + req.Shard
	man, err := m.choose(ctx, req.Keyspace, req.Shard, req.Name, req.Before)
	switch {
	case err == nil:
	case errors.Is(err, ErrNoBackup) && mk == nil:
		return Decision{Action: ActionStartEmpty,
			Reason: fmt.Sprintf("no backup of %s exists; starting with an empty database", shard)}
	case mk != nil:
		return fail(fmt.Errorf("the datadir %s holds an interrupted restore of %s, and no backup can replace it: %w",
			m.dataDir, mk.Backup, err))
	default:
		return fail(fmt.Errorf("plan restore of %s: %w", shard, err))
	}
	d := Decision{Action: ActionRestore, Backup: man.Name, Position: man.Position}
	if mk != nil {
		d.Reason = fmt.Sprintf("the datadir %s holds an interrupted restore of %s (started %s); restoring from %s",
			m.dataDir, mk.Backup, mk.Started.Format(time.RFC3339), man.Name)
	} else {
		d.Reason = fmt.Sprintf("the datadir %s holds no data; restoring %s (position %s)", m.dataDir, man.Name, man.Position)
	}
	return d
}
