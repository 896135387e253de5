// Package storagetest holds what tests of backup storage share: Run, the
// conformance suite every backup.Storage implementation passes, and
// Memory, an in-memory Storage with fault knobs for tests of the backup
// package. Memory is for tests only: it keeps everything in memory and
// loses it with the process.
package storagetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/tabletd/tablet/backup"
)

// Op names a Storage operation, for Memory's fault hook.
type Op string

// The operations.
const (
	OpPut    Op = "put"
	OpGet    Op = "get"
	OpList   Op = "list"
	OpDelete Op = "delete"
)

// Memory is an in-memory backup.Storage. A fault hook set with SetFault
// can fail any operation; Corrupt damages a stored object. It is safe for
// concurrent use.
type Memory struct {
	mu      sync.Mutex // guards the fields below
	objects map[string][]byte
	fault   func(op Op, key string) error
	counts  map[Op]int
}

var _ backup.Storage = (*Memory)(nil)

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{objects: map[string][]byte{}, counts: map[Op]int{}}
}

// SetFault makes every later operation call f first (concurrently, from
// the operation's goroutine); a non-nil error from f fails the operation
// with that error, changing nothing. nil removes the hook.
func (m *Memory) SetFault(f func(op Op, key string) error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fault = f
}

// begin counts op and runs the fault hook.
func (m *Memory) begin(ctx context.Context, op Op, key string) error {
	m.mu.Lock()
	m.counts[op]++
	f := m.fault
	m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", op, key, err)
	}
	if f != nil {
		if err := f(op, key); err != nil {
			return fmt.Errorf("%s %s: %w", op, key, err)
		}
	}
	return nil
}

// Count returns how many times op was called.
func (m *Memory) Count(op Op) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts[op]
}

// Put stores a copy of data.
func (m *Memory) Put(ctx context.Context, key string, data []byte) error {
	if err := m.begin(ctx, OpPut, key); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[key] = bytes.Clone(data)
	if m.objects[key] == nil {
		m.objects[key] = []byte{}
	}
	return nil
}

// Get returns a reader over the object.
func (m *Memory) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := m.begin(ctx, OpGet, key); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objects[key]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, backup.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// List returns the objects and sub-directories directly under prefix.
func (m *Memory) List(ctx context.Context, prefix string) ([]backup.Entry, error) {
	if err := m.begin(ctx, OpList, prefix); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	dirs := map[string]bool{}
	var out []backup.Entry
	for k, v := range m.objects {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			dirs[prefix+rest[:i+1]] = true
			continue
		}
		out = append(out, backup.Entry{Key: k, Size: int64(len(v))})
	}
	for d := range dirs {
		out = append(out, backup.Entry{Key: d, IsDir: true})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete removes the object.
func (m *Memory) Delete(ctx context.Context, key string) error {
	if err := m.begin(ctx, OpDelete, key); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objects, key)
	return nil
}

// Keys returns every stored key, sorted.
func (m *Memory) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.objects))
	for k := range m.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Object returns a copy of the object at key.
func (m *Memory) Object(key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objects[key]
	return bytes.Clone(b), ok
}

// Corrupt flips the bits of the byte at offset in the object at key. It
// reports false when there is no such object or byte.
func (m *Memory) Corrupt(key string, offset int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objects[key]
	if !ok || offset < 0 || offset >= len(b) {
		return false
	}
	b[offset] ^= 0xff
	return true
}
