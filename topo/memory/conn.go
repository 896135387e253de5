package memory

import (
	"bytes"
	"context"
	"sync"

	"github.com/tabletd/tablet/topo"
)

// Conn is one client of a Store, implementing topo.Conn under a root.
type Conn struct {
	s    *Store
	root string

	// done is closed by Close; goroutines of this Conn stop on it.
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup // goroutines started by this Conn

	mu     sync.Mutex // guards leases
	leases map[int64]*lease
}

var _ topo.Conn = (*Conn)(nil)

func newConn(s *Store, root string) *Conn {
	return &Conn{s: s, root: root, done: make(chan struct{}), leases: make(map[int64]*lease)}
}

// goAttach runs f in a goroutine that Close waits for.
func (c *Conn) goAttach(f func()) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// start checks ctx and the Conn before an operation and returns the full
// key of p.
func (c *Conn) start(ctx context.Context, op, p string, file bool) (string, error) {
	var rel string
	var err error
	if file {
		rel, err = topo.CleanFilePath(p)
	} else {
		rel, err = topo.CleanPath(p)
	}
	if err != nil {
		return "", topo.NewError(topo.Unknown, op, p, err)
	}
	key := topo.JoinRoot(c.root, rel)
	if err := topo.ContextError(ctx, op, key); err != nil {
		return "", err
	}
	select {
	case <-c.done:
		return "", topo.NewError(topo.Interrupted, op, key, errConnClosed)
	default:
	}
	return key, nil
}

// Create implements topo.Conn.
func (c *Conn) Create(ctx context.Context, p string, contents []byte) (topo.Version, error) {
	key, err := c.start(ctx, "create", p, true)
	if err != nil {
		return 0, err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if _, ok := c.s.nodes[key]; ok {
		return 0, topo.NewError(topo.NodeExists, "create", key, nil)
	}
	return c.s.putLocked(key, contents, 0), nil
}

// Update implements topo.Conn.
func (c *Conn) Update(ctx context.Context, p string, contents []byte, version topo.Version) (topo.Version, error) {
	key, err := c.start(ctx, "update", p, true)
	if err != nil {
		return 0, err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	n, ok := c.s.nodes[key]
	if version != 0 {
		if !ok {
			return 0, topo.NewError(topo.NoNode, "update", key, nil)
		}
		if n.version != version {
			return 0, topo.NewError(topo.BadVersion, "update", key, versionMismatch(version, n.version))
		}
	}
	return c.s.putLocked(key, contents, 0), nil
}

// Get implements topo.Conn.
func (c *Conn) Get(ctx context.Context, p string) ([]byte, topo.Version, error) {
	key, err := c.start(ctx, "get", p, true)
	if err != nil {
		return nil, 0, err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	n, ok := c.s.nodes[key]
	if !ok {
		return nil, 0, topo.NewError(topo.NoNode, "get", key, nil)
	}
	return bytes.Clone(n.data), n.version, nil
}

// List implements topo.Conn.
func (c *Conn) List(ctx context.Context, dirPath string) ([]topo.DirEntry, error) {
	key, err := c.start(ctx, "list", dirPath, false)
	if err != nil {
		return nil, err
	}
	rel, _ := topo.CleanPath(dirPath)
	prefix := topo.DirPrefix(c.root, rel)
	c.s.mu.Lock()
	keys := c.s.keysUnderLocked(prefix)
	c.s.mu.Unlock()
	entries := topo.ChildEntries(prefix, keys)
	if len(entries) == 0 {
		return nil, topo.NewError(topo.NoNode, "list", key, nil)
	}
	return entries, nil
}

// Delete implements topo.Conn.
func (c *Conn) Delete(ctx context.Context, p string, version topo.Version) error {
	key, err := c.start(ctx, "delete", p, true)
	if err != nil {
		return err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	n, ok := c.s.nodes[key]
	if !ok {
		return topo.NewError(topo.NoNode, "delete", key, nil)
	}
	if version != 0 && n.version != version {
		return topo.NewError(topo.BadVersion, "delete", key, versionMismatch(version, n.version))
	}
	c.s.deleteLocked(key)
	return nil
}

// Close implements topo.Conn: watches end, and the leases of this Conn
// expire after the TTL unless revoked first.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.done)
		c.wg.Wait()
		c.mu.Lock()
		leases := c.leases
		c.leases = nil
		c.mu.Unlock()
		c.s.mu.Lock()
		for _, l := range leases {
			l.cancel()
			c.s.expireLaterLocked(l)
		}
		c.s.mu.Unlock()
	})
	return nil
}
