package topotest

import (
	"testing"

	"github.com/tabletd/tablet/testenv"
)

// Main runs the tests of m and then fails the run if goroutines started by
// the topo packages are still alive a few seconds later: every goroutine a
// Conn or Server starts must end by Close. Call it from TestMain:
//
//	func TestMain(m *testing.M) { topotest.Main(m) }
func Main(m *testing.M) {
	testenv.LeakCheckMain(m, "github.com/tabletd/tablet/topo")
}
