package topo

import (
	"flag"
	"fmt"
	"strconv"
	"time"
)

// AddFlags binds c's fields to vttablet's flag names on fs, a FlagSet the
// caller owns, with c's current values as defaults:
//
//	--topo_implementation         Implementation
//	--topo_global_server_address  GlobalServerAddress
//	--topo_global_root            GlobalRoot
//	--topo_etcd_lease_duration    LeaseDuration ("30s", or bare seconds "30")
//	--lock-timeout                LockTimeout
//	--topo-call-timeout           CallTimeout (ours: no vttablet equivalent)
//
// Validate the Config after parsing.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Implementation, "topo_implementation", c.Implementation,
		"topology service implementation: "+ImplEtcd2+" or "+ImplMemory)
	fs.StringVar(&c.GlobalServerAddress, "topo_global_server_address", c.GlobalServerAddress,
		"address of the global topology server (for etcd2, comma-separated host:port or http://host:port)")
	fs.StringVar(&c.GlobalRoot, "topo_global_root", c.GlobalRoot,
		"path of the global topology data on that server, such as /vitess/global")
	fs.Var((*secondsOrDuration)(&c.LeaseDuration), "topo_etcd_lease_duration",
		"TTL of the lease behind topology locks and elections (Go duration or whole seconds)")
	fs.Var((*secondsOrDuration)(&c.LockTimeout), "lock-timeout",
		"how long to wait for a keyspace or shard lock")
	fs.Var((*secondsOrDuration)(&c.CallTimeout), "topo-call-timeout",
		"deadline of a topology call made without one")
}

// secondsOrDuration is a flag.Value for a duration given in Go syntax
// ("30s") or, as vttablet once took it, in bare seconds ("30").
type secondsOrDuration time.Duration

// String implements flag.Value.
func (d *secondsOrDuration) String() string { return time.Duration(*d).String() }

// Set implements flag.Value.
func (d *secondsOrDuration) Set(s string) error {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		*d = secondsOrDuration(time.Duration(n * float64(time.Second)))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is neither a duration (30s) nor a number of seconds", s)
	}
	*d = secondsOrDuration(v)
	return nil
}
