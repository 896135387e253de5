package memory_test

import (
	"testing"
	"time"

	"github.com/tabletd/tablet/topo"
	"github.com/tabletd/tablet/topo/memory"
	"github.com/tabletd/tablet/topo/topotest"
)

func TestMain(m *testing.M) { topotest.Main(m) }

// testStore adapts a memory.Store to topotest.Store.
type testStore struct {
	st   *memory.Store
	root string
}

func (s *testStore) Open(t *testing.T) topo.Conn {
	c, err := s.st.Open(s.root)
	if err != nil {
		t.Fatalf("open memory conn: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (s *testStore) LeaseTTL() time.Duration { return s.st.LeaseTTL() }

func TestConformance(t *testing.T) {
	topotest.Run(t, func(t *testing.T) topotest.Store {
		st := memory.NewStore(memory.Config{LeaseTTL: 300 * time.Millisecond})
		t.Cleanup(st.Close)
		return &testStore{st: st, root: "/vitess/test"}
	})
}

// TestRootsAreSeparate checks that Conns under different roots of one
// Store do not see each other's nodes, as cells sharing a server must not.
func TestRootsAreSeparate(t *testing.T) {
	st := memory.NewStore(memory.DefaultConfig())
	defer st.Close()
	a, err := st.Open("/vitess/global")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := st.Open("/vitess/global2")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.Create(t.Context(), "x", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Get(t.Context(), "x"); topo.CodeOf(err) != topo.NoNode {
		t.Fatalf("Get under another root = %v, want NoNode", err)
	}
	if _, err := b.List(t.Context(), "/"); topo.CodeOf(err) != topo.NoNode {
		t.Fatalf("List under another root = %v, want NoNode", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     memory.Config
		wantErr bool
	}{
		{"default", memory.DefaultConfig(), false},
		{"zero TTL", memory.Config{}, true},
		{"negative TTL", memory.Config{LeaseTTL: -time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
