package agent

import (
	"testing"

	"github.com/tabletd/tablet/testenv"
)

// TestMain fails the run if a goroutine of this package outlives the
// tests: every role manager and watch must stop when its context ends.
func TestMain(m *testing.M) {
	testenv.LeakCheckMain(m, "tabletd/tablet/agent.", "tabletd/tablet/topo/memory.")
}
