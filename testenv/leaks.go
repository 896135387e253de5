package testenv

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// LeakCheckMain runs m's tests and then fails the run if goroutines whose
// stacks mention any of markers (package paths such as
// "github.com/tabletd/tablet/pools." or "go-sql-driver/mysql.") are still
// alive after a grace period: every goroutine a component starts must end
// by its Close. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.LeakCheckMain(m, "github.com/tabletd/tablet/pools.") }
func LeakCheckMain(m *testing.M, markers ...string) {
	code := m.Run()
	if code == 0 {
		if leaked := waitNoLeaks(10*time.Second, markers); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n\n%s\n", strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// waitNoLeaks polls until no leaked goroutine remains or limit passes, and
// returns the stacks of those left; goroutines that are finishing need a
// moment to go.
func waitNoLeaks(limit time.Duration, markers []string) []string {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		leaked := leakedGoroutines(markers)
		if len(leaked) == 0 {
			return nil
		}
		select {
		case <-deadline.C:
			return leaked
		case <-tick.C:
		}
	}
}

func leakedGoroutines(markers []string) []string {
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
	stacks := strings.Split(string(buf), "\n\n")[1:]
	var out []string
	for _, g := range stacks {
		if strings.Contains(g, "testing.(*M)") {
			continue
		}
		for _, mark := range markers {
			if strings.Contains(g, mark) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}
