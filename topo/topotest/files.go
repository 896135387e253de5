package topotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tabletd/tablet/topo"
)

var sentinels = map[topo.ErrorCode]error{
	topo.NodeExists:  topo.ErrNodeExists,
	topo.NoNode:      topo.ErrNoNode,
	topo.BadVersion:  topo.ErrBadVersion,
	topo.Interrupted: topo.ErrInterrupted,
	topo.Timeout:     topo.ErrTimeout,
	topo.Unavailable: topo.ErrUnavailable,
}

// ExpectError fails t unless err has code (checked with errors.Is against
// the code's sentinel) and its message names path.
func ExpectError(t testing.TB, err error, code topo.ErrorCode, path string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v on %s", code, path)
	}
	if !errors.Is(err, sentinels[code]) {
		t.Fatalf("got error %q (code %v), want code %v", err, topo.CodeOf(err), code)
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error %q does not name the path %s", err, path)
	}
}

func checkCreateGet(t *testing.T, s Store) {
	ctx := testContext(t, 30*time.Second)
	c := s.Open(t)
	const p = "keyspaces/ks/Keyspace"
	v, err := c.Create(ctx, p, []byte("one"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if v <= 0 {
		t.Fatalf("Create returned version %v, want > 0", v)
	}
	data, gv, err := c.Get(ctx, p)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if string(data) != "one" || gv != v {
		t.Fatalf("Get = %q, %v; want %q, %v", data, gv, "one", v)
	}
	_, err = c.Create(ctx, p, []byte("two"))
	ExpectError(t, err, topo.NodeExists, p)
	_, _, err = c.Get(ctx, "keyspaces/other/Keyspace")
	ExpectError(t, err, topo.NoNode, "keyspaces/other/Keyspace")

	// Binary contents round-trip unchanged, and empty contents are allowed.
	bin := []byte{0, 1, 2, 0xff, '\n'}
	if _, err := c.Create(ctx, "bin", bin); err != nil {
		t.Fatalf("Create binary: %v", err)
	}
	if got, _, err := c.Get(ctx, "bin"); err != nil || !bytes.Equal(got, bin) {
		t.Fatalf("Get binary = %v, %v; want %v", got, err, bin)
	}
	if _, err := c.Create(ctx, "empty", nil); err != nil {
		t.Fatalf("Create empty: %v", err)
	}
	if got, _, err := c.Get(ctx, "empty"); err != nil || len(got) != 0 {
		t.Fatalf("Get empty = %q, %v", got, err)
	}

	// A second client sees the same data.
	c2 := s.Open(t)
	if data, _, err := c2.Get(ctx, p); err != nil || string(data) != "one" {
		t.Fatalf("second client Get = %q, %v", data, err)
	}
}

func checkUpdateCAS(t *testing.T, s Store) {
	ctx := testContext(t, 30*time.Second)
	c := s.Open(t)
	const p = "a/node"
	v1, err := c.Create(ctx, p, []byte("1"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	v2, err := c.Update(ctx, p, []byte("2"), v1)
	if err != nil {
		t.Fatalf("Update at current version: %v", err)
	}
	if v2 == v1 {
		t.Fatalf("Update kept version %v", v1)
	}
	_, err = c.Update(ctx, p, []byte("stale"), v1)
	ExpectError(t, err, topo.BadVersion, p)
	if data, v, _ := c.Get(ctx, p); string(data) != "2" || v != v2 {
		t.Fatalf("after failed CAS Get = %q, %v; want %q, %v", data, v, "2", v2)
	}
	// The zero version writes unconditionally and creates missing nodes.
	v3, err := c.Update(ctx, p, []byte("3"), 0)
	if err != nil || v3 == v2 {
		t.Fatalf("unconditional Update = %v, %v", v3, err)
	}
	if _, err := c.Update(ctx, "a/new", []byte("n"), 0); err != nil {
		t.Fatalf("unconditional Update of a missing node: %v", err)
	}
	if data, _, err := c.Get(ctx, "a/new"); err != nil || string(data) != "n" {
		t.Fatalf("Get after create-by-update = %q, %v", data, err)
	}
	// A CAS on a missing node is NoNode.
	_, err = c.Update(ctx, "a/missing", []byte("x"), v3)
	ExpectError(t, err, topo.NoNode, "a/missing")
}

func checkDelete(t *testing.T, s Store) {
	ctx := testContext(t, 30*time.Second)
	c := s.Open(t)
	const p = "d/node"
	v1, err := c.Create(ctx, p, []byte("1"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	v2, err := c.Update(ctx, p, []byte("2"), v1)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	ExpectError(t, c.Delete(ctx, p, v1), topo.BadVersion, p)
	if err := c.Delete(ctx, p, v2); err != nil {
		t.Fatalf("Delete at current version: %v", err)
	}
	_, _, err = c.Get(ctx, p)
	ExpectError(t, err, topo.NoNode, p)
	ExpectError(t, c.Delete(ctx, p, 0), topo.NoNode, p)
	if _, err := c.Create(ctx, p, []byte("again")); err != nil {
		t.Fatalf("Create after Delete: %v", err)
	}
	if err := c.Delete(ctx, p, 0); err != nil {
		t.Fatalf("unconditional Delete: %v", err)
	}
}

// checkConcurrentCAS runs read-modify-write increments from several clients
// at once; with a correct compare-and-swap none is lost.
func checkConcurrentCAS(t *testing.T, s Store) {
	ctx := testContext(t, 60*time.Second)
	const p = "counter"
	const clients, increments = 4, 10
	if _, err := s.Open(t).Create(ctx, p, []byte("0")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		c := s.Open(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < increments; {
				data, v, err := c.Get(ctx, p)
				if err != nil {
					errs <- err
					return
				}
				n, _ := strconv.Atoi(string(data))
				_, err = c.Update(ctx, p, []byte(strconv.Itoa(n+1)), v)
				switch {
				case err == nil:
					j++
				case errors.Is(err, topo.ErrBadVersion):
				default:
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("increment: %v", err)
	}
	data, _, err := s.Open(t).Get(ctx, p)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if want := strconv.Itoa(clients * increments); string(data) != want {
		t.Fatalf("counter = %s, want %s: a compare-and-swap let an update through", data, want)
	}
}

func checkList(t *testing.T, s Store) {
	ctx := testContext(t, 30*time.Second)
	c := s.Open(t)
	for _, p := range []string{"ks/b/x", "ks/d", "ks/e/f/g", "ks2/z", "top"} {
		if _, err := c.Create(ctx, p, []byte(p)); err != nil {
			t.Fatalf("Create %s: %v", p, err)
		}
	}
	tests := []struct {
		dir  string
		want []topo.DirEntry
	}{
		{"ks", []topo.DirEntry{{Name: "b", Dir: true}, {Name: "d"}, {Name: "e", Dir: true}}},
		{"/ks/", []topo.DirEntry{{Name: "b", Dir: true}, {Name: "d"}, {Name: "e", Dir: true}}},
		{"ks/e", []topo.DirEntry{{Name: "f", Dir: true}}},
		{"", []topo.DirEntry{{Name: "ks", Dir: true}, {Name: "ks2", Dir: true}, {Name: "top"}}},
		{"/", []topo.DirEntry{{Name: "ks", Dir: true}, {Name: "ks2", Dir: true}, {Name: "top"}}},
	}
	for _, tt := range tests {
		got, err := c.List(ctx, tt.dir)
		if err != nil {
			t.Fatalf("List(%q): %v", tt.dir, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("List(%q) = %v, want %v", tt.dir, got, tt.want)
		}
	}
	_, err := c.List(ctx, "missing/dir")
	ExpectError(t, err, topo.NoNode, "missing/dir")
	// A file is not a directory, and a prefix of a name is not a parent.
	_, err = c.List(ctx, "ks/d")
	ExpectError(t, err, topo.NoNode, "ks/d")
	_, err = c.List(ctx, "k")
	ExpectError(t, err, topo.NoNode, "k")
	// Deleting the last child removes the directory.
	if err := c.Delete(ctx, "ks2/z", 0); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err = c.List(ctx, "ks2")
	ExpectError(t, err, topo.NoNode, "ks2")
}

func checkPaths(t *testing.T, s Store) {
	ctx := testContext(t, 30*time.Second)
	c := s.Open(t)
	if _, err := c.Create(ctx, "/p/q", []byte("v")); err != nil {
		t.Fatalf("Create /p/q: %v", err)
	}
	if data, _, err := c.Get(ctx, "p/q"); err != nil || string(data) != "v" {
		t.Fatalf("Get p/q after Create /p/q = %q, %v", data, err)
	}
	if data, _, err := c.Get(ctx, "p//./q"); err != nil || string(data) != "v" {
		t.Fatalf("Get p//./q = %q, %v", data, err)
	}
	for _, bad := range []string{"../escape", "p/../../escape", "", "/"} {
		if _, err := c.Create(ctx, bad, []byte("x")); err == nil {
			t.Errorf("Create(%q) succeeded, want an error", bad)
		}
	}
}

func checkContextErrors(t *testing.T, s Store) {
	c := s.Open(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	ops := []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"Create", func(ctx context.Context) error { _, err := c.Create(ctx, "x/y", nil); return err }},
		{"Update", func(ctx context.Context) error { _, err := c.Update(ctx, "x/y", nil, 0); return err }},
		{"Get", func(ctx context.Context) error { _, _, err := c.Get(ctx, "x/y"); return err }},
		{"List", func(ctx context.Context) error { _, err := c.List(ctx, "x/y"); return err }},
		{"Delete", func(ctx context.Context) error { return c.Delete(ctx, "x/y", 0) }},
		{"Watch", func(ctx context.Context) error { _, _, err := c.Watch(ctx, "x/y"); return err }},
		{"Lock", func(ctx context.Context) error { _, err := c.Lock(ctx, "x/y", "who"); return err }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			ExpectError(t, op.run(cancelled), topo.Interrupted, "x/y")
			ExpectError(t, op.run(expired), topo.Timeout, "x/y")
		})
	}
}

func checkClosedConn(t *testing.T, s Store) {
	ctx := testContext(t, 30*time.Second)
	c := s.Open(t)
	if _, err := c.Create(ctx, "c/n", []byte("v")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, _, err := c.Get(ctx, "c/n")
	ExpectError(t, err, topo.Interrupted, "c/n")
	// The data outlives the client.
	if data, _, err := s.Open(t).Get(ctx, "c/n"); err != nil || string(data) != "v" {
		t.Fatalf("Get from another client = %q, %v", data, err)
	}
}
