package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/tabletd/tablet/proto/queryservicepb"
	"github.com/tabletd/tablet/proto/tabletctlpb"
	"github.com/tabletd/tablet/proto/tabletmanagerservicepb"
)

// Config says how to reach a tablet. The flag names in the comments are
// those of the tablet binary's client subcommands, after vtctl's.
type Config struct {
	// Address is the tablet's gRPC address, host:port (--server).
	Address string
	// CAFile is a PEM bundle of the CAs that sign the tablet's certificate
	// (--tablet_grpc_ca). Setting it, or CertFile, switches to TLS.
	CAFile string
	// CertFile and KeyFile are the client's certificate and key, for a
	// tablet that checks client certificates (--tablet_grpc_cert,
	// --tablet_grpc_key). Both or neither.
	CertFile, KeyFile string
	// ServerName overrides the name checked against the tablet's
	// certificate; empty means the host of Address
	// (--tablet_grpc_server_name).
	ServerName string
	// MaxMessageSize is the largest message sent or received, in bytes
	// (--grpc_max_message_size), default 16 MiB as the tablet's.
	MaxMessageSize int
	// KeepaliveTime is how long the connection may be idle before the
	// client pings the tablet, and KeepaliveTimeout how long it waits for
	// the answer (--grpc_keepalive_time, --grpc_keepalive_timeout), 10s
	// each as vttablet's clients. A time under the tablet's
	// --grpc_server_keepalive_enforcement_policy_min_time gets the
	// connection closed by the tablet.
	KeepaliveTime, KeepaliveTimeout time.Duration
}

// DefaultConfig returns the defaults: plaintext, 16 MiB messages, 10s
// keepalives, no address.
func DefaultConfig() Config {
	return Config{MaxMessageSize: 16 * 1024 * 1024, KeepaliveTime: 10 * time.Second, KeepaliveTimeout: 10 * time.Second}
}

// Validate checks c without reading any file; errors name the flag.
func (c Config) Validate() error {
	var errs []error
	if c.Address == "" {
		errs = append(errs, errors.New("--server is required: the tablet's gRPC address, host:port"))
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, fmt.Errorf("--tablet_grpc_cert and --tablet_grpc_key go together: got %q and %q", c.CertFile, c.KeyFile))
	}
	if c.MaxMessageSize < 0 {
		errs = append(errs, fmt.Errorf("--grpc_max_message_size must not be negative, got %d", c.MaxMessageSize))
	}
	if c.KeepaliveTime < 0 || c.KeepaliveTimeout < 0 {
		errs = append(errs, fmt.Errorf("--grpc_keepalive_time and --grpc_keepalive_timeout must not be negative, got %v and %v", c.KeepaliveTime, c.KeepaliveTimeout))
	}
	return errors.Join(errs...)
}

// TLS reports whether the client speaks TLS.
func (c Config) TLS() bool { return c.CAFile != "" || c.CertFile != "" }

// DialOptions returns the grpc.DialOptions for c, reading the certificate
// files now.
func (c Config) DialOptions() ([]grpc.DialOption, error) {
	var opts []grpc.DialOption
	if c.MaxMessageSize > 0 {
		opts = append(opts, grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(c.MaxMessageSize), grpc.MaxCallSendMsgSize(c.MaxMessageSize)))
	}
	if c.KeepaliveTime > 0 {
		opts = append(opts, grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: c.KeepaliveTime, Timeout: c.KeepaliveTimeout}))
	}
	if !c.TLS() {
		return append(opts, grpc.WithTransportCredentials(insecure.NewCredentials())), nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--tablet_grpc_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tablet_grpc_ca=%s holds no PEM certificate", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("--tablet_grpc_cert=%s --tablet_grpc_key=%s: %w", c.CertFile, c.KeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return append(opts, grpc.WithTransportCredentials(credentials.NewTLS(tc))), nil
}

// Client talks to one tablet. It is safe for concurrent use; its
// connection is made on the first call and kept, reconnecting as needed.
type Client struct {
	conn    *grpc.ClientConn
	query   queryservicepb.QueryClient
	manager tabletmanagerservicepb.TabletManagerClient
	control tabletctlpb.TabletControlClient
}

// New returns a client of the tablet at cfg.Address. It does no I/O
// beyond reading certificate files: the connection is made on the first
// call. Close it when done.
func New(cfg Config, extra ...grpc.DialOption) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts, err := cfg.DialOptions()
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(cfg.Address, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("tablet client for %s: %w", cfg.Address, err)
	}
	return &Client{
		conn:    conn,
		query:   queryservicepb.NewQueryClient(conn),
		manager: tabletmanagerservicepb.NewTabletManagerClient(conn),
		control: tabletctlpb.NewTabletControlClient(conn),
	}, nil
}

// Close closes the connection; calls in flight fail with CANCELED.
func (c *Client) Close() error { return c.conn.Close() }

// Conn returns the underlying connection, for other services on the same
// port (grpc.health.v1, reflection).
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Query returns the raw Query service client, for calls this package does
// not wrap.
func (c *Client) Query() queryservicepb.QueryClient { return c.query }

// Caller identifies on whose behalf requests are made: the effective
// caller (who the request is for) and the immediate caller (the gateway's
// user). The tablet counts statistics and logs queries by them; nothing
// verifies them.
type Caller struct {
	Principal, Component, Subcomponent string // effective caller
	Username                           string // immediate caller
}

type callerKey struct{}

// WithCaller returns ctx carrying c, which every call made with the
// context sends.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

func callerOf(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}
