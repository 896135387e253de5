package agent

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tabletd/tablet/proto/logutilpb"
	"github.com/tabletd/tablet/proto/tabletctlpb"
	"github.com/tabletd/tablet/proto/tabletmanagerdatapb"
	"github.com/tabletd/tablet/proto/tabletmanagerservicepb"
	"github.com/tabletd/tablet/proto/vttimepb"
)

// managerServer is the TabletManager service: the gRPC face of the
// operations in manager.go.
type managerServer struct {
	tabletmanagerservicepb.UnimplementedTabletManagerServer
	a *Agent
}

// controlServer is the TabletControl service.
type controlServer struct {
	tabletctlpb.UnimplementedTabletControlServer
	a *Agent
}

// grpcError turns an operation's error into a gRPC status: refusals are
// FAILED_PRECONDITION, bad requests INVALID_ARGUMENT, an ended context
// its own code, anything else (mysqld or the topology failing) UNAVAILABLE.
func grpcError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrRefused):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, ErrBadRequest):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codes.Unavailable, err.Error())
}

// Ping implements TabletManager: it echoes the payload.
func (m *managerServer) Ping(_ context.Context, req *tabletmanagerdatapb.PingRequest) (*tabletmanagerdatapb.PingResponse, error) {
	return &tabletmanagerdatapb.PingResponse{Payload: req.GetPayload()}, nil
}

// FullStatus implements TabletManager.
func (m *managerServer) FullStatus(ctx context.Context, _ *tabletmanagerdatapb.FullStatusRequest) (*tabletmanagerdatapb.FullStatusResponse, error) {
	st, err := m.a.fullStatus(ctx)
	if err != nil {
		return nil, grpcError(err)
	}
	return &tabletmanagerdatapb.FullStatusResponse{Status: st}, nil
}

// ChangeType implements TabletManager.
func (m *managerServer) ChangeType(ctx context.Context, req *tabletmanagerdatapb.ChangeTypeRequest) (*tabletmanagerdatapb.ChangeTypeResponse, error) {
	if err := m.a.changeType(ctx, req.GetTabletType()); err != nil {
		return nil, grpcError(err)
	}
	return &tabletmanagerdatapb.ChangeTypeResponse{}, nil
}

// SetReadOnly implements TabletManager.
func (m *managerServer) SetReadOnly(ctx context.Context, _ *tabletmanagerdatapb.SetReadOnlyRequest) (*tabletmanagerdatapb.SetReadOnlyResponse, error) {
	if err := m.a.setReadOnly(ctx, true); err != nil {
		return nil, grpcError(err)
	}
	return &tabletmanagerdatapb.SetReadOnlyResponse{}, nil
}

// SetReadWrite implements TabletManager.
func (m *managerServer) SetReadWrite(ctx context.Context, _ *tabletmanagerdatapb.SetReadWriteRequest) (*tabletmanagerdatapb.SetReadWriteResponse, error) {
	if err := m.a.setReadOnly(ctx, false); err != nil {
		return nil, grpcError(err)
	}
	return &tabletmanagerdatapb.SetReadWriteResponse{}, nil
}

// progressSender returns a progress function that streams each line as a
// logutil event through send; send errors are dropped (a client gone
// cancels the stream's context, which stops the operation).
func progressSender(send func(*logutilpb.Event) error) func(string) {
	return func(msg string) {
		now := time.Now()
		_ = send(&logutilpb.Event{
			Time:  &vttimepb.Time{Seconds: now.Unix(), Nanoseconds: int32(now.Nanosecond())},
			Level: logutilpb.Level_INFO, Value: msg,
		})
	}
}

// Backup implements TabletManager: it streams progress events and ends
// when the backup does.
func (m *managerServer) Backup(req *tabletmanagerdatapb.BackupRequest, stream grpc.ServerStreamingServer[tabletmanagerdatapb.BackupResponse]) error {
	progress := progressSender(func(e *logutilpb.Event) error { return stream.Send(&tabletmanagerdatapb.BackupResponse{Event: e}) })
	return grpcError(m.a.backup(stream.Context(), req.GetAllowPrimary(), progress))
}

// RestoreFromBackup implements TabletManager.
func (m *managerServer) RestoreFromBackup(req *tabletmanagerdatapb.RestoreFromBackupRequest, stream grpc.ServerStreamingServer[tabletmanagerdatapb.RestoreFromBackupResponse]) error {
	var at time.Time
	if t := req.GetBackupTime(); t != nil {
		at = time.Unix(t.GetSeconds(), int64(t.GetNanoseconds()))
	}
	progress := progressSender(func(e *logutilpb.Event) error {
		return stream.Send(&tabletmanagerdatapb.RestoreFromBackupResponse{Event: e})
	})
	return grpcError(m.a.restore(stream.Context(), at, progress))
}

// ListBackups implements TabletControl.
func (c *controlServer) ListBackups(ctx context.Context, req *tabletctlpb.ListBackupsRequest) (*tabletctlpb.ListBackupsResponse, error) {
	infos, err := c.a.listBackups(ctx, int(req.GetLimit()))
	if err != nil {
		return nil, grpcError(err)
	}
	return &tabletctlpb.ListBackupsResponse{Backups: infos}, nil
}

// TabletExternallyReparented implements TabletControl.
func (c *controlServer) TabletExternallyReparented(ctx context.Context, _ *tabletctlpb.TabletExternallyReparentedRequest) (*tabletctlpb.TabletExternallyReparentedResponse, error) {
	resp, err := c.a.externallyReparented(ctx)
	if err != nil {
		return nil, grpcError(err)
	}
	return resp, nil
}
