package grpcserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// Config is the tablet's gRPC server settings, shared by every service on
// its gRPC port. Flags are vttablet's (servenv) names.
type Config struct {
	// CertFile and KeyFile are the server's certificate chain and private
	// key in PEM (--grpc_cert, --grpc_key). Both or neither: with them the
	// server speaks TLS only (1.2 or newer), and re-reads them when either
	// file changes, so certificates rotate without a restart.
	CertFile, KeyFile string
	// CAFile is a PEM bundle of the CAs that sign client certificates
	// (--grpc_ca). With it, every client must present a certificate one of
	// them signed; the handshake of any other fails. It needs CertFile
	// and KeyFile.
	CAFile string
	// MaxMessageSize is the largest message the server sends or receives,
	// in bytes (--grpc_max_message_size), default 16 MiB (vttablet's).
	// A non-streaming result larger than this fails; use StreamExecute.
	MaxMessageSize int
	// KeepaliveTime is how long a client connection may be idle before the
	// server pings it (--grpc_server_keepalive_time), and KeepaliveTimeout
	// how long it waits for the answer before closing the connection
	// (--grpc_server_keepalive_timeout); vttablet's defaults, 10s each.
	// Dead gateways are noticed within their sum.
	KeepaliveTime, KeepaliveTimeout time.Duration
	// KeepaliveMinTime is the shortest interval at which a client may ping
	// (--grpc_server_keepalive_enforcement_policy_min_time, default 10s);
	// a client pinging more often is disconnected (GOAWAY
	// "too_many_pings"). Keep it at or under the clients'
	// --grpc_keepalive_time.
	KeepaliveMinTime time.Duration
	// KeepalivePermitWithoutStream lets clients ping while they have no
	// call in flight
	// (--grpc_server_keepalive_enforcement_policy_permit_without_stream,
	// default false).
	KeepalivePermitWithoutStream bool
	// MaxConnectionAge closes a client connection (GOAWAY) after this long,
	// so that clients spread over new tablets (--grpc_max_connection_age);
	// MaxConnectionAgeGrace is how long calls in flight then get
	// (--grpc_max_connection_age_grace). Zero means forever.
	MaxConnectionAge, MaxConnectionAgeGrace time.Duration
}

// DefaultConfig returns vttablet's defaults: plaintext, 16 MiB messages,
// 10s keepalives.
func DefaultConfig() Config {
	return Config{
		MaxMessageSize:   16 * 1024 * 1024,
		KeepaliveTime:    10 * time.Second,
		KeepaliveTimeout: 10 * time.Second,
		KeepaliveMinTime: 10 * time.Second,
	}
}

// Validate checks c without reading any file; errors name the flag.
func (c Config) Validate() error {
	var errs []error
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, fmt.Errorf("--grpc_cert and --grpc_key go together: got --grpc_cert=%q --grpc_key=%q", c.CertFile, c.KeyFile))
	}
	if c.CAFile != "" && c.CertFile == "" {
		errs = append(errs, fmt.Errorf("--grpc_ca=%s checks client certificates over TLS, which needs --grpc_cert and --grpc_key", c.CAFile))
	}
	if c.MaxMessageSize < 1024 {
		errs = append(errs, fmt.Errorf("--grpc_max_message_size must be at least 1024 bytes, got %d", c.MaxMessageSize))
	}
	for flag, d := range map[string]time.Duration{
		"--grpc_server_keepalive_time":                        c.KeepaliveTime,
		"--grpc_server_keepalive_timeout":                     c.KeepaliveTimeout,
		"--grpc_server_keepalive_enforcement_policy_min_time": c.KeepaliveMinTime,
		"--grpc_max_connection_age":                           c.MaxConnectionAge,
		"--grpc_max_connection_age_grace":                     c.MaxConnectionAgeGrace,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %v", flag, d))
		}
	}
	return errors.Join(errs...)
}

// TLS reports whether the server speaks TLS.
func (c Config) TLS() bool { return c.CertFile != "" }

// ServerOptions returns the grpc.ServerOptions for c: credentials (reading
// the certificate, key and CA files now, so a bad file fails the start),
// message sizes, keepalives, and interceptors that turn a panic in a
// handler into an INTERNAL error logged with its stack instead of a crash.
func (c Config) ServerOptions(logger *slog.Logger) ([]grpc.ServerOption, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(c.MaxMessageSize),
		grpc.MaxSendMsgSize(c.MaxMessageSize),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			Time:                  c.KeepaliveTime,
			Timeout:               c.KeepaliveTimeout,
			MaxConnectionAge:      c.MaxConnectionAge,
			MaxConnectionAgeGrace: c.MaxConnectionAgeGrace,
		}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             c.KeepaliveMinTime,
			PermitWithoutStream: c.KeepalivePermitWithoutStream,
		}),
		grpc.ChainUnaryInterceptor(recoverUnary(logger)),
		grpc.ChainStreamInterceptor(recoverStream(logger)),
	}
	if c.TLS() {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(tc)))
	}
	return opts, nil
}

// tlsConfig builds the server's TLS configuration.
func (c Config) tlsConfig() (*tls.Config, error) {
	kp := &keyPair{certFile: c.CertFile, keyFile: c.KeyFile}
	if _, err := kp.get(); err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return kp.get() }}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--grpc_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--grpc_ca=%s holds no PEM certificate", c.CAFile)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// keyPair is a certificate and key read from files, read again when
// either file's modification time changes.
type keyPair struct {
	certFile, keyFile string

	mu              sync.Mutex // guards the fields below
	cert            *tls.Certificate
	certMod, keyMod time.Time
}

// get returns the current certificate, reloading it if a file changed. A
// reload that fails keeps the certificate already loaded.
func (k *keyPair) get() (*tls.Certificate, error) {
	cs, cerr := os.Stat(k.certFile)
	ks, kerr := os.Stat(k.keyFile)
	k.mu.Lock()
	defer k.mu.Unlock()
	if cerr == nil && kerr == nil && k.cert != nil && cs.ModTime().Equal(k.certMod) && ks.ModTime().Equal(k.keyMod) {
		return k.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		if k.cert != nil {
			return k.cert, nil // mid-rotation: keep serving the old one
		}
		return nil, fmt.Errorf("--grpc_cert=%s --grpc_key=%s: %w", k.certFile, k.keyFile, err)
	}
	k.cert = &cert
	if cerr == nil && kerr == nil {
		k.certMod, k.keyMod = cs.ModTime(), ks.ModTime()
	}
	return k.cert, nil
}

// recoverUnary turns a panic in a unary handler into an INTERNAL error.
func recoverUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = panicError(logger, info.FullMethod, p)
			}
		}()
		return handler(ctx, req)
	}
}

// recoverStream turns a panic in a streaming handler into an INTERNAL
// error.
func recoverStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = panicError(logger, info.FullMethod, p)
			}
		}()
		return handler(srv, ss)
	}
}

func panicError(logger *slog.Logger, method string, p any) error {
	logger.Error("grpc handler panicked", "method", method, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return status.Errorf(codes.Internal, "%s: internal error: %v", method, p)
}
