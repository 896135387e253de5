package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tabletd/tablet/topo"
)

// claim is this process's hold on its tablet alias: the leadership of the
// election "tablet-<alias>" in the tablet's cell, whose participant id
// names this process. The lease behind it dies with the process, so a
// crashed owner's claim expires within the topology lease TTL.
type claim struct {
	p    topo.LeaderParticipation
	lost context.Context // cancelled when the claim ends
}

// takeClaim takes the alias's claim, or refuses with the live owner's id.
// If the holder has this process's own id (the same host and port: a
// previous run that died, since this one bound the port), it waits up to
// wait for that claim to expire.
func takeClaim(ctx context.Context, conn topo.Conn, alias, id string, wait time.Duration) (*claim, error) {
	p, err := conn.NewLeaderParticipation("tablet-"+alias, id)
	if err != nil {
		return nil, fmt.Errorf("claim tablet %s: %w", alias, err)
	}
	holder, err := p.GetCurrentLeaderID(ctx)
	if err != nil {
		return nil, fmt.Errorf("claim tablet %s: read current owner: %w", alias, err)
	}
	if holder != "" && holder != id {
		return nil, ownedError(alias, holder)
	}
	waitCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	lost, err := p.WaitForLeadership(waitCtx)
	if err != nil {
		p.Stop()
		if errors.Is(err, topo.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			if holder, herr := p.GetCurrentLeaderID(ctx); herr == nil && holder != "" {
				return nil, ownedError(alias, holder)
			}
		}
		return nil, fmt.Errorf("claim tablet %s: %w", alias, err)
	}
	return &claim{p: p, lost: lost}, nil
}

func ownedError(alias, holder string) error {
	return fmt.Errorf("%w: tablet %s is owned by a live process (%s); stop it first, or use another --tablet-path (a crashed owner's claim expires within --topo_etcd_lease_duration)",
		ErrInit, alias, holder)
}

// release gives the claim up at once.
func (c *claim) release() { c.p.Stop() }
