package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/topo"
	"github.com/tabletd/tablet/topo/topofactory"
)

// events is the ordered log of what the fakes saw, as short strings such
// as "primary", "replica 10.0.0.2:3306 vt_repl", "metadata REPLICA
// neutral", "leaving", "changed PRIMARY", "record REPLICA".
type events chan string

// expect reads events until each of want has been seen, in order, or
// fails after a deadline. Events in between are skipped.
func (e events) expect(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	var seen []string
	for _, w := range want {
		for found := false; !found; {
			select {
			case ev := <-e:
				seen = append(seen, ev)
				found = ev == w
			case <-deadline.C:
				t.Fatalf("no event %q; saw %q", w, seen)
			}
		}
	}
}

// fakeMySQL is a mysqlRole that logs each call and fails the next
// failNext calls; with hang set, MakeReplica blocks until its context ends.
type fakeMySQL struct {
	ev events

	mu       sync.Mutex // guards the fields below
	failNext int
	hang     bool
	calls    int
}

func (f *fakeMySQL) call(ctx context.Context, what string, hang bool) error {
	f.mu.Lock()
	f.calls++
	fail := f.failNext > 0
	if fail {
		f.failNext--
	}
	hang = hang && f.hang
	f.mu.Unlock()
	if hang {
		f.ev <- what + " hanging"
		<-ctx.Done()
		return ctx.Err()
	}
	if fail {
		f.ev <- what + " failed"
		return errors.New("mysqld is down")
	}
	f.ev <- what
	return nil
}

func (f *fakeMySQL) MakePrimary(ctx context.Context, _ bool) ([]string, error) {
	return []string{"turned read_only off"}, f.call(ctx, "primary", false)
}

func (f *fakeMySQL) MakeReplica(ctx context.Context, src *mysqld.ReplicationSource) ([]string, error) {
	what := "replica none"
	if src != nil {
		what = fmt.Sprintf("replica %s:%d %s", src.Host, src.Port, src.User)
	}
	return nil, f.call(ctx, what, true)
}

func (f *fakeMySQL) WriteMetadata(ctx context.Context, md mysqld.LocalMetadata) error {
	return f.call(ctx, fmt.Sprintf("metadata %s %s %s %s", md.Alias, md.ClusterAlias, md.DataCenter, md.PromotionRule), false)
}

// fakeObserver logs what the role manager tells it.
type fakeObserver struct {
	ev events

	mu   sync.Mutex // guards term
	term time.Time
}

func (o *fakeObserver) leavingPrimary() { o.ev <- "leaving" }

func (o *fakeObserver) roleChanged(_ context.Context, typ topodatapb.TabletType, term time.Time) {
	o.mu.Lock()
	o.term = term
	o.mu.Unlock()
	o.ev <- "changed " + typ.String()
}

func (o *fakeObserver) recordWritten(t *topodatapb.Tablet) { o.ev <- "record " + t.GetType().String() }

// roleWorld is a memory topology with shard ks/0, this tablet zone1-100
// and a second tablet zone1-101 whose mysqld is at 10.0.0.2:3306.
type roleWorld struct {
	ts    *topo.Server
	me    *topodatapb.TabletAlias
	other *topodatapb.TabletAlias
	ev    events
	mysql *fakeMySQL
	obs   *fakeObserver
	vars  *debugvars.Registry
}

func newRoleWorld(t *testing.T) *roleWorld {
	t.Helper()
	cfg := topo.DefaultConfig()
	cfg.Implementation, cfg.GlobalRoot = topo.ImplMemory, "/vitess/global"
	ts, err := topofactory.Open(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	ctx := t.Context()
	if err := ts.CreateCellInfo(ctx, "zone1", &topodatapb.CellInfo{ServerAddress: "memory", Root: "/vitess/zone1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.GetOrCreateShard(ctx, "ks", "0"); err != nil {
		t.Fatal(err)
	}
	w := &roleWorld{ts: ts, me: &topodatapb.TabletAlias{Cell: "zone1", Uid: 100}, other: &topodatapb.TabletAlias{Cell: "zone1", Uid: 101},
		ev: make(events, 1000), vars: debugvars.New()}
	for _, tb := range []*topodatapb.Tablet{
		{Alias: w.me, Keyspace: "ks", Shard: "0", Type: topodatapb.TabletType_REPLICA, MysqlHostname: "10.0.0.1", MysqlPort: 3306},
		{Alias: w.other, Keyspace: "ks", Shard: "0", Type: topodatapb.TabletType_REPLICA, MysqlHostname: "10.0.0.2", MysqlPort: 3306},
	} {
		if err := ts.CreateTablet(ctx, tb); err != nil {
			t.Fatal(err)
		}
	}
	w.mysql = &fakeMySQL{ev: w.ev}
	w.obs = &fakeObserver{ev: w.ev}
	return w
}

func (w *roleWorld) config(initType topodatapb.TabletType) roleConfig {
	return roleConfig{
		alias: w.me, keyspace: "ks", shard: "0", initType: initType,
		repl:          mysqld.Credentials{User: "vt_repl", Password: "pw"},
		checkInterval: time.Hour, retryMin: time.Millisecond, retryMax: 10 * time.Millisecond,
		attemptTimeout: time.Minute,
	}
}

// start runs a role manager until the test ends.
func (w *roleWorld) start(t *testing.T, cfg roleConfig, watch watchFunc) *roleManager {
	t.Helper()
	if watch == nil {
		watch = w.ts.GlobalConn().Watch
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := newRoleManager(cfg, w.ts, watch, w.mysql, w.obs, w.vars, logger)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return m
}

func (w *roleWorld) reparent(t *testing.T, to *topodatapb.TabletAlias) *topodatapb.Shard {
	t.Helper()
	si, err := w.ts.SetShardPrimary(t.Context(), to)
	if err != nil {
		t.Fatal(err)
	}
	return si.Shard
}

func (w *roleWorld) record(t *testing.T) *topodatapb.Tablet {
	t.Helper()
	ti, err := w.ts.GetTablet(t.Context(), w.me)
	if err != nil {
		t.Fatal(err)
	}
	return ti.Tablet
}

func TestRoleFollowsShardRecord(t *testing.T) {
	w := newRoleWorld(t)
	w.start(t, w.config(topodatapb.TabletType_REPLICA), nil)

	// No primary: read-only, replication left alone.
	w.ev.expect(t, "replica none", "changed REPLICA", "metadata zone1-0000000100 ks.0 zone1 neutral", "record REPLICA")

	// Made the primary: writable, record and health carry the shard's term.
	sh := w.reparent(t, w.me)
	w.ev.expect(t, "primary", "changed PRIMARY", "metadata zone1-0000000100 ks.0 zone1 neutral", "record PRIMARY")
	rec := w.record(t)
	if rec.GetType() != topodatapb.TabletType_PRIMARY || !proto.Equal(rec.GetPrimaryTermStartTime(), sh.GetPrimaryTermStartTime()) {
		t.Errorf("record after promotion: type %v term %v, want PRIMARY %v", rec.GetType(), rec.GetPrimaryTermStartTime(), sh.GetPrimaryTermStartTime())
	}
	w.obs.mu.Lock()
	if got, want := w.obs.term, protoTime(sh.GetPrimaryTermStartTime()); !got.Equal(want) {
		t.Errorf("term told to the observer = %v, want %v", got, want)
	}
	w.obs.mu.Unlock()

	// Another primary: heartbeats stop before read-only, then replicate
	// from the new primary's mysqld as the repl user.
	w.reparent(t, w.other)
	w.ev.expect(t, "leaving", "replica none", "replica 10.0.0.2:3306 vt_repl", "changed REPLICA", "record REPLICA")
	if rec := w.record(t); rec.GetType() != topodatapb.TabletType_REPLICA || rec.GetPrimaryTermStartTime() != nil {
		t.Errorf("record after demotion: type %v term %v, want REPLICA without term", rec.GetType(), rec.GetPrimaryTermStartTime())
	}
}

func TestRoleMetadataOfRdonly(t *testing.T) {
	w := newRoleWorld(t)
	w.reparent(t, w.other)
	w.start(t, w.config(topodatapb.TabletType_RDONLY), nil)
	w.ev.expect(t, "replica 10.0.0.2:3306 vt_repl", "changed RDONLY", "metadata zone1-0000000100 ks.0 zone1 must_not", "record RDONLY")
}

func TestRoleRetriesUntilMySQLAnswers(t *testing.T) {
	w := newRoleWorld(t)
	w.mysql.failNext = 3
	w.reparent(t, w.me)
	w.start(t, w.config(topodatapb.TabletType_REPLICA), nil)
	w.ev.expect(t, "primary failed", "primary failed", "primary failed", "primary", "changed PRIMARY", "record PRIMARY")
	if got := varInt(t, w.vars, "TabletRoleApplyErrors"); got != 3 {
		t.Errorf("TabletRoleApplyErrors = %d, want 3", got)
	}
}

// TestRoleSurvivesWatchFailures: the watch fails to start, then breaks;
// the role stays, and a change made while it was broken is applied once
// it is back.
func TestRoleSurvivesWatchFailures(t *testing.T) {
	w := newRoleWorld(t)
	fw := &flakyWatch{watch: w.ts.GlobalConn().Watch, failFirst: 2, broken: make(chan struct{})}
	w.start(t, w.config(topodatapb.TabletType_REPLICA), fw.Watch)
	w.ev.expect(t, "replica none", "changed REPLICA", "record REPLICA")

	close(fw.broken) // the current watch ends with an error
	w.reparent(t, w.me)
	w.ev.expect(t, "primary", "changed PRIMARY", "record PRIMARY")
	// The broken watch may deliver the change before it reports its end:
	// wait for the count.
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for varInt(t, w.vars, "TabletShardWatchErrors") < 3 {
		select {
		case <-deadline.C:
			t.Fatalf("TabletShardWatchErrors = %d after 10s, want at least 3 (two failed starts, one broken watch)",
				varInt(t, w.vars, "TabletShardWatchErrors"))
		case <-tick.C:
		}
	}
}

// flakyWatch fails its first failFirst calls, and ends the first watch it
// starts with an Unavailable error when broken is closed.
type flakyWatch struct {
	watch     watchFunc
	failFirst int
	broken    chan struct{}

	mu    sync.Mutex // guards calls
	calls int
}

func (f *flakyWatch) Watch(ctx context.Context, path string) (*topo.WatchData, <-chan *topo.WatchData, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if n <= f.failFirst {
		return nil, nil, topo.NewError(topo.Unavailable, "watch", path, errors.New("etcd is down"))
	}
	if n > f.failFirst+1 {
		return f.watch(ctx, path)
	}
	wctx, cancel := context.WithCancel(ctx)
	cur, ch, err := f.watch(wctx, path)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	out := make(chan *topo.WatchData)
	go func() {
		defer close(out)
		defer cancel()
		for {
			select {
			case wd, ok := <-ch:
				if !ok {
					return
				}
				select {
				case out <- wd:
				case <-ctx.Done():
					return
				}
			case <-f.broken:
				cancel()
				for range ch {
				}
				select {
				case out <- &topo.WatchData{Err: topo.NewError(topo.Unavailable, "watch", path, errors.New("etcd went away"))}:
				case <-ctx.Done():
				}
				return
			}
		}
	}()
	return cur, out, nil
}

// TestRoleNewPrimaryCutsShortAStuckAttempt: an attempt stuck on mysqld is
// cancelled by a record naming another primary, which is applied at once
// rather than after the attempt's timeout.
func TestRoleNewPrimaryCutsShortAStuckAttempt(t *testing.T) {
	w := newRoleWorld(t)
	w.mysql.hang = true
	w.reparent(t, w.other)
	w.start(t, w.config(topodatapb.TabletType_REPLICA), nil)
	w.ev.expect(t, "replica 10.0.0.2:3306 vt_repl hanging")
	w.reparent(t, w.me)
	w.ev.expect(t, "primary", "changed PRIMARY", "record PRIMARY")
	if got := varInt(t, w.vars, "TabletRoleApplyErrors"); got != 0 {
		t.Errorf("TabletRoleApplyErrors = %d, want 0: a superseded attempt is no failure", got)
	}
}

func TestBackoff(t *testing.T) {
	c := roleConfig{retryMin: 100 * time.Millisecond, retryMax: time.Second}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 50: time.Second} {
		if got := c.backoff(n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestShardFeedKeepsNewest(t *testing.T) {
	f := newShardFeed()
	a := &topodatapb.Shard{PrimaryAlias: &topodatapb.TabletAlias{Cell: "z", Uid: 1}}
	b := &topodatapb.Shard{PrimaryAlias: &topodatapb.TabletAlias{Cell: "z", Uid: 2}}
	f.put(a)
	f.put(b)
	<-f.ready
	if got := f.take(); got != b {
		t.Errorf("take() = %v, want the newest record %v", got, b)
	}
	if got := f.take(); got != nil {
		t.Errorf("second take() = %v, want nil", got)
	}

	ctx, end := f.begin(context.Background(), a, time.Minute)
	f.put(&topodatapb.Shard{PrimaryAlias: a.PrimaryAlias}) // same term: the attempt goes on
	if ctx.Err() != nil {
		t.Fatalf("a record for the same term cancelled the attempt: %v", context.Cause(ctx))
	}
	f.put(b)
	if !errors.Is(context.Cause(ctx), errSuperseded) {
		t.Errorf("attempt cause after another primary = %v, want errSuperseded", context.Cause(ctx))
	}
	end()
}

// varInt reads an integer variable from vars.
func varInt(t *testing.T, vars *debugvars.Registry, name string) int64 {
	t.Helper()
	raw, ok := vars.Get(name)
	if !ok {
		t.Fatalf("no variable %s", name)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil {
		t.Fatalf("variable %s = %s: %v", name, raw, err)
	}
	return n
}

// TestRoleChangeType: a new non-primary type (ChangeType) is applied at
// once and kept; while the tablet is the primary it waits for the
// demotion.
func TestRoleChangeType(t *testing.T) {
	w := newRoleWorld(t)
	w.reparent(t, w.other)
	m := w.start(t, w.config(topodatapb.TabletType_REPLICA), nil)
	w.ev.expect(t, "replica 10.0.0.2:3306 vt_repl", "changed REPLICA", "record REPLICA")

	m.setNonPrimaryType(topodatapb.TabletType_RDONLY)
	w.ev.expect(t, "changed RDONLY", "metadata zone1-0000000100 ks.0 zone1 must_not", "record RDONLY")

	w.reparent(t, w.me)
	w.ev.expect(t, "primary", "changed PRIMARY", "record PRIMARY")
	m.setNonPrimaryType(topodatapb.TabletType_SPARE)
	w.reparent(t, w.other)
	w.ev.expect(t, "leaving", "changed SPARE", "record SPARE")
	if rec := w.record(t); rec.GetType() != topodatapb.TabletType_SPARE {
		t.Errorf("record after demotion = %v, want SPARE", rec.GetType())
	}
}
