package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
		"--init_keyspace=commerce", "--init_shard=0", "--init_tablet_type=replica",
		"--port="+strconv.Itoa(st.TabletHTTPPort), "--grpc_port="+strconv.Itoa(st.TabletGRPCPort),
		"--db_socket="+mysql.Socket(), "--db-credentials-file="+creds,
		"--topo_implementation=etcd2", "--topo_global_server_address="+etcd.Address(),
		"--topo_global_root="+globalRoot,
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
