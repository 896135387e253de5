package client

import (
	"context"

	"github.com/tabletd/tablet/proto/logutilpb"
	"github.com/tabletd/tablet/proto/replicationdatapb"
	"github.com/tabletd/tablet/proto/tabletctlpb"
	"github.com/tabletd/tablet/proto/tabletmanagerdatapb"
	"github.com/tabletd/tablet/proto/topodatapb"
)

// Ping sends payload to the tablet and returns what it echoed.
func (c *Client) Ping(ctx context.Context, payload string) (string, error) {
	resp, err := c.manager.Ping(ctx, &tabletmanagerdatapb.PingRequest{Payload: payload})
	if err != nil {
		return "", fromGRPC(ctx, err)
	}
	return resp.GetPayload(), nil
}

// FullStatus returns the tablet's mysqld status and tablet type.
func (c *Client) FullStatus(ctx context.Context) (*replicationdatapb.FullStatus, error) {
	resp, err := c.manager.FullStatus(ctx, &tabletmanagerdatapb.FullStatusRequest{})
	if err != nil {
		return nil, fromGRPC(ctx, err)
	}
	return resp.GetStatus(), nil
}

// ChangeType makes the tablet serve as typ (REPLICA, RDONLY, SPARE, ...).
// A tablet refuses to change to or from PRIMARY: that is a reparent.
func (c *Client) ChangeType(ctx context.Context, typ topodatapb.TabletType) error {
	_, err := c.manager.ChangeType(ctx, &tabletmanagerdatapb.ChangeTypeRequest{TabletType: typ})
	return fromGRPC(ctx, err)
}

// SetReadOnly makes the tablet's mysqld read-only, and keeps it so until
// SetReadWrite or a new primary term.
func (c *Client) SetReadOnly(ctx context.Context) error {
	_, err := c.manager.SetReadOnly(ctx, &tabletmanagerdatapb.SetReadOnlyRequest{})
	return fromGRPC(ctx, err)
}

// SetReadWrite makes the primary's mysqld writable again.
func (c *Client) SetReadWrite(ctx context.Context) error {
	_, err := c.manager.SetReadWrite(ctx, &tabletmanagerdatapb.SetReadWriteRequest{})
	return fromGRPC(ctx, err)
}

// Backup takes a backup on the tablet, calling progress with each event it
// streams, and returns when the backup is complete or failed.
func (c *Client) Backup(ctx context.Context, req *tabletmanagerdatapb.BackupRequest, progress func(*logutilpb.Event)) error {
	sctx, cancel := context.WithCancel(ctx)
	stream, err := c.manager.Backup(sctx, req)
	if err != nil {
		cancel()
		return fromGRPC(ctx, err)
	}
	return recvAll(ctx, cancel, stream, func(m *tabletmanagerdatapb.BackupResponse) error {
		if progress != nil && m.GetEvent() != nil {
			progress(m.GetEvent())
		}
		return nil
	})
}

// RestoreFromBackup restores the tablet from a backup, calling progress
// with each event it streams.
func (c *Client) RestoreFromBackup(ctx context.Context, req *tabletmanagerdatapb.RestoreFromBackupRequest, progress func(*logutilpb.Event)) error {
	sctx, cancel := context.WithCancel(ctx)
	stream, err := c.manager.RestoreFromBackup(sctx, req)
	if err != nil {
		cancel()
		return fromGRPC(ctx, err)
	}
	return recvAll(ctx, cancel, stream, func(m *tabletmanagerdatapb.RestoreFromBackupResponse) error {
		if progress != nil && m.GetEvent() != nil {
			progress(m.GetEvent())
		}
		return nil
	})
}

// ListBackups returns the backups of the tablet's shard, newest first, at
// most limit of them (0: all).
func (c *Client) ListBackups(ctx context.Context, limit uint32) ([]*tabletctlpb.BackupInfo, error) {
	resp, err := c.control.ListBackups(ctx, &tabletctlpb.ListBackupsRequest{Limit: limit})
	if err != nil {
		return nil, fromGRPC(ctx, err)
	}
	return resp.GetBackups(), nil
}

// TabletExternallyReparented records the tablet as its shard's primary
// with a new term (after an external failover made its mysqld the
// primary), and returns the shard's new and old primaries.
func (c *Client) TabletExternallyReparented(ctx context.Context, externalID string) (*tabletctlpb.TabletExternallyReparentedResponse, error) {
	resp, err := c.control.TabletExternallyReparented(ctx, &tabletctlpb.TabletExternallyReparentedRequest{ExternalId: externalID})
	if err != nil {
		return nil, fromGRPC(ctx, err)
	}
	return resp, nil
}
