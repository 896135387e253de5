package queryserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tabletd/tablet/pools"
)

// waitEstimator keeps an exponentially weighted average of how long
// requests that found their pool busy waited for a connection (or gave up
// at the pool's wait timeout): the expected wait for the next one. It is
// safe for concurrent use.
type waitEstimator struct {
	mu   sync.Mutex // guards the fields below
	avg  time.Duration
	last time.Time // when avg was last updated; zero: no estimate
}

// estimateWeight is the weight of a new sample, 1/4: a burst of four
// waits mostly replaces the estimate, one odd wait moves it a quarter.
const estimateWeight = 4

// estimateTTL is how long an estimate stays valid without new samples:
// after a quiet spell the pool's past says little about its present.
const estimateTTL = 10 * time.Second

func (w *waitEstimator) observe(d time.Duration, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last.IsZero() || now.Sub(w.last) > estimateTTL {
		w.avg = d
	} else {
		w.avg += (d - w.avg) / estimateWeight
	}
	w.last = now
}

// expected returns the expected wait, and false when there is no recent
// estimate.
func (w *waitEstimator) expected(now time.Time) (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last.IsZero() || now.Sub(w.last) > estimateTTL {
		return 0, false
	}
	return w.avg, true
}

// poolRef is one of the engine's pools with what requests need to know
// about it: its wait estimate and how to describe it being full.
type poolRef struct {
	pool  *pools.Pool[*pools.DBConn]
	est   *waitEstimator
	full  error  // the sentinel for "pool full"
	flags string // the flags that size and time it, for messages
}

func (e *Engine) connPool() poolRef {
	return poolRef{e.pools.Conn, &e.connWait, ErrPoolFull,
		"--queryserver-config-pool-size, --queryserver-config-query-pool-timeout"}
}

func (e *Engine) streamPool() poolRef {
	return poolRef{e.pools.Stream, &e.streamWait, ErrPoolFull,
		"--queryserver-config-stream-pool-size, --queryserver-config-stream-pool-timeout"}
}

func (e *Engine) txPool() poolRef {
	return poolRef{e.pools.Tx, &e.txWait, ErrTxPoolFull,
		"--queryserver-config-transaction-cap, --queryserver-config-txpool-timeout"}
}

// getConn takes a connection from p within the request's budget. A caller
// whose remaining budget cannot cover the wait the pool has recently
// imposed is refused at once with ErrOverloaded rather than queued to fail
// later. Errors: ErrOverloaded and the pool's "full" sentinel
// (CodeResourceExhausted), ErrQueryTimeout (the budget ran out while
// waiting), ErrQueryKilled (the caller canceled), ErrNotServing (the pool
// is closed or the engine shutting down), or a connect error
// (CodeUnavailable).
func (e *Engine) getConn(ctx context.Context, r *request, p poolRef, b *budget) (*pools.Pooled[*pools.DBConn], error) {
	name := p.pool.Name()
	now := time.Now()
	busy := p.pool.Available() <= 0
	if rem, ok := b.remaining(now); ok {
		if rem <= 0 {
			return nil, b.expired("before taking a " + name + " connection")
		}
		if busy {
			if exp, ok := p.est.expected(now); ok && exp > rem {
				return nil, errorf(CodeResourceExhausted, ErrOverloaded,
					"%s has no free connection and recent waits for one averaged %v; the %v left of %s cannot cover that (%s)",
					name, exp.Round(time.Millisecond), rem.Round(time.Millisecond), b.describe(), p.flags)
			}
		}
	}

	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !b.deadline.IsZero() {
		var cancelDeadline context.CancelFunc
		gctx, cancelDeadline = context.WithDeadline(gctx, b.deadline)
		defer cancelDeadline()
	}
	stop := context.AfterFunc(e.lifeCtx, cancel)
	defer stop()

	pc, err := p.pool.Get(gctx)
	wait := time.Since(now)
	r.waitTime += wait
	if err == nil {
		if busy {
			p.est.observe(wait, time.Now())
		}
		return pc, nil
	}
	switch {
	case errors.Is(err, pools.ErrPoolExhausted):
		if busy {
			p.est.observe(wait, time.Now())
		}
		what := "connection pool full"
		if p.full == ErrTxPoolFull {
			what = "transaction pool full"
		}
		return nil, errorf(CodeResourceExhausted, p.full, "%s: %w (%s)", what, err, p.flags)
	case errors.Is(err, pools.ErrPoolClosed):
		return nil, errorf(CodeUnavailable, ErrNotServing, "%s is closed: %w", name, err)
	case e.lifeCtx.Err() != nil:
		return nil, errorf(CodeUnavailable, ErrNotServing, "waiting for a %s connection: the query service is shutting down", name)
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		ce := errorf(CodeCanceled, ErrQueryKilled, "canceled by the caller after waiting %v for a %s connection", wait.Round(time.Millisecond), name)
		ce.callerSpecific = true
		return nil, ce
	case gctx.Err() != nil:
		return nil, b.expired(fmt.Sprintf("waiting %v for a %s connection", wait.Round(time.Millisecond), name))
	}
	return nil, errorf(CodeUnavailable, nil, "%s: %w", name, err)
}
