package queryserver

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes the query engine. Field comments give the command-line flag
// that sets each (vttablet's name where vttablet has one, checked against
// its tabletenv/config.go), its default and what zero means. Durations are
// Go durations. The pools' own flags (sizes, wait timeouts) live in
// pools.Config.
type Config struct {
	// QueryTimeout bounds a query outside a transaction, and each query
	// inside one, from the moment the request arrives (pool wait
	// included). At the deadline the query is killed. Flag
	// --queryserver-config-query-timeout, default 30s (vttablet). Zero
	// means no tablet-side limit: only the caller's deadline and the
	// transaction's remaining time apply. StreamExecute is not bound by
	// it, as vttablet's OLAP streams are not.
	QueryTimeout time.Duration

	// TransactionTimeout is the longest a transaction may stay open; the
	// transaction killer rolls back and closes any older one, and queries
	// inside a transaction are killed when it runs out. Flag
	// --queryserver-config-transaction-timeout, default 30s (vttablet).
	// Zero disables the limit.
	TransactionTimeout time.Duration

	// TransactionKillerInterval is how often the transaction killer looks
	// for transactions past TransactionTimeout and reserved connections
	// past ReservedConnIdleTimeout. Flag
	// --queryserver-transaction-killer-interval (ours), default 0: a tenth
	// of TransactionTimeout (vttablet's ratio), at most 1s and at least
	// 10ms. A transaction lives at most this much past its timeout.
	TransactionKillerInterval time.Duration

	// ReservedConnIdleTimeout closes a reserved connection (outside a
	// transaction) that no request has used for this long: its client is
	// presumed gone. Flag --queryserver-reserved-conn-idle-timeout (ours),
	// default 30m, vttablet's --queryserver-config-idle-timeout for pooled
	// connections. Zero keeps reserved connections until Release.
	ReservedConnIdleTimeout time.Duration

	// MaxResultRows is the most rows a non-streaming result may have; a
	// larger one fails with ErrResultTooLarge and the connection stays
	// usable. Flag --queryserver-config-max-result-size, default 10000
	// (vttablet). At least 1.
	MaxResultRows int

	// StreamBufferSize is the most value bytes StreamExecute gathers
	// before handing rows to its callback (a row larger than this goes
	// alone). Flag --queryserver-config-stream-buffer-size, default 32768
	// (vttablet). At least 1.
	StreamBufferSize int

	// PlanCacheCapacity is the most query plans kept (least recently used
	// evicted first). Flag --queryserver-config-query-cache-size, default
	// 5000 (vttablet's cache.DefaultConfig.MaxEntries). At least 1.
	PlanCacheCapacity int

	// Consolidator says when identical reads in flight at the same time
	// share one execution. Flag --consolidator=enable|disable|replicas-only
	// (ours; vttablet's --enable_consolidator and
	// --enable_consolidator_replicas map onto it with
	// ConsolidatorModeFromFlags), default replicas-only: vttablet defaults
	// to enable, but consolidating on a primary breaks read-after-write
	// (a read that starts after a write can get the result of one that
	// started before it).
	Consolidator ConsolidatorMode

	// ConsolidatorMaxWaiters caps how many callers may wait on one
	// in-flight read; one more runs the query on its own. Flag
	// --consolidator-query-waiter-cap (vttablet's name, where 0 means no
	// cap), default 500 (ours: each waiter gets its own copy of the
	// result, so waiters times ConsolidatorMaxResultBytes bounds the
	// memory one hot query can take). Zero means no cap.
	ConsolidatorMaxWaiters int

	// ConsolidatorMaxResultBytes caps the size of a result shared with
	// waiters (value bytes plus 8 per value). When the leader's result
	// grows past it, its waiters stop waiting and run the query on their
	// own; nobody gets a partial result. Flag
	// --consolidator-max-result-bytes (ours), default 256KiB. Zero means
	// no cap.
	ConsolidatorMaxResultBytes int64

	// KillEscalationDelay is how long a query has to stop after KILL QUERY
	// before its connection is killed (KILL) and its socket closed; it
	// also bounds each kill statement. Flag
	// --queryserver-kill-escalation-delay (ours), default 1s. Must be
	// positive.
	KillEscalationDelay time.Duration

	// QueryLogSize is how many recent queries the query log keeps for
	// QueryLog().Recent (pages like /querylogz). Flag
	// --queryserver-query-log-size (ours), default 1000. Zero keeps none;
	// subscribers still see every query.
	QueryLogSize int

	// TxLogSize is how many ended transactions the transaction log keeps
	// (/txlogz). Flag --queryserver-transaction-log-size (ours), default
	// 1000. Zero keeps none.
	TxLogSize int

	// EndedTransactionsRemembered is how many ended transaction ids the
	// engine remembers, so that a late request on one learns how and when
	// it ended (killed, committed, rolled back) rather than just "not
	// found". Flag --queryserver-ended-transactions-remembered (ours),
	// default 10000. Zero remembers none.
	EndedTransactionsRemembered int

	// StatsLabelLimit caps the distinct table and user names used as
	// labels in the per-table and per-user statistics; names beyond it
	// are counted under "other", so a client sending random table names
	// cannot grow /metrics without bound. Flag
	// --queryserver-stats-label-limit (ours), default 1000. At least 1.
	StatsLabelLimit int
}

// DefaultConfig returns the defaults given with each field.
func DefaultConfig() Config {
	return Config{
		QueryTimeout:                30 * time.Second,
		TransactionTimeout:          30 * time.Second,
		ReservedConnIdleTimeout:     30 * time.Minute,
		MaxResultRows:               10000,
		StreamBufferSize:            32 * 1024,
		PlanCacheCapacity:           5000,
		Consolidator:                ConsolidatorReplicasOnly,
		ConsolidatorMaxWaiters:      500,
		ConsolidatorMaxResultBytes:  256 * 1024,
		KillEscalationDelay:         time.Second,
		QueryLogSize:                1000,
		TxLogSize:                   1000,
		EndedTransactionsRemembered: 10000,
		StatsLabelLimit:             1000,
	}
}

// Validate reports every bad value in c, each naming its flag and the
// value. It has no side effects.
func (c Config) Validate() error {
	var errs []error
	notNegative := func(flag string, d time.Duration) {
		if d < 0 {
			errs = append(errs, fmt.Errorf("--%s must not be negative, got %v", flag, d))
		}
	}
	atLeast := func(flag string, v, min int64) {
		if v < min {
			errs = append(errs, fmt.Errorf("--%s must be at least %d, got %d", flag, min, v))
		}
	}
	notNegative("queryserver-config-query-timeout", c.QueryTimeout)
	notNegative("queryserver-config-transaction-timeout", c.TransactionTimeout)
	notNegative("queryserver-transaction-killer-interval", c.TransactionKillerInterval)
	notNegative("queryserver-reserved-conn-idle-timeout", c.ReservedConnIdleTimeout)
	atLeast("queryserver-config-max-result-size", int64(c.MaxResultRows), 1)
	atLeast("queryserver-config-stream-buffer-size", int64(c.StreamBufferSize), 1)
	atLeast("queryserver-config-query-cache-size", int64(c.PlanCacheCapacity), 1)
	if _, ok := consolidatorModeNames[c.Consolidator]; !ok {
		errs = append(errs, fmt.Errorf("--consolidator must be enable, disable or replicas-only, got %q", string(c.Consolidator)))
	}
	atLeast("consolidator-query-waiter-cap", int64(c.ConsolidatorMaxWaiters), 0)
	atLeast("consolidator-max-result-bytes", c.ConsolidatorMaxResultBytes, 0)
	if c.KillEscalationDelay <= 0 {
		errs = append(errs, fmt.Errorf("--queryserver-kill-escalation-delay must be positive, got %v", c.KillEscalationDelay))
	}
	atLeast("queryserver-query-log-size", int64(c.QueryLogSize), 0)
	atLeast("queryserver-transaction-log-size", int64(c.TxLogSize), 0)
	atLeast("queryserver-ended-transactions-remembered", int64(c.EndedTransactionsRemembered), 0)
	atLeast("queryserver-stats-label-limit", int64(c.StatsLabelLimit), 1)
	return errors.Join(errs...)
}

// killerInterval is TransactionKillerInterval, or a tenth of the
// transaction timeout clamped to [10ms, 1s] when it is zero.
func (c Config) killerInterval() time.Duration {
	if c.TransactionKillerInterval > 0 {
		return c.TransactionKillerInterval
	}
	d := c.TransactionTimeout / 10
	if c.TransactionTimeout == 0 {
		d = c.ReservedConnIdleTimeout / 10
	}
	return min(max(d, 10*time.Millisecond), time.Second)
}

// ConsolidatorMode says when the consolidator runs. It implements
// flag.Value (Set and String) for --consolidator.
type ConsolidatorMode string

// The consolidator modes.
const (
	// ConsolidatorDisable never consolidates.
	ConsolidatorDisable ConsolidatorMode = "disable"
	// ConsolidatorEnable consolidates on every tablet type.
	ConsolidatorEnable ConsolidatorMode = "enable"
	// ConsolidatorReplicasOnly consolidates except while the tablet is a
	// primary (vttablet's "notOnPrimary").
	ConsolidatorReplicasOnly ConsolidatorMode = "replicas-only"
)

var consolidatorModeNames = map[ConsolidatorMode]bool{
	ConsolidatorDisable: true, ConsolidatorEnable: true, ConsolidatorReplicasOnly: true,
}

// String returns the mode's flag value.
func (m ConsolidatorMode) String() string { return string(m) }

// Set parses a flag value: enable, disable or replicas-only; vttablet's
// config spelling notOnPrimary is accepted for replicas-only.
func (m *ConsolidatorMode) Set(s string) error {
	switch s {
	case "enable", "disable", "replicas-only":
		*m = ConsolidatorMode(s)
	case "notOnPrimary":
		*m = ConsolidatorReplicasOnly
	default:
		return fmt.Errorf("consolidator mode %q: want enable, disable or replicas-only", s)
	}
	return nil
}

// ConsolidatorModeFromFlags maps vttablet's two boolean flags onto a mode
// as vttablet does: --enable_consolidator_replicas wins, then
// --enable_consolidator, else disable.
func ConsolidatorModeFromFlags(enable, enableReplicas bool) ConsolidatorMode {
	switch {
	case enableReplicas:
		return ConsolidatorReplicasOnly
	case enable:
		return ConsolidatorEnable
	default:
		return ConsolidatorDisable
	}
}
