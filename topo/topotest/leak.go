package topotest

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// ownPackages marks goroutines started by this project's topo packages.
const ownPackages = "github.com/tabletd/tablet/topo"

// Main runs the tests of m and then fails the run if goroutines started by
// the topo packages are still alive a few seconds later: every goroutine a
// Conn or Server starts must end by Close. Call it from TestMain:
//
//	func TestMain(m *testing.M) { topotest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := waitForLeaks(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines leaked by topo packages:\n\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// waitForLeaks returns the stacks of leaked goroutines, or "" once there
// are none; it gives goroutines that are finishing up to timeout.
func waitForLeaks(timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		leaked := ownGoroutines()
		if leaked == "" || time.Now().After(deadline) {
			return leaked
		}
		<-tick.C
	}
}

func ownGoroutines() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	// The first stack is the calling goroutine.
	stacks := strings.Split(string(buf), "\n\n")
	var leaked []string
	for _, s := range stacks[1:] {
		if strings.Contains(s, ownPackages) && !strings.Contains(s, ownPackages+"/topotest.") {
			leaked = append(leaked, s)
		}
	}
	return strings.Join(leaked, "\n\n")
}
