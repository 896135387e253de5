package health

import (
	"testing"

	"github.com/tabletd/tablet/testenv"
)

// TestMain fails the run if a goroutine of this package, or of the MySQL
// driver it drives, outlives the tests: every checker and writer must be
// closed, and Close must wait for its goroutine.
func TestMain(m *testing.M) {
	testenv.LeakCheckMain(m, "tabletd/tablet/health.", "go-sql-driver/mysql.")
}
