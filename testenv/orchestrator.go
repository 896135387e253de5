package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// OrchestratorBinEnv names the environment variable that gives the path of
// a real Orchestrator binary. Orchestrator's source cannot be fetched on
// machines like the CI's (see ENVIRONMENT.md), so tests run against a fake
// of its API and, when this is set, against the real one too.
const OrchestratorBinEnv = "ORCHESTRATOR_BIN"

// RequireOrchestrator returns the Orchestrator binary ORCHESTRATOR_BIN
// names, or skips t with a message that says how to run it: when the
// variable is unset, and under -short (a real Orchestrator needs a private
// mysqld to discover).
func RequireOrchestrator(t testing.TB) string {
	t.Helper()
	bin := os.Getenv(OrchestratorBinEnv)
	if bin == "" {
		t.Skip("skipping the run against a real Orchestrator: " + OrchestratorBinEnv + " is not set " +
			"(set it to the path of an orchestrator binary to run this test against it)")
	}
	if testing.Short() {
		t.Skip("skipping the run against a real Orchestrator under -short: it needs a private mysqld")
	}
	return bin
}

// OrchestratorConfig describes a private Orchestrator.
type OrchestratorConfig struct {
	// Bin is the orchestrator binary (RequireOrchestrator).
	Bin string
	// BaseConfig is the JSON configuration to start from, such as the
	// sample under deploy/orchestrator; StartOrchestrator replaces its
	// listen address, backend, topology credentials and log files with
	// private ones and turns recoveries off.
	BaseConfig string
	// TopologyUser and TopologyPassword are the MySQL user Orchestrator
	// probes servers as (GrantOrchestrator creates it).
	TopologyUser, TopologyPassword string
}

// Orchestrator is a private Orchestrator: its own port on 127.0.0.1, its
// own SQLite backend and log, no recoveries.
type Orchestrator struct {
	apiURL string
	log    string
}

// APIURL is the API root, "http://127.0.0.1:PORT/api", what --orc_api_url
// takes.
func (o *Orchestrator) APIURL() string { return o.apiURL }

// LogTail returns the last n lines of Orchestrator's log.
func (o *Orchestrator) LogTail(n int) string { return tail(o.log, n) }

// StartOrchestrator starts Orchestrator for t with cfg and waits until its
// status endpoint answers (up to a minute: a first start creates its
// SQLite schema). It stops it when t ends, printing its log's tail if t
// failed.
func StartOrchestrator(t testing.TB, cfg OrchestratorConfig) *Orchestrator {
	t.Helper()
	b, err := os.ReadFile(cfg.BaseConfig)
	if err != nil {
		t.Fatal(err)
	}
	var conf map[string]any
	if err := json.Unmarshal(b, &conf); err != nil {
		t.Fatalf("%s: %v", cfg.BaseConfig, err)
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for k, v := range map[string]any{
		"ListenAddress":                           fmt.Sprintf("127.0.0.1:%d", port),
		"BackendDB":                               "sqlite",
		"SQLite3DataFile":                         filepath.Join(dir, "orchestrator.sqlite3"),
		"MySQLTopologyUser":                       cfg.TopologyUser,
		"MySQLTopologyPassword":                   cfg.TopologyPassword,
		"MySQLTopologyCredentialsConfigFile":      "",
		"RaftEnabled":                             false,
		"AuditLogFile":                            filepath.Join(dir, "audit.log"),
		"RecoverMasterClusterFilters":             []string{}, // a test must not fail anything over
		"RecoverIntermediateMasterClusterFilters": []string{},
	} {
		conf[k] = v
	}
	confPath := filepath.Join(dir, "orchestrator.conf.json")
	if b, err = json.MarshalIndent(conf, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(confPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	o := &Orchestrator{apiURL: fmt.Sprintf("http://127.0.0.1:%d/api", port), log: filepath.Join(dir, "orchestrator.log")}
	logFile, err := os.Create(o.log)
	if err != nil {
		t.Fatal(err)
	}
	p, err := startProcessLogged(logFile, cfg.Bin, "--config", confPath, "http")
	if err != nil {
		logFile.Close()
		t.Fatalf("start %s: %v", cfg.Bin, err)
	}
	t.Cleanup(func() {
		_ = p.signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			p.kill()
		}
		logFile.Close()
		if t.Failed() {
			t.Logf("orchestrator log:\n%s", o.LogTail(60))
		}
	})
	if err := o.waitReady(p); err != nil {
		t.Fatalf("%v\n%s", err, o.LogTail(30))
	}
	return o
}

// waitReady polls the status endpoint until it answers 200, the process
// exits, or a minute passes.
func (o *Orchestrator) waitReady(p *process) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	defer hc.CloseIdleConnections()
	return waitFor(ctx, 100*time.Millisecond, p.exited, func() error {
		resp, err := hc.Get(o.apiURL + "/status")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("orchestrator status: %s", strconv.Itoa(resp.StatusCode))
		}
		return nil
	})
}

// GrantOrchestrator creates Orchestrator's topology user on m with the
// privileges deploy/orchestrator's README lists (SELECT on _vt for the
// detection queries), without binary logging: the user is per server.
func (m *MySQL) GrantOrchestrator(ctx context.Context, user, password string) error {
	db, err := m.DB(RoleAdmin)
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	grants := "SUPER, PROCESS, RELOAD, REPLICATION SLAVE, BINLOG MONITOR, SLAVE MONITOR, REPLICATION MASTER ADMIN"
	if !m.Flavor().IsMariaDB() {
		grants = "SUPER, PROCESS, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT"
	}
	for _, s := range []string{
		"SET SESSION sql_log_bin = 0",
		fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'127.0.0.1' IDENTIFIED BY '%s'", user, password),
		fmt.Sprintf("GRANT %s ON *.* TO '%s'@'127.0.0.1'", grants, user),
		fmt.Sprintf("GRANT SELECT ON `_vt`.* TO '%s'@'127.0.0.1'", user),
	} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("grant orchestrator's user: %s: %w", s, err)
		}
	}
	return nil
}
