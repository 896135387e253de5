package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/testenv"
	"github.com/tabletd/tablet/topo"
	"github.com/tabletd/tablet/topo/topofactory"
)

// tabletProc is the tablet binary running as a child of the sandbox.
type tabletProc struct {
	alias   string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited
	err     error         // set before exited is closed
}

// startTablet runs the tablet binary against the sandbox's mysqld and etcd
// and waits until it answers on its HTTP port. It returns nil, nil when
// the binary does not exist.
func startTablet(ctx context.Context, bin, dir string, st *state, mysql *testenv.MySQL, etcd *testenv.Etcd, logger *slog.Logger) (*tabletProc, error) {
	if _, err := os.Stat(bin); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	for _, p := range []*int{&st.TabletHTTPPort, &st.TabletGRPCPort} {
		if *p == 0 {
			port, err := testenv.FreePort()
			if err != nil {
				return nil, err
			}
			*p = port
		}
	}
	// The sandbox's own credentials file keeps passwords off the command line.
	creds := filepath.Join(dir, "credentials.json")
	if err := writeCredentials(creds); err != nil {
		return nil, err
	}
	if err := ensureCell(ctx, etcd.Address(), logger); err != nil {
		return nil, err
	}
	t := &tabletProc{alias: "zone1-0000000100", logPath: filepath.Join(dir, "tablet.log"), exited: make(chan struct{})}
	logFile, err := os.OpenFile(t.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	t.cmd = exec.Command(bin,
		"--tablet-path="+t.alias,
		"--init_keyspace="+keyspace, "--init_shard="+shard, "--init_tablet_type=replica",
		"--port="+strconv.Itoa(st.TabletHTTPPort), "--grpc_port="+strconv.Itoa(st.TabletGRPCPort),
		"--db_socket="+mysql.Socket(), "--db-credentials-file="+creds,
		"--topo_implementation=etcd2", "--topo_global_server_address="+etcd.Address(),
		"--topo_global_root="+globalRoot,
		// The record's MySQL address is where replicas connect: loopback here.
		"--tablet_hostname=127.0.0.1",
	)
	t.cmd.Stdout, t.cmd.Stderr = logFile, logFile
	t.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := t.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		t.err = t.cmd.Wait()
		logFile.Close()
		close(t.exited)
	}()

	health := fmt.Sprintf("http://127.0.0.1:%d/debug/health", st.TabletHTTPPort)
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(waitCtx, http.MethodGet, health, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			logger.Info("tablet answers", "alias", t.alias, "health", resp.Status)
			return t, nil
		}
		select {
		case <-t.exited:
			return nil, fmt.Errorf("the tablet exited at start (%v); its log: %s", t.err, t.logPath)
		case <-waitCtx.Done():
			t.stop(logger)
			return nil, fmt.Errorf("the tablet did not answer on %s: %w", health, context.Cause(waitCtx))
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM and waits for the tablet to exit, killing it if it
// has not after 30 s.
func (t *tabletProc) stop(logger *slog.Logger) {
	_ = t.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-t.exited:
	case <-time.After(30 * time.Second):
		logger.Error("tablet did not stop in 30s; killing it")
		_ = t.cmd.Process.Kill()
		<-t.exited
	}
}

func writeCredentials(path string) error {
	creds := map[string][]string{}
	for _, r := range testenv.Roles {
		creds[testenv.UserOf(r)] = []string{testenv.PasswordOf(r)}
	}
	b, err := json.Marshal(creds)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// The sandbox's topology: one cell, zone1, in the same etcd as the global
// records.
const (
	globalRoot = "/vitess/global"
	cell       = "zone1"
	cellRoot   = "/vitess/zone1"
)

// ensureCell creates the cell's CellInfo in the global topology if it is
// missing, as an operator would with `tablet topo AddCellInfo`.
func ensureCell(ctx context.Context, etcdAddr string, logger *slog.Logger) error {
	cfg := topo.DefaultConfig()
	cfg.GlobalServerAddress, cfg.GlobalRoot = etcdAddr, globalRoot
	ts, err := topofactory.Open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer ts.Close()
	err = ts.CreateCellInfo(ctx, cell, &topodatapb.CellInfo{ServerAddress: etcdAddr, Root: cellRoot})
	if err != nil && !errors.Is(err, topo.ErrNodeExists) {
		return fmt.Errorf("create cell %s: %w", cell, err)
	}
	return nil
}

// The sandbox's shard.
const (
	keyspace = "commerce"
	shard    = "0"
)

// makePrimary makes the sandbox tablet the primary of its shard when the
// shard has none, as an operator would with `tablet topo
// TabletExternallyReparented`, then waits until the tablet reports
// PRIMARY in /debug/vars and answers "ok" on /debug/health. It returns
// what to print: a shard whose primary is another tablet is left alone.
func (t *tabletProc) makePrimary(ctx context.Context, etcdAddr string, httpPort int, logger *slog.Logger) (string, error) {
	alias, err := topo.ParseTabletAlias(t.alias)
	if err != nil {
		return "", err
	}
	cfg := topo.DefaultConfig()
	cfg.GlobalServerAddress, cfg.GlobalRoot = etcdAddr, globalRoot
	ts, err := topofactory.Open(ctx, cfg, logger)
	if err != nil {
		return "", err
	}
	defer ts.Close()
	si, err := ts.GetShard(ctx, keyspace, shard)
	if err != nil {
		return "", err
	}
	switch primary := si.Shard.GetPrimaryAlias(); {
	case primary == nil:
		if _, err := ts.SetShardPrimary(ctx, alias); err != nil {
			return "", fmt.Errorf("make %s the primary of %s/%s: %w", t.alias, keyspace, shard, err)
		}
		logger.Info("made the tablet the primary of its shard", "alias", t.alias, "keyspace", keyspace, "shard", shard)
	case !topo.TabletAliasEqual(primary, alias):
		return fmt.Sprintf("replica; the primary of %s/%s is %s", keyspace, shard, topo.TabletAliasString(primary)), nil
	}

	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = t.poll(waitCtx, func() bool {
		var vars struct{ TabletType string }
		code, body := get(waitCtx, base+"/debug/vars")
		return code == http.StatusOK && json.Unmarshal(body, &vars) == nil && vars.TabletType == "PRIMARY"
	})
	if err != nil {
		return "", fmt.Errorf("the tablet did not become PRIMARY: %w; its log: %s", err, t.logPath)
	}
	healthCtx, cancelHealth := context.WithTimeout(ctx, 30*time.Second)
	defer cancelHealth()
	if err := t.poll(healthCtx, func() bool {
		code, _ := get(healthCtx, base+"/debug/health")
		return code == http.StatusOK
	}); err != nil {
		_, body := get(ctx, base+"/debug/health")
		return fmt.Sprintf("primary of %s/%s, but not healthy yet: %s", keyspace, shard, strings.TrimSpace(string(body))), nil
	}
	return fmt.Sprintf("primary of %s/%s, serving", keyspace, shard), nil
}

// poll calls cond every 50ms until it holds, the tablet exits, or ctx ends.
func (t *tabletProc) poll(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-t.exited:
			return fmt.Errorf("the tablet exited (%v)", t.err)
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-tick.C:
		}
	}
	return nil
}

// get fetches url; code 0 when it does not answer.
func get(ctx context.Context, url string) (int, []byte) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}
