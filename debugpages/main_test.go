package debugpages

import (
	"testing"

	"github.com/tabletd/tablet/testenv"
)

// TestMain fails the run if a stream handler, a TableStats loop, or the
// engine and pools that the integration tests build outlive their tests.
func TestMain(m *testing.M) {
	testenv.LeakCheckMain(m,
		"github.com/tabletd/tablet/debugpages.",
		"github.com/tabletd/tablet/queryserver.",
		"github.com/tabletd/tablet/pools.",
		"go-sql-driver/mysql.")
}
