package orc_test

import (
	"testing"

	"github.com/tabletd/tablet/testenv"
)

// TestMain fails the run if a goroutine of this package or its test double
// outlives the tests: every Run must return when its context ends, and
// every orctest.Server must stop.
func TestMain(m *testing.M) {
	testenv.LeakCheckMain(m, "tabletd/tablet/orc.", "tabletd/tablet/orc/orctest.")
}
