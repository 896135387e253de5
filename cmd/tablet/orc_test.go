package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tabletd/tablet/orc"
	"github.com/tabletd/tablet/orc/orctest"
	"github.com/tabletd/tablet/proto/querypb"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/testenv"
	"github.com/tabletd/tablet/topo"
)

// sampleOrcConfig is the sample Orchestrator configuration shipped with
// the tablet.
const sampleOrcConfig = "../../deploy/orchestrator/orchestrator.conf.json"

// orcWait bounds each wait for Orchestrator calls in these tests.
const orcWait = 30 * time.Second

// orcEnv is the Orchestrator a tablet talks to, always behind a recording
// orctest.Server: the fake API, or a real Orchestrator discovering the
// world's mysqld.
type orcEnv struct {
	srv  *orctest.Server
	real bool
}

// eachOrchestrator runs body against the fake Orchestrator API and, when
// ORCHESTRATOR_BIN names a binary, against a real Orchestrator started
// with the sample configuration (skipped with the reason otherwise).
func eachOrchestrator(t *testing.T, body func(t *testing.T, w *world, o *orcEnv)) {
	if testing.Short() {
		t.Skip("skipping: starts etcd, mysqld and the tablet binary")
	}
	t.Run("fake", func(t *testing.T) {
		w := newWorld(t)
		srv := orctest.Start(t)
		// What the sample's detection queries read from the rows the
		// tablet writes.
		srv.SetDetected("127.0.0.1", w.mysql.Port(), orctest.Detected{
			InstanceAlias: "zone1-0000000100", ClusterAlias: "commerce.0", DataCenter: "zone1"})
		body(t, w, &orcEnv{srv: srv})
	})
	t.Run("real", func(t *testing.T) {
		bin := testenv.RequireOrchestrator(t)
		w := newWorld(t)
		const user, password = "orc_topology", "orc-topology-pw"
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := w.mysql.GrantOrchestrator(ctx, user, password); err != nil {
			t.Fatal(err)
		}
		o := testenv.StartOrchestrator(t, testenv.OrchestratorConfig{
			Bin: bin, BaseConfig: sampleOrcConfig, TopologyUser: user, TopologyPassword: password})
		body(t, w, &orcEnv{srv: orctest.Start(t, orctest.WithUpstream(o.APIURL())), real: true})
	})
}

// orcFlags are the tablet's Orchestrator flags for o, with short waits.
func (o *orcEnv) flags(extra ...string) []string {
	return append([]string{"--tablet_hostname=127.0.0.1",
		"--orc_api_url=" + o.srv.URL(), "--orc_discover_interval=1s", "--orc-discover-jitter=0",
		"--orc-backoff-min=100ms", "--orc-backoff-max=800ms", "--orc_timeout=2s",
	}, extra...)
}

// discoveries returns the discovery calls for the world's mysqld that
// succeeded.
func (w *world) discoveries(calls []orctest.Call) []orctest.Call {
	var out []orctest.Call
	for _, c := range orctest.OKCalls(calls, "discover") {
		if c.Host() == "127.0.0.1" && c.Port() == w.mysql.Port() {
			out = append(out, c)
		}
	}
	return out
}

// orcVars reads the Orchestrator variables from /debug/vars.
func orcVars(t *testing.T, p *proc) (discoveries map[string]int64, registered, inMaintenance int64) {
	t.Helper()
	_, body := p.get("/debug/vars")
	var v struct {
		OrcDiscoveries   map[string]int64
		OrcRegistered    int64
		OrcInMaintenance int64
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("/debug/vars: %v", err)
	}
	return v.OrcDiscoveries, v.OrcRegistered, v.OrcInMaintenance
}

// TestOrchestratorDiscovery: the tablet asks Orchestrator to discover the
// MySQL address its record has at start, and again after one interval
// (1s); Orchestrator then knows the instance under the tablet's alias and
// cluster alias, read from _vt.local_metadata.
func TestOrchestratorDiscovery(t *testing.T) {
	eachOrchestrator(t, func(t *testing.T, w *world, o *orcEnv) {
		tabletBinary(t) // built before the clock starts
		started := time.Now()
		p := startTablet(t, w.args(t, "zone1-100", "commerce", "0", o.flags()...))
		calls := o.srv.WaitFor(t, orcWait, "a discovery at start and one an interval later", func(calls []orctest.Call) bool {
			d := w.discoveries(calls)
			return len(d) >= 2 && d[len(d)-1].Time.Sub(d[0].Time) >= 900*time.Millisecond
		})
		d := w.discoveries(calls)
		first, last := d[0].Time, d[len(d)-1].Time
		t.Logf("first discovery of 127.0.0.1:%d %v after the start; %d discoveries, the last %v after the first (interval 1s; the type applied at start asks for one more)",
			w.mysql.Port(), first.Sub(started).Round(time.Millisecond), len(d), last.Sub(first).Round(time.Millisecond))
		for i := 1; i < len(d); i++ {
			if gap := d[i].Time.Sub(d[i-1].Time); gap > 1500*time.Millisecond {
				t.Errorf("discovery %d came %v after the one before, want about the 1s interval", i+1, gap)
			}
		}
		rec := w.tablet(t, "zone1-100")
		if rec.GetMysqlHostname() != "127.0.0.1" || int(rec.GetMysqlPort()) != w.mysql.Port() {
			t.Errorf("record MySQL address %s:%d, want the address discovered, 127.0.0.1:%d", rec.GetMysqlHostname(), rec.GetMysqlPort(), w.mysql.Port())
		}
		p.waitFor(t, "OrcRegistered 1", func() bool { _, reg, _ := orcVars(t, p); return reg == 1 })
		disc, _, _ := orcVars(t, p)
		t.Logf("OrcDiscoveries = %v", disc)
		if _, status := p.get("/debug/status"); !strings.Contains(status, "registered 20") {
			t.Errorf("/debug/status does not show the registration")
		}

		// Orchestrator knows the instance as the tablet describes itself.
		cfg := orc.DefaultConfig()
		cfg.APIURL, cfg.Timeout = o.srv.URL(), 5*time.Second
		c, err := orc.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseIdleConnections()
		var inst *orc.Instance
		p.waitFor(t, "Orchestrator to know the instance's aliases", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			inst, err = c.Instance(ctx, "127.0.0.1", w.mysql.Port())
			return err == nil && inst.InstanceAlias == "zone1-0000000100" && inst.SuggestedClusterAlias == "commerce.0"
		})
		t.Logf("Orchestrator's instance: alias %s, cluster alias %s, data center %s, promotion rule %s",
			inst.InstanceAlias, inst.SuggestedClusterAlias, inst.DataCenter, inst.PromotionRule)
	})
}

// TestOrchestratorMaintenanceWhileDrainedOrSpare: a tablet made DRAINED or
// SPARE puts its MySQL in maintenance, with _vt.local_metadata's
// PromotionRule must_not and a discovery that lets Orchestrator read it;
// back to REPLICA, maintenance ends and the rule is neutral again.
func TestOrchestratorMaintenanceWhileDrainedOrSpare(t *testing.T) {
	eachOrchestrator(t, func(t *testing.T, w *world, o *orcEnv) {
		p := startTablet(t, w.args(t, "zone1-100", "commerce", "0", o.flags("--orc_discover_interval=1h")...))
		p.waitType(t, "REPLICA")
		o.srv.WaitFor(t, orcWait, "registered", func(calls []orctest.Call) bool { return len(w.discoveries(calls)) > 0 })
		c := dial(t, w.grpcAddr(t, "zone1-100"))
		port := w.mysql.Port()
		maintenance := func(calls []orctest.Call, endpoint string) []orctest.Call {
			var out []orctest.Call
			for _, c := range orctest.OKCalls(calls, endpoint) {
				if c.Port() == port {
					out = append(out, c)
				}
			}
			return out
		}
		for i, typ := range []topodatapb.TabletType{topodatapb.TabletType_DRAINED, topodatapb.TabletType_SPARE} {
			before := len(w.discoveries(o.srv.Calls()))
			sent := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), orcWait)
			err := c.ChangeType(ctx, typ)
			cancel()
			if err != nil {
				t.Fatalf("ChangeType %v: %v", typ, err)
			}
			reason := fmt.Sprintf("tablet zone1-0000000100 is %v", typ)
			calls := o.srv.WaitFor(t, orcWait, "maintenance for "+typ.String(), func(calls []orctest.Call) bool {
				b := maintenance(calls, "begin-maintenance")
				return len(b) > i && strings.Contains(b[len(b)-1].Path, reason) && len(w.discoveries(calls)) > before
			})
			b := maintenance(calls, "begin-maintenance")
			t.Logf("ChangeType %v: begin-maintenance %q %v after the request", typ, b[len(b)-1].Args[3], b[len(b)-1].Time.Sub(sent).Round(time.Millisecond))
			if got := localMetadata(t, w.mysql)["PromotionRule"]; got != "must_not" {
				t.Errorf("%v: _vt.local_metadata PromotionRule = %q, want must_not", typ, got)
			}
			if !o.real {
				if m, ok := o.srv.Maintenance("127.0.0.1", port); !ok || m.Reason != reason || m.Owner != "tablet" {
					t.Errorf("%v: maintenance = %+v (active %v), want ours with reason %q", typ, m, ok, reason)
				}
			}
		}
		p.waitFor(t, "OrcInMaintenance 1", func() bool { _, _, in := orcVars(t, p); return in == 1 })

		sent := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), orcWait)
		defer cancel()
		if err := c.ChangeType(ctx, topodatapb.TabletType_REPLICA); err != nil {
			t.Fatal(err)
		}
		calls := o.srv.WaitFor(t, orcWait, "maintenance ended", func(calls []orctest.Call) bool {
			b, e := maintenance(calls, "begin-maintenance"), maintenance(calls, "end-maintenance")
			return len(e) > 0 && e[len(e)-1].Time.After(b[len(b)-1].Time)
		})
		e := maintenance(calls, "end-maintenance")
		t.Logf("ChangeType REPLICA: end-maintenance %v after the request; calls: %d begin, %d end",
			e[len(e)-1].Time.Sub(sent).Round(time.Millisecond), len(maintenance(calls, "begin-maintenance")), len(e))
		if !o.real {
			if m, ok := o.srv.Maintenance("127.0.0.1", port); ok {
				t.Errorf("still in maintenance as a REPLICA: %+v", m)
			}
		}
		if got := localMetadata(t, w.mysql)["PromotionRule"]; got != "neutral" {
			t.Errorf("REPLICA: _vt.local_metadata PromotionRule = %q, want neutral", got)
		}
		p.waitFor(t, "OrcInMaintenance 0", func() bool { _, _, in := orcVars(t, p); return in == 0 })
	})
}

// TestOrchestratorDownTabletServes: with Orchestrator unreachable at
// start, the tablet starts and serves queries as the primary, retries
// discovery with backoff (100ms doubling to 800ms here), counting each
// failure in OrcDiscoveries, and registers once Orchestrator is back.
func TestOrchestratorDownTabletServes(t *testing.T) {
	eachOrchestrator(t, func(t *testing.T, w *world, o *orcEnv) {
		o.srv.Stop()
		p := startTablet(t, w.args(t, "zone1-100", "commerce", "0", o.flags()...))
		p.waitType(t, "REPLICA")
		w.reparent(t, "zone1-100")
		p.waitType(t, "PRIMARY")
		p.waitServing(t)
		c := dial(t, w.grpcAddr(t, "zone1-100"))
		target := &querypb.Target{Keyspace: "commerce", Shard: "0", TabletType: topodatapb.TabletType_PRIMARY}
		if _, err := c.Execute(context.Background(), target, "SELECT 1", nil, 0, 0, nil); err != nil {
			t.Fatalf("query while Orchestrator is down: %v", err)
		}
		p.waitFor(t, "five failed discoveries counted", func() bool {
			d, _, _ := orcVars(t, p)
			return d["error"] >= 5
		})
		waits := retryWaits(t, p.stderr.String())
		t.Logf("Orchestrator down: the tablet serves; discovery retried after %v", waits)
		for i := 1; i < len(waits); i++ {
			if waits[i] < waits[i-1] || waits[i] > 800*time.Millisecond {
				t.Errorf("retry waits %v: want non-decreasing, at most --orc-backoff-max=800ms", waits)
				break
			}
		}
		if len(waits) < 4 || waits[0] != 100*time.Millisecond || waits[3] != 800*time.Millisecond {
			t.Errorf("retry waits %v: want 100ms, 200ms, 400ms, 800ms, ...", waits)
		}

		back := time.Now()
		if err := o.srv.Start(); err != nil {
			t.Fatal(err)
		}
		calls := o.srv.WaitFor(t, orcWait, "registration once Orchestrator is back", func(calls []orctest.Call) bool {
			return len(w.discoveries(calls)) > 0
		})
		t.Logf("Orchestrator back: registered %v later", w.discoveries(calls)[0].Time.Sub(back).Round(time.Millisecond))
		p.waitFor(t, "OrcRegistered 1", func() bool { _, reg, _ := orcVars(t, p); return reg == 1 })
		d, _, _ := orcVars(t, p)
		t.Logf("OrcDiscoveries = %v", d)
		if _, err := c.Execute(context.Background(), target, "SELECT 1", nil, 0, 0, nil); err != nil {
			t.Errorf("query after Orchestrator is back: %v", err)
		}
	})
}

// retryWaits returns the retry_in of each "orchestrator discovery failed"
// line of a tablet's log, in order.
func retryWaits(t *testing.T, log string) []time.Duration {
	t.Helper()
	var waits []time.Duration
	for _, line := range strings.Split(log, "\n") {
		var e struct {
			Msg     string        `json:"msg"`
			RetryIn time.Duration `json:"retry_in"` // slog writes durations in nanoseconds
		}
		if json.Unmarshal([]byte(line), &e) != nil || e.Msg != "orchestrator discovery failed" {
			continue
		}
		waits = append(waits, e.RetryIn)
	}
	return waits
}

// TestOrchestratorFailoverHook runs the sample configuration's
// PostMasterFailoverProcesses line, as Orchestrator would after promoting
// zone1-101's mysqld, against a live shard whose primary is zone1-100:
// zone1-101 becomes the primary and turns writable, zone1-100 turns
// read-only and replicates from it. Without a successor alias the hook
// refuses and says why. (TestReparentFlipsRolesAndReplication covers the
// command itself in more detail.)
func TestOrchestratorFailoverHook(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts etcd, two mysqld and two tablet binaries")
	}
	w := newWorld(t)
	m100, m101 := w.mysql, testenv.StartMySQL(t)
	flags := []string{"--tablet_hostname=127.0.0.1", "--heartbeat_interval=1h", "--degraded_threshold=2h", "--unhealthy_threshold=3h"}
	t100 := startTablet(t, w.argsOn(t, m100, "zone1-100", "commerce", "0", flags...))
	t101 := startTablet(t, w.argsOn(t, m101, "zone1-101", "commerce", "0", flags...))
	t100.waitType(t, "REPLICA")
	t101.waitType(t, "REPLICA")
	w.reparent(t, "zone1-100")
	t100.waitType(t, "PRIMARY")
	waitMySQL(t, "zone1-101 replicating from zone1-100", func() bool { return replicatingFrom(t, m101, m100) })

	logPath := filepath.Join(t.TempDir(), "recovery.log")
	hook := w.sampleFailoverHook(t, logPath)

	// Orchestrator substitutes an empty alias when the promoted server
	// had none: the hook refuses.
	if out, err := runHook(t, hook, "", m101); err == nil {
		t.Errorf("hook without a successor alias succeeded: %s", out)
	}
	if b, _ := os.ReadFile(logPath); !strings.Contains(string(b), "has no tablet alias") {
		t.Errorf("recovery log after an empty alias = %q, want the reason", b)
	}

	start := time.Now()
	if out, err := runHook(t, hook, "zone1-0000000101", m101); err != nil {
		t.Fatalf("PostMasterFailoverProcesses hook: %v\n%s", err, out)
	}
	ran := time.Since(start)
	waitMySQL(t, "zone1-101 writable", func() bool { return !readOnly(t, m101) })
	waitMySQL(t, "zone1-100 read-only and replicating from zone1-101", func() bool {
		return readOnly(t, m100) && replicatingFrom(t, m100, m101)
	})
	t.Logf("failover hook: ran in %v; roles flipped %v after it started", ran.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	t101.waitType(t, "PRIMARY")
	t100.waitType(t, "REPLICA")
	if sh := w.shardPrimary(t); sh != "zone1-0000000101" {
		t.Errorf("shard primary = %s, want zone1-0000000101", sh)
	}

	app101 := openApp(t, m101)
	mustExec(t, app101, "CREATE DATABASE IF NOT EXISTS vt_commerce")
	mustExec(t, app101, "CREATE TABLE vt_commerce.t (id INT PRIMARY KEY, written_on VARCHAR(32))")
	mustExec(t, app101, "INSERT INTO vt_commerce.t VALUES (1, 'zone1-101')")
	waitMySQL(t, "row 1 on the old primary", func() bool { return hasRow(t, m100, 1) })
	if b, _ := os.ReadFile(logPath); len(b) > 0 {
		t.Logf("recovery log:\n%s", b)
	}
}

// sampleFailoverHook returns the sample configuration's one
// PostMasterFailoverProcesses line with the test's topology flags and log
// file in place of the site-specific ones, failing if the line no longer
// has them.
func (w *world) sampleFailoverHook(t *testing.T, logPath string) string {
	t.Helper()
	b, err := os.ReadFile(sampleOrcConfig)
	if err != nil {
		t.Fatal(err)
	}
	var conf struct{ PostMasterFailoverProcesses []string }
	if err := json.Unmarshal(b, &conf); err != nil {
		t.Fatal(err)
	}
	if len(conf.PostMasterFailoverProcesses) != 1 {
		t.Fatalf("sample PostMasterFailoverProcesses = %q, want one line", conf.PostMasterFailoverProcesses)
	}
	hook := conf.PostMasterFailoverProcesses[0]
	for old, new := range map[string]string{
		"--topo_implementation=etcd2 --topo_global_server_address=etcd:2379 --topo_global_root=/vitess/global": "--topo_implementation=etcd2 --topo_global_server_address=" + w.etcd.Address() + " --topo_global_root=/vitess/global",
		"/var/log/orchestrator/recovery.log": logPath,
	} {
		if !strings.Contains(hook, old) {
			t.Fatalf("the sample hook no longer contains %q:\n%s", old, hook)
		}
		hook = strings.ReplaceAll(hook, old, new)
	}
	return hook
}

// runHook runs hook as Orchestrator does (bash, its placeholders
// substituted) with the tablet binary on PATH.
func runHook(t *testing.T, hook, successorAlias string, successor *testenv.MySQL) (string, error) {
	t.Helper()
	r := strings.NewReplacer("{successorAlias}", successorAlias, "{successorHost}", successor.Host(),
		"{successorPort}", fmt.Sprint(successor.Port()))
	cmd := exec.Command("bash", "-c", r.Replace(hook))
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(tabletBinary(t))+string(os.PathListSeparator)+os.Getenv("PATH"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// shardPrimary is the primary alias commerce/0's record names.
func (w *world) shardPrimary(t *testing.T) string {
	t.Helper()
	sh := &topodatapb.Shard{}
	if err := proto.Unmarshal([]byte(w.snapshot(t)["/vitess/global/keyspaces/commerce/shards/0/Shard"]), sh); err != nil {
		t.Fatal(err)
	}
	return topo.TabletAliasString(sh.GetPrimaryAlias())
}

// TestOrchestratorMaintenanceAroundBackup: `tablet backup` puts the
// tablet's MySQL in maintenance before the backup tool starts and ends it
// after the backup, also when the backup fails.
func TestOrchestratorMaintenanceAroundBackup(t *testing.T) {
	eachOrchestrator(t, func(t *testing.T, w *world, o *orcEnv) {
		root := filepath.Join(t.TempDir(), "backups")
		p := startTablet(t, w.args(t, "zone1-100", "commerce", "0", o.flags("--orc_discover_interval=1h",
			"--backup_storage_url=file://"+root, "--backup-progress-interval=100ms",
			"--backup-storage-attempts=2", "--backup-retry-delay=10ms")...))
		p.waitType(t, "REPLICA")
		w.reparent(t, "zone1-100")
		p.waitType(t, "PRIMARY")
		o.srv.WaitFor(t, orcWait, "registered", func(calls []orctest.Call) bool { return len(w.discoveries(calls)) > 0 })
		app := openApp(t, w.mysql)
		mustExec(t, app, "CREATE DATABASE IF NOT EXISTS vt_commerce")
		mustExec(t, app, "CREATE TABLE vt_commerce.t (id INT PRIMARY KEY)")
		mustExec(t, app, "INSERT INTO vt_commerce.t VALUES (1), (2), (3)")
		port := w.mysql.Port()
		backupCalls := func(calls []orctest.Call, endpoint string) []orctest.Call {
			var out []orctest.Call
			for _, c := range orctest.OKCalls(calls, endpoint) {
				if c.Port() == port && (endpoint != "begin-maintenance" || (len(c.Args) > 3 && c.Args[3] == "backup")) {
					out = append(out, c)
				}
			}
			return out
		}
		backup := func() (string, error, time.Time, time.Time) {
			var out, errb bytes.Buffer
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			rc := run(ctx, []string{"backup", "--server", w.grpcAddr(t, "zone1-100"), "--allow_primary"}, &out, &errb)
			var err error
			if rc != 0 {
				err = fmt.Errorf("exit %d: %s", rc, strings.TrimSpace(errb.String()))
			}
			return out.String(), err, start, time.Now()
		}

		// A backup that succeeds.
		out, err, sent, returned := backup()
		if err != nil {
			t.Fatalf("tablet backup: %v\n%s", err, out)
		}
		calls := o.srv.WaitFor(t, orcWait, "maintenance ended after the backup", func(calls []orctest.Call) bool {
			return len(backupCalls(calls, "begin-maintenance")) == 1 && len(backupCalls(calls, "end-maintenance")) == 1
		})
		begin, end := backupCalls(calls, "begin-maintenance")[0].Time, backupCalls(calls, "end-maintenance")[0].Time
		toolStart, toolEnd := logTime(t, p, "backup tool starting"), logTime(t, p, "backup complete")
		if !(sent.Before(begin) && begin.Before(toolStart) && toolEnd.Before(end)) {
			t.Errorf("order: command %v, begin-maintenance %v, backup tool start %v, backup complete %v, end-maintenance %v; want maintenance around the backup",
				sent, begin, toolStart, toolEnd, end)
		}
		t.Logf("backup: begin-maintenance %v after the command, %v before the backup tool started; backup took %v; end-maintenance %v after it completed (command returned after %v)",
			begin.Sub(sent).Round(time.Millisecond), toolStart.Sub(begin).Round(time.Millisecond), toolEnd.Sub(toolStart).Round(time.Millisecond),
			end.Sub(toolEnd).Round(time.Millisecond), returned.Sub(sent).Round(time.Millisecond))

		// A backup that fails: the storage root is a file now, which not
		// even root can write under.
		if err := os.RemoveAll(root); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(root, []byte("not a directory"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err, sent, returned = backup()
		if err == nil {
			t.Fatalf("tablet backup into a file succeeded:\n%s", out)
		}
		calls = o.srv.WaitFor(t, orcWait, "maintenance ended after the failed backup", func(calls []orctest.Call) bool {
			return len(backupCalls(calls, "begin-maintenance")) == 2 && len(backupCalls(calls, "end-maintenance")) == 2
		})
		begin, end = backupCalls(calls, "begin-maintenance")[1].Time, backupCalls(calls, "end-maintenance")[1].Time
		if !(sent.Before(begin) && begin.Before(returned) && begin.Before(end)) {
			t.Errorf("failed backup: command %v, begin-maintenance %v, command returned %v, end-maintenance %v", sent, begin, returned, end)
		}
		t.Logf("failed backup (%.100s...): begin-maintenance %v after the command, end-maintenance %v after begin; command returned after %v",
			err, begin.Sub(sent).Round(time.Millisecond), end.Sub(begin).Round(time.Millisecond), returned.Sub(sent).Round(time.Millisecond))
		if !o.real {
			if m, ok := o.srv.Maintenance("127.0.0.1", port); ok {
				t.Errorf("still in maintenance after the failed backup: %+v", m)
			}
		}
		p.waitFor(t, "OrcInMaintenance 0", func() bool { _, _, in := orcVars(t, p); return in == 0 })
	})
}

// logTime is the time of the tablet's last log line with message msg.
func logTime(t *testing.T, p *proc, msg string) time.Time {
	t.Helper()
	var at time.Time
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		var e struct {
			Time time.Time `json:"time"`
			Msg  string    `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &e) == nil && e.Msg == msg {
			at = e.Time
		}
	}
	if at.IsZero() {
		t.Fatalf("the tablet logged no %q:\n%s", msg, p.stderr.String())
	}
	return at
}
