package health

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tabletd/tablet/debugvars"
)

// LoadFunc reports the tablet's load for the realtime stats: queries per
// second and CPU usage (the fraction of one core, as Vitess reports it). It
// is called once per update, with the checker's lock held: it must be fast,
// safe for concurrent use, and must not call the Checker.
type LoadFunc func() (qps, cpuUsage float64)

// Checker checks the local mysqld on an interval and publishes the tablet's
// health: as a value (Status), to subscribers (Subscribe) and on
// /debug/health (ServeHTTP). Build it with New, start it with Open, stop it
// with Close. Its methods are safe for concurrent use.
type Checker struct {
	cfg    Config
	prober Prober
	logger *slog.Logger

	kick chan struct{} // one slot: asks the loop for a check now

	transitions *debugvars.CountersWithLabels
	checks      *debugvars.Counter
	dropped     *debugvars.Counter
	// Mirrors of the published status for the gauges, read without c.mu.
	stateGauge   atomic.Int64
	servingGauge atomic.Int64
	lagGauge     atomic.Int64 // nanoseconds
	subsGauge    atomic.Int64

	runMu  sync.Mutex         // guards cancel and done, and serializes Open and Close
	cancel context.CancelFunc // cancels the loop's owner-lifetime context; nil before Open
	done   chan struct{}      // closed when the loop has returned

	mu       sync.Mutex // guards the fields below
	tablet   Tablet     // normalized
	gen      uint64     // bumped when the tablet's role (primary or not) changes
	lameduck bool
	closed   bool
	filter   hysteresis
	lags     lagTracker
	checked  verdict   // the checks' verdict after hysteresis
	lag      lagFigure // from the last check
	at       time.Time // when the last check completed
	status   Status    // as last published, without load figures
	load     LoadFunc
	subs     map[*Subscription]struct{}
}

// New builds a Checker; nothing runs until Open. It checks mysqld through
// prober (NewProber for a real server) and registers its variables in vars
// (see the package doc); a nil vars uses a private registry, publishing
// nothing. It logs transitions to logger; nil discards them. It panics if
// cfg is invalid (call cfg.Validate first) or if the variables are already
// registered in vars. Until SetTablet is called the tablet has no type and
// does not serve (ReasonStarting).
func New(cfg Config, prober Prober, vars *debugvars.Registry, logger *slog.Logger) *Checker {
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("health.New: invalid config: %v", err))
	}
	if vars == nil {
		vars = debugvars.New()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Checker{
		cfg:     cfg,
		prober:  prober,
		logger:  logger,
		kick:    make(chan struct{}, 1),
		filter:  hysteresis{minDwell: cfg.MinDwell},
		checked: verdict{NotServing, ReasonStarting, "no health check has completed yet"},
		subs:    make(map[*Subscription]struct{}),
	}
	c.transitions = vars.NewCountersWithLabels("HealthTransitions", "tablet_health_transitions_total",
		"Changes of the published health, by old state, new state and new reason.", []string{"from", "to", "reason"})
	c.checks = vars.NewCounter("HealthChecks", "tablet_health_checks_total", "Health checks of mysqld completed.")
	c.dropped = vars.NewCounter("HealthSubscribersDropped", "tablet_health_subscribers_dropped_total",
		"Health subscribers dropped because they read too slowly.")
	vars.NewGaugeFunc("HealthState", "tablet_health_state",
		"Published health state: 0 healthy, 1 degraded, 2 unhealthy, 3 not serving.", c.stateGauge.Load)
	vars.NewGaugeFunc("HealthServing", "tablet_health_serving",
		"Whether the tablet serves queries (1) or not (0).", c.servingGauge.Load)
	vars.NewGaugeDurationFunc("HealthReplicationLag", "tablet_health_replication_lag_seconds",
		"Replication lag at the last health check; zero on a primary or when unknown.",
		func() time.Duration { return time.Duration(c.lagGauge.Load()) })
	vars.NewGaugeFunc("HealthSubscribers", "tablet_health_subscribers",
		"Health subscribers connected.", c.subsGauge.Load)

	c.mu.Lock()
	c.publishLocked(time.Now())
	c.mu.Unlock()
	return c
}

// Open starts checking: the first check runs at once, then one every
// Config.Interval. It returns at once. Calling it again, or after Close,
// does nothing.
func (c *Checker) Open() {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if c.cancel != nil || closed {
		return
	}
	// The loop's context lives as long as the checker; Close cancels it.
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	go func() {
		defer close(c.done)
		c.run(ctx)
	}()
}

// Close stops checking and waits for a check in progress to end (at most
// the probe timeout), then publishes NotServing with ReasonShuttingDown and
// closes every subscription (Err ErrClosed). It is idempotent and safe
// without Open.
func (c *Checker) Close() {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	if c.cancel != nil {
		c.cancel()
		<-c.done
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	c.publishLocked(time.Now())
	c.closeSubscribersLocked(ErrClosed)
	c.subsGauge.Store(0)
}

// SetTablet tells the checker the tablet's type and primary term, as the
// agent decides them. The new status is published at once (a type that
// does not serve takes effect without waiting for a check), and a check is
// run at once. When the tablet becomes or stops being the primary, the
// checks start afresh: hysteresis and the last known lag are forgotten, so
// the first check in the new role is published as it is. Calling it with
// an unchanged tablet just runs a check now.
func (c *Checker) SetTablet(t Tablet) {
	t = t.normalize()
	c.mu.Lock()
	if t.IsPrimary() != c.tablet.IsPrimary() {
		c.gen++
		c.filter.reset()
		c.lags.reset()
	}
	c.tablet = t
	c.publishLocked(time.Now())
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// SetLameduck marks the tablet as shutting down (NotServing,
// ReasonShuttingDown) or, with false, no longer so. It takes effect at
// once.
func (c *Checker) SetLameduck(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lameduck = on
	c.publishLocked(time.Now())
}

// SetLoad sets the function that fills the QPS and CPU usage of the
// realtime stats; nil leaves them zero. The agent wires the query
// server's rates and a CPU sampler here.
func (c *Checker) SetLoad(f LoadFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.load = f
}

// Status returns the current published status.
func (c *Checker) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.withLoad(c.status)
}

// withLoad fills st's load figures. c.mu must be held.
func (c *Checker) withLoad(st Status) Status {
	if c.load != nil {
		st.Realtime.QPS, st.Realtime.CPUUsage = c.load()
	}
	return st
}

// run checks until ctx ends: at once, then after each check's delay, or
// when SetTablet asks.
func (c *Checker) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-c.kick:
		}
		timer.Reset(c.check(ctx))
	}
}

// check probes mysqld once, publishes the result and returns the delay
// until the next check.
func (c *Checker) check(ctx context.Context) time.Duration {
	c.mu.Lock()
	gen, replica := c.gen, !c.tablet.IsPrimary()
	c.mu.Unlock()

	pctx, cancel := context.WithTimeout(ctx, c.cfg.ProbeTimeout)
	obs := c.prober.Probe(pctx, replica)
	cancel()
	if ctx.Err() != nil {
		return c.cfg.Interval // closing: the loop returns next
	}
	c.checks.Add(1)

	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		// The role changed during the check; SetTablet has asked for
		// another.
		return c.cfg.Interval
	}
	if obs.At.IsZero() {
		obs.At = time.Now()
	}
	c.at = obs.At
	c.lag = lagFigure{}
	if replica {
		c.lag = c.lags.figure(obs)
	}
	v := evaluate(c.cfg, !replica, obs, c.lag)
	var pending bool
	c.checked, pending = c.filter.observe(obs.At, v)
	if obs.HeartbeatErr != nil {
		c.logger.Debug("heartbeat unreadable, using the server's lag figure", "err", obs.HeartbeatErr)
	}
	c.publishLocked(obs.At)
	if pending {
		return c.cfg.recheckDelay()
	}
	return c.cfg.Interval
}

// verdictLocked is the verdict to publish: shutting down, then the tablet
// type, then the checks. c.mu must be held.
func (c *Checker) verdictLocked() verdict {
	switch {
	case c.closed:
		return verdict{NotServing, ReasonShuttingDown, "the health checker is closed"}
	case c.lameduck:
		return verdict{NotServing, ReasonShuttingDown, "the tablet is shutting down"}
	}
	if v, ok := c.tablet.typeVerdict(); ok {
		return v
	}
	return c.checked
}

// publishLocked builds the status, logs and counts a change of state or
// reason, and sends the status to subscribers. c.mu must be held.
func (c *Checker) publishLocked(now time.Time) {
	v := c.verdictLocked()
	old := c.status
	st := Status{
		State:            v.state,
		Serving:          v.state.Serving(),
		Reason:           v.reason,
		Message:          v.message,
		Since:            old.Since,
		TabletType:       c.tablet.Type,
		IsPrimary:        c.tablet.IsPrimary(),
		PrimaryTermStart: c.tablet.PrimaryTermStart,
		LagSource:        c.lag.source,
		CheckedAt:        c.at,
	}
	st.Realtime.ReplicationLag = c.lag.lag
	st.Realtime.ReplicationLagSeconds = uint32(min(c.lag.lag/time.Second, 1<<32-1))
	if !st.Serving {
		st.Realtime.HealthError = string(v.reason) + ": " + v.message
	}
	if old.Since.IsZero() || old.State != st.State || old.Reason != st.Reason {
		st.Since = now
		c.logTransition(old, st)
	}
	c.status = st
	c.stateGauge.Store(int64(st.State))
	c.servingGauge.Store(boolInt(st.Serving))
	c.lagGauge.Store(int64(st.Realtime.ReplicationLag))
	c.broadcastLocked(c.withLoad(st))
	c.subsGauge.Store(int64(len(c.subs)))
}

// logTransition logs and counts one change of the published state or
// reason; the first status (before any check) is neither.
func (c *Checker) logTransition(old, st Status) {
	if old.Since.IsZero() {
		return
	}
	c.transitions.Add(1, old.State.String(), st.State.String(), st.Reason.label())
	attrs := []any{"from", old.State.String(), "to", st.State.String(), "reason", st.Reason.label()}
	if st.Message != "" {
		attrs = append(attrs, "detail", st.Message)
	}
	if st.State > old.State || (old.Serving && !st.Serving) {
		c.logger.Warn("tablet health changed", attrs...)
	} else {
		c.logger.Info("tablet health changed", attrs...)
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
