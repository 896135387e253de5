package topotest

import (
	"context"
	"testing"
	"time"

	"github.com/tabletd/tablet/topo"
)

// next receives one WatchData or fails after timeout.
func next(t *testing.T, ch <-chan *topo.WatchData, timeout time.Duration) (*topo.WatchData, bool) {
	t.Helper()
	select {
	case wd, ok := <-ch:
		return wd, ok
	case <-time.After(timeout):
		t.Fatalf("no watch event within %v", timeout)
		return nil, false
	}
}

func checkWatch(t *testing.T, s Store) {
	ctx := testContext(t, 30*time.Second)
	c := s.Open(t)
	const p = "w/node"
	_, _, err := c.Watch(ctx, p)
	ExpectError(t, err, topo.NoNode, p)

	v1, err := c.Create(ctx, p, []byte("v1"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	// Watch from another client than the writer.
	w := s.Open(t)
	current, changes, err := w.Watch(ctx, p)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if string(current.Contents) != "v1" || current.Version != v1 || current.Err != nil {
		t.Fatalf("Watch current = %q, %v, %v; want v1, %v", current.Contents, current.Version, current.Err, v1)
	}
	// Every update arrives, in order, with its version; a write to a
	// sibling does not.
	want := []struct {
		data string
		v    topo.Version
	}{}
	prev := v1
	for _, d := range []string{"v2", "v3", "v4"} {
		v, err := c.Update(ctx, p, []byte(d), prev)
		if err != nil {
			t.Fatalf("Update %s: %v", d, err)
		}
		if _, err := c.Update(ctx, p+"x", []byte("sibling"), 0); err != nil {
			t.Fatalf("Update sibling: %v", err)
		}
		want = append(want, struct {
			data string
			v    topo.Version
		}{d, v})
		prev = v
	}
	for _, wv := range want {
		wd, ok := next(t, changes, 10*time.Second)
		if !ok {
			t.Fatalf("watch channel closed, want %s", wv.data)
		}
		if wd.Err != nil || string(wd.Contents) != wv.data || wd.Version != wv.v {
			t.Fatalf("watch event = %q, %v, %v; want %s, %v", wd.Contents, wd.Version, wd.Err, wv.data, wv.v)
		}
	}
	// Deletion arrives as NoNode, then the channel closes.
	if err := c.Delete(ctx, p, 0); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wd, ok := next(t, changes, 10*time.Second)
	if !ok {
		t.Fatalf("watch channel closed without the deletion")
	}
	ExpectError(t, wd.Err, topo.NoNode, p)
	if wd, ok := next(t, changes, 10*time.Second); ok {
		t.Fatalf("watch channel still open after deletion; got %+v", wd)
	}
}

func checkWatchCancel(t *testing.T, s Store) {
	ctx := testContext(t, 30*time.Second)
	c := s.Open(t)
	const p = "w/cancel"
	if _, err := c.Create(ctx, p, []byte("v")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	_, changes, err := c.Watch(wctx, p)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	cancel()
	// The channel closes, possibly after one Interrupted error.
	for {
		wd, ok := next(t, changes, 10*time.Second)
		if !ok {
			break
		}
		ExpectError(t, wd.Err, topo.Interrupted, p)
	}

	// Closing the Conn ends its watches too.
	_, changes, err = c.Watch(ctx, p)
	if err != nil {
		t.Fatalf("second Watch: %v", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	for {
		wd, ok := next(t, changes, 10*time.Second)
		if !ok {
			break
		}
		ExpectError(t, wd.Err, topo.Interrupted, p)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
}
