package orc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tabletd/tablet/orc"
	"github.com/tabletd/tablet/orc/orctest"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/testenv"
)

// sampleConfig is the sample Orchestrator configuration shipped with the
// tablet; the real runs start Orchestrator with it, adjusted for a test.
const sampleConfig = "../deploy/orchestrator/orchestrator.conf.json"

// newRealEnv starts a private mysqld holding _vt.local_metadata for
// testAlias, and the Orchestrator binary bin with the sample configuration
// on a free port and a private SQLite backend, and puts a recording
// orctest.Server in front of it. Everything stops when t ends.
func newRealEnv(t *testing.T, bin string) *env {
	t.Helper()
	m := testenv.StartMySQL(t)
	const orcUser, orcPassword = "orc_topology", "orc-topology-pw"
	prepareMySQL(t, m, orcUser, orcPassword)

	cfg := loadSampleConfig(t)
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for k, v := range map[string]any{
		"ListenAddress":                           fmt.Sprintf("127.0.0.1:%d", port),
		"BackendDB":                               "sqlite",
		"SQLite3DataFile":                         filepath.Join(dir, "orchestrator.sqlite3"),
		"MySQLTopologyUser":                       orcUser,
		"MySQLTopologyPassword":                   orcPassword,
		"MySQLTopologyCredentialsConfigFile":      "",
		"RaftEnabled":                             false,
		"AuditLogFile":                            filepath.Join(dir, "audit.log"),
		"RecoverMasterClusterFilters":             []string{}, // a test must not fail anything over
		"RecoverIntermediateMasterClusterFilters": []string{},
	} {
		cfg[k] = v
	}
	confPath := filepath.Join(dir, "orchestrator.conf.json")
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(confPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "orchestrator.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", confPath, "http")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{}) // closed when the process has exited; waitErr is set then
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("orchestrator log:\n%s", tailLines(string(b), 60))
			}
		}
	})
	apiURL := fmt.Sprintf("http://127.0.0.1:%d/api", port)
	waitOrchestrator(t, apiURL, exited, func() error { return waitErr })

	srv := orctest.Start(t, orctest.WithUpstream(apiURL))
	tab := orc.Tablet{Alias: testAlias, Host: m.Host(), Port: m.Port(), Type: topodatapb.TabletType_REPLICA}
	return &env{srv: srv, tablet: tab, real: true}
}

// prepareMySQL creates Orchestrator's topology user and the tablet's
// _vt.local_metadata rows, without binary logging (the rows are per
// server).
func prepareMySQL(t *testing.T, m *testenv.MySQL, user, password string) {
	t.Helper()
	db, err := m.DB(testenv.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	grants := "SUPER, PROCESS, RELOAD, REPLICATION SLAVE, BINLOG MONITOR, SLAVE MONITOR, REPLICATION MASTER ADMIN"
	stmts := []string{"SET SESSION sql_log_bin = 0"}
	if !m.Flavor().IsMariaDB() {
		grants = "SUPER, PROCESS, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT"
		stmts = append(stmts, "SET GLOBAL super_read_only = 0")
	}
	stmts = append(stmts,
		fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'127.0.0.1' IDENTIFIED BY '%s'", user, password),
		fmt.Sprintf("GRANT %s ON *.* TO '%s'@'127.0.0.1'", grants, user),
		"CREATE DATABASE IF NOT EXISTS _vt",
		`CREATE TABLE IF NOT EXISTS _vt.local_metadata (
			name VARCHAR(255) NOT NULL, value MEDIUMBLOB NOT NULL, db_name VARBINARY(255) NOT NULL,
			PRIMARY KEY (name, db_name)) ENGINE=InnoDB`,
		fmt.Sprintf("GRANT SELECT ON _vt.* TO '%s'@'127.0.0.1'", user),
	)
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	md := orc.LocalMetadata(testAlias, "commerce", "0", "zone1", topodatapb.TabletType_REPLICA)
	for name, value := range md {
		if _, err := conn.ExecContext(ctx,
			"INSERT INTO _vt.local_metadata (name, value, db_name) VALUES (?, ?, 'vt_commerce') ON DUPLICATE KEY UPDATE value = VALUES(value)",
			name, value); err != nil {
			t.Fatalf("write _vt.local_metadata %s: %v", name, err)
		}
	}
	if !m.Flavor().IsMariaDB() {
		if _, err := conn.ExecContext(ctx, "SET GLOBAL super_read_only = 1"); err != nil {
			t.Fatal(err)
		}
	}
}

// loadSampleConfig reads the sample configuration.
func loadSampleConfig(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(sampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("%s: %v", sampleConfig, err)
	}
	return cfg
}

// waitOrchestrator waits until Orchestrator's status endpoint answers 200,
// or fails t when the process exits or a minute passes (a first start
// creates its SQLite schema).
func waitOrchestrator(t *testing.T, apiURL string, exited <-chan struct{}, exitErr func() error) {
	t.Helper()
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	hc := &http.Client{Timeout: 2 * time.Second}
	defer hc.CloseIdleConnections()
	var last string
	for {
		resp, err := hc.Get(apiURL + "/status")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = "status " + strconv.Itoa(resp.StatusCode)
		} else {
			last = err.Error()
		}
		select {
		case <-exited:
			t.Fatalf("orchestrator exited before it was ready: %v", exitErr())
		case <-deadline.C:
			t.Fatalf("orchestrator not ready after a minute at %s: %s", apiURL, last)
		case <-tick.C:
		}
	}
}

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := 0
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			lines++
			if lines > n {
				return s[i+1:]
			}
		}
	}
	return s
}
