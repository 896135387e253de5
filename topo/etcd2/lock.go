package etcd2

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"sync"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/tabletd/tablet/topo"
)

// Lock implements topo.Conn.
func (c *Conn) Lock(ctx context.Context, dirPath, contents string) (topo.LockDescriptor, error) {
	rel, key, err := c.start(ctx, "lock", dirPath, true)
	if err != nil {
		return nil, err
	}
	// The directory must exist: something must be under it.
	resp, err := c.cli.Get(ctx, topo.DirPrefix(c.root, rel), clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithLimit(1))
	if err != nil {
		return nil, c.convertError(ctx, "lock", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, topo.NewError(topo.NoNode, "lock", key, nil)
	}
	return c.lock(ctx, rel, contents)
}

// lock takes the lock on the directory rel, which need not exist: it puts
// <rel>/locks/<lease id> under a fresh lease and waits until no key in
// <rel>/locks has an older ModRevision.
func (c *Conn) lock(ctx context.Context, rel, contents string) (*lockDescriptor, error) {
	locksDir := topo.JoinRoot(c.root, path.Join(rel, topo.LocksPath))
	if err := topo.ContextError(ctx, "lock", locksDir); err != nil {
		return nil, err
	}
	if c.ctx.Err() != nil {
		return nil, topo.NewError(topo.Interrupted, "lock", locksDir, errConnClosed)
	}
	grant, err := c.cli.Grant(ctx, c.cfg.leaseSeconds())
	if err != nil {
		return nil, c.convertError(ctx, "lock", locksDir, err)
	}
	key := locksDir + "/" + strconv.FormatInt(int64(grant.ID), 10)
	ld := &lockDescriptor{c: c, lease: grant.ID, key: key}
	// The lease lives until Unlock, loss, or Close of c.
	ld.ctx, ld.cancel = context.WithCancel(c.ctx)
	ka, err := c.cli.KeepAlive(ld.ctx, grant.ID)
	if err != nil {
		ld.abandon()
		return nil, c.convertError(ctx, "lock", key, err)
	}
	c.goAttach(func() {
		// The channel closes when the lease is revoked or expires, when
		// etcd stops answering for a whole TTL, or when ld.ctx ends.
		for range ka {
		}
		ld.cancel()
	})

	resp, err := c.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, contents, clientv3.WithLease(grant.ID))).
		Commit()
	if err != nil {
		ld.abandon()
		return nil, c.convertError(ctx, "lock", key, err)
	}
	if !resp.Succeeded {
		// Lease ids are unique, so this key cannot exist yet.
		ld.abandon()
		return nil, topo.NewError(topo.NodeExists, "lock", key, errors.New("lock node for a new lease already exists"))
	}
	rev := resp.Header.Revision
	for {
		held, err := c.waitForOlder(ctx, ld, locksDir, rev)
		if err != nil {
			ld.abandon()
			return nil, err
		}
		if held {
			return ld, nil
		}
	}
}

// waitForOlder reports whether ld's key, created at rev, is the oldest in
// locksDir; if not, it waits until the next older key is deleted (or the
// watch ends) and returns false so the caller checks again.
func (c *Conn) waitForOlder(ctx context.Context, ld *lockDescriptor, locksDir string, rev int64) (bool, error) {
	// Read the next older key only while ours still exists: if our lease
	// expired while we waited, we must not think we hold the lock.
	resp, err := c.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(ld.key), ">", 0)).
		Then(clientv3.OpGet(locksDir+"/", clientv3.WithPrefix(),
			clientv3.WithMaxModRev(rev-1), clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortDescend),
			clientv3.WithLimit(1))).
		Commit()
	if err != nil {
		return false, c.convertError(ctx, "lock", ld.key, err)
	}
	if !resp.Succeeded {
		return false, topo.NewError(topo.Interrupted, "lock", ld.key, errLeaseLost)
	}
	kvs := resp.Responses[0].GetResponseRange().GetKvs()
	if len(kvs) == 0 {
		return true, nil
	}
	older := string(kvs[0].Key)

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ld.ctx, cancel)
	defer stop()
	// Watching from rev sees the older key's deletion even if it happened
	// since the read above.
	for wresp := range c.cli.Watch(wctx, older, clientv3.WithRev(rev)) {
		if err := wresp.Err(); err != nil {
			if wresp.CompactRevision != 0 {
				return false, nil
			}
			return false, c.convertError(ctx, "lock", ld.key, err)
		}
		for _, ev := range wresp.Events {
			if ev.Type == mvccpb.DELETE {
				return false, nil
			}
		}
	}
	if ctx.Err() != nil {
		code := topo.Interrupted
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			code = topo.Timeout
		}
		return false, topo.NewError(code, "lock", ld.key,
			fmt.Errorf("%w while waiting for %s, held by %q", context.Cause(ctx), older, kvs[0].Value))
	}
	if ld.ctx.Err() != nil {
		if c.ctx.Err() != nil {
			return false, topo.NewError(topo.Interrupted, "lock", ld.key, errConnClosed)
		}
		return false, topo.NewError(topo.Interrupted, "lock", ld.key, errLeaseLost)
	}
	return false, nil
}

// lockDescriptor implements topo.LeasedLock for one lease.
type lockDescriptor struct {
	c     *Conn
	lease clientv3.LeaseID
	key   string
	// ctx ends when the lease is lost, on Unlock, or when c closes;
	// cancel stops the keep-alive.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex // guards released
	released bool
}

// Check implements topo.LockDescriptor: the lease must still be kept alive
// and the lock key present.
func (ld *lockDescriptor) Check(ctx context.Context) error {
	if err := topo.ContextError(ctx, "check lock", ld.key); err != nil {
		return err
	}
	if ld.ctx.Err() != nil {
		return topo.NewError(topo.NoNode, "check lock", ld.key, errLeaseLost)
	}
	resp, err := ld.c.cli.Get(ctx, ld.key)
	if err != nil {
		return ld.c.convertError(ctx, "check lock", ld.key, err)
	}
	if len(resp.Kvs) == 0 || clientv3.LeaseID(resp.Kvs[0].Lease) != ld.lease {
		return topo.NewError(topo.NoNode, "check lock", ld.key, errLeaseLost)
	}
	return nil
}

// Unlock implements topo.LockDescriptor by revoking the lease, which
// deletes the lock key. If etcd cannot be reached the keep-alive stops
// anyway, so the lock goes within the TTL, and the error says so.
func (ld *lockDescriptor) Unlock(ctx context.Context) error {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	if ld.released {
		return nil
	}
	ld.cancel()
	if _, err := ld.c.cli.Revoke(ctx, ld.lease); err != nil && !errors.Is(err, errLeaseNotFound) {
		return ld.c.convertError(ctx, "unlock", ld.key, err)
	}
	ld.released = true
	return nil
}

// abandon gives up a lock that is not (or no longer) wanted, revoking its
// lease with a bounded wait; on failure the lease expires by itself.
func (ld *lockDescriptor) abandon() {
	ctx, cancel := context.WithTimeout(context.Background(), ld.c.cfg.LeaseTTL)
	defer cancel()
	if err := ld.Unlock(ctx); err != nil {
		ld.c.logger.Warn("revoke abandoned lock lease; it expires by itself", "key", ld.key, "ttl", ld.c.cfg.LeaseTTL, "err", err)
	}
}

// Context implements topo.LeasedLock.
func (ld *lockDescriptor) Context() context.Context { return ld.ctx }

// NewLeaderParticipation implements topo.Conn: a participant takes the
// lock on elections/<name>.
func (c *Conn) NewLeaderParticipation(name, id string) (topo.LeaderParticipation, error) {
	if err := topo.ValidateName("election", name); err != nil {
		return nil, err
	}
	lock := func(ctx context.Context, dir, contents string) (topo.LeasedLock, error) {
		return c.lock(ctx, dir, contents)
	}
	leaderID := func(ctx context.Context) (string, error) {
		return c.leaderID(ctx, topo.ElectionDir(name))
	}
	return topo.NewLockElection(name, id, lock, leaderID, c.cfg.LeaseTTL), nil
}

// leaderID returns the contents of the oldest key in <dir>/locks.
func (c *Conn) leaderID(ctx context.Context, dir string) (string, error) {
	_, key, err := c.start(ctx, "get leader", path.Join(dir, topo.LocksPath), true)
	if err != nil {
		return "", err
	}
	resp, err := c.cli.Get(ctx, key+"/", clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortAscend), clientv3.WithLimit(1))
	if err != nil {
		return "", c.convertError(ctx, "get leader", key, err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}
