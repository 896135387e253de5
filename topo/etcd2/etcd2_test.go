package etcd2_test

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tabletd/tablet/testenv"
	"github.com/tabletd/tablet/topo"
	"github.com/tabletd/tablet/topo/etcd2"
	"github.com/tabletd/tablet/topo/topotest"
)

func TestMain(m *testing.M) { topotest.Main(m) }

// testStore is one root on a shared embedded etcd.
type testStore struct {
	cfg etcd2.Config
}

func (s *testStore) Open(t *testing.T) topo.Conn {
	c, err := etcd2.Open(s.cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open etcd2 conn: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (s *testStore) LeaseTTL() time.Duration { return s.cfg.LeaseTTL }

func TestConformance(t *testing.T) {
	e := testenv.StartEtcd(t)
	var n atomic.Int32
	topotest.Run(t, func(t *testing.T) topotest.Store {
		cfg := etcd2.DefaultConfig()
		cfg.Endpoints = []string{e.Endpoint()}
		cfg.Root = fmt.Sprintf("/conformance/%d", n.Add(1))
		// Short enough for the dead-holder checks to finish quickly; etcd
		// counts whole seconds.
		cfg.LeaseTTL = time.Second
		return &testStore{cfg: cfg}
	})
}

func TestConfigValidate(t *testing.T) {
	good := etcd2.DefaultConfig()
	good.Endpoints = []string{"127.0.0.1:2379"}
	good.Root = "/vitess/global"
	tests := []struct {
		name    string
		mod     func(*etcd2.Config)
		wantErr bool
	}{
		{"good", func(*etcd2.Config) {}, false},
		{"no endpoints", func(c *etcd2.Config) { c.Endpoints = nil }, true},
		{"comma in endpoint", func(c *etcd2.Config) { c.Endpoints = []string{"a:1,b:2"} }, true},
		{"empty root", func(c *etcd2.Config) { c.Root = "" }, true},
		{"server root", func(c *etcd2.Config) { c.Root = "/" }, true},
		{"sub-second TTL", func(c *etcd2.Config) { c.LeaseTTL = 500 * time.Millisecond }, true},
		{"negative backoff", func(c *etcd2.Config) { c.ReconnectBackoffMax = -1 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mod(&cfg)
			if err := cfg.Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
