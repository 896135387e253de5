package etcd2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/tabletd/tablet/topo"
)

// Config says which etcd to use and how.
type Config struct {
	// Endpoints are the etcd client endpoints, "host:port" or
	// "http(s)://host:port". At least one is required.
	Endpoints []string

	// Root is the key prefix of every path, such as "/vitess/global".
	Root string

	// LeaseTTL is the TTL of the leases behind locks and elections. etcd
	// counts whole seconds: it must be at least 1s and is rounded up.
	// Default 30s.
	LeaseTTL time.Duration

	// DialTimeout bounds the client's authentication exchange when
	// credentials are used; connecting itself never blocks Open. Zero means
	// no bound. Default 5s.
	DialTimeout time.Duration

	// ReconnectBackoffMax caps the wait between reconnection attempts.
	// Zero means gRPC's default of 120s, which can leave a client idle for
	// minutes after etcd returns. Default 2s.
	ReconnectBackoffMax time.Duration

	// KeepAliveTime is how often the client pings an idle connection to
	// detect a dead server; zero disables it. etcd refuses pings more often
	// than every 5s by default. Default 10s.
	KeepAliveTime time.Duration

	// KeepAliveTimeout is how long a ping may go unanswered before the
	// connection is closed. Default 5s.
	KeepAliveTimeout time.Duration
}

// DefaultConfig returns the defaults; the caller sets Endpoints and Root.
func DefaultConfig() Config {
	return Config{
		LeaseTTL:            30 * time.Second,
		DialTimeout:         5 * time.Second,
		ReconnectBackoffMax: 2 * time.Second,
		KeepAliveTime:       10 * time.Second,
		KeepAliveTimeout:    5 * time.Second,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if len(c.Endpoints) == 0 {
		return fmt.Errorf("etcd2 topo: no endpoints")
	}
	for _, e := range c.Endpoints {
		if strings.TrimSpace(e) == "" || strings.Contains(e, ",") {
			return fmt.Errorf("etcd2 topo: bad endpoint %q", e)
		}
	}
	if err := topo.ValidateRoot(c.Root); err != nil {
		return fmt.Errorf("etcd2 topo: %w", err)
	}
	if c.LeaseTTL < time.Second {
		return fmt.Errorf("etcd2 topo: lease TTL %v must be at least 1s", c.LeaseTTL)
	}
	if c.DialTimeout < 0 || c.ReconnectBackoffMax < 0 || c.KeepAliveTime < 0 || c.KeepAliveTimeout < 0 {
		return fmt.Errorf("etcd2 topo: negative timeout in %+v", c)
	}
	return nil
}

// leaseSeconds is the TTL in whole seconds, rounded up.
func (c Config) leaseSeconds() int64 {
	return int64(math.Ceil(c.LeaseTTL.Seconds()))
}

// Conn implements topo.Conn on an etcd client. It is safe for concurrent
// use.
type Conn struct {
	cfg    Config
	logger *slog.Logger
	cli    *clientv3.Client
	root   string
	// where names the server in error messages.
	where string

	// ctx lives as long as the Conn; Close cancels it, which stops lease
	// keep-alives and watches.
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup // goroutines started by this Conn
	closeOnce sync.Once
	closeErr  error
}

var _ topo.Conn = (*Conn)(nil)

// Open creates a client for cfg.Endpoints. It does not wait for etcd to
// answer; the first call does.
func Open(cfg Config, logger *slog.Logger) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var dialOpts []grpc.DialOption
	if cfg.ReconnectBackoffMax > 0 {
		bc := backoff.DefaultConfig
		bc.BaseDelay = min(bc.BaseDelay, cfg.ReconnectBackoffMax)
		bc.MaxDelay = cfg.ReconnectBackoffMax
		dialOpts = append(dialOpts, grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           bc,
			MinConnectTimeout: max(cfg.DialTimeout, time.Second),
		}))
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            cfg.Endpoints,
		DialTimeout:          cfg.DialTimeout,
		DialKeepAliveTime:    cfg.KeepAliveTime,
		DialKeepAliveTimeout: cfg.KeepAliveTimeout,
		DialOptions:          dialOpts,
		// The client logs every retry; our errors carry what matters.
		Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("open etcd client for %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Conn{
		cfg:    cfg,
		logger: logger,
		cli:    cli,
		root:   cfg.Root,
		where:  "etcd " + strings.Join(cfg.Endpoints, ","),
		ctx:    ctx,
		cancel: cancel,
	}, nil
}

// OpenFunc returns a topo.OpenFunc that opens etcd2 Conns for cells:
// base supplies everything but Endpoints (from the server address, split
// on commas) and Root.
func OpenFunc(base Config, logger *slog.Logger) topo.OpenFunc {
	return func(_ context.Context, serverAddress, root string) (topo.Conn, error) {
		cfg := base
		cfg.Endpoints = topo.SplitServerAddress(serverAddress)
		cfg.Root = root
		return Open(cfg, logger)
	}
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
// key of p, which must name a file when file is set.
func (c *Conn) start(ctx context.Context, op, p string, file bool) (rel, key string, err error) {
	if file {
		rel, err = topo.CleanFilePath(p)
	} else {
		rel, err = topo.CleanPath(p)
	}
	if err != nil {
		return "", "", topo.NewError(topo.Unknown, op, p, err)
	}
	key = topo.JoinRoot(c.root, rel)
	if err := topo.ContextError(ctx, op, key); err != nil {
		return "", "", err
	}
	if c.ctx.Err() != nil {
		return "", "", topo.NewError(topo.Interrupted, op, key, errConnClosed)
	}
	return rel, key, nil
}

// Close implements topo.Conn. Leases are not revoked: locks and leadership
// held through c end when their TTL runs out.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		c.wg.Wait()
		if err := c.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
			c.closeErr = fmt.Errorf("close etcd client: %w", err)
		}
	})
	return c.closeErr
}
