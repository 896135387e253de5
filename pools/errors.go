package pools

import "errors"

// Sentinel errors returned by Pool.Get, wrapped with the pool's name and the
// circumstances. Test for them with errors.Is.
//
// A Get that fails because the caller's context ended returns neither: it
// wraps the context's error (context.Canceled or context.DeadlineExceeded,
// and the cause when one was set), so "the caller gave up" stays distinct
// from "the pool had nothing to give".
var (
	// ErrPoolClosed is returned by Get on a pool that is not open (never
	// opened, or closed), and by a waiter whose pool closed under it.
	ErrPoolClosed = errors.New("pool closed")

	// ErrPoolExhausted is returned by Get when no connection became
	// available within the pool's wait timeout, or when the queue of waiters
	// was already at its cap. It is the "pool full" condition (vttablet's
	// TxPoolFull for the transaction pool).
	ErrPoolExhausted = errors.New("pool exhausted")

	// ErrRowLimitExceeded is returned by DBConn.Fetch when a result has more
	// rows than the caller allowed.
	ErrRowLimitExceeded = errors.New("row limit exceeded")
)
