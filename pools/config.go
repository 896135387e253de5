package pools

import (
	"errors"
	"fmt"
	"time"
)

// Names of the tablet's pools: each is the prefix of the pool's variables
// and names the pool in its errors. The first three are vttablet's.
const (
	ConnPoolName        = "ConnPool"        // queries outside transactions
	StreamConnPoolName  = "StreamConnPool"  // streaming queries
	TransactionPoolName = "TransactionPool" // transactions
	DBAPoolName         = "DBAPool"         // kills and housekeeping, as the dba user
)

// Config sizes and times the tablet's four MySQL pools. Field comments give
// the command-line flag that sets each (vttablet's name where vttablet has
// one), its default and the default's source; durations are Go durations,
// and zero means what each field says.
type Config struct {
	// PoolSize is the capacity of the pool for queries outside
	// transactions (ConnPool). Flag --queryserver-config-pool-size, default
	// 16 (vttablet tabletenv defaultConfig OltpReadPool.Size).
	PoolSize int

	// StreamPoolSize is the capacity of the pool for streaming queries
	// (StreamConnPool). Flag --queryserver-config-stream-pool-size, default
	// 200 (vttablet OlapReadPool.Size).
	StreamPoolSize int

	// TransactionCap is the capacity of the transaction pool
	// (TransactionPool): the most transactions open at once. Flag
	// --queryserver-config-transaction-cap, default 20 (vttablet
	// TxPool.Size).
	TransactionCap int

	// DBAPoolSize is the capacity of the pool of dba-user connections used to
	// kill queries and for housekeeping (DBAPool). Flag --dba-pool-size
	// (ours), default 3: vttablet keeps one dba connection per pool; a few
	// let a kill go through while housekeeping holds one.
	DBAPoolSize int

	// QueryPoolTimeout bounds the wait for a ConnPool connection. Flag
	// --queryserver-config-query-pool-timeout, default 0 (vttablet): wait
	// until the query's own deadline.
	QueryPoolTimeout time.Duration

	// StreamPoolTimeout bounds the wait for a StreamConnPool connection.
	// Flag --queryserver-config-stream-pool-timeout, default 0 (vttablet):
	// wait until the request's deadline.
	StreamPoolTimeout time.Duration

	// TxPoolTimeout bounds the wait for a TransactionPool connection; past
	// it Begin fails with "transaction pool full" (ErrPoolExhausted). Flag
	// --queryserver-config-txpool-timeout, default 1s (vttablet
	// TxPool.TimeoutSeconds).
	TxPoolTimeout time.Duration

	// QueryPoolWaiterCap, StreamPoolWaiterCap and TxPoolWaiterCap cap how
	// many requests may queue for a connection of each pool; one more is
	// refused at once. Flags --queryserver-config-query-pool-waiter-cap,
	// --queryserver-config-stream-pool-waiter-cap and
	// --queryserver-config-txpool-waiter-cap, default 0, no cap (current
	// vttablet; older releases defaulted the query and transaction pools to
	// 5000).
	QueryPoolWaiterCap  int
	StreamPoolWaiterCap int
	TxPoolWaiterCap     int

	// IdleTimeout closes a pooled connection idle this long, in every pool.
	// Flag --queryserver-config-idle-timeout, default 30m (vttablet
	// IdleTimeoutSeconds 30*60). Zero keeps idle connections.
	IdleTimeout time.Duration

	// MaxLifetime closes a pooled connection this long after it opened, in
	// every pool. Flag --queryserver-config-pool-conn-max-lifetime, default
	// 0 (vttablet): no limit.
	MaxLifetime time.Duration

	// WatchdogInterval is how often each pool's stall watchdog runs. Flag
	// --pool-watchdog-interval (ours), default 100ms, the period of the
	// worker that plays this role in Vitess's smartconnpool: a stall lasts
	// at most this long. Zero disables the watchdog.
	WatchdogInterval time.Duration
}

// DefaultConfig returns vttablet's defaults (see each field).
func DefaultConfig() Config {
	return Config{
		PoolSize:         16,
		StreamPoolSize:   200,
		TransactionCap:   20,
		DBAPoolSize:      3,
		TxPoolTimeout:    time.Second,
		IdleTimeout:      30 * time.Minute,
		WatchdogInterval: 100 * time.Millisecond,
	}
}

// Validate reports every bad value in c, each naming its flag and the value.
// It has no side effects.
func (c Config) Validate() error {
	var errs []error
	positive := func(flag string, v int) {
		if v < 1 {
			errs = append(errs, fmt.Errorf("--%s must be at least 1, got %d", flag, v))
		}
	}
	notNegative := func(flag string, v int) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("--%s must not be negative, got %d", flag, v))
		}
	}
	notNegativeDuration := func(flag string, v time.Duration) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("--%s must not be negative, got %v", flag, v))
		}
	}
	positive("queryserver-config-pool-size", c.PoolSize)
	positive("queryserver-config-stream-pool-size", c.StreamPoolSize)
	positive("queryserver-config-transaction-cap", c.TransactionCap)
	positive("dba-pool-size", c.DBAPoolSize)
	notNegativeDuration("queryserver-config-query-pool-timeout", c.QueryPoolTimeout)
	notNegativeDuration("queryserver-config-stream-pool-timeout", c.StreamPoolTimeout)
	notNegativeDuration("queryserver-config-txpool-timeout", c.TxPoolTimeout)
	notNegative("queryserver-config-query-pool-waiter-cap", c.QueryPoolWaiterCap)
	notNegative("queryserver-config-stream-pool-waiter-cap", c.StreamPoolWaiterCap)
	notNegative("queryserver-config-txpool-waiter-cap", c.TxPoolWaiterCap)
	notNegativeDuration("queryserver-config-idle-timeout", c.IdleTimeout)
	notNegativeDuration("queryserver-config-pool-conn-max-lifetime", c.MaxLifetime)
	notNegativeDuration("pool-watchdog-interval", c.WatchdogInterval)
	return errors.Join(errs...)
}

// PoolConfigs returns the PoolConfig of each of the four pools, in the
// order ConnPool, StreamConnPool, TransactionPool, DBAPool.
func (c Config) PoolConfigs() [4]PoolConfig {
	pc := func(name string, size int, wait time.Duration, waiters int) PoolConfig {
		return PoolConfig{
			Name:             name,
			Capacity:         size,
			WaitTimeout:      wait,
			MaxWaiters:       waiters,
			IdleTimeout:      c.IdleTimeout,
			MaxLifetime:      c.MaxLifetime,
			WatchdogInterval: c.WatchdogInterval,
		}
	}
	return [4]PoolConfig{
		pc(ConnPoolName, c.PoolSize, c.QueryPoolTimeout, c.QueryPoolWaiterCap),
		pc(StreamConnPoolName, c.StreamPoolSize, c.StreamPoolTimeout, c.StreamPoolWaiterCap),
		pc(TransactionPoolName, c.TransactionCap, c.TxPoolTimeout, c.TxPoolWaiterCap),
		pc(DBAPoolName, c.DBAPoolSize, 0, 0),
	}
}
