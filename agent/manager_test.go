package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tabletd/tablet/backup"
	"github.com/tabletd/tablet/proto/topodatapb"
)

// fakeBackuper records requests and lists three backups.
type fakeBackuper struct {
	backups []string // keyspace/shard/alias of each Backup call
}

func (f *fakeBackuper) Backup(_ context.Context, req BackupRequest) error {
	f.backups = append(f.backups, req.Keyspace+"/"+req.Shard+"/"+req.TabletAlias)
	req.Progress("streaming")
	return nil
}

func (f *fakeBackuper) ListBackups(_ context.Context, keyspace, shard string) ([]BackupInfo, error) {
	var out []BackupInfo
	for i := range 3 {
		out = append(out, BackupInfo{Name: fmt.Sprintf("b%d", i), TabletAlias: "zone1-0000000101", Time: time.Unix(int64(1000+i), 0)})
	}
	return out, nil
}

func (f *fakeBackuper) Restore(context.Context, RestoreRequest) error { return nil }

func (f *fakeBackuper) PlanRestore(context.Context, RestoreRequest) backup.Decision {
	return backup.Decision{Action: backup.ActionStartEmpty, Reason: "no backup"}
}

func agentWithRecord(typ topodatapb.TabletType, b Backuper) *Agent {
	a := &Agent{backuper: b, logger: slog.New(slog.NewTextHandler(io.Discard, nil)), recordChanged: make(chan struct{})}
	a.record.Store(&topodatapb.Tablet{Alias: &topodatapb.TabletAlias{Cell: "zone1", Uid: 100}, Keyspace: "ks", Shard: "0", Type: typ})
	return a
}

func TestBackupOperations(t *testing.T) {
	ctx := context.Background()
	none := agentWithRecord(topodatapb.TabletType_REPLICA, nil)
	for name, err := range map[string]error{
		"backup":  none.backup(ctx, false, func(string) {}),
		"restore": none.restore(ctx, time.Time{}, func(string) {}),
		"list":    func() error { _, err := none.listBackups(ctx, 0); return err }(),
	} {
		if !errors.Is(err, ErrBackupsNotConfigured) || status.Code(grpcError(err)) != codes.FailedPrecondition {
			t.Errorf("%s without a Backuper = %v, want FAILED_PRECONDITION ErrBackupsNotConfigured", name, err)
		}
	}

	fb := &fakeBackuper{}
	replica := agentWithRecord(topodatapb.TabletType_REPLICA, fb)
	var lines []string
	if err := replica.backup(ctx, false, func(s string) { lines = append(lines, s) }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(fb.backups, lines) != "[ks/0/zone1-0000000100] [streaming]" {
		t.Errorf("backup calls %v, progress %v", fb.backups, lines)
	}
	list, err := replica.listBackups(ctx, 2)
	if err != nil || len(list) != 2 || list[0].GetName() != "b2" || list[1].GetName() != "b1" || list[0].GetTabletAlias().GetUid() != 101 {
		t.Errorf("listBackups(2) = %v, %v; want b2, b1 (newest first)", list, err)
	}

	primary := agentWithRecord(topodatapb.TabletType_PRIMARY, fb)
	if err := primary.backup(ctx, false, func(string) {}); status.Code(grpcError(err)) != codes.FailedPrecondition {
		t.Errorf("backup of the primary = %v, want FAILED_PRECONDITION", err)
	}
	if err := primary.backup(ctx, true, func(string) {}); err != nil {
		t.Errorf("backup of the primary with allow_primary = %v", err)
	}
	if err := primary.restore(ctx, time.Time{}, func(string) {}); status.Code(grpcError(err)) != codes.FailedPrecondition {
		t.Errorf("restore of the primary = %v, want FAILED_PRECONDITION", err)
	}
	if err := replica.setReadOnly(ctx, false); status.Code(grpcError(err)) != codes.FailedPrecondition {
		t.Errorf("SetReadWrite on a replica = %v, want FAILED_PRECONDITION", err)
	}
	if err := replica.changeType(ctx, topodatapb.TabletType_RESTORE); status.Code(grpcError(err)) != codes.InvalidArgument {
		t.Errorf("ChangeType RESTORE = %v, want INVALID_ARGUMENT", err)
	}
	if err := primary.changeType(ctx, topodatapb.TabletType_RDONLY); status.Code(grpcError(err)) != codes.FailedPrecondition {
		t.Errorf("ChangeType on the primary = %v, want FAILED_PRECONDITION", err)
	}
}
