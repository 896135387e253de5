package topo

import (
	"context"
	"errors"
	"fmt"

	"github.com/tabletd/tablet/proto/topodatapb"
)

// ShardInfo is a Shard record with its names and the version read.
type ShardInfo struct {
	Keyspace string
	Name     string
	Shard    *topodatapb.Shard
	Version  Version
}

func newShard() *topodatapb.Shard { return &topodatapb.Shard{} }

func validateShard(keyspace, shard string) error {
	if err := ValidateName("keyspace", keyspace); err != nil {
		return err
	}
	_, err := ShardKeyRange(shard)
	return err
}

// CreateShard creates keyspaces/<keyspace>/shards/<shard>/Shard under the
// keyspace lock, as Vitess does: the key range comes from the shard name,
// and the primary serves unless the range overlaps a shard that exists
// already (during a resharding). The keyspace must exist. Errors: NoNode
// (no keyspace), NodeExists.
func (s *Server) CreateShard(ctx context.Context, keyspace, shard string) (si *ShardInfo, err error) {
	if err := validateShard(keyspace, shard); err != nil {
		return nil, fmt.Errorf("create shard: %w", err)
	}
	ctx, cancel := s.lockContext(ctx)
	defer cancel()
	if _, err := s.GetKeyspace(ctx, keyspace); err != nil {
		return nil, fmt.Errorf("create shard %s/%s: %w", keyspace, shard, err)
	}
	ld, err := s.LockKeyspace(ctx, keyspace, "CreateShard "+shard)
	if err != nil {
		return nil, fmt.Errorf("create shard %s/%s: %w", keyspace, shard, err)
	}
	defer s.unlock(ld, "keyspace "+keyspace, &err)
	return s.createShardLocked(ctx, keyspace, shard)
}

func (s *Server) createShardLocked(ctx context.Context, keyspace, shard string) (*ShardInfo, error) {
	kr, _ := ShardKeyRange(shard)
	value := &topodatapb.Shard{KeyRange: kr, IsPrimaryServing: true}
	others, err := s.GetShardNames(ctx, keyspace)
	if err != nil {
		return nil, fmt.Errorf("create shard %s/%s: %w", keyspace, shard, err)
	}
	for _, o := range others {
		if o == shard {
			continue
		}
		oi, err := s.GetShard(ctx, keyspace, o)
		if errors.Is(err, ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create shard %s/%s: %w", keyspace, shard, err)
		}
		if KeyRangesIntersect(oi.Shard.GetKeyRange(), kr) {
			value.IsPrimaryServing = false
		}
	}
	v, err := createRecord(ctx, s.global, ShardPath(keyspace, shard), value)
	if err != nil {
		return nil, fmt.Errorf("create shard %s/%s: %w", keyspace, shard, err)
	}
	return &ShardInfo{Keyspace: keyspace, Name: shard, Shard: value, Version: v}, nil
}

// GetOrCreateShard returns the shard, creating it, and its keyspace with
// an empty record, if missing; this is what a tablet does at startup.
func (s *Server) GetOrCreateShard(ctx context.Context, keyspace, shard string) (si *ShardInfo, err error) {
	if err := validateShard(keyspace, shard); err != nil {
		return nil, fmt.Errorf("get or create shard: %w", err)
	}
	ctx, cancel := s.lockContext(ctx)
	defer cancel()
	if si, err := s.GetShard(ctx, keyspace, shard); !errors.Is(err, ErrNoNode) {
		return si, err
	}
	if err := s.CreateKeyspace(ctx, keyspace, nil); err != nil && !errors.Is(err, ErrNodeExists) {
		return nil, err
	}
	ld, err := s.LockKeyspace(ctx, keyspace, "GetOrCreateShard "+shard)
	if err != nil {
		return nil, fmt.Errorf("create shard %s/%s: %w", keyspace, shard, err)
	}
	defer s.unlock(ld, "keyspace "+keyspace, &err)
	// Another process may have created it while we waited for the lock.
	if si, err := s.GetShard(ctx, keyspace, shard); !errors.Is(err, ErrNoNode) {
		return si, err
	}
	return s.createShardLocked(ctx, keyspace, shard)
}

// GetShard reads a Shard record. Errors: NoNode.
func (s *Server) GetShard(ctx context.Context, keyspace, shard string) (*ShardInfo, error) {
	if err := validateShard(keyspace, shard); err != nil {
		return nil, fmt.Errorf("get shard: %w", err)
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	sh, v, err := getRecord(ctx, s.global, ShardPath(keyspace, shard), newShard)
	if err != nil {
		return nil, fmt.Errorf("get shard %s/%s: %w", keyspace, shard, err)
	}
	return &ShardInfo{Keyspace: keyspace, Name: shard, Shard: sh, Version: v}, nil
}

// GetShardNames lists the shards of a keyspace, sorted; none is an empty
// list.
func (s *Server) GetShardNames(ctx context.Context, keyspace string) ([]string, error) {
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	entries, err := s.global.List(ctx, KeyspaceDir(keyspace)+"/"+ShardsPath)
	if errors.Is(err, ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list shards of %s: %w", keyspace, err)
	}
	var names []string
	for _, e := range entries {
		if e.Dir {
			names = append(names, e.Name)
		}
	}
	return names, nil
}

// UpdateShardFields changes a Shard record with update under the shard
// lock: it locks, reads, applies update, writes with compare-and-swap
// (retrying if a writer that does not lock got in between), checks the
// lock is still held, and unlocks. update may be called more than once and
// may return ErrNoUpdateNeeded. It waits for the lock for at most
// Config.LockTimeout when ctx has no deadline. Errors: NoNode.
func (s *Server) UpdateShardFields(ctx context.Context, keyspace, shard string, update func(*topodatapb.Shard) error) (si *ShardInfo, err error) {
	if err := validateShard(keyspace, shard); err != nil {
		return nil, fmt.Errorf("update shard: %w", err)
	}
	ctx, cancel := s.lockContext(ctx)
	defer cancel()
	ld, err := s.LockShard(ctx, keyspace, shard, "UpdateShardFields")
	if err != nil {
		return nil, fmt.Errorf("update shard %s/%s: %w", keyspace, shard, err)
	}
	defer s.unlock(ld, "shard "+keyspace+"/"+shard, &err)
	sh, v, err := updateRecord(ctx, s.global, ShardPath(keyspace, shard), newShard, false, func(sh *topodatapb.Shard) error {
		// Do not write on behalf of a lock that is gone.
		if err := ld.Check(ctx); err != nil {
			return fmt.Errorf("shard lock lost: %w", err)
		}
		return update(sh)
	})
	if err != nil {
		return nil, fmt.Errorf("update shard %s/%s: %w", keyspace, shard, err)
	}
	return &ShardInfo{Keyspace: keyspace, Name: shard, Shard: sh, Version: v}, nil
}
