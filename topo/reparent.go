package topo

import (
	"context"
	"fmt"
	"time"

	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/proto/vttimepb"
)

// SetShardPrimary records alias as the primary of its shard, with a new
// term starting now, under the shard lock: the path Vitess calls
// TabletExternallyReparented, which an operator or Orchestrator (after a
// failover) takes. The tablet must have a record; its keyspace and shard
// name the shard. The tablets of the shard see the change through their
// shard watch and take their roles from it. Naming the current primary
// again changes nothing. It returns the shard as written.
func (s *Server) SetShardPrimary(ctx context.Context, alias *topodatapb.TabletAlias) (*ShardInfo, error) {
	ti, err := s.GetTablet(ctx, alias)
	if err != nil {
		return nil, fmt.Errorf("set shard primary: %w", err)
	}
	keyspace, shard := ti.Tablet.GetKeyspace(), ti.Tablet.GetShard()
	si, err := s.UpdateShardFields(ctx, keyspace, shard, func(sh *topodatapb.Shard) error {
		if TabletAliasEqual(sh.GetPrimaryAlias(), alias) {
			return ErrNoUpdateNeeded
		}
		now := time.Now()
		sh.PrimaryAlias = &topodatapb.TabletAlias{Cell: alias.GetCell(), Uid: alias.GetUid()}
		sh.PrimaryTermStartTime = &vttimepb.Time{Seconds: now.Unix(), Nanoseconds: int32(now.Nanosecond())}
		sh.IsPrimaryServing = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("set %s primary of %s/%s: %w", TabletAliasString(alias), keyspace, shard, err)
	}
	return si, nil
}
