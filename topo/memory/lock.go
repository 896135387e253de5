package memory

import (
	"context"
	"path"
	"strconv"

	"github.com/tabletd/tablet/topo"
)

// Lock implements topo.Conn. The lock node is
// <dir>/locks/<lease id>, holding contents, as in etcd2.
func (c *Conn) Lock(ctx context.Context, dirPath, contents string) (topo.LockDescriptor, error) {
	key, err := c.start(ctx, "lock", dirPath, true)
	if err != nil {
		return nil, err
	}
	rel, _ := topo.CleanFilePath(dirPath)
	c.s.mu.Lock()
	exists := len(c.s.keysUnderLocked(topo.DirPrefix(c.root, rel))) > 0
	c.s.mu.Unlock()
	if !exists {
		return nil, topo.NewError(topo.NoNode, "lock", key, nil)
	}
	return c.lock(ctx, rel, contents)
}

// lock takes the lock on the directory rel, which need not exist.
func (c *Conn) lock(ctx context.Context, rel, contents string) (*lockDescriptor, error) {
	locksPrefix := topo.DirPrefix(c.root, path.Join(rel, topo.LocksPath))
	c.s.mu.Lock()
	c.mu.Lock()
	if c.leases == nil {
		c.mu.Unlock()
		c.s.mu.Unlock()
		return nil, topo.NewError(topo.Interrupted, "lock", locksPrefix, errConnClosed)
	}
	l := c.s.grantLocked()
	c.leases[l.id] = l
	c.mu.Unlock()
	key := locksPrefix + strconv.FormatInt(l.id, 10)
	mine := c.s.putLocked(key, []byte(contents), l.id)
	c.s.mu.Unlock()

	ld := &lockDescriptor{c: c, lease: l, key: key}
	for {
		c.s.mu.Lock()
		if _, ok := c.s.nodes[key]; !ok {
			c.s.mu.Unlock()
			return nil, topo.NewError(topo.Interrupted, "lock", key, errLeaseLost)
		}
		older := false
		for _, k := range c.s.keysUnderLocked(locksPrefix) {
			if c.s.nodes[k].version < mine {
				older = true
				break
			}
		}
		changed := c.s.changed
		c.s.mu.Unlock()
		if !older {
			return ld, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			_ = ld.Unlock(context.Background())
			return nil, topo.ContextError(ctx, "lock", key)
		case <-c.done:
			return nil, topo.NewError(topo.Interrupted, "lock", key, errConnClosed)
		}
	}
}

// lockDescriptor implements topo.LeasedLock.
type lockDescriptor struct {
	c     *Conn
	lease *lease
	key   string
}

// Check implements topo.LockDescriptor.
func (ld *lockDescriptor) Check(ctx context.Context) error {
	if err := topo.ContextError(ctx, "check lock", ld.key); err != nil {
		return err
	}
	ld.c.s.mu.Lock()
	defer ld.c.s.mu.Unlock()
	if _, ok := ld.c.s.leases[ld.lease.id]; !ok {
		return topo.NewError(topo.NoNode, "check lock", ld.key, errLeaseLost)
	}
	if _, ok := ld.c.s.nodes[ld.key]; !ok {
		return topo.NewError(topo.NoNode, "check lock", ld.key, nil)
	}
	return nil
}

// Unlock implements topo.LockDescriptor.
func (ld *lockDescriptor) Unlock(ctx context.Context) error {
	if err := topo.ContextError(ctx, "unlock", ld.key); err != nil {
		return err
	}
	ld.c.mu.Lock()
	if ld.c.leases != nil {
		delete(ld.c.leases, ld.lease.id)
	}
	ld.c.mu.Unlock()
	ld.c.s.mu.Lock()
	ld.c.s.endLeaseLocked(ld.lease)
	ld.c.s.mu.Unlock()
	return nil
}

// Context implements topo.LeasedLock.
func (ld *lockDescriptor) Context() context.Context { return ld.lease.ctx }

// NewLeaderParticipation implements topo.Conn.
func (c *Conn) NewLeaderParticipation(name, id string) (topo.LeaderParticipation, error) {
	if err := topo.ValidateName("election", name); err != nil {
		return nil, err
	}
	lock := func(ctx context.Context, dir, contents string) (topo.LeasedLock, error) {
		if err := topo.ContextError(ctx, "lock", topo.JoinRoot(c.root, dir)); err != nil {
			return nil, err
		}
		return c.lock(ctx, dir, contents)
	}
	leaderID := func(ctx context.Context) (string, error) {
		return c.leaderID(ctx, topo.ElectionDir(name))
	}
	return topo.NewLockElection(name, id, lock, leaderID, c.s.cfg.LeaseTTL), nil
}

func (c *Conn) leaderID(ctx context.Context, dir string) (string, error) {
	prefix := topo.DirPrefix(c.root, path.Join(dir, topo.LocksPath))
	if _, err := c.start(ctx, "get leader", dir, true); err != nil {
		return "", err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	var oldest *node
	for _, k := range c.s.keysUnderLocked(prefix) {
		if n := c.s.nodes[k]; oldest == nil || n.version < oldest.version {
			oldest = n
		}
	}
	if oldest == nil {
		return "", nil
	}
	return string(oldest.data), nil
}
