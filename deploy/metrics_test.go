package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/testenv"
)

// prometheusOwn are series Prometheus makes itself rather than scrapes.
var prometheusOwn = map[string]bool{"up": true}

// backupMetric reports whether name exists only on tablets with backups
// configured (--backup_storage_url).
func backupMetric(name string) bool {
	return strings.HasPrefix(name, "tablet_backup") || strings.HasPrefix(name, "tablet_restore")
}

// TestMetricNamesExist starts a real tablet (private mysqld, embedded etcd,
// the tablet binary) as the primary of commerce/0, serves queries,
// transactions and errors through it, takes a backup when the binary
// supports backups, scrapes its /metrics, and checks that every metric
// name used by the rules and the dashboard is one the tablet exports.
func TestMetricNamesExist(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts mysqld, etcd and the tablet binary (run without -short)")
	}
	exprs, recorded := expressions(t)
	used := map[string][]string{}
	for _, where := range sortedKeys(exprs) {
		names, err := metricNames(exprs[where])
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		if len(names) == 0 {
			t.Errorf("%s: %q selects no metric", where, exprs[where])
		}
		for _, n := range names {
			used[n] = append(used[n], where)
		}
	}

	bin := tabletBinary(t)
	known := tabletFlags(t)
	backups := knownFlag(known, "backup_storage_url")
	lt := startLiveTablet(t, bin, backups)
	lt.client(t, "query", "CREATE TABLE IF NOT EXISTS t1 (id BIGINT PRIMARY KEY, v VARCHAR(64))")
	lt.client(t, "query", "INSERT INTO t1 (id, v) VALUES (1, 'a'), (2, 'b')")
	lt.client(t, "query", "SELECT id, v FROM t1 WHERE id = 1")
	lt.client(t, "stream", "SELECT id, v FROM t1")
	txFile := filepath.Join(t.TempDir(), "tx.sql")
	if err := os.WriteFile(txFile, []byte("UPDATE t1 SET v = 'c' WHERE id = 2;\nSELECT v FROM t1 WHERE id = 2;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lt.client(t, "tx", txFile)
	lt.clientFails(t, "query", "SELECT no_such_column FROM t1")
	if backups {
		lt.client(t, "backup", "--allow_primary")
	}

	exported := lt.scrape(t)
	var missing, unchecked []string
	checked := 0
	for _, name := range sortedKeys(used) {
		switch {
		case strings.Contains(name, ":"):
			if !recorded[name] {
				missing = append(missing, fmt.Sprintf("%s (used by %s) is no recording rule of tablet-rules.yml", name, strings.Join(used[name], "; ")))
			}
		case prometheusOwn[name]:
		case exported[name]:
			checked++
		case backupMetric(name) && !backups:
			unchecked = append(unchecked, name)
		default:
			missing = append(missing, fmt.Sprintf("%s (used by %s)", name, strings.Join(used[name], "; ")))
		}
	}
	t.Logf("%d expressions use %d names: %d exported by the live tablet, %d recording rules, %d made by Prometheus (up), %d unchecked",
		len(exprs), len(used), checked, len(recorded), len(prometheusOwn), len(unchecked))
	if len(unchecked) > 0 {
		t.Logf("not checked, the binary has no --backup_storage_url (backups are not wired into it yet): %s", strings.Join(unchecked, ", "))
	}
	for _, m := range missing {
		t.Errorf("not exported: %s", m)
	}
}

// liveTablet is a tablet binary serving as the primary of commerce/0.
type liveTablet struct {
	bin      string
	httpAddr string
	grpcAddr string
	stderr   *bytes.Buffer
	done     chan struct{}
}

func startLiveTablet(t *testing.T, bin string, backups bool) *liveTablet {
	t.Helper()
	etcd := testenv.StartEtcd(t)
	mysql := testenv.StartMySQL(t)
	creds := map[string][]string{}
	for _, r := range testenv.Roles {
		creds[testenv.UserOf(r)] = []string{testenv.PasswordOf(r)}
	}
	b, _ := json.Marshal(creds)
	credsFile := filepath.Join(t.TempDir(), "creds.json")
	if err := os.WriteFile(credsFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	topo := []string{"topo", "--topo_global_server_address=" + etcd.Address(), "--topo_global_root=/vitess/global"}
	run(t, bin, append(topo, "AddCellInfo", "--server_address="+etcd.Address(), "--root=/vitess/zone1", "zone1")...)

	httpPort, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	grpcPort, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{
		"--tablet-path=zone1-100", "--init_keyspace=commerce", "--init_shard=0",
		"--port=" + strconv.Itoa(httpPort), "--grpc_port=" + strconv.Itoa(grpcPort),
		"--db_socket=" + mysql.Socket(), "--db-credentials-file=" + credsFile,
		"--topo_global_server_address=" + etcd.Address(), "--topo_global_root=/vitess/global",
		"--tablet_hostname=127.0.0.1", "--health_check_interval=200ms", "--health-min-dwell=0",
	}
	if backups {
		args = append(args, "--backup_storage_url=file://"+t.TempDir(), "--mycnf_file="+mysql.DefaultsFile())
	}
	lt := &liveTablet{bin: bin, httpAddr: fmt.Sprintf("127.0.0.1:%d", httpPort), grpcAddr: fmt.Sprintf("127.0.0.1:%d", grpcPort),
		stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd := exec.Command(bin, args...)
	var logBuf syncWriter
	logBuf.b = lt.stderr
	cmd.Stderr = &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		close(lt.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-lt.done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-lt.done
		}
		if t.Failed() {
			t.Logf("tablet log:\n%s", logBuf.String())
		}
	})
	lt.waitFor(t, &logBuf, "answering", func() bool { code, _ := lt.get("/debug/health"); return code != 0 })
	run(t, bin, append(topo, "TabletExternallyReparented", "zone1-100")...)
	lt.waitFor(t, &logBuf, "serving as PRIMARY", func() bool {
		code, body := lt.get("/debug/vars")
		var vars struct{ TabletType string }
		if code != http.StatusOK || json.Unmarshal([]byte(body), &vars) != nil || vars.TabletType != "PRIMARY" {
			return false
		}
		code, _ = lt.get("/debug/health")
		return code == http.StatusOK
	})
	return lt
}

// syncWriter is a buffer the tablet's stderr writes to while tests read it.
type syncWriter struct {
	mu chan struct{}
	b  *bytes.Buffer
}

func (w *syncWriter) lock() {
	if w.mu == nil {
		w.mu = make(chan struct{}, 1)
	}
	w.mu <- struct{}{}
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.lock()
	defer func() { <-w.mu }()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.lock()
	defer func() { <-w.mu }()
	return w.b.String()
}

func (lt *liveTablet) get(path string) (int, string) {
	resp, err := http.Get("http://" + lt.httpAddr + path)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls cond every 20ms until it holds, failing when the tablet
// exits or a minute passes.
func (lt *liveTablet) waitFor(t *testing.T, log *syncWriter, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-lt.done:
			t.Fatalf("tablet exited before %s:\n%s", what, log.String())
		case <-deadline.C:
			t.Fatalf("tablet not %s after a minute:\n%s", what, log.String())
		case <-tick.C:
		}
	}
}

// client runs a client subcommand against the tablet and fails on error.
func (lt *liveTablet) client(t *testing.T, sub string, args ...string) string {
	t.Helper()
	return run(t, lt.bin, append([]string{sub, "--server=" + lt.grpcAddr}, args...)...)
}

// clientFails runs a client subcommand that must fail.
func (lt *liveTablet) clientFails(t *testing.T, sub string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, lt.bin, append([]string{sub, "--server=" + lt.grpcAddr}, args...)...).CombinedOutput()
	if err == nil {
		t.Fatalf("tablet %s %q succeeded, want a failure:\n%s", sub, args, out)
	}
}

// scrape returns the sample names on the tablet's /metrics.
func (lt *liveTablet) scrape(t *testing.T) map[string]bool {
	t.Helper()
	code, body := lt.get("/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	names := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names
}

// run runs the tablet binary with args and returns its output, failing the
// test on a non-zero exit.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("tablet %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
