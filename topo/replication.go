package topo

import (
	"context"
	"fmt"
	"slices"

	"github.com/tabletd/tablet/proto/topodatapb"
)

// ShardReplicationInfo is a cell's ShardReplication record for a shard,
// with the version read.
type ShardReplicationInfo struct {
	Cell, Keyspace, Shard string
	ShardReplication      *topodatapb.ShardReplication
	Version               Version
}

func newShardReplication() *topodatapb.ShardReplication { return &topodatapb.ShardReplication{} }

// GetShardReplication reads a shard's ShardReplication in cell. Errors:
// NoNode.
func (s *Server) GetShardReplication(ctx context.Context, cell, keyspace, shard string) (*ShardReplicationInfo, error) {
	if err := validateShard(keyspace, shard); err != nil {
		return nil, fmt.Errorf("get shard replication: %w", err)
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	conn, err := s.ConnForCell(ctx, cell)
	if err != nil {
		return nil, fmt.Errorf("get shard replication %s/%s in %s: %w", keyspace, shard, cell, err)
	}
	sr, v, err := getRecord(ctx, conn, ShardReplicationPath(keyspace, shard), newShardReplication)
	if err != nil {
		return nil, fmt.Errorf("get shard replication %s/%s in %s: %w", keyspace, shard, cell, err)
	}
	return &ShardReplicationInfo{Cell: cell, Keyspace: keyspace, Shard: shard, ShardReplication: sr, Version: v}, nil
}

// UpdateShardReplicationFields changes a shard's ShardReplication in cell
// with update (read, modify, compare-and-swap, retried), starting from an
// empty record if there is none. update may return ErrNoUpdateNeeded.
func (s *Server) UpdateShardReplicationFields(ctx context.Context, cell, keyspace, shard string, update func(*topodatapb.ShardReplication) error) error {
	if err := validateShard(keyspace, shard); err != nil {
		return fmt.Errorf("update shard replication: %w", err)
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	conn, err := s.ConnForCell(ctx, cell)
	if err != nil {
		return fmt.Errorf("update shard replication %s/%s in %s: %w", keyspace, shard, cell, err)
	}
	if _, _, err := updateRecord(ctx, conn, ShardReplicationPath(keyspace, shard), newShardReplication, true, update); err != nil {
		return fmt.Errorf("update shard replication %s/%s in %s: %w", keyspace, shard, cell, err)
	}
	return nil
}

// AddShardReplicationNode adds a tablet to its shard's ShardReplication in
// the tablet's cell, creating the record if needed. Adding a tablet that is
// listed already changes nothing.
func (s *Server) AddShardReplicationNode(ctx context.Context, keyspace, shard string, alias *topodatapb.TabletAlias) error {
	if err := validateAlias(alias); err != nil {
		return fmt.Errorf("add to shard replication: %w", err)
	}
	return s.UpdateShardReplicationFields(ctx, alias.GetCell(), keyspace, shard, func(sr *topodatapb.ShardReplication) error {
		for _, n := range sr.GetNodes() {
			if TabletAliasEqual(n.GetTabletAlias(), alias) {
				return ErrNoUpdateNeeded
			}
		}
		sr.Nodes = append(sr.Nodes, &topodatapb.ShardReplication_Node{
			TabletAlias: &topodatapb.TabletAlias{Cell: alias.GetCell(), Uid: alias.GetUid()},
		})
		return nil
	})
}

// RemoveShardReplicationNode removes a tablet from its shard's
// ShardReplication in the tablet's cell. Removing a tablet that is not
// listed changes nothing. Errors: NoNode if the record does not exist.
func (s *Server) RemoveShardReplicationNode(ctx context.Context, keyspace, shard string, alias *topodatapb.TabletAlias) error {
	if err := validateAlias(alias); err != nil {
		return fmt.Errorf("remove from shard replication: %w", err)
	}
	if err := validateShard(keyspace, shard); err != nil {
		return fmt.Errorf("remove from shard replication: %w", err)
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	cell := alias.GetCell()
	conn, err := s.ConnForCell(ctx, cell)
	if err != nil {
		return fmt.Errorf("update shard replication %s/%s in %s: %w", keyspace, shard, cell, err)
	}
	_, _, err = updateRecord(ctx, conn, ShardReplicationPath(keyspace, shard), newShardReplication, false, func(sr *topodatapb.ShardReplication) error {
		n := len(sr.Nodes)
		sr.Nodes = slices.DeleteFunc(sr.Nodes, func(n *topodatapb.ShardReplication_Node) bool {
			return TabletAliasEqual(n.GetTabletAlias(), alias)
		})
		if len(sr.Nodes) == n {
			return ErrNoUpdateNeeded
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("update shard replication %s/%s in %s: %w", keyspace, shard, cell, err)
	}
	return nil
}
