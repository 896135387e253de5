package memory

import (
	"context"
	"sync"

	"github.com/tabletd/tablet/topo"
)

// watcher queues the changes of one key for one Watch; its goroutine
// delivers them, so the store never blocks on a slow reader.
type watcher struct {
	mu     sync.Mutex // guards queue
	queue  []*topo.WatchData
	notify chan struct{} // capacity 1: "queue is not empty"
}

func (w *watcher) push(wd *topo.WatchData) {
	w.mu.Lock()
	w.queue = append(w.queue, wd)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *watcher) take() []*topo.WatchData {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	return q
}

// Watch implements topo.Conn.
func (c *Conn) Watch(ctx context.Context, p string) (*topo.WatchData, <-chan *topo.WatchData, error) {
	key, err := c.start(ctx, "watch", p, true)
	if err != nil {
		return nil, nil, err
	}
	w := &watcher{notify: make(chan struct{}, 1)}
	c.s.mu.Lock()
	n, ok := c.s.nodes[key]
	if !ok {
		c.s.mu.Unlock()
		return nil, nil, topo.NewError(topo.NoNode, "watch", key, nil)
	}
	current := &topo.WatchData{Contents: append([]byte(nil), n.data...), Version: n.version}
	if c.s.watchers[key] == nil {
		c.s.watchers[key] = make(map[*watcher]struct{})
	}
	c.s.watchers[key][w] = struct{}{}
	c.s.mu.Unlock()

	out := make(chan *topo.WatchData, 8)
	c.goAttach(func() { c.deliver(ctx, key, w, out) })
	return current, out, nil
}

// deliver sends w's changes to out until the node is deleted, ctx ends or
// the Conn closes, then unregisters w and closes out.
func (c *Conn) deliver(ctx context.Context, key string, w *watcher, out chan<- *topo.WatchData) {
	defer close(out)
	defer func() {
		c.s.mu.Lock()
		delete(c.s.watchers[key], w)
		if len(c.s.watchers[key]) == 0 {
			delete(c.s.watchers, key)
		}
		c.s.mu.Unlock()
	}()
	interrupted := func() {
		var cause error = errConnClosed
		if ctx.Err() != nil {
			cause = context.Cause(ctx)
		}
		select {
		case out <- &topo.WatchData{Err: topo.NewError(topo.Interrupted, "watch", key, cause)}:
		default:
		}
	}
	for {
		select {
		case <-w.notify:
		case <-ctx.Done():
			interrupted()
			return
		case <-c.done:
			interrupted()
			return
		}
		for _, wd := range w.take() {
			select {
			case out <- wd:
			case <-ctx.Done():
				interrupted()
				return
			case <-c.done:
				interrupted()
				return
			}
			if wd.Err != nil {
				return
			}
		}
	}
}
