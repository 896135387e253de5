package pools

import (
	"testing"

	"github.com/tabletd/tablet/testenv"
)

// TestMain fails the run if goroutines of this package, or of the MySQL
// driver it drives, outlive the tests.
func TestMain(m *testing.M) {
	testenv.LeakCheckMain(m, "tabletd/tablet/pools.", "go-sql-driver/mysql.")
}
