// Package topofactory opens a topo.Server with the backend a topo.Config
// names. It is the one place that knows every backend, so that package
// topo does not import them and callers (cmd/tablet, the admin commands)
// switch on --topo_implementation without registration tricks.
//
//	ts, err := topofactory.Open(ctx, cfg, logger)
//	if err != nil { ... }
//	defer ts.Close()
package topofactory

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tabletd/tablet/topo"
	"github.com/tabletd/tablet/topo/etcd2"
	"github.com/tabletd/tablet/topo/memory"
)

// Open validates cfg and returns a Server on the global cell it names.
// For etcd2, opening does not wait for etcd: an unreachable server shows
// as errors from the first calls. For memory, the Server gets a fresh
// in-process store of its own, shared by its global and cell Conns (cells
// are told apart by root), and gone when the Server closes.
func Open(ctx context.Context, cfg topo.Config, logger *slog.Logger) (*topo.Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	open, closeStore, err := OpenFunc(cfg, logger)
	if err != nil {
		return nil, err
	}
	global, err := open(ctx, cfg.GlobalServerAddress, cfg.GlobalRoot)
	if err != nil {
		closeStore()
		return nil, fmt.Errorf("open global topo (%s at %s, root %s): %w", cfg.Implementation, cfg.GlobalServerAddress, cfg.GlobalRoot, err)
	}
	ts, err := topo.NewServer(cfg, &storeCloser{Conn: global, closeStore: closeStore}, open, logger)
	if err != nil {
		global.Close()
		closeStore()
		return nil, err
	}
	return ts, nil
}

// OpenFunc returns the topo.OpenFunc of cfg's implementation and a function
// that releases what the implementation shares between Conns (the memory
// store; nothing for etcd2), to call after the last Conn is closed.
func OpenFunc(cfg topo.Config, logger *slog.Logger) (topo.OpenFunc, func(), error) {
	switch cfg.Implementation {
	case topo.ImplEtcd2:
		base := etcd2.DefaultConfig()
		base.LeaseTTL = cfg.LeaseDuration
		base.DialTimeout = cfg.DialTimeout
		base.ReconnectBackoffMax = cfg.ReconnectBackoffMax
		return etcd2.OpenFunc(base, logger), func() {}, nil
	case topo.ImplMemory:
		st := memory.NewStore(memory.Config{LeaseTTL: cfg.LeaseDuration})
		return st.OpenFunc(), st.Close, nil
	}
	return nil, nil, fmt.Errorf("--topo_implementation=%q is not supported (want %s or %s)", cfg.Implementation, topo.ImplEtcd2, topo.ImplMemory)
}

// storeCloser is the global Conn, which also releases the shared store
// when closed; Server closes the global Conn last.
type storeCloser struct {
	topo.Conn
	closeStore func()
}

// Close closes the global Conn, then the shared store.
func (c *storeCloser) Close() error {
	err := c.Conn.Close()
	c.closeStore()
	return err
}
