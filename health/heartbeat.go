package health

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
)

// Execer reads and writes on the local mysqld. *sql.DB and *sql.Conn
// satisfy it.
type Execer interface {
	Querier
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// HeartbeatWriter records the time in _vt.heartbeat every
// Config.HeartbeatInterval, on the primary, so that replicas can measure
// their lag to the sub-second (see mysqld.HeartbeatWrite). The writes go
// through the binary log on purpose: replicas must receive them. It needs a
// user that may write on the primary, which the dba user may once the
// primary is writable; it creates the table if missing.
//
// The agent opens it when the tablet becomes the primary and closes it when
// the tablet stops being the primary; it can be opened again after Close.
// With Config.HeartbeatEnable off, Open does nothing. Failed writes are
// counted, logged once per run of failures, and retried every interval.
// Its methods are safe for concurrent use.
type HeartbeatWriter struct {
	cfg    Config
	db     Execer
	logger *slog.Logger
	now    func() time.Time // time.Now; tests may replace it before Open

	writes    *debugvars.Counter
	writeErrs *debugvars.Counter

	mu     sync.Mutex         // guards cancel and done, and serializes Open and Close
	cancel context.CancelFunc // cancels the running writer's context; nil when closed
	done   chan struct{}      // closed when the running writer returns
}

// NewHeartbeatWriter builds a writer without side effects. It registers its
// variables in vars (nil: a private registry) and logs to logger (nil:
// discarded). It panics if the variables are already registered in vars.
func NewHeartbeatWriter(cfg Config, db Execer, vars *debugvars.Registry, logger *slog.Logger) *HeartbeatWriter {
	if vars == nil {
		vars = debugvars.New()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &HeartbeatWriter{
		cfg:       cfg,
		db:        db,
		logger:    logger,
		now:       time.Now,
		writes:    vars.NewCounter("HeartbeatWrites", "tablet_heartbeat_writes_total", "Heartbeats written on the primary."),
		writeErrs: vars.NewCounter("HeartbeatWriteErrors", "tablet_heartbeat_write_errors_total", "Heartbeat writes that failed."),
	}
}

// Open starts writing: the first heartbeat at once, then one every
// interval. It returns at once. It does nothing when the writer is already
// open or heartbeats are off.
func (w *HeartbeatWriter) Open() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil || !w.cfg.HeartbeatEnable {
		return
	}
	// The writer's context lives until Close.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w.cancel, w.done = cancel, done
	go func() {
		defer close(done)
		w.run(ctx)
	}()
	w.logger.Info("heartbeat writer started", "interval", w.cfg.HeartbeatInterval.String())
}

// Close stops writing and waits for a write in progress to end. It is
// idempotent; Open may follow.
func (w *HeartbeatWriter) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel == nil {
		return
	}
	w.cancel()
	<-w.done
	w.cancel, w.done = nil, nil
	w.logger.Info("heartbeat writer stopped")
}

// IsOpen reports whether the writer is running.
func (w *HeartbeatWriter) IsOpen() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cancel != nil
}

// writerState is what the running writer has learned of the server.
type writerState struct {
	serverID   uint32 // zero until read
	tableReady bool   // the DDL has run since the last failure
	failures   int    // consecutive failed writes
}

// run writes until ctx ends.
func (w *HeartbeatWriter) run(ctx context.Context) {
	tick := time.NewTicker(w.cfg.HeartbeatInterval)
	defer tick.Stop()
	var st writerState
	for {
		err := w.write(ctx, &st)
		switch {
		case err == nil:
			w.writes.Add(1)
			if st.failures > 0 {
				w.logger.Info("heartbeat writes resumed", "failed", st.failures)
			}
			st.failures = 0
		case ctx.Err() != nil:
			return // closing: the write was cut short, not failed
		default:
			w.writeErrs.Add(1)
			st.failures++
			st.serverID, st.tableReady = 0, false
			if st.failures == 1 {
				w.logger.Warn("heartbeat write failed; retrying every interval, logging again when it succeeds", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// write records one heartbeat, learning the server id and creating the
// table first if needed. One write is bounded by the interval, and by one
// second at least so that the table can be created on a busy server.
func (w *HeartbeatWriter) write(ctx context.Context, st *writerState) error {
	ctx, cancel := context.WithTimeout(ctx, max(w.cfg.HeartbeatInterval, time.Second))
	defer cancel()
	if st.serverID == 0 {
		rows, err := w.db.QueryContext(ctx, mysqld.ServerIDQuery)
		if err != nil {
			return fmt.Errorf("read server_id: %w", err)
		}
		if rows.Next() {
			err = rows.Scan(&st.serverID)
		} else {
			err = rows.Err()
		}
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("read server_id: %w", err)
		}
		if st.serverID == 0 {
			return errors.New("server_id is 0: a primary needs a unique nonzero server_id")
		}
	}
	if !st.tableReady {
		for _, q := range mysqld.HeartbeatTableDDL() {
			if _, err := w.db.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("create %s: %w", mysqld.HeartbeatTable, err)
			}
		}
		st.tableReady = true
	}
	if _, err := w.db.ExecContext(ctx, mysqld.HeartbeatWrite(st.serverID, w.now())); err != nil {
		return fmt.Errorf("write heartbeat: %w", err)
	}
	return nil
}
