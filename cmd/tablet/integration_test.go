package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/testenv"
	"github.com/tabletd/tablet/topo"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	raceBuild bool // set by race_test.go when the tests run with -race
)

// tabletBinary builds cmd/tablet once per test process.
func tabletBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tablet-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "tablet")
		args := []string{"build", "-o", binPath}
		if raceBuild {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// world is an etcd with a cell zone1 and a private mysqld.
type world struct {
	etcd  *testenv.Etcd
	mysql *testenv.MySQL
	cli   *clientv3.Client
	creds string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{etcd: testenv.StartEtcd(t), mysql: testenv.StartMySQL(t)}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{w.etcd.Endpoint()}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	w.cli = cli
	w.creds = filepath.Join(t.TempDir(), "creds.json")
	var b strings.Builder
	b.WriteString("{")
	for i, r := range testenv.Roles {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%q: [%q]", testenv.UserOf(r), testenv.PasswordOf(r))
	}
	b.WriteString("}")
	if err := os.WriteFile(w.creds, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), append(w.topoFlags(), "AddCellInfo", "--server_address="+w.etcd.Address(), "--root=/vitess/zone1", "zone1")[0:],
		&out, &errb); code != 0 {
		t.Fatalf("AddCellInfo: %d %s", code, errb.String())
	}
	return w
}

func (w *world) topoFlags() []string {
	return []string{"topo", "--topo_global_server_address=" + w.etcd.Address(), "--topo_global_root=/vitess/global"}
}

// args returns the tablet's flags for alias in keyspace/shard on the
// world's mysqld, plus extra.
func (w *world) args(t *testing.T, alias, keyspace, shard string, extra ...string) []string {
	return w.argsOn(t, w.mysql, alias, keyspace, shard, extra...)
}

// argsOn returns the tablet's flags for alias in keyspace/shard on mysqld
// m, plus extra (a flag given again in extra wins). Health checks, role
// checks and replica reconnects are quick, so tests wait little.
func (w *world) argsOn(t *testing.T, m *testenv.MySQL, alias, keyspace, shard string, extra ...string) []string {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{
		"--tablet-path=" + alias, "--init_keyspace=" + keyspace, "--init_shard=" + shard,
		fmt.Sprintf("--port=%d", port), "--grpc_port=0",
		"--db_socket=" + m.Socket(), "--db-credentials-file=" + w.creds,
		"--topo_global_server_address=" + w.etcd.Address(), "--topo_global_root=/vitess/global",
		"--topo_etcd_lease_duration=2s",
		"--health_check_interval=200ms", "--health-recheck-delay=100ms", "--health-min-dwell=0",
		"--role-check-interval=1s", "--replication_connect_retry=1s",
	}, extra...)
}

// reparent runs `tablet topo TabletExternallyReparented alias`, as an
// operator or Orchestrator would.
func (w *world) reparent(t *testing.T, alias string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), append(w.topoFlags(), "TabletExternallyReparented", alias), &out, &errb); code != 0 {
		t.Fatalf("TabletExternallyReparented %s: exit %d: %s", alias, code, errb.String())
	}
}

// tablet reads a tablet record from etcd.
func (w *world) tablet(t *testing.T, alias string) *topodatapb.Tablet {
	t.Helper()
	a, err := topo.ParseTabletAlias(alias)
	if err != nil {
		t.Fatal(err)
	}
	key := "/vitess/zone1/" + topo.TabletPath(topo.TabletAliasString(a))
	raw, ok := w.snapshot(t)[key]
	if !ok {
		t.Fatalf("no record at %s", key)
	}
	tb := &topodatapb.Tablet{}
	if err := proto.Unmarshal([]byte(raw), tb); err != nil {
		t.Fatal(err)
	}
	return tb
}

// snapshot returns every key and value in etcd.
func (w *world) snapshot(t *testing.T) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := w.cli.Get(ctx, "", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, kv := range resp.Kvs {
		m[string(kv.Key)] = string(kv.Value)
	}
	return m
}

// proc is a running tablet binary.
type proc struct {
	cmd    *exec.Cmd
	port   string
	stderr *lockedBuffer
	done   chan struct{}
	err    error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startTablet(t *testing.T, args []string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(tabletBinary(t), args...), stderr: &lockedBuffer{}, done: make(chan struct{})}
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--port="); ok {
			p.port = v
		}
	}
	p.cmd.Stderr = p.stderr
	if raceBuild {
		// The race runtime sleeps a second before exiting by default, which
		// would blur the shutdown timings the tests measure.
		p.cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=50")
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("tablet stderr:\n%s", p.stderr.String())
		}
	})
	return p
}

// waitServing waits until the tablet answers /debug/health with "ok".
func (p *proc) waitServing(t *testing.T) {
	t.Helper()
	p.waitFor(t, "serving (/debug/health ok)", func() bool {
		code, body := p.get("/debug/health")
		return code == http.StatusOK && strings.TrimSpace(body) == "ok"
	})
}

// waitType waits until the tablet reports tablet type typ in /debug/vars
// (TabletType is the type of the record it last wrote, which it writes
// once mysqld holds the role).
func (p *proc) waitType(t *testing.T, typ string) {
	t.Helper()
	p.waitFor(t, "tablet type "+typ, func() bool {
		code, body := p.get("/debug/vars")
		var vars struct{ TabletType string }
		return code == http.StatusOK && json.Unmarshal([]byte(body), &vars) == nil && vars.TabletType == typ
	})
}

// get fetches path from the tablet's HTTP port; code 0 when it does not
// answer.
func (p *proc) get(path string) (int, string) {
	resp, err := http.Get("http://127.0.0.1:" + p.port + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitFor polls cond until it holds, failing if the tablet exits or 30s
// pass.
func (p *proc) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-p.done:
			t.Fatalf("tablet exited (%v) before %s:\n%s", p.err, what, p.stderr.String())
		case <-deadline.C:
			t.Fatalf("tablet not %s after 30s:\n%s", what, p.stderr.String())
		case <-tick.C:
		}
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("tablet still running after %v:\n%s", within, p.stderr.String())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

func TestBadStartsWriteNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts etcd, mysqld and the tablet binary")
	}
	w := newWorld(t)
	// A tablet that owns zone1-100 in commerce/0 already.
	first := startTablet(t, w.args(t, "zone1-100", "commerce", "0"))
	first.waitType(t, "REPLICA")
	first.cmd.Process.Signal(syscall.SIGTERM)
	if code := first.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("first tablet exit %d", code)
	}

	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"primary as init type", w.args(t, "zone1-101", "commerce", "0", "--init_tablet_type=primary"), 2, "start as replica"},
		{"unknown cell", w.args(t, "zone9-101", "commerce", "0"), 1, `cell \"zone9\" does not exist`},
		{"bad shard name", w.args(t, "zone1-101", "commerce", "80-40"), 2, "--init_shard"},
		{"alias in another shard", w.args(t, "zone1-100", "commerce", "-80"), 1, "already recorded in commerce/0, not commerce/-80"},
		{"alias in another keyspace", w.args(t, "zone1-100", "customer", "0"), 1, "already recorded in commerce/0, not customer/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.snapshot(t)
			p := startTablet(t, tt.args)
			if code := p.wait(t, 30*time.Second); code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if !strings.Contains(p.stderr.String(), tt.msg) {
				t.Errorf("stderr lacks %q:\n%s", tt.msg, p.stderr.String())
			}
			after := w.snapshot(t)
			for k, v := range after {
				if before[k] != v {
					t.Errorf("the refused start wrote %s", k)
				}
			}
			for k := range before {
				if _, ok := after[k]; !ok {
					t.Errorf("the refused start deleted %s", k)
				}
			}
		})
	}
}

func TestStartCreatesRecordsAndRestartChangesOnlyWhatChanged(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts etcd, mysqld and the tablet binary")
	}
	w := newWorld(t)
	grpcPort, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// A fixed gRPC port: with --grpc_port=0 each start records the port it
	// was given.
	args := w.args(t, "zone1-100", "commerce", "0", "--tablet_hostname=db1.example", "--init_tags=dc:east",
		fmt.Sprintf("--grpc_port=%d", grpcPort))
	p := startTablet(t, args)
	p.waitType(t, "REPLICA")

	snap := w.snapshot(t)
	for _, key := range []string{
		"/vitess/global/keyspaces/commerce/Keyspace",
		"/vitess/global/keyspaces/commerce/shards/0/Shard",
		"/vitess/zone1/tablets/zone1-0000000100/Tablet",
		"/vitess/zone1/keyspaces/commerce/shards/0/ShardReplication",
		"/vitess/zone1/keyspaces/commerce/SrvKeyspace",
	} {
		if _, ok := snap[key]; !ok {
			t.Errorf("no record at %s; have %v", key, keys(snap))
		}
	}
	tablet := &topodatapb.Tablet{}
	if err := proto.Unmarshal([]byte(snap["/vitess/zone1/tablets/zone1-0000000100/Tablet"]), tablet); err != nil {
		t.Fatal(err)
	}
	if tablet.GetHostname() != "db1.example" || tablet.GetKeyspace() != "commerce" || tablet.GetType() != topodatapb.TabletType_REPLICA ||
		tablet.GetMysqlPort() != int32(w.mysql.Port()) || fmt.Sprint(tablet.GetPortMap()["vt"]) != p.port || tablet.GetTags()["dc"] != "east" {
		t.Errorf("tablet record = %v", tablet)
	}

	// Restart with the same alias: no duplicate in ShardReplication, and
	// nothing changed but the start time.
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	p2 := startTablet(t, args)
	p2.waitType(t, "REPLICA")
	snap2 := w.snapshot(t)
	sr := &topodatapb.ShardReplication{}
	if err := proto.Unmarshal([]byte(snap2["/vitess/zone1/keyspaces/commerce/shards/0/ShardReplication"]), sr); err != nil {
		t.Fatal(err)
	}
	if len(sr.GetNodes()) != 1 {
		t.Errorf("ShardReplication after restart = %v, want one node", sr)
	}
	for k, v := range snap {
		if k == "/vitess/zone1/tablets/zone1-0000000100/Tablet" || strings.Contains(k, "/elections/") {
			continue
		}
		if snap2[k] != v {
			t.Errorf("restart changed %s", k)
		}
	}
	t2 := &topodatapb.Tablet{}
	if err := proto.Unmarshal([]byte(snap2["/vitess/zone1/tablets/zone1-0000000100/Tablet"]), t2); err != nil {
		t.Fatal(err)
	}
	t2.TabletStartTime, tablet.TabletStartTime = nil, nil
	if !proto.Equal(t2, tablet) {
		t.Errorf("restart changed the record beyond its start time:\nbefore %v\nafter  %v", tablet, t2)
	}
}

func TestSecondOwnerRefusedUntilClaimExpires(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts etcd, mysqld and the tablet binary")
	}
	w := newWorld(t)
	first := startTablet(t, w.args(t, "zone1-100", "commerce", "0"))
	first.waitType(t, "REPLICA")

	second := startTablet(t, w.args(t, "zone1-100", "commerce", "0"))
	if code := second.wait(t, 30*time.Second); code != 1 {
		t.Errorf("second owner exit %d, want 1", code)
	}
	if msg := "is owned by a live process ("; !strings.Contains(second.stderr.String(), msg) ||
		!strings.Contains(second.stderr.String(), ":"+first.port+" pid ") {
		t.Errorf("second owner's refusal does not name the live owner's host and port %s:\n%s", first.port, second.stderr.String())
	}

	// Kill the first without letting it release anything: the next owner
	// gets in once the claim's lease (2s) has expired.
	first.cmd.Process.Kill()
	first.wait(t, 10*time.Second)
	w.waitNoClaim(t, "zone1-0000000100", 10*time.Second)
	third := startTablet(t, w.args(t, "zone1-100", "commerce", "0"))
	third.waitType(t, "REPLICA")
}

// waitNoClaim waits until no process holds alias's claim in zone1.
func (w *world) waitNoClaim(t *testing.T, alias string, within time.Duration) {
	t.Helper()
	prefix := "/vitess/zone1/elections/tablet-" + alias + "/"
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		held := false
		for k := range w.snapshot(t) {
			held = held || strings.HasPrefix(k, prefix)
		}
		if !held {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("claim on %s still held after %v: %v", alias, within, keys(w.snapshot(t)))
		case <-tick.C:
		}
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
