package pools_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tabletd/tablet/pools"
)

// session stands in for a server connection.
type session struct{ id int }

func (s *session) Close() error   { return nil }
func (s *session) IsBroken() bool { return false }

// A pool of one connection: the second Get waits for the pool's wait
// timeout and fails with ErrPoolExhausted, not with the caller's deadline.
func ExamplePool() {
	next := 0
	connect := func(context.Context) (*session, error) {
		next++
		return &session{id: next}, nil
	}
	p := pools.NewPool(pools.PoolConfig{
		Name:        "ExamplePool",
		Capacity:    1,
		WaitTimeout: 10 * time.Millisecond,
	}, connect, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p.Open()
	defer p.Close(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pc, err := p.Get(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("got connection", pc.Conn.id)

	_, err = p.Get(ctx)
	fmt.Println("pool full:", errors.Is(err, pools.ErrPoolExhausted))

	pc.Release()
	pc, err = p.Get(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("reused connection", pc.Conn.id)
	pc.Release()

	for _, v := range p.Stats().Vars(p.Name()) {
		if v.Name == "ExamplePoolWaitCount" || v.Name == "ExamplePoolCapacity" {
			fmt.Println(v.Name, v.Value)
		}
	}
	// Output:
	// got connection 1
	// pool full: true
	// reused connection 1
	// ExamplePoolCapacity 1
	// ExamplePoolWaitCount 1
}
