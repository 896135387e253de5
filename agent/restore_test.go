package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/tabletd/tablet/backup"
	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/health"
	"github.com/tabletd/tablet/proto/topodatapb"
)

// planBackuper is a Backuper whose plan and restore outcome are set, and
// which records the restores asked of it.
type planBackuper struct {
	fakeBackuper
	plan       backup.Decision
	restoreErr error
	planned    int
	restores   []RestoreRequest
}

func (p *planBackuper) PlanRestore(context.Context, RestoreRequest) backup.Decision {
	p.planned++
	return p.plan
}

func (p *planBackuper) Restore(_ context.Context, req RestoreRequest) error {
	p.restores = append(p.restores, req)
	return p.restoreErr
}

// holdRecorder is a Maintainer that records its holds.
type holdRecorder struct{ held, released []string }

func (h *holdRecorder) Hold(reason string) func() {
	h.held = append(h.held, reason)
	return func() { h.released = append(h.released, reason) }
}

func TestRestoreOnStartup(t *testing.T) {
	checksumErr := fmt.Errorf("restore b1: %w", &backup.ChecksumError{Key: "ks/0/b1/backup.xbstream.000001.zst", WantSize: 10, GotSize: 10,
		WantSHA256: "aa", GotSHA256: "bb"})
	tests := []struct {
		name       string
		primary    bool // the shard record names this tablet its primary
		plan       backup.Decision
		restoreErr error
		ok         bool
		restored   bool
		reason     health.Reason // after restoreOnStartup; "" for no SetTablet
		message    string
		recordType topodatapb.TabletType
	}{
		{name: "no backup: start empty", plan: backup.Decision{Action: backup.ActionStartEmpty, Reason: "no backup of ks/0"},
			ok: true, reason: health.ReasonStarting, recordType: topodatapb.TabletType_REPLICA},
		{name: "data present", plan: backup.Decision{Action: backup.ActionNoRestore, Reason: "datadir holds data"},
			ok: true, reason: health.ReasonStarting, recordType: topodatapb.TabletType_REPLICA},
		{name: "the shard's primary never restores", primary: true, plan: backup.Decision{Action: backup.ActionRestore, Backup: "b1"},
			ok: true, reason: health.ReasonStarting, recordType: topodatapb.TabletType_REPLICA},
		{name: "backups but none complete", plan: backup.Decision{Action: backup.ActionFail, Err: backup.ErrNoCompleteBackup},
			reason: health.ReasonRestoreFailed, message: "no complete backup found", recordType: topodatapb.TabletType_RESTORE},
		{name: "restore succeeds", plan: backup.Decision{Action: backup.ActionRestore, Backup: "b1", Position: "0-1-5"},
			ok: true, restored: true, reason: health.ReasonRestoring, recordType: topodatapb.TabletType_RESTORE},
		{name: "restore fails a checksum", plan: backup.Decision{Action: backup.ActionRestore, Backup: "b1"}, restoreErr: checksumErr,
			restored: true, reason: health.ReasonRestoreFailed, message: "checksum mismatch in ks/0/b1/backup.xbstream.000001.zst",
			recordType: topodatapb.TabletType_RESTORE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newRoleWorld(t)
			ctx := t.Context()
			if tt.primary {
				if _, err := w.ts.SetShardPrimary(ctx, w.me); err != nil {
					t.Fatal(err)
				}
			}
			ti, err := w.ts.GetTablet(ctx, w.me)
			if err != nil {
				t.Fatal(err)
			}
			pb := &planBackuper{plan: tt.plan, restoreErr: tt.restoreErr}
			holds := &holdRecorder{}
			cfg := DefaultConfig()
			cfg.Restore.FromBackup = true
			a := &Agent{cfg: cfg, ts: w.ts, backuper: pb, maintainer: holds, recordChanged: make(chan struct{}),
				logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
				checker: health.New(health.DefaultConfig(), nil, debugvars.New(), nil)}
			a.record.Store(ti.Tablet)
			a.roles = newRoleManager(roleConfig{alias: w.me, keyspace: "ks", shard: "0"}, w.ts, nil, nil, a, debugvars.New(), a.logger)

			if ok := a.restoreOnStartup(ctx); ok != tt.ok {
				t.Errorf("restoreOnStartup = %v, want %v", ok, tt.ok)
			}
			if got := len(pb.restores) > 0; got != tt.restored {
				t.Errorf("restored %v, want %v", got, tt.restored)
			}
			if tt.primary && pb.planned != 0 {
				t.Error("the primary planned a restore")
			}
			if tt.restored {
				if r := pb.restores[0]; r.Name != tt.plan.Backup || r.Configure == nil || r.Keyspace != "ks" || r.Shard != "0" {
					t.Errorf("restore request %+v", r)
				}
				// The RESTORE type takes a hold of its own (typeHold).
				if holds.held[0] != "restore" || len(holds.released) != 1 || holds.released[0] != "restore" {
					t.Errorf("maintenance holds %v, released %v; want a restore hold first, then released", holds.held, holds.released)
				}
			}
			st := a.checker.Status()
			if st.Reason != tt.reason || !strings.Contains(st.Message, tt.message) || st.Serving {
				t.Errorf("health %s %s: %s; want %s saying %q", st.State, st.Reason, st.Message, tt.reason, tt.message)
			}
			rec, err := w.ts.GetTablet(ctx, w.me)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Tablet.GetType() != tt.recordType || a.Record().GetType() != tt.recordType {
				t.Errorf("record type %v (agent's copy %v), want %v", rec.Tablet.GetType(), a.Record().GetType(), tt.recordType)
			}
		})
	}
}

func TestRestoreOnStartupWithoutBackups(t *testing.T) {
	w := newRoleWorld(t)
	ti, err := w.ts.GetTablet(t.Context(), w.me)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Restore.FromBackup = true
	a := &Agent{cfg: cfg, ts: w.ts, recordChanged: make(chan struct{}), logger: slog.New(slog.DiscardHandler),
		checker: health.New(health.DefaultConfig(), nil, debugvars.New(), nil)}
	a.record.Store(ti.Tablet)
	if a.restoreOnStartup(t.Context()) {
		t.Fatal("restoreOnStartup without a Backuper = true")
	}
	if st := a.checker.Status(); st.Reason != health.ReasonRestoreFailed || !strings.Contains(st.Message, ErrBackupsNotConfigured.Error()) {
		t.Errorf("health %+v", st)
	}
}
