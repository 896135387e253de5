package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
)

// Querier runs a query on the local mysqld; *sql.DB satisfies it.
type Querier = mysqld.Querier

// DB runs queries and statements on the local mysqld; *sql.DB satisfies
// it.
type DB = mysqld.Execer

// Deps are what a Manager needs from the tablet around it.
type Deps struct {
	// Storage holds the backups (see the blobstore subpackage). Required.
	// The Manager does not close it.
	Storage Storage
	// Flavor is the local server's flavor. Required.
	Flavor mysqld.Flavor
	// Engine runs the backup tool. Nil builds an XtraBackup engine from
	// the Config, the Flavor and ToolConn.
	Engine Engine
	// ToolConn is how the tool reaches mysqld, when Engine is nil (see
	// NewToolConn).
	ToolConn ToolConn
	// DB reaches the local mysqld as the dba user (which needs RELOAD)
	// for its version, the empty-database check and the flush of non-InnoDB
	// tables before the tool runs. Required by Backup.
	DB DB
	// DataDir is the local mysqld's datadir, which Restore fills and Plan
	// inspects. Required by Restore and Plan.
	DataDir string
	// Logger receives one line per event; nil discards.
	Logger *slog.Logger
	// Registry receives the package's variables (see metrics); nil keeps
	// them private. Register one Manager per Registry.
	Registry *debugvars.Registry
	// Now is the clock; nil is time.Now. Tests set it.
	Now func() time.Time
}

// Manager takes backups of the local mysqld, lists and prunes a shard's
// backups, and restores the local datadir from one. It runs at most one
// backup or restore at a time and refuses a second with ErrBusy. Methods
// are safe for concurrent use; a Manager starts no goroutine that outlives
// the call that started it, so it needs no Close.
type Manager struct {
	cfg     Config
	codec   codec
	store   Storage
	engine  Engine
	flavor  mysqld.Flavor
	db      DB
	dataDir string
	logger  *slog.Logger
	metrics *metrics
	now     func() time.Time

	mu      sync.Mutex // guards running
	running *operation // the backup or restore in progress, or nil
}

// operation names the backup or restore in progress, for ErrBusy.
type operation struct {
	kind, name string
	start      time.Time
}

// New checks cfg and deps and returns a Manager. It does not touch the
// storage or the server.
func New(cfg Config, deps Deps) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Storage == nil || deps.Flavor == nil {
		return nil, errors.New("backup.New: Storage and Flavor are required")
	}
	c, err := newCodec(cfg.Compression, cfg.CompressionLevel)
	if err != nil {
		return nil, fmt.Errorf("--compression-engine-name: %w", err)
	}
	m := &Manager{
		cfg:     cfg,
		codec:   c,
		store:   deps.Storage,
		engine:  deps.Engine,
		flavor:  deps.Flavor,
		db:      deps.DB,
		dataDir: deps.DataDir,
		logger:  deps.Logger,
		now:     deps.Now,
	}
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.engine == nil {
		x, err := NewXtraBackup(cfg, deps.Flavor, deps.ToolConn, m.logger)
		if err != nil {
			return nil, err
		}
		m.engine = x
	}
	reg := deps.Registry
	if reg == nil {
		reg = debugvars.New()
	}
	m.metrics = newMetrics(reg)
	return m, nil
}

// Engine is the engine the Manager uses.
func (m *Manager) Engine() Engine { return m.engine }

// acquire claims the one operation slot, or fails with ErrBusy naming
// the operation that holds it. release frees it.
func (m *Manager) acquire(kind, name string) (release func(), err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if op := m.running; op != nil {
		return nil, fmt.Errorf("%w: %s %s started %s ago", ErrBusy, op.kind, op.name, m.now().Sub(op.start).Round(time.Second))
	}
	m.running = &operation{kind: kind, name: name, start: m.now()}
	return func() {
		m.mu.Lock()
		m.running = nil
		m.mu.Unlock()
	}, nil
}

// Running reports the backup or restore in progress: its kind ("backup"
// or "restore"), the backup's name and when it started.
func (m *Manager) Running() (kind, name string, start time.Time, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running == nil {
		return "", "", time.Time{}, false
	}
	return m.running.kind, m.running.name, m.running.start, true
}

// retry runs f up to StorageAttempts times, waiting RetryDelay, then twice
// that, and so on, between attempts. It gives up at once when ctx ends or
// f's error is permanent (ErrNotFound, ErrChecksum).
func (m *Manager) retry(ctx context.Context, what string, f func(context.Context) error) error {
	delay := m.cfg.RetryDelay
	var err error
	for attempt := 1; ; attempt++ {
		if err = f(ctx); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrChecksum) || attempt >= m.cfg.StorageAttempts {
			break
		}
		m.logger.Warn("storage operation failed, retrying", "op", what, "attempt", attempt, "delay", delay, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
		delay *= 2
	}
	if m.cfg.StorageAttempts > 1 && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrChecksum) {
		return fmt.Errorf("%s: %d attempts failed, the last with: %w", what, m.cfg.StorageAttempts, err)
	}
	return err
}
