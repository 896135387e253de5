package etcd2

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tabletd/tablet/topo"
)

var (
	errConnClosed = errors.New("etcd2 topo connection closed")
	errLeaseLost  = errors.New("lock lease expired or revoked")
)

// convertError turns an etcd client error for op on key into a
// topo.Error. When ctx has ended its verdict wins (Timeout or
// Interrupted), with the etcd error kept in the message.
func (c *Conn) convertError(ctx context.Context, op, key string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		if msg := err.Error(); msg != cause.Error() && !errors.Is(err, cause) {
			cause = fmt.Errorf("%w (%s: %v)", cause, c.where, err)
		} else {
			cause = fmt.Errorf("%w (no answer from %s)", cause, c.where)
		}
		code := topo.Interrupted
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			code = topo.Timeout
		}
		return topo.NewError(code, op, key, cause)
	}
	if c.ctx.Err() != nil {
		return topo.NewError(topo.Interrupted, op, key, errConnClosed)
	}
	code := topo.Unknown
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		code = topo.Timeout
	case errors.Is(err, context.Canceled):
		code = topo.Interrupted
	case errors.Is(err, rpctypes.ErrLeaseNotFound):
		code = topo.NoNode
	default:
		switch status.Code(err) {
		case codes.DeadlineExceeded:
			code = topo.Timeout
		case codes.Canceled:
			code = topo.Interrupted
		case codes.Unavailable:
			code = topo.Unavailable
		}
	}
	return topo.NewError(code, op, key, fmt.Errorf("%s: %w", c.where, err))
}

func versionMismatch(want topo.Version, have int64) error {
	return fmt.Errorf("expected version %v, node has %v", want, have)
}

// errLeaseNotFound is what Revoke returns for a lease that already ended.
var errLeaseNotFound = rpctypes.ErrLeaseNotFound
