package pools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// Set is the tablet's four MySQL pools: ConnPool for queries outside
// transactions, StreamConnPool for streaming queries, TransactionPool for
// transactions (all as the app user) and DBAPool for kills and housekeeping
// (as the dba user). The pools are exported for their users; Set opens and
// closes them together and publishes their variables.
type Set struct {
	Conn   *Pool[*DBConn] // ConnPool
	Stream *Pool[*DBConn] // StreamConnPool
	Tx     *Pool[*DBConn] // TransactionPool
	DBA    *Pool[*DBConn] // DBAPool

	logger *slog.Logger
}

// NewSet builds the four pools from cfg, closed, opening app-user
// connections with app and dba-user connections with dba (see
// NewDBConnector). It returns cfg's validation error, if any.
func NewSet(cfg Config, app, dba Connector[*DBConn], logger *slog.Logger) (*Set, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mysql pools: %w", err)
	}
	if app == nil || dba == nil || logger == nil {
		return nil, errors.New("mysql pools: nil connector or logger")
	}
	pc := cfg.PoolConfigs()
	return &Set{
		Conn:   NewPool(pc[0], app, logger),
		Stream: NewPool(pc[1], app, logger),
		Tx:     NewPool(pc[2], app, logger),
		DBA:    NewPool(pc[3], dba, logger),
		logger: logger,
	}, nil
}

// Pools returns the pools in the order ConnPool, StreamConnPool,
// TransactionPool, DBAPool.
func (s *Set) Pools() []*Pool[*DBConn] {
	return []*Pool[*DBConn]{s.Conn, s.Stream, s.Tx, s.DBA}
}

// Open opens every pool, the dba pool first so kills work as soon as
// queries can run. It opens no connection: they are made on demand.
func (s *Set) Open() {
	s.DBA.Open()
	s.Conn.Open()
	s.Stream.Open()
	s.Tx.Open()
	s.logger.Info("opened mysql pools",
		"conn_pool", s.Conn.Capacity(), "stream_pool", s.Stream.Capacity(),
		"transaction_pool", s.Tx.Capacity(), "dba_pool", s.DBA.Capacity())
}

// Close closes the query, stream and transaction pools together and waits,
// until ctx ends, for their connections to come back; then it closes the dba
// pool, which stays usable meanwhile to kill what holds them up. It returns
// every pool's error joined. Close is idempotent.
func (s *Set) Close(ctx context.Context) error {
	app := []*Pool[*DBConn]{s.Tx, s.Stream, s.Conn}
	errs := make([]error, len(app)+1)
	var wg sync.WaitGroup
	for i, p := range app {
		wg.Go(func() { errs[i] = p.Close(ctx) })
	}
	wg.Wait()
	errs[len(app)] = s.DBA.Close(ctx)
	return errors.Join(errs...)
}

// Vars returns a snapshot of every pool's variables, each named by its pool's
// prefix (ConnPoolCapacity, TransactionPoolWaitCount, ...).
func (s *Set) Vars() []Var {
	var out []Var
	for _, p := range s.Pools() {
		out = append(out, p.Stats().Vars(p.Name())...)
	}
	return out
}

// VarFuncs returns every pool's variables as functions for a registry that
// reads them when scraped.
func (s *Set) VarFuncs() []VarFunc {
	var out []VarFunc
	for _, p := range s.Pools() {
		out = append(out, VarFuncs(p.Name(), p.Stats)...)
	}
	return out
}

// KillQuery stops the statement running on server connection id (KILL
// QUERY) through the dba pool; the connection survives with error 1317 on
// the killed statement.
func (s *Set) KillQuery(ctx context.Context, id int64) error {
	return s.kill(ctx, "KILL QUERY", id)
}

// KillConnection closes server connection id (KILL) through the dba pool.
func (s *Set) KillConnection(ctx context.Context, id int64) error {
	return s.kill(ctx, "KILL", id)
}

func (s *Set) kill(ctx context.Context, stmt string, id int64) error {
	pc, err := s.DBA.Get(ctx)
	if err != nil {
		return fmt.Errorf("%s %d: %w", stmt, id, err)
	}
	defer pc.Release()
	if _, err := pc.Conn.Exec(ctx, fmt.Sprintf("%s %d", stmt, id)); err != nil {
		return fmt.Errorf("%s %d: %w", stmt, id, err)
	}
	return nil
}
