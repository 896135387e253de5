// Package memory is an in-process topology backend with the semantics of
// topo/etcd2: one flat key space per Store with store-wide versions,
// implicit directories, watches that see every change, and locks and
// elections on leased ephemeral nodes, oldest first. It exists for tests
// and dry runs; nothing survives the process.
//
// A Store stands for one topology server; each Conn opened on it is one
// client with its own leases. Closing a Conn behaves like the client dying:
// its locks and leadership are released when their lease TTL runs out.
//
//	st := memory.NewStore(memory.DefaultConfig())
//	defer st.Close()
//	conn, err := st.Open("/vitess/global")
//	...
//	v, err := conn.Create(ctx, "keyspaces/ks/Keyspace", data)
//
// It passes the same conformance suite (topo/topotest) as etcd2.
package memory

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tabletd/tablet/topo"
)

// Config configures a Store.
type Config struct {
	// LeaseTTL is how long the locks and leadership of a closed Conn
	// survive it, as an etcd lease would. It must be positive. Default 30s,
	// like topo.Config.LeaseDuration.
	LeaseTTL time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{LeaseTTL: 30 * time.Second}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.LeaseTTL <= 0 {
		return fmt.Errorf("memory topo lease TTL %v must be positive", c.LeaseTTL)
	}
	return nil
}

// Store is one in-process topology server. It is safe for concurrent use.
type Store struct {
	cfg Config

	mu sync.Mutex // guards every field below
	// nodes maps full keys to nodes.
	nodes map[string]*node
	// rev is the store revision, bumped by every write; versions are the
	// revision of a node's last write.
	rev int64
	// leases are the live leases by id.
	leases    map[int64]*lease
	nextLease int64
	// changed is closed and replaced on every write, waking lock waiters.
	changed chan struct{}
	// watchers are the active watches by full key.
	watchers map[string]map[*watcher]struct{}
	closed   bool
}

type node struct {
	data    []byte
	version topo.Version
	lease   int64 // 0 for a persistent node
}

// lease ties ephemeral nodes to a client. It ends by revocation or, after
// its Conn closed, by expiry.
type lease struct {
	id    int64
	keys  map[string]struct{}
	timer *time.Timer // expiry, set once its Conn closed
	// ctx is cancelled when the lease ends or its Conn closes.
	ctx    context.Context
	cancel context.CancelFunc
}

// NewStore returns an empty store. It panics if cfg is invalid, a
// programmer's mistake in a test.
func NewStore(cfg Config) *Store {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return &Store{
		cfg:      cfg,
		nodes:    make(map[string]*node),
		leases:   make(map[int64]*lease),
		changed:  make(chan struct{}),
		watchers: make(map[string]map[*watcher]struct{}),
	}
}

// Open returns a new client on the store whose paths are relative to root.
func (s *Store) Open(root string) (*Conn, error) {
	if err := topo.ValidateRoot(root); err != nil {
		return nil, fmt.Errorf("open memory topo: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("open memory topo at %s: store closed", root)
	}
	return newConn(s, root), nil
}

// OpenFunc returns a topo.OpenFunc opening Conns on s; the server address
// is ignored, cells are told apart by their roots.
func (s *Store) OpenFunc() topo.OpenFunc {
	return func(_ context.Context, _ string, root string) (topo.Conn, error) {
		return s.Open(root)
	}
}

// Close ends all leases at once, as if their TTLs had run out, and refuses
// new Conns. Conns already open keep working on the data. Idempotent.
func (s *Store) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, l := range s.leases {
		s.endLeaseLocked(l)
	}
}

// LeaseTTL is the configured lease TTL.
func (s *Store) LeaseTTL() time.Duration { return s.cfg.LeaseTTL }

// putLocked writes key, attached to leaseID (0 for none), and notifies.
// As with an etcd Put, a write without a lease detaches the node from the
// lease it had. s.mu must be held.
func (s *Store) putLocked(key string, data []byte, leaseID int64) topo.Version {
	if old, ok := s.nodes[key]; ok && old.lease != 0 && old.lease != leaseID {
		if l, ok := s.leases[old.lease]; ok {
			delete(l.keys, key)
		}
	}
	s.rev++
	v := topo.Version(s.rev)
	s.nodes[key] = &node{data: append([]byte(nil), data...), version: v, lease: leaseID}
	if l, ok := s.leases[leaseID]; ok {
		l.keys[key] = struct{}{}
	}
	s.notifyLocked(key, &topo.WatchData{Contents: append([]byte(nil), data...), Version: v})
	return v
}

// deleteLocked removes key and notifies. s.mu must be held.
func (s *Store) deleteLocked(key string) {
	n, ok := s.nodes[key]
	if !ok {
		return
	}
	delete(s.nodes, key)
	if n.lease != 0 {
		if l, ok := s.leases[n.lease]; ok {
			delete(l.keys, key)
		}
	}
	s.rev++
	s.notifyLocked(key, &topo.WatchData{Err: topo.NewError(topo.NoNode, "watch", key, nil)})
}

func (s *Store) notifyLocked(key string, wd *topo.WatchData) {
	close(s.changed)
	s.changed = make(chan struct{})
	for w := range s.watchers[key] {
		w.push(wd)
	}
}

// grantLocked creates a lease owned by c.
func (s *Store) grantLocked() *lease {
	s.nextLease++
	ctx, cancel := context.WithCancel(context.Background())
	l := &lease{id: s.nextLease, keys: make(map[string]struct{}), ctx: ctx, cancel: cancel}
	s.leases[l.id] = l
	return l
}

// endLeaseLocked revokes l: its nodes go, its context ends.
func (s *Store) endLeaseLocked(l *lease) {
	if _, ok := s.leases[l.id]; !ok {
		return
	}
	delete(s.leases, l.id)
	if l.timer != nil {
		l.timer.Stop()
	}
	for k := range l.keys {
		s.deleteLocked(k)
	}
	l.cancel()
}

// expireLaterLocked ends l after the TTL, as etcd does for a lease nobody keeps
// alive.
func (s *Store) expireLaterLocked(l *lease) {
	if _, ok := s.leases[l.id]; !ok || l.timer != nil {
		return
	}
	l.timer = time.AfterFunc(s.cfg.LeaseTTL, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.endLeaseLocked(l)
	})
}

// keysUnderLocked returns the keys below prefix (which ends in "/").
func (s *Store) keysUnderLocked(prefix string) []string {
	var keys []string
	for k := range s.nodes {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	return keys
}
