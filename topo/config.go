package topo

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// Implementations accepted in Config.Implementation.
const (
	// ImplEtcd2 is the etcd v3 backend (package topo/etcd2).
	ImplEtcd2 = "etcd2"
	// ImplMemory is the in-process backend (package topo/memory): one
	// store per opened Server, gone when the process exits. For tests and
	// dry runs only.
	ImplMemory = "memory"
)

// Config says how to reach the topology service and how long calls may
// take. Field comments name the vttablet flag each one carries; flags are
// bound in cmd/tablet.
type Config struct {
	// Implementation is the backend: "etcd2" or "memory"
	// (--topo_implementation).
	Implementation string

	// GlobalServerAddress is the global topology server
	// (--topo_global_server_address); for etcd2, comma-separated endpoints,
	// "host:port" or "http(s)://host:port". Required for etcd2, ignored by
	// memory.
	GlobalServerAddress string

	// GlobalRoot is the path under which global records live
	// (--topo_global_root), for instance "/vitess/global". Required.
	GlobalRoot string

	// LeaseDuration is the TTL of the lease behind locks and leader
	// elections (--topo_etcd_lease_duration): a holder that dies loses its
	// lock within it. etcd counts whole seconds, so it must be at least 1s
	// and is rounded up to a second. Default 30s, as in Vitess.
	LeaseDuration time.Duration

	// DialTimeout bounds the first connection to an etcd server; zero means
	// the client library's default. Default 5s.
	DialTimeout time.Duration

	// ReconnectBackoffMax caps the wait between reconnection attempts to an
	// unreachable server, so a Server recovers soon after its topology
	// server comes back. Zero means the gRPC default (120s). Default 2s.
	ReconnectBackoffMax time.Duration

	// CallTimeout is the deadline Server gives a call whose context has
	// none (vtctl's --remote_operation_timeout plays this part). It must be
	// positive. Default 15s.
	CallTimeout time.Duration

	// LockTimeout is how long Server waits for a keyspace or shard lock
	// when the caller's context has no deadline (Vitess --lock-timeout). It
	// must be positive. Default 45s.
	LockTimeout time.Duration
}

// DefaultConfig returns the defaults; the caller still sets
// GlobalServerAddress and GlobalRoot.
func DefaultConfig() Config {
	return Config{
		Implementation:      ImplEtcd2,
		LeaseDuration:       30 * time.Second,
		DialTimeout:         5 * time.Second,
		ReconnectBackoffMax: 2 * time.Second,
		CallTimeout:         15 * time.Second,
		LockTimeout:         45 * time.Second,
	}
}

// Validate checks the configuration and names the flag at fault. It has no
// side effects.
func (c Config) Validate() error {
	switch c.Implementation {
	case ImplEtcd2:
		if len(SplitServerAddress(c.GlobalServerAddress)) == 0 {
			return fmt.Errorf("--topo_global_server_address is required with --topo_implementation=%s", c.Implementation)
		}
	case ImplMemory:
	case "":
		return fmt.Errorf("--topo_implementation is required (%s or %s)", ImplEtcd2, ImplMemory)
	default:
		return fmt.Errorf("--topo_implementation=%q is not supported (want %s or %s)", c.Implementation, ImplEtcd2, ImplMemory)
	}
	if err := ValidateRoot(c.GlobalRoot); err != nil {
		return fmt.Errorf("--topo_global_root: %w", err)
	}
	if c.LeaseDuration < time.Second {
		return fmt.Errorf("--topo_etcd_lease_duration=%v must be at least 1s", c.LeaseDuration)
	}
	if c.DialTimeout < 0 {
		return fmt.Errorf("topo dial timeout %v is negative", c.DialTimeout)
	}
	if c.ReconnectBackoffMax < 0 {
		return fmt.Errorf("topo reconnect backoff %v is negative", c.ReconnectBackoffMax)
	}
	if c.CallTimeout <= 0 {
		return fmt.Errorf("topo call timeout %v must be positive", c.CallTimeout)
	}
	if c.LockTimeout <= 0 {
		return fmt.Errorf("--lock-timeout=%v must be positive", c.LockTimeout)
	}
	return nil
}

// ValidateRoot checks a root path: not empty, clean, not the store's root
// "/" (which would mix records with everything else on the server).
// Vitess's examples use absolute roots such as "/vitess/global"; a relative
// root is allowed, and keys then have no leading "/", as in Vitess.
func ValidateRoot(root string) error {
	switch {
	case root == "":
		return fmt.Errorf("root is empty")
	case root == "/":
		return fmt.Errorf("root %q must not be the server's root", root)
	case path.Clean(root) != root:
		return fmt.Errorf("root %q is not clean (want %q)", root, path.Clean(root))
	}
	return nil
}

// SplitServerAddress splits a comma-separated server address into its
// non-empty, trimmed parts.
func SplitServerAddress(addr string) []string {
	var out []string
	for _, a := range strings.Split(addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}
