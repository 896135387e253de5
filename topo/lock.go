package topo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"time"
)

// lockContents is the JSON written into a keyspace or shard lock node, in
// the shape Vitess writes, so that its tools can show who holds a lock.
type lockContents struct {
	Action   string
	HostName string
	UserName string
	Time     string
	Status   string
}

func newLockContents(action string) string {
	host, _ := os.Hostname()
	var name string
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	data, _ := json.MarshalIndent(lockContents{
		Action:   action,
		HostName: host,
		UserName: name,
		Time:     time.Now().UTC().Format(time.RFC3339),
		Status:   "Running",
	}, "", "  ")
	return string(data)
}

// LockKeyspace takes the keyspace lock (on keyspaces/<keyspace> in the
// global cell) for action, a short description recorded in the lock node.
// It waits for at most Config.LockTimeout when ctx has no deadline. The
// caller must Unlock. Errors: NoNode (no such keyspace), Timeout.
func (s *Server) LockKeyspace(ctx context.Context, keyspace, action string) (LockDescriptor, error) {
	if err := ValidateName("keyspace", keyspace); err != nil {
		return nil, err
	}
	ctx, cancel := s.lockContext(ctx)
	defer cancel()
	ld, err := s.global.Lock(ctx, KeyspaceDir(keyspace), newLockContents(action))
	if err != nil {
		return nil, fmt.Errorf("lock keyspace %s for %s: %w", keyspace, action, err)
	}
	return ld, nil
}

// LockShard takes the shard lock (on keyspaces/<keyspace>/shards/<shard>
// in the global cell), as LockKeyspace does.
func (s *Server) LockShard(ctx context.Context, keyspace, shard, action string) (LockDescriptor, error) {
	if err := ValidateName("keyspace", keyspace); err != nil {
		return nil, err
	}
	if err := ValidateName("shard", shard); err != nil {
		return nil, err
	}
	ctx, cancel := s.lockContext(ctx)
	defer cancel()
	ld, err := s.global.Lock(ctx, ShardDir(keyspace, shard), newLockContents(action))
	if err != nil {
		return nil, fmt.Errorf("lock shard %s/%s for %s: %w", keyspace, shard, action, err)
	}
	return ld, nil
}

// unlock releases ld with a fresh bounded context, so that a lock taken
// under a context that has since expired is still released; the error, if
// any, joins err.
func (s *Server) unlock(ld LockDescriptor, what string, err *error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.CallTimeout)
	defer cancel()
	if uerr := ld.Unlock(ctx); uerr != nil {
		uerr = fmt.Errorf("unlock %s: %w", what, uerr)
		if *err == nil {
			*err = uerr
		} else {
			s.logger.Warn("unlock after failed action; the lock expires with its lease", "lock", what, "err", uerr)
		}
	}
}
