package topo

import (
	"time"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/tabletd/tablet/proto/topodatapb"
)

// Server is the typed view of the topology: records of the global cell
// through the global Conn, and records of each local cell through a Conn
// opened from that cell's CellInfo (server address and root), which is
// read from the global cell on first use and then cached.
//
// Every method takes a context; when it has no deadline, Server gives the
// call Config.CallTimeout (Config.LockTimeout for calls that take a lock),
// so no call waits forever on an unreachable server. Errors wrap a
// *Error that names the path; test them with errors.Is against ErrNoNode
// and the other sentinels.
//
// A change to a cell's CellInfo made by another process is seen by the
// next Server; changes made through this Server apply at once. Methods are
// safe for concurrent use.
type Server struct {
	cfg    Config
	logger *slog.Logger
	global Conn
	open   OpenFunc

	mu     sync.Mutex // guards cells and closed
	cells  map[string]*cellConn
	closed bool
}

// cellConn is an open Conn to a local cell and the CellInfo it was opened
// from.
type cellConn struct {
	conn Conn
	info *topodatapb.CellInfo
}

// NewServer returns a Server that owns global and the cell Conns it opens
// with open; Close closes them all. cfg supplies CallTimeout and
// LockTimeout.
func NewServer(cfg Config, global Conn, open OpenFunc, logger *slog.Logger) (*Server, error) {
	if cfg.CallTimeout <= 0 || cfg.LockTimeout <= 0 {
		return nil, fmt.Errorf("new topo server: call timeout %v and lock timeout %v must be positive", cfg.CallTimeout, cfg.LockTimeout)
	}
	if global == nil || open == nil {
		return nil, errors.New("new topo server: global Conn and OpenFunc are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, logger: logger, global: global, open: open, cells: make(map[string]*cellConn)}, nil
}

// Close closes the cell Conns and the global Conn. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cells := s.cells
	s.cells = nil
	s.mu.Unlock()
	var errs []error
	for name, cc := range cells {
		if err := cc.conn.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close topo conn for cell %s: %w", name, err))
		}
	}
	if err := s.global.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close global topo conn: %w", err))
	}
	return errors.Join(errs...)
}

// LeaseDuration is the TTL of the leases behind locks, elections and
// claims: how long a dead holder keeps them.
func (s *Server) LeaseDuration() time.Duration { return s.cfg.LeaseDuration }

// GlobalConn returns the Conn to the global cell. The Server owns it.
func (s *Server) GlobalConn() Conn { return s.global }

// callContext gives ctx the default call timeout if it has no deadline.
func (s *Server) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.cfg.CallTimeout)
}

// lockContext gives ctx the default lock timeout if it has no deadline.
func (s *Server) lockContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.cfg.LockTimeout)
}

// ConnForCell returns the Conn for cell: the global Conn for GlobalCell,
// otherwise the cell's local Conn, opened from its CellInfo on first use.
// The Server owns the Conn. Errors: NoNode if the cell has no CellInfo.
func (s *Server) ConnForCell(ctx context.Context, cell string) (Conn, error) {
	if cell == GlobalCell {
		return s.global, nil
	}
	if err := ValidateName("cell", cell); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, NewError(Interrupted, "open cell", cell, errors.New("topo server closed"))
	}
	cc, ok := s.cells[cell]
	s.mu.Unlock()
	if ok {
		return cc.conn, nil
	}

	ctx, cancel := s.callContext(ctx)
	defer cancel()
	ci, err := s.GetCellInfo(ctx, cell)
	if err != nil {
		return nil, err
	}
	conn, err := s.open(ctx, ci.GetServerAddress(), ci.GetRoot())
	if err != nil {
		return nil, fmt.Errorf("open topo for cell %s at %s%s: %w", cell, ci.GetServerAddress(), ci.GetRoot(), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		conn.Close()
		return nil, NewError(Interrupted, "open cell", cell, errors.New("topo server closed"))
	}
	if cc, ok := s.cells[cell]; ok {
		// Another caller opened it meanwhile; keep theirs.
		conn.Close()
		return cc.conn, nil
	}
	s.cells[cell] = &cellConn{conn: conn, info: ci}
	s.logger.Info("opened cell topo", "cell", cell, "server_address", ci.GetServerAddress(), "root", ci.GetRoot())
	return conn, nil
}

// dropCell closes and forgets the cached Conn of cell, if any.
func (s *Server) dropCell(cell string) {
	s.mu.Lock()
	cc, ok := s.cells[cell]
	delete(s.cells, cell)
	s.mu.Unlock()
	if ok {
		if err := cc.conn.Close(); err != nil {
			s.logger.Warn("close cell topo conn", "cell", cell, "err", err)
		}
	}
}

// ErrNoUpdateNeeded may be returned by the function given to an
// Update...Fields method to leave the record as it is; the method then
// returns the current record and no error.
var ErrNoUpdateNeeded = errors.New("no update needed")

// getRecord reads path from conn into a new T.
func getRecord[T proto.Message](ctx context.Context, conn Conn, path string, newT func() T) (T, Version, error) {
	var zero T
	data, v, err := conn.Get(ctx, path)
	if err != nil {
		return zero, 0, err
	}
	m := newT()
	if err := proto.Unmarshal(data, m); err != nil {
		return zero, 0, fmt.Errorf("decode %s as %s: %w", path, m.ProtoReflect().Descriptor().FullName(), err)
	}
	return m, v, nil
}

// createRecord stores m at path, which must not exist.
func createRecord(ctx context.Context, conn Conn, path string, m proto.Message) (Version, error) {
	data, err := proto.Marshal(m)
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", path, err)
	}
	return conn.Create(ctx, path, data)
}

// putRecord stores m at path if it still has version v (0: always).
func putRecord(ctx context.Context, conn Conn, path string, m proto.Message, v Version) (Version, error) {
	data, err := proto.Marshal(m)
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", path, err)
	}
	return conn.Update(ctx, path, data, v)
}

// updateRecord is read, modify, compare-and-swap, repeated while another
// writer gets in between. With create set, a missing record starts as
// newT() and is created. update may return ErrNoUpdateNeeded. It returns
// the record as stored.
func updateRecord[T proto.Message](ctx context.Context, conn Conn, path string, newT func() T, create bool, update func(T) error) (T, Version, error) {
	var zero T
	for {
		m, v, err := getRecord(ctx, conn, path, newT)
		exists := true
		switch {
		case err == nil:
		case create && errors.Is(err, ErrNoNode):
			m, exists = newT(), false
		default:
			return zero, 0, err
		}
		if err := update(m); err != nil {
			if errors.Is(err, ErrNoUpdateNeeded) {
				return m, v, nil
			}
			return zero, 0, err
		}
		if exists {
			v, err = putRecord(ctx, conn, path, m, v)
		} else {
			v, err = createRecord(ctx, conn, path, m)
		}
		switch {
		case err == nil:
			return m, v, nil
		case errors.Is(err, ErrBadVersion), errors.Is(err, ErrNodeExists):
			// Someone else wrote first: read again.
			continue
		case errors.Is(err, ErrNoNode):
			if create {
				continue
			}
			return zero, 0, err
		default:
			return zero, 0, err
		}
	}
}
