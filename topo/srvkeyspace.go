package topo

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	"github.com/tabletd/tablet/proto/topodatapb"
)

func newSrvKeyspace() *topodatapb.SrvKeyspace { return &topodatapb.SrvKeyspace{} }

// servedTypes are the tablet types a SrvKeyspace has partitions for, in
// the order Vitess writes them.
var servedTypes = []topodatapb.TabletType{
	topodatapb.TabletType_PRIMARY,
	topodatapb.TabletType_REPLICA,
	topodatapb.TabletType_RDONLY,
}

// GetSrvKeyspace reads keyspaces/<keyspace>/SrvKeyspace in cell. Errors:
// NoNode.
func (s *Server) GetSrvKeyspace(ctx context.Context, cell, keyspace string) (*topodatapb.SrvKeyspace, error) {
	if err := ValidateName("keyspace", keyspace); err != nil {
		return nil, fmt.Errorf("get serving keyspace: %w", err)
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	conn, err := s.ConnForCell(ctx, cell)
	if err != nil {
		return nil, fmt.Errorf("get serving keyspace %s in %s: %w", keyspace, cell, err)
	}
	sk, _, err := getRecord(ctx, conn, SrvKeyspacePath(keyspace), newSrvKeyspace)
	if err != nil {
		return nil, fmt.Errorf("get serving keyspace %s in %s: %w", keyspace, cell, err)
	}
	return sk, nil
}

// UpdateSrvKeyspace writes keyspaces/<keyspace>/SrvKeyspace in cell,
// replacing what is there.
func (s *Server) UpdateSrvKeyspace(ctx context.Context, cell, keyspace string, sk *topodatapb.SrvKeyspace) error {
	if err := ValidateName("keyspace", keyspace); err != nil {
		return fmt.Errorf("update serving keyspace: %w", err)
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	conn, err := s.ConnForCell(ctx, cell)
	if err != nil {
		return fmt.Errorf("update serving keyspace %s in %s: %w", keyspace, cell, err)
	}
	if _, err := putRecord(ctx, conn, SrvKeyspacePath(keyspace), sk, 0); err != nil {
		return fmt.Errorf("update serving keyspace %s in %s: %w", keyspace, cell, err)
	}
	return nil
}

// BuildSrvKeyspace computes a keyspace's serving roll-up from its shards:
// for each of PRIMARY, REPLICA and RDONLY, a partition listing every shard
// whose primary is serving, sorted by key range.
func BuildSrvKeyspace(shards []*ShardInfo) *topodatapb.SrvKeyspace {
	var refs []*topodatapb.ShardReference
	for _, si := range shards {
		if !si.Shard.GetIsPrimaryServing() {
			continue
		}
		refs = append(refs, &topodatapb.ShardReference{Name: si.Name, KeyRange: si.Shard.GetKeyRange()})
	}
	sort.SliceStable(refs, func(i, j int) bool {
		return bytes.Compare(refs[i].GetKeyRange().GetStart(), refs[j].GetKeyRange().GetStart()) < 0
	})
	sk := &topodatapb.SrvKeyspace{}
	for _, t := range servedTypes {
		sk.Partitions = append(sk.Partitions, &topodatapb.SrvKeyspace_KeyspacePartition{
			ServedType:      t,
			ShardReferences: refs,
		})
	}
	return sk
}

// RebuildSrvKeyspace rebuilds keyspaces/<keyspace>/SrvKeyspace in the
// given cells (all cells when none are given) from the keyspace's Shard
// records, under the keyspace lock, like vtctl RebuildKeyspaceGraph.
// Errors: NoNode (no keyspace).
func (s *Server) RebuildSrvKeyspace(ctx context.Context, keyspace string, cells ...string) (err error) {
	if err := ValidateName("keyspace", keyspace); err != nil {
		return fmt.Errorf("rebuild serving keyspace: %w", err)
	}
	ctx, cancel := s.lockContext(ctx)
	defer cancel()
	if _, err := s.GetKeyspace(ctx, keyspace); err != nil {
		return fmt.Errorf("rebuild serving keyspace %s: %w", keyspace, err)
	}
	ld, err := s.LockKeyspace(ctx, keyspace, "RebuildKeyspaceGraph")
	if err != nil {
		return fmt.Errorf("rebuild serving keyspace %s: %w", keyspace, err)
	}
	defer s.unlock(ld, "keyspace "+keyspace, &err)

	if len(cells) == 0 {
		if cells, err = s.GetCellInfoNames(ctx); err != nil {
			return fmt.Errorf("rebuild serving keyspace %s: %w", keyspace, err)
		}
	}
	names, err := s.GetShardNames(ctx, keyspace)
	if err != nil {
		return fmt.Errorf("rebuild serving keyspace %s: %w", keyspace, err)
	}
	var shards []*ShardInfo
	for _, name := range names {
		si, err := s.GetShard(ctx, keyspace, name)
		if err != nil {
			return fmt.Errorf("rebuild serving keyspace %s: %w", keyspace, err)
		}
		shards = append(shards, si)
	}
	sk := BuildSrvKeyspace(shards)
	if err := ld.Check(ctx); err != nil {
		return fmt.Errorf("rebuild serving keyspace %s: keyspace lock lost: %w", keyspace, err)
	}
	for _, cell := range cells {
		if err := s.UpdateSrvKeyspace(ctx, cell, keyspace, sk); err != nil {
			return fmt.Errorf("rebuild serving keyspace %s: %w", keyspace, err)
		}
	}
	return nil
}
