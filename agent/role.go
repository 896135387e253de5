package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/proto/vttimepb"
	"github.com/tabletd/tablet/topo"
)

// The shard record decides the tablet's role: the tablet it names as
// primary runs writable with the shard's primary term, every other tablet
// runs read-only and replicates from the primary's mysqld. The role
// manager watches the record and brings mysqld, the tablet record,
// _vt.local_metadata and (through its observer) health and the query
// service to that role; it checks again every roleConfig.checkInterval, so
// a mysqld restarted read-only, or a primary whose MySQL address changed,
// is brought back in line.

// roleConfig is what the role manager needs; the agent fills it in from
// Config. Durations must be positive.
type roleConfig struct {
	alias           *topodatapb.TabletAlias
	keyspace, shard string
	// initType is the tablet's type while it is not the primary, until
	// ChangeType sets another.
	initType topodatapb.TabletType
	// repl is the user a replica connects to its primary as.
	repl mysqld.Credentials
	// connectRetry is a replica's wait between attempts to connect to its
	// primary (MASTER_CONNECT_RETRY); zero keeps the server's default.
	connectRetry time.Duration
	// checkInterval is the time between two checks that mysqld and the
	// record still hold the role.
	checkInterval time.Duration
	// retryMin and retryMax bound the backoff after a failed attempt to
	// apply the role, or to watch the shard record: retryMin, doubling up
	// to retryMax.
	retryMin, retryMax time.Duration
	// attemptTimeout bounds one attempt to apply the role.
	attemptTimeout time.Duration
}

// backoff is the wait after the n-th consecutive failure (n >= 1).
func (c roleConfig) backoff(n int) time.Duration {
	d := c.retryMin
	for i := 1; i < n && d < c.retryMax; i++ {
		d *= 2
	}
	return min(d, c.retryMax)
}

// roleObserver hears of the role manager's changes. Its methods are called
// on the role manager's goroutine, in order, and must not block for long.
type roleObserver interface {
	// leavingPrimary is called before the mysqld of a tablet that was the
	// primary is made read-only, so that nothing it runs as the primary
	// (the heartbeat writer) writes after another primary took over.
	leavingPrimary()
	// roleChanged is called once mysqld has taken a new role: tablet type
	// typ, and the primary term's start when typ is PRIMARY.
	roleChanged(ctx context.Context, typ topodatapb.TabletType, termStart time.Time)
	// recordWritten is called with the tablet record as the role manager
	// last wrote or found it.
	recordWritten(t *topodatapb.Tablet)
}

// watchFunc is topo.Conn.Watch.
type watchFunc func(ctx context.Context, path string) (*topo.WatchData, <-chan *topo.WatchData, error)

// appliedRole is the role mysqld was last brought to.
type appliedRole struct {
	typ     topodatapb.TabletType
	term    *vttimepb.Time          // the primary term; nil unless typ is PRIMARY
	primary *topodatapb.TabletAlias // the shard's primary then; nil if none
}

// roleManager keeps the tablet in the role its shard record gives it.
// Build it with newRoleManager; run is its loop.
type roleManager struct {
	cfg roleConfig
	ts  *topo.Server
	// nonPrimary is the tablet type while the tablet is not the primary:
	// cfg.initType until ChangeType sets another (setNonPrimaryType).
	nonPrimary atomic.Int32
	// kick (one slot) asks the loop to apply the role again at once.
	kick   chan struct{}
	watch  watchFunc
	mysql  mysqlRole
	obs    roleObserver
	logger *slog.Logger

	changes      *debugvars.Counter
	applyErrors  *debugvars.Counter
	watchErrors  *debugvars.Counter
	feed         *shardFeed
	current      *appliedRole          // owned by run's goroutine; nil until a role is applied
	metadataType topodatapb.TabletType // owned by run's goroutine; the type _vt.local_metadata was last written for
	metadataDone bool                  // owned by run's goroutine
}

// newRoleManager builds a role manager without side effects beyond
// registering its variables in vars. watch is the global cell's
// Conn.Watch.
func newRoleManager(cfg roleConfig, ts *topo.Server, watch watchFunc, mysql mysqlRole, obs roleObserver, vars *debugvars.Registry, logger *slog.Logger) *roleManager {
	m := &roleManager{
		cfg: cfg, ts: ts, watch: watch, mysql: mysql, obs: obs, logger: logger, kick: make(chan struct{}, 1),
		changes: vars.NewCounter("TabletRoleChanges", "tablet_role_changes_total",
			"Changes of the tablet's role (tablet type or primary term) applied to mysqld."),
		applyErrors: vars.NewCounter("TabletRoleApplyErrors", "tablet_role_apply_errors_total",
			"Failed attempts to bring mysqld and the tablet record to the tablet's role."),
		watchErrors: vars.NewCounter("TabletShardWatchErrors", "tablet_shard_watch_errors_total",
			"Failures of the watch on the shard record, each followed by a retry."),
		feed: newShardFeed(),
	}
	m.nonPrimary.Store(int32(cfg.initType))
	return m
}

// nonPrimaryType is the tablet type while the tablet is not the primary.
func (m *roleManager) nonPrimaryType() topodatapb.TabletType {
	return topodatapb.TabletType(m.nonPrimary.Load())
}

// setNonPrimaryType makes typ the tablet's type while it is not the
// primary and has the loop apply it at once. typ must not be PRIMARY.
func (m *roleManager) setNonPrimaryType(typ topodatapb.TabletType) {
	m.nonPrimary.Store(int32(typ))
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// run applies the role the shard record gives until ctx ends: at once when
// the record changes, again every checkInterval, and after a failure with
// backoff until an attempt succeeds or the record changes. While the shard
// record cannot be read (a topology outage) the tablet keeps its role and
// goes on serving. run returns when ctx ends, after its watch goroutine
// has returned.
func (m *roleManager) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.watchShard(ctx)
	}()
	defer wg.Wait()

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var shard *topodatapb.Shard
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.feed.ready:
			sh := m.feed.take()
			if sh == nil {
				continue
			}
			if shard == nil || !sameTerm(shard, sh) {
				failures = 0 // a new role to apply: back off afresh
			}
			shard = sh
		case <-timer.C:
		case <-m.kick:
			failures = 0
		}
		if shard == nil {
			continue
		}
		actx, end := m.feed.begin(ctx, shard, m.cfg.attemptTimeout)
		err := m.apply(actx, shard)
		superseded := errors.Is(context.Cause(actx), errSuperseded)
		end()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && superseded:
			// A newer record is waiting in the feed; apply it at once.
			m.logger.Debug("tablet role attempt superseded by a newer shard record", "err", err)
		case err != nil:
			failures++
			m.applyErrors.Add(1)
			wait := m.cfg.backoff(failures)
			if failures == 1 {
				m.logger.Warn("could not apply the tablet role; keeping what mysqld has and retrying with backoff",
					"primary", aliasOrNone(shard.GetPrimaryAlias()), "retry_in", wait.String(), "err", err)
			} else {
				m.logger.Debug("tablet role attempt failed", "failures", failures, "retry_in", wait.String(), "err", err)
			}
			timer.Reset(wait)
		default:
			if failures > 0 {
				m.logger.Info("tablet role applied after failed attempts", "failures", failures)
			}
			failures = 0
			timer.Reset(m.cfg.checkInterval)
		}
	}
}

// apply brings mysqld, the observer, _vt.local_metadata and the tablet
// record to the role sh gives, in that order, changing only what differs.
func (m *roleManager) apply(ctx context.Context, sh *topodatapb.Shard) error {
	if topo.TabletAliasEqual(sh.GetPrimaryAlias(), m.cfg.alias) {
		var term *vttimepb.Time
		switch {
		case sh.GetPrimaryTermStartTime() != nil:
			term = proto.Clone(sh.GetPrimaryTermStartTime()).(*vttimepb.Time)
		case m.current != nil && m.current.typ == topodatapb.TabletType_PRIMARY:
			term = m.current.term
		default:
			// A shard record written by a tool that sets no term: the term
			// starts now, as far as this tablet can tell.
			term = timeProto(time.Now())
		}
		newTerm := m.current == nil || m.current.typ != topodatapb.TabletType_PRIMARY || !proto.Equal(m.current.term, term)
		actions, err := m.mysql.MakePrimary(ctx, newTerm)
		if err != nil {
			return fmt.Errorf("make mysqld a writable primary: %w", err)
		}
		role := appliedRole{typ: topodatapb.TabletType_PRIMARY, term: term, primary: m.cfg.alias}
		m.settle(ctx, role, actions)
		return m.finish(ctx, role)
	}

	var actions []string
	if m.current != nil && m.current.typ == topodatapb.TabletType_PRIMARY {
		// Stepping down: stop writing before anything else, even before
		// looking up the new primary. Two writable servers in one shard is
		// the one thing to avoid, and every write the old primary takes
		// from now on is one the new primary lacks.
		m.obs.leavingPrimary()
		done, err := m.mysql.MakeReplica(ctx, nil)
		if err != nil {
			return fmt.Errorf("make mysqld read-only: %w", err)
		}
		actions = done
	}
	// Turn read-only even when the new primary's address cannot be read.
	src, srcErr := m.sourceOf(ctx, sh.GetPrimaryAlias())
	done, err := m.mysql.MakeReplica(ctx, src)
	actions = append(actions, done...)
	if err != nil {
		return errors.Join(fmt.Errorf("make mysqld a read-only replica: %w", err), srcErr)
	}
	role := appliedRole{typ: m.nonPrimaryType(), primary: sh.GetPrimaryAlias()}
	if srcErr != nil {
		// Still replicating from the previous primary, if any.
		role.primary = nil
		if m.current != nil && m.current.typ != topodatapb.TabletType_PRIMARY {
			role.primary = m.current.primary
		}
	}
	m.settle(ctx, role, actions)
	if srcErr != nil {
		return srcErr
	}
	return m.finish(ctx, role)
}

// settle records that mysqld has taken role, tells the observer if that
// is a change of type or term, and logs what changed.
func (m *roleManager) settle(ctx context.Context, role appliedRole, actions []string) {
	prev := m.current
	m.current = &role
	if prev != nil && prev.typ == role.typ && proto.Equal(prev.term, role.term) {
		switch {
		case !topo.TabletAliasEqual(prev.primary, role.primary):
			m.logger.Info("following the shard's new primary", "type", role.typ.String(),
				"primary", aliasOrNone(role.primary), "previous_primary", aliasOrNone(prev.primary), "changes", actions)
		case len(actions) > 0:
			// mysqld drifted: restarted, or changed by hand.
			m.logger.Info("brought mysqld back to the tablet role", "type", role.typ.String(),
				"primary", aliasOrNone(role.primary), "changes", actions)
		}
		return
	}
	m.changes.Add(1)
	from := "NONE"
	if prev != nil {
		from = prev.typ.String()
	}
	attrs := []any{"from", from, "to", role.typ.String(), "primary", aliasOrNone(role.primary)}
	if len(actions) > 0 {
		attrs = append(attrs, "changes", actions)
	}
	if role.term != nil {
		attrs = append(attrs, "primary_term_start", protoTime(role.term).UTC().Format(time.RFC3339Nano))
	}
	m.logger.Info("tablet role changed", attrs...)
	m.obs.roleChanged(ctx, role.typ, protoTime(role.term))
}

// finish writes _vt.local_metadata when the type changed since it was last
// written, and the type and primary term into the tablet record.
func (m *roleManager) finish(ctx context.Context, role appliedRole) error {
	if !m.metadataDone || m.metadataType != role.typ {
		if err := m.mysql.WriteMetadata(ctx, m.metadata(role.typ)); err != nil {
			return err
		}
		m.metadataDone, m.metadataType = true, role.typ
	}
	ti, err := m.ts.UpdateTabletFields(ctx, m.cfg.alias, func(t *topodatapb.Tablet) error {
		if t.GetType() == role.typ && proto.Equal(t.GetPrimaryTermStartTime(), role.term) {
			return topo.ErrNoUpdateNeeded
		}
		t.Type = role.typ
		t.PrimaryTermStartTime = nil
		if role.term != nil {
			t.PrimaryTermStartTime = proto.Clone(role.term).(*vttimepb.Time)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record the tablet type %s: %w", role.typ, err)
	}
	m.obs.recordWritten(ti.Tablet)
	return nil
}

// metadata is what _vt.local_metadata says for tablet type typ. Primaries
// and replicas may be promoted; other types (rdonly, spare, ...) must not.
func (m *roleManager) metadata(typ topodatapb.TabletType) mysqld.LocalMetadata {
	rule := mysqld.PromotionMustNot
	if typ == topodatapb.TabletType_PRIMARY || typ == topodatapb.TabletType_REPLICA {
		rule = mysqld.PromotionNeutral
	}
	return mysqld.LocalMetadata{
		Alias:         topo.TabletAliasString(m.cfg.alias),
		ClusterAlias:  m.cfg.keyspace + "." + m.cfg.shard,
		DataCenter:    m.cfg.alias.GetCell(),
		PromotionRule: rule,
	}
}

// sourceOf returns where to replicate from when primary is the shard's
// primary: its mysqld, as its tablet record gives it. It returns nil, nil
// when the shard has no primary.
func (m *roleManager) sourceOf(ctx context.Context, primary *topodatapb.TabletAlias) (*mysqld.ReplicationSource, error) {
	if primary == nil {
		return nil, nil
	}
	ti, err := m.ts.GetTablet(ctx, primary)
	if err != nil {
		return nil, fmt.Errorf("read the record of the shard's primary: %w", err)
	}
	host, port := ti.Tablet.GetMysqlHostname(), ti.Tablet.GetMysqlPort()
	if host == "" || port <= 0 {
		return nil, fmt.Errorf("the record of the shard's primary %s has no MySQL address (mysql_hostname %q, mysql_port %d); it is written when that tablet starts",
			topo.TabletAliasString(primary), host, port)
	}
	return &mysqld.ReplicationSource{
		Host:         host,
		Port:         int(port),
		User:         m.cfg.repl.User,
		Password:     m.cfg.repl.Password,
		ConnectRetry: m.cfg.connectRetry,
	}, nil
}

// watchShard feeds the shard record, and every change of it, to the loop
// until ctx ends. When the watch fails (a topology outage, the record
// deleted) it logs once, keeps the current role, and watches again with
// backoff; the new watch starts with the current record, so a change made
// meanwhile is not missed.
func (m *roleManager) watchShard(ctx context.Context) {
	path := topo.ShardPath(m.cfg.keyspace, m.cfg.shard)
	failures := 0
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		err := m.followShard(ctx, path, &failures)
		if ctx.Err() != nil {
			return
		}
		failures++
		m.watchErrors.Add(1)
		wait := m.cfg.backoff(failures)
		if failures == 1 {
			m.logger.Warn("lost the watch on the shard record; keeping the current role and watching again with backoff",
				"path", path, "retry_in", wait.String(), "err", err)
		} else {
			m.logger.Debug("shard record watch failed again", "path", path, "failures", failures, "retry_in", wait.String(), "err", err)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// followShard watches path and feeds each value until the watch ends, and
// returns why it ended.
func (m *roleManager) followShard(ctx context.Context, path string, failures *int) error {
	cur, changes, err := m.watch(ctx, path)
	if err != nil {
		return err
	}
	if *failures > 0 {
		m.logger.Info("watching the shard record again", "path", path, "failed_attempts", *failures)
	}
	*failures = 0
	m.offer(path, cur)
	for wd := range changes {
		if wd.Err != nil {
			// The Conn closes the channel after a final error.
			return wd.Err
		}
		m.offer(path, wd)
	}
	return errors.New("the watch ended")
}

// offer decodes a shard record and hands it to the loop. An undecodable
// value is logged and skipped: the role stays.
func (m *roleManager) offer(path string, wd *topo.WatchData) {
	sh := &topodatapb.Shard{}
	if err := proto.Unmarshal(wd.Contents, sh); err != nil {
		m.logger.Error("undecodable shard record; keeping the current role", "path", path, "version", wd.Version.String(), "err", err)
		return
	}
	m.feed.put(sh)
}

// errSuperseded is the cause of an attempt cancelled by a newer record.
var errSuperseded = errors.New("superseded by a newer shard record")

// shardFeed hands the newest shard record from the watch to the loop. Only
// the newest matters: a record the loop has not taken yet is replaced. A
// record that names another primary or starts a new term cancels the
// attempt in progress, so that a reparent never waits behind an attempt
// to apply the role it replaces (one stuck on an unreachable old primary,
// say).
type shardFeed struct {
	ready chan struct{} // one slot: next holds a record

	mu       sync.Mutex // guards the fields below
	next     *topodatapb.Shard
	applying *topodatapb.Shard       // the record of the attempt in progress
	cancel   context.CancelCauseFunc // cancels that attempt; nil between attempts
}

func newShardFeed() *shardFeed { return &shardFeed{ready: make(chan struct{}, 1)} }

// put offers sh, replacing a record not yet taken.
func (f *shardFeed) put(sh *topodatapb.Shard) {
	f.mu.Lock()
	f.next = sh
	if f.cancel != nil && !sameTerm(f.applying, sh) {
		f.cancel(errSuperseded)
	}
	f.mu.Unlock()
	select {
	case f.ready <- struct{}{}:
	default:
	}
}

// take returns the newest record offered and not yet taken, or nil.
func (f *shardFeed) take() *topodatapb.Shard {
	f.mu.Lock()
	defer f.mu.Unlock()
	sh := f.next
	f.next = nil
	return sh
}

// begin starts an attempt to apply sh: its context ends after timeout, with
// ctx, or when a record for another term is offered. end must be called
// when the attempt is over.
func (f *shardFeed) begin(ctx context.Context, sh *topodatapb.Shard, timeout time.Duration) (context.Context, func()) {
	tctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	actx, cancel := context.WithCancelCause(tctx)
	f.mu.Lock()
	f.applying, f.cancel = sh, cancel
	if f.next != nil && !sameTerm(sh, f.next) {
		cancel(errSuperseded)
	}
	f.mu.Unlock()
	return actx, func() {
		f.mu.Lock()
		f.applying, f.cancel = nil, nil
		f.mu.Unlock()
		cancel(nil)
		cancelTimeout()
	}
}

// sameTerm reports whether a and b name the same primary and term.
func sameTerm(a, b *topodatapb.Shard) bool {
	return topo.TabletAliasEqual(a.GetPrimaryAlias(), b.GetPrimaryAlias()) &&
		proto.Equal(a.GetPrimaryTermStartTime(), b.GetPrimaryTermStartTime())
}

func aliasOrNone(a *topodatapb.TabletAlias) string {
	if a == nil {
		return "none"
	}
	return topo.TabletAliasString(a)
}

// protoTime converts a topology time; nil is the zero time.
func protoTime(t *vttimepb.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return time.Unix(t.GetSeconds(), int64(t.GetNanoseconds()))
}

func timeProto(t time.Time) *vttimepb.Time {
	return &vttimepb.Time{Seconds: t.Unix(), Nanoseconds: int32(t.Nanosecond())}
}
