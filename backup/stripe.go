package backup

import (
	"context"
	"io"
	"sync"

	"golang.org/x/sync/errgroup"
)

// bufPool hands out byte slices of one capacity, allocated on first need
// and kept when returned. The semaphores of the pipelines bound how many
// exist at once; a pool lives as long as one backup or restore.
type bufPool struct {
	size int
	mu   sync.Mutex // guards free
	free [][]byte
}

func newBufPool(size int) *bufPool { return &bufPool{size: size} }

// get returns an empty slice of capacity at least size.
func (p *bufPool) get() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, p.size)
}

// put returns b to the pool.
func (p *bufPool) put(b []byte) {
	if cap(b) < p.size {
		return
	}
	p.mu.Lock()
	p.free = append(p.free, b)
	p.mu.Unlock()
}

// striper is the io.Writer the backup tool's stream goes into. It cuts the
// stream into stripes of a fixed size and hands each full stripe to store,
// run in a goroutine of g, with at most cap(sem) stripes in flight; Write
// blocks while all slots are taken, which slows the tool down to the pace
// of storage. Write and flush are called from one goroutine.
type striper struct {
	ctx   context.Context // g's context: ends when any stripe fails
	g     *errgroup.Group
	sem   chan struct{}
	pool  *bufPool
	size  int
	store func(ctx context.Context, index int, raw []byte) error

	cur   []byte // the stripe being filled
	index int    // the next stripe's index
	raw   func(n int64)
}

// Write copies p into stripes, dispatching each one that fills up.
func (s *striper) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if s.cur == nil {
			s.cur = s.pool.get()
		}
		k := min(len(p), s.size-len(s.cur))
		s.cur = append(s.cur, p[:k]...)
		p = p[k:]
		if len(s.cur) == s.size {
			if err := s.dispatch(); err != nil {
				return n - len(p), err
			}
		}
	}
	s.raw(int64(n))
	return n, nil
}

// ReadFrom reads r to its end straight into stripes, sparing Write's copy:
// os/exec, copying the tool's stdout, uses it.
func (s *striper) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		if s.cur == nil {
			s.cur = s.pool.get()
		}
		n, err := r.Read(s.cur[len(s.cur):s.size])
		s.cur = s.cur[:len(s.cur)+n]
		total += int64(n)
		s.raw(int64(n))
		if len(s.cur) == s.size {
			if derr := s.dispatch(); derr != nil {
				return total, derr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// flush dispatches the last, partly filled stripe.
func (s *striper) flush() error {
	if len(s.cur) == 0 {
		return nil
	}
	return s.dispatch()
}

// dispatch waits for a free slot and stores the current stripe in a
// goroutine of g.
func (s *striper) dispatch() error {
	select {
	case s.sem <- struct{}{}:
	case <-s.ctx.Done():
		return context.Cause(s.ctx)
	}
	index, raw := s.index, s.cur
	s.index++
	s.cur = nil
	s.g.Go(func() error {
		defer func() { <-s.sem }()
		defer s.pool.put(raw)
		return s.store(s.ctx, index, raw)
	})
	return nil
}

// stripes counts the stripes dispatched.
func (s *striper) stripes() int { return s.index }
