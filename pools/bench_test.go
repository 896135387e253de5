package pools

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// benchCapacity is the pool size in every benchmark: vttablet's default
// --queryserver-config-pool-size, so 64 goroutines contend and queue.
const benchCapacity = 16

// benchConn is the cheapest possible Conn, so benchmarks measure the pool.
type benchConn struct{}

func (benchConn) Close() error   { return nil }
func (benchConn) IsBroken() bool { return false }

// chanPool is the plain baseline: a buffered channel of connections.
type chanPool struct{ ch chan *benchConn }

func newChanPool(n int) *chanPool {
	p := &chanPool{ch: make(chan *benchConn, n)}
	for range n {
		p.ch <- &benchConn{}
	}
	return p
}

func (p *chanPool) Get(ctx context.Context) (*benchConn, error) {
	select {
	case c := <-p.ch:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *chanPool) Put(c *benchConn) { p.ch <- c }

// nopDriver is a database/sql driver whose connections do nothing, so the
// database/sql baseline measures its pool, not a server.
type nopDriver struct{}

func (nopDriver) Open(string) (driver.Conn, error) { return nopDriverConn{}, nil }

type nopConnector struct{}

func (nopConnector) Connect(context.Context) (driver.Conn, error) { return nopDriverConn{}, nil }
func (nopConnector) Driver() driver.Driver                        { return nopDriver{} }

type nopDriverConn struct{}

func (nopDriverConn) Prepare(string) (driver.Stmt, error)      { return nil, errors.New("not supported") }
func (nopDriverConn) Close() error                             { return nil }
func (nopDriverConn) Begin() (driver.Tx, error)                { return nil, errors.New("not supported") }
func (nopDriverConn) ResetSession(ctx context.Context) error   { return nil }
func (nopDriverConn) IsValid() bool                            { return true }
func (nopDriverConn) Ping(ctx context.Context) error           { return nil }
func (nopDriverConn) CheckNamedValue(*driver.NamedValue) error { return nil }

// runGoroutines splits b.N Get/Put cycles over exactly g goroutines; ns/op
// is wall time per cycle across all of them.
func runGoroutines(b *testing.B, g int, cycle func() error) {
	b.ReportAllocs()
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		failed  error
	)
	b.ResetTimer()
	for i := range g {
		n := b.N / g
		if i < b.N%g {
			n++
		}
		wg.Go(func() {
			for range n {
				if err := cycle(); err != nil {
					errOnce.Do(func() { failed = err })
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if failed != nil {
		b.Fatal(failed)
	}
}

// BenchmarkGetPut measures one Get and one Put at 1, 8 and 64 goroutines for
// this package's Pool, database/sql's pool over a no-op driver, and a
// buffered channel, all at capacity 16, in the same run.
func BenchmarkGetPut(b *testing.B) {
	ctx := context.Background()
	for _, g := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("pool/goroutines=%d", g), func(b *testing.B) {
			// Timings as the tablet's defaults, so Put reads the clock as
			// it does in production.
			cfg := PoolConfig{Name: "BenchPool", Capacity: benchCapacity, IdleTimeout: 30 * time.Minute, WatchdogInterval: 100 * time.Millisecond}
			p := NewPool(cfg, func(context.Context) (*benchConn, error) {
				return &benchConn{}, nil
			}, discardLogger())
			p.Open()
			defer p.Close(ctx)
			runGoroutines(b, g, func() error {
				pc, err := p.Get(ctx)
				if err != nil {
					return err
				}
				p.Put(pc)
				return nil
			})
		})
		b.Run(fmt.Sprintf("database-sql/goroutines=%d", g), func(b *testing.B) {
			db := sql.OpenDB(nopConnector{})
			db.SetMaxOpenConns(benchCapacity)
			db.SetMaxIdleConns(benchCapacity)
			defer db.Close()
			runGoroutines(b, g, func() error {
				c, err := db.Conn(ctx)
				if err != nil {
					return err
				}
				return c.Close()
			})
		})
		b.Run(fmt.Sprintf("channel/goroutines=%d", g), func(b *testing.B) {
			p := newChanPool(benchCapacity)
			runGoroutines(b, g, func() error {
				c, err := p.Get(ctx)
				if err != nil {
					return err
				}
				p.Put(c)
				return nil
			})
		})
	}
}
