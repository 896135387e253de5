package orc

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/proto/topodatapb"
)

// Tablet is what the Registrar needs to know about its tablet. The agent
// hands a fresh one to SetTablet whenever any field changes.
type Tablet struct {
	// Alias is the tablet alias, "<cell>-<uid>"; it goes into maintenance
	// reasons and logs.
	Alias string
	// Host and Port are the tablet's MySQL as Orchestrator reaches it (the
	// record's mysql_hostname and mysql_port).
	Host string
	Port int
	// Type is the tablet's type. A change triggers a discovery, so that
	// Orchestrator re-reads the promotion rule the tablet wrote into
	// _vt.local_metadata for it. Which types keep the instance in
	// maintenance is the caller's to say, with Hold.
	Type topodatapb.TabletType
}

func (t Tablet) key() InstanceKey { return InstanceKey{Hostname: t.Host, Port: t.Port} }

// Status is a Registrar's state for status pages and tests.
type Status struct {
	// Enabled reports whether Config.APIURL is set.
	Enabled bool
	// Registered reports whether the last discovery request succeeded.
	Registered bool
	// LastRegistered is when a discovery request last succeeded; zero if
	// none has.
	LastRegistered time.Time
	// LastError is the last discovery failure, nil after a success.
	LastError error
	// DiscoveryFailures counts discovery failures since the last success.
	DiscoveryFailures int
	// LastAttempt is when the last discovery request ended; zero if none
	// has. NextDiscovery minus LastAttempt is the wait (interval or
	// backoff) chosen after it.
	LastAttempt time.Time
	// NextDiscovery is when the next discovery request is due; zero when
	// none is planned (interval 0, or no tablet set yet).
	NextDiscovery time.Time
	// InMaintenance reports whether the tablet's maintenance is active in
	// Orchestrator, as far as the last call showed; MaintenanceReason and
	// MaintenanceSince say why and since when it was last begun or renewed.
	InMaintenance     bool
	MaintenanceReason string
	MaintenanceSince  time.Time
	// MaintenanceBy names another owner whose maintenance on the instance
	// stands in for the tablet's own; empty otherwise.
	MaintenanceBy string
	// MaintenanceWanted reports whether something holds maintenance (a
	// Hold or a WithMaintenance call).
	MaintenanceWanted bool
}

// Registrar is the tablet's side of the Orchestrator integration. Run
// registers the tablet's MySQL at start and every DiscoverInterval, retrying
// failures with backoff, and keeps the instance in maintenance while
// anything holds it (Hold, WithMaintenance), renewing it before Orchestrator expires it and ending
// it when the last hold goes. All calls to Orchestrator happen in Run's
// goroutines: the other methods never wait for Orchestrator, except Sync
// and WithMaintenance, which wait at most as long as their context (and
// WithMaintenance at most Config.Timeout) allows.
//
// A Registrar built from a Config without APIURL is disabled: Run only
// waits for its context, WithMaintenance only runs the operation.
// Methods are safe for concurrent use.
type Registrar struct {
	cfg    Config
	client *Client // nil when disabled
	logger *slog.Logger

	discoverKick chan struct{} // one slot: discover at once
	maintainKick chan struct{} // one slot: the wanted maintenance changed
	running      atomic.Bool   // a Run is under way

	discoverOK, discoverErr *debugvars.Counter
	maintCalls              *debugvars.CountersWithLabels
	unconfirmed             *debugvars.Counter
	registeredGauge         atomic.Int64
	maintenanceGauge        atomic.Int64
	failuresGauge           atomic.Int64

	mu         sync.Mutex // guards the fields below
	tablet     Tablet
	holds      []*Hold          // outstanding holds, oldest first
	gen        uint64           // bumped when the wanted maintenance changes
	appliedGen uint64           // the latest gen the maintenance loop put in force
	applied    chan struct{}    // closed (and replaced) when appliedGen grows
	registered chan struct{}    // closed at the first successful discovery
	disc       discoveryState   // as the discovery loop last left it
	maint      maintenanceState // as the maintenance loop last left it
}

// discoveryState is the outcome of the discovery loop's latest attempts.
type discoveryState struct {
	ok       bool
	lastOK   time.Time
	lastErr  error
	failures int
	last     time.Time // when the last attempt ended
	next     time.Time
	alias    string // the InstanceAlias Orchestrator last reported
}

// New builds a Registrar; nothing runs until Run. It registers its
// variables in vars (a nil vars uses a private registry, publishing
// nothing) and logs to logger (nil discards). It panics if cfg is invalid
// (call cfg.Validate first) or if the variables are already registered in
// vars.
//
// Variables (/debug/vars name, /metrics name):
//
//	OrcDiscoveries       tablet_orc_discoveries_total{result}            discovery requests, result "ok" or "error"
//	OrcMaintenanceCalls  tablet_orc_maintenance_calls_total{call,result} begin/end/list calls
//	OrcMaintenanceUnconfirmed tablet_orc_maintenance_unconfirmed_total   WithMaintenance calls that went on without confirmation
//	OrcRegistered        tablet_orc_registered                           1 when the last discovery succeeded
//	OrcInMaintenance     tablet_orc_in_maintenance                       1 while the tablet's maintenance is active
//	OrcDiscoveryFailures tablet_orc_discovery_failures                   discovery failures since the last success
func New(cfg Config, vars *debugvars.Registry, logger *slog.Logger) *Registrar {
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("orc.New: invalid config: %v", err))
	}
	if vars == nil {
		vars = debugvars.New()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Registrar{
		cfg:          cfg,
		logger:       logger,
		discoverKick: make(chan struct{}, 1),
		maintainKick: make(chan struct{}, 1),
		applied:      make(chan struct{}),
		registered:   make(chan struct{}),
	}
	if cfg.Enabled() {
		c, err := NewClient(cfg)
		if err != nil {
			panic(fmt.Sprintf("orc.New: %v", err)) // Validate passed: cannot happen
		}
		r.client = c
	}
	discoveries := vars.NewCountersWithLabels("OrcDiscoveries", "tablet_orc_discoveries_total",
		"Discovery requests sent to Orchestrator, by result.", []string{"result"})
	r.discoverOK, r.discoverErr = discoveries.Handle("ok"), discoveries.Handle("error")
	r.maintCalls = vars.NewCountersWithLabels("OrcMaintenanceCalls", "tablet_orc_maintenance_calls_total",
		"Maintenance calls sent to Orchestrator, by call (begin, end, list) and result.", []string{"call", "result"})
	for _, call := range []string{"begin", "end", "list"} {
		r.maintCalls.Handle(call, "ok")
		r.maintCalls.Handle(call, "error")
	}
	r.unconfirmed = vars.NewCounter("OrcMaintenanceUnconfirmed", "tablet_orc_maintenance_unconfirmed_total",
		"Operations run without Orchestrator confirming maintenance in time.")
	vars.NewGaugeFunc("OrcRegistered", "tablet_orc_registered",
		"Whether the last discovery request to Orchestrator succeeded (1) or not (0).", r.registeredGauge.Load)
	vars.NewGaugeFunc("OrcInMaintenance", "tablet_orc_in_maintenance",
		"Whether the tablet's maintenance is active in Orchestrator (1) or not (0).", r.maintenanceGauge.Load)
	vars.NewGaugeFunc("OrcDiscoveryFailures", "tablet_orc_discovery_failures",
		"Discovery requests to Orchestrator failed since the last success.", r.failuresGauge.Load)
	return r
}

// Run talks to Orchestrator until ctx ends, then returns nil; it returns
// ErrRunning at once if another Run has not returned. It runs two owned
// goroutines and waits for both: discovery (at once, then every
// DiscoverInterval; never when the interval is zero) and maintenance (as
// holds come and go, and renewals fall due). Failed calls are logged,
// counted and retried with backoff from BackoffMin to BackoffMax; no
// failure ends Run. Maintenance left active when Run returns expires in
// Orchestrator; the next Run ends it when nothing holds it any more.
// Disabled, Run only waits for ctx.
func (r *Registrar) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer r.running.Store(false)
	if r.client == nil {
		<-ctx.Done()
		return nil
	}
	r.logger.Info("orchestrator integration started", "config", r.cfg)
	var wg sync.WaitGroup
	wg.Go(func() { r.discoverLoop(ctx) })
	wg.Go(func() { r.maintainLoop(ctx) })
	wg.Wait()
	r.client.CloseIdleConnections()
	r.logger.Info("orchestrator integration stopped")
	return nil
}

// SetTablet tells the Registrar what its tablet is now. It never waits for
// Orchestrator. A new MySQL address or type triggers a discovery at once
// (when discovery is on); a new address moves any maintenance to it.
func (r *Registrar) SetTablet(t Tablet) {
	r.mu.Lock()
	old := r.tablet
	r.tablet = t
	changed := old.key() != t.key()
	if changed {
		r.gen++
	}
	r.mu.Unlock()
	if changed {
		kick(r.maintainKick)
	}
	if old.key() != t.key() || old.Type != t.Type {
		kick(r.discoverKick)
	}
}

// Rediscover asks for a discovery request at once, ahead of the interval
// and of any backoff. It never waits; a request already asked for and not
// yet sent absorbs this one. It does nothing when discovery is off.
func (r *Registrar) Rediscover() { kick(r.discoverKick) }

// Registered returns a channel closed at the first successful discovery.
// Nobody else closes it; it stays open while discovery is off.
func (r *Registrar) Registered() <-chan struct{} { return r.registered }

// Status returns the current state.
func (r *Registrar) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Status{
		Enabled:           r.client != nil,
		Registered:        r.disc.ok,
		LastRegistered:    r.disc.lastOK,
		LastError:         r.disc.lastErr,
		DiscoveryFailures: r.disc.failures,
		LastAttempt:       r.disc.last,
		NextDiscovery:     r.disc.next,
		InMaintenance:     r.maint.active,
		MaintenanceReason: r.maint.reason,
		MaintenanceSince:  r.maint.since,
		MaintenanceBy:     r.maint.foreign,
		MaintenanceWanted: len(r.holds) > 0,
	}
}

// discoverLoop sends a discovery request at once and then every
// DiscoverInterval, or after a backoff when one fails, until ctx ends.
func (r *Registrar) discoverLoop(ctx context.Context) {
	if r.cfg.DiscoverInterval <= 0 {
		return // vttablet's "0 means never"
	}
	r.logger.Info("periodic orchestrator self-registration on", "interval", r.cfg.DiscoverInterval)
	// The first discovery goes at once and covers any kick from before
	// Run.
	kick(r.discoverKick)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-r.discoverKick:
			timer.Stop()
		}
		r.mu.Lock()
		t := r.tablet
		r.mu.Unlock()
		if !t.key().IsValid() {
			r.mu.Lock()
			r.disc.next = time.Time{}
			r.mu.Unlock()
			continue // SetTablet kicks when the address is known
		}
		inst, err := r.client.Discover(ctx, t.Host, t.Port)
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration
		if err != nil {
			failures++
			wait = jitter(backoff(r.cfg.BackoffMin, r.cfg.BackoffMax, failures), r.cfg.DiscoverJitter)
			r.discoverFailed(t, err, failures, wait)
		} else {
			wait = jitter(r.cfg.DiscoverInterval, r.cfg.DiscoverJitter)
			r.discoverSucceeded(t, inst, failures, wait)
			failures = 0
		}
		timer.Reset(wait)
	}
}

// discoverFailed records and logs a failed discovery.
func (r *Registrar) discoverFailed(t Tablet, err error, failures int, wait time.Duration) {
	r.discoverErr.Add(1)
	r.registeredGauge.Store(0)
	r.failuresGauge.Store(int64(failures))
	r.mu.Lock()
	r.disc.ok = false
	r.disc.lastErr = err
	r.disc.failures = failures
	now := time.Now()
	r.disc.last, r.disc.next = now, now.Add(wait)
	r.mu.Unlock()
	// One line per attempt: attempts are spaced by the backoff, so a
	// long outage logs at most once per BackoffMax.
	r.logger.Warn("orchestrator discovery failed", "instance", t.key().String(), "attempt", failures,
		"retry_in", wait.Round(time.Millisecond), "err", err)
}

// discoverSucceeded records and logs a successful discovery.
func (r *Registrar) discoverSucceeded(t Tablet, inst *Instance, failures int, wait time.Duration) {
	r.discoverOK.Add(1)
	r.registeredGauge.Store(1)
	r.failuresGauge.Store(0)
	r.mu.Lock()
	first := !r.disc.ok
	prevAlias := r.disc.alias
	now := time.Now()
	r.disc = discoveryState{ok: true, lastOK: now, last: now, next: now.Add(wait), alias: inst.InstanceAlias}
	select {
	case <-r.registered:
	default:
		close(r.registered)
	}
	r.mu.Unlock()
	if first {
		r.logger.Info("registered with orchestrator", "instance", t.key().String(), "after_failures", failures,
			"instance_alias", inst.InstanceAlias, "cluster", inst.ClusterName, "cluster_alias", inst.SuggestedClusterAlias)
	} else {
		r.logger.Debug("orchestrator discovery succeeded", "instance", t.key().String())
	}
	if t.Alias != "" && inst.InstanceAlias != t.Alias && (first || inst.InstanceAlias != prevAlias) {
		// Failover hooks get {successorAlias} from this; a mismatch means
		// DetectInstanceAliasQuery or _vt.local_metadata is not set up.
		r.logger.Warn("orchestrator knows this instance under another alias; check DetectInstanceAliasQuery and _vt.local_metadata",
			"instance", t.key().String(), "instance_alias", inst.InstanceAlias, "tablet_alias", t.Alias)
	}
}

// kick fills a one-slot channel unless it is full already.
func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// joinReasons is the maintenance reason for holds: their distinct reasons
// in the order they were taken.
func joinReasons(holds []*Hold) string {
	seen := make(map[string]bool, len(holds))
	var parts []string
	for _, h := range holds {
		if !seen[h.reason] {
			seen[h.reason] = true
			parts = append(parts, h.reason)
		}
	}
	return strings.Join(parts, "; ")
}
