package testenv

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Etcd is an embedded, single-member etcd server on loopback ports, owned by
// one test (StartEtcd) or by the sandbox (OpenEtcd). Stop and Restart
// simulate an outage; the data directory and the client address survive
// both, so clients reconnect to the same endpoint.
//
// Methods are safe for concurrent use.
type Etcd struct {
	dir       string
	clientURL url.URL
	peerURL   url.URL
	ownsDir   bool
	mu        sync.Mutex // guards srv
	srv       *embed.Etcd
}

// StartEtcd starts an embedded etcd for t and stops it when t ends. It skips
// t under -short.
func StartEtcd(t testing.TB) *Etcd {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: needs an embedded etcd (run without -short)")
	}
	e, err := OpenEtcd(context.Background(), EtcdConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("start embedded etcd: %v", err)
	}
	t.Cleanup(e.Close)
	return e
}

// EtcdConfig describes an embedded etcd.
type EtcdConfig struct {
	// Dir holds the member's data; created if missing, reused if it
	// already holds a member.
	Dir string
	// ClientPort and PeerPort are loopback ports; zero picks free ones.
	// The sandbox keeps them across runs, because the topology records
	// the client address.
	ClientPort, PeerPort int
}

// OpenEtcd starts an embedded etcd as cfg says and waits until it serves.
// The ports are kept for the life of the Etcd.
func OpenEtcd(ctx context.Context, cfg EtcdConfig) (*Etcd, error) {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create etcd dir: %w", err)
	}
	cport, pport := cfg.ClientPort, cfg.PeerPort
	var err error
	if cport == 0 {
		if cport, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if pport == 0 {
		if pport, err = FreePort(); err != nil {
			return nil, err
		}
	}
	e := &Etcd{
		dir:       cfg.Dir,
		clientURL: url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", fmt.Sprint(cport))},
		peerURL:   url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", fmt.Sprint(pport))},
	}
	if err := e.start(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// Endpoint is the client URL ("http://127.0.0.1:PORT"); it does not change
// across Stop and Restart.
func (e *Etcd) Endpoint() string { return e.clientURL.String() }

// Address is the client address as host:port, the form vttablet's
// --topo_global_server_address takes.
func (e *Etcd) Address() string { return e.clientURL.Host }

// ClientPort is the client port.
func (e *Etcd) ClientPort() int { return e.tcpPort(e.clientURL) }

// PeerPort is the peer port.
func (e *Etcd) PeerPort() int { return e.tcpPort(e.peerURL) }

func (e *Etcd) tcpPort(u url.URL) int {
	_, p, _ := net.SplitHostPort(u.Host)
	n, _ := strconv.Atoi(p)
	return n
}

// Dir is the data directory.
func (e *Etcd) Dir() string { return e.dir }

func (e *Etcd) start(ctx context.Context) error {
	cfg := embed.NewConfig()
	cfg.Name = "testenv"
	cfg.Dir = filepath.Join(e.dir, "member")
	cfg.ListenClientUrls = []url.URL{e.clientURL}
	cfg.AdvertiseClientUrls = []url.URL{e.clientURL}
	cfg.ListenPeerUrls = []url.URL{e.peerURL}
	cfg.AdvertisePeerUrls = []url.URL{e.peerURL}
	cfg.InitialCluster = cfg.Name + "=" + e.peerURL.String()
	// Short ticks make a single member elect itself in milliseconds; tests
	// need no durability across power loss.
	cfg.TickMs = 10
	cfg.ElectionMs = 100
	cfg.UnsafeNoFsync = true
	cfg.Logger = "zap"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.LogOutputs = []string{"/dev/null"}
	// etcd's gRPC layer logs through the standard logger on Close.
	log.SetOutput(io.Discard)

	srv, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("start embedded etcd in %s: %w", e.dir, err)
	}
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	select {
	case <-srv.Server.ReadyNotify():
	case err := <-srv.Err():
		srv.Close()
		return fmt.Errorf("embedded etcd failed to start: %w", err)
	case <-deadline.C:
		srv.Close()
		return fmt.Errorf("embedded etcd not ready after 30s")
	case <-ctx.Done():
		srv.Close()
		return context.Cause(ctx)
	}
	e.mu.Lock()
	e.srv = srv
	e.mu.Unlock()
	return nil
}

// Stop shuts the server down, simulating an outage; clients see connection
// errors until Restart. Stop on a stopped server does nothing.
func (e *Etcd) Stop() {
	e.mu.Lock()
	srv := e.srv
	e.srv = nil
	e.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Restart starts a stopped server again on the same data and address.
func (e *Etcd) Restart(ctx context.Context) error {
	e.mu.Lock()
	running := e.srv != nil
	e.mu.Unlock()
	if running {
		return fmt.Errorf("restart etcd: already running")
	}
	return e.start(ctx)
}

// Close stops the server for good. It is idempotent.
func (e *Etcd) Close() { e.Stop() }
