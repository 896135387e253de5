package memory

import (
	"errors"
	"fmt"

	"github.com/tabletd/tablet/topo"
)

var (
	errConnClosed = errors.New("memory topo connection closed")
	errLeaseLost  = errors.New("lease expired or revoked")
)

func versionMismatch(want, have topo.Version) error {
	return fmt.Errorf("expected version %v, node has %v", want, have)
}
