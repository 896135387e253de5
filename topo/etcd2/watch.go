package etcd2

import (
	"context"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/tabletd/tablet/topo"
)

// Watch implements topo.Conn. The watch starts at the revision after the
// one read, so no change between the read and the watch is missed. If etcd
// compacts away revisions the watch still needs, it re-reads the node and
// carries on from there, delivering the current value if it changed.
func (c *Conn) Watch(ctx context.Context, p string) (*topo.WatchData, <-chan *topo.WatchData, error) {
	_, key, err := c.start(ctx, "watch", p, true)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.cli.Get(ctx, key)
	if err != nil {
		return nil, nil, c.convertError(ctx, "watch", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil, topo.NewError(topo.NoNode, "watch", key, nil)
	}
	kv := resp.Kvs[0]
	current := &topo.WatchData{Contents: kv.Value, Version: topo.Version(kv.ModRevision)}

	// The watch ends with the caller's ctx or when c closes.
	wctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.ctx, cancel)
	out := make(chan *topo.WatchData, 8)
	c.goAttach(func() {
		defer stop()
		defer cancel()
		defer close(out)
		c.watchLoop(ctx, wctx, key, resp.Header.Revision, current.Version, out)
	})
	return current, out, nil
}

// watchLoop delivers the changes of key after revision rev until the key is
// deleted, wctx ends, or etcd fails the watch.
func (c *Conn) watchLoop(ctx, wctx context.Context, key string, rev int64, last topo.Version, out chan<- *topo.WatchData) {
	send := func(wd *topo.WatchData) bool {
		select {
		case out <- wd:
			return true
		case <-wctx.Done():
			c.sendInterrupted(ctx, key, out)
			return false
		}
	}
	for {
		wch := c.cli.Watch(wctx, key, clientv3.WithRev(rev+1))
		for wresp := range wch {
			if wresp.CompactRevision != 0 {
				// Resume from the current value.
				break
			}
			if err := wresp.Err(); err != nil {
				send(&topo.WatchData{Err: c.convertError(wctx, "watch", key, err)})
				return
			}
			for _, ev := range wresp.Events {
				switch ev.Type {
				case mvccpb.PUT:
					last = topo.Version(ev.Kv.ModRevision)
					if !send(&topo.WatchData{Contents: ev.Kv.Value, Version: last}) {
						return
					}
				case mvccpb.DELETE:
					send(&topo.WatchData{Err: topo.NewError(topo.NoNode, "watch", key, nil)})
					return
				}
			}
		}
		if wctx.Err() != nil {
			c.sendInterrupted(ctx, key, out)
			return
		}
		// Compacted (or the client dropped the watch): re-read and resume.
		resp, err := c.cli.Get(wctx, key)
		if err != nil {
			send(&topo.WatchData{Err: c.convertError(wctx, "watch", key, err)})
			return
		}
		if len(resp.Kvs) == 0 {
			send(&topo.WatchData{Err: topo.NewError(topo.NoNode, "watch", key, nil)})
			return
		}
		if kv := resp.Kvs[0]; topo.Version(kv.ModRevision) != last {
			last = topo.Version(kv.ModRevision)
			if !send(&topo.WatchData{Contents: kv.Value, Version: last}) {
				return
			}
		}
		rev = resp.Header.Revision
	}
}

// sendInterrupted offers a final Interrupted error without blocking: the
// reader may be gone.
func (c *Conn) sendInterrupted(ctx context.Context, key string, out chan<- *topo.WatchData) {
	var cause error = errConnClosed
	if ctx.Err() != nil {
		cause = context.Cause(ctx)
	}
	select {
	case out <- &topo.WatchData{Err: topo.NewError(topo.Interrupted, "watch", key, cause)}:
	default:
	}
}
