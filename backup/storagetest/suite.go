package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tabletd/tablet/backup"
)

// Run checks that the Storage newStorage returns keeps the contract
// backup.Storage documents. Each check runs as a subtest with its own
// storage, which must start empty (a fresh directory, bucket or prefix).
func Run(t *testing.T, newStorage func(t *testing.T) backup.Storage) {
	checks := []struct {
		name string
		f    func(t *testing.T, ctx context.Context, s backup.Storage)
	}{
		{"PutGet", checkPutGet},
		{"GetMissing", checkGetMissing},
		{"PutReplaces", checkPutReplaces},
		{"List", checkList},
		{"Delete", checkDelete},
		{"ConcurrentPuts", checkConcurrentPuts},
		{"CancelledPut", checkCancelledPut},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c.f(t, ctx, newStorage(t))
		})
	}
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustGet(t *testing.T, ctx context.Context, s backup.Storage, key string) []byte {
	t.Helper()
	r, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

func mustPut(t *testing.T, ctx context.Context, s backup.Storage, key string, data []byte) {
	t.Helper()
	if err := s.Put(ctx, key, data); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

func checkPutGet(t *testing.T, ctx context.Context, s backup.Storage) {
	for i, n := range []int{0, 1, 100, 1<<20 + 7} {
		key := fmt.Sprintf("ks/0/b/file-%d", i)
		want := randomBytes(n, uint64(i))
		mustPut(t, ctx, s, key, want)
		if got := mustGet(t, ctx, s, key); !bytes.Equal(got, want) {
			t.Errorf("Get(%s) returned %d bytes that differ from the %d put", key, len(got), n)
		}
	}
}

func checkGetMissing(t *testing.T, ctx context.Context, s backup.Storage) {
	r, err := s.Get(ctx, "ks/0/nothing/here")
	if err == nil {
		// Some stores report a missing object at the first read.
		_, err = io.ReadAll(r)
		r.Close()
	}
	if !errors.Is(err, backup.ErrNotFound) {
		t.Fatalf("Get of a missing key: %v, want ErrNotFound", err)
	}
}

func checkPutReplaces(t *testing.T, ctx context.Context, s backup.Storage) {
	mustPut(t, ctx, s, "ks/0/b/MANIFEST", []byte("first"))
	mustPut(t, ctx, s, "ks/0/b/MANIFEST", []byte("second, longer"))
	if got := mustGet(t, ctx, s, "ks/0/b/MANIFEST"); string(got) != "second, longer" {
		t.Fatalf("after two Puts, Get = %q", got)
	}
}

func checkList(t *testing.T, ctx context.Context, s backup.Storage) {
	for key, size := range map[string]int{"ks/-80/a/1": 3, "ks/-80/a/2": 5, "ks/-80/b/1": 1, "ks/top": 7, "other/x": 2} {
		mustPut(t, ctx, s, key, randomBytes(size, 1))
	}
	cases := []struct {
		prefix string
		want   []backup.Entry
	}{
		{"", []backup.Entry{{Key: "ks/", IsDir: true}, {Key: "other/", IsDir: true}}},
		{"ks/", []backup.Entry{{Key: "ks/-80/", IsDir: true}, {Key: "ks/top", Size: 7}}},
		{"ks/-80/", []backup.Entry{{Key: "ks/-80/a/", IsDir: true}, {Key: "ks/-80/b/", IsDir: true}}},
		{"ks/-80/a/", []backup.Entry{{Key: "ks/-80/a/1", Size: 3}, {Key: "ks/-80/a/2", Size: 5}}},
		{"ks/80-/", nil},
	}
	for _, c := range cases {
		got, err := s.List(ctx, c.prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", c.prefix, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("List(%q) = %v, want %v", c.prefix, got, c.want)
		}
	}
}

func checkDelete(t *testing.T, ctx context.Context, s backup.Storage) {
	mustPut(t, ctx, s, "ks/0/a/1", []byte("x"))
	mustPut(t, ctx, s, "ks/0/b/1", []byte("y"))
	if err := s.Delete(ctx, "ks/0/a/1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx, "ks/0/a/1"); !errors.Is(err, backup.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "ks/0/a/1"); err != nil {
		t.Errorf("Delete of a missing key: %v, want nil", err)
	}
	got, err := s.List(ctx, "ks/0/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if want := []backup.Entry{{Key: "ks/0/b/", IsDir: true}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("List after deleting the only file of a directory = %v, want %v", got, want)
	}
}

func checkConcurrentPuts(t *testing.T, ctx context.Context, s backup.Storage) {
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Put(ctx, fmt.Sprintf("ks/0/b/stripe.%02d", i), randomBytes(64<<10, uint64(i)))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	got, err := s.List(ctx, "ks/0/b/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != n {
		t.Fatalf("List after %d concurrent Puts returned %d entries: %v", n, len(got), got)
	}
	for i, e := range got {
		if want := fmt.Sprintf("ks/0/b/stripe.%02d", i); e.Key != want || e.Size != 64<<10 {
			t.Errorf("entry %d = %+v, want %s of %d bytes", i, e, want, 64<<10)
		}
	}
}

func checkCancelledPut(t *testing.T, ctx context.Context, s backup.Storage) {
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Put(cctx, "ks/0/b/cancelled", randomBytes(1<<20, 3)); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	if _, err := s.Get(ctx, "ks/0/b/cancelled"); !errors.Is(err, backup.ErrNotFound) {
		t.Fatalf("Get after a cancelled Put: %v, want ErrNotFound", err)
	}
}
