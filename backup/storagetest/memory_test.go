package storagetest_test

import (
	"testing"

	"github.com/tabletd/tablet/backup"
	"github.com/tabletd/tablet/backup/storagetest"
	"github.com/tabletd/tablet/testenv"
)

func TestMain(m *testing.M) {
	testenv.LeakCheckMain(m, "github.com/tabletd/tablet/backup")
}

// The fake passes the suite the real stores pass.
func TestMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) backup.Storage { return storagetest.NewMemory() })
}
