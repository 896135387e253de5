// Command sandbox runs a tablet on embedded defaults for trying it out:
// a private mysqld, an embedded etcd and the tablet binary, with their
// state kept in one directory so that a second run picks up where the
// first stopped. The tablet starts as a replica and, its shard having no
// primary, is made the primary, as an operator would with `tablet topo
// TabletExternallyReparented`. It prints every address a user needs and stops
// everything cleanly on Ctrl-C. `make run` builds and starts it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tabletd/tablet/testenv"
)

// state is what the sandbox keeps between runs besides the servers' data:
// the ports, because the topology records addresses.
type state struct {
	MySQLPort      int `json:"mysql_port"`
	EtcdClientPort int `json:"etcd_client_port"`
	EtcdPeerPort   int `json:"etcd_peer_port"`
	TabletHTTPPort int `json:"tablet_http_port"`
	TabletGRPCPort int `json:"tablet_grpc_port"`
}

func main() {
	dir := flag.String("dir", ".sandbox", "state directory; reused when it exists")
	tabletBin := flag.String("tablet", "bin/tablet", "tablet binary to run (skipped if missing)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *dir, *tabletBin, os.Stdout, logger); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir, tabletBin string, out io.Writer, logger *slog.Logger) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	st, reused, err := loadState(dir)
	if err != nil {
		return err
	}
	if reused {
		fmt.Fprintf(out, "Reusing the sandbox state in %s\n", dir)
	} else {
		fmt.Fprintf(out, "Creating a new sandbox in %s\n", dir)
	}

	etcd, err := testenv.OpenEtcd(ctx, testenv.EtcdConfig{
		Dir: filepath.Join(dir, "etcd"), ClientPort: st.EtcdClientPort, PeerPort: st.EtcdPeerPort,
	})
	if err != nil {
		return err
	}
	defer etcd.Close()
	st.EtcdClientPort, st.EtcdPeerPort = etcd.ClientPort(), etcd.PeerPort()

	mysql, err := testenv.OpenMySQL(ctx, testenv.MySQLConfig{Dir: filepath.Join(dir, "mysql"), Port: st.MySQLPort, ServerID: 100})
	if err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := mysql.Stop(stopCtx); err != nil {
			logger.Error("stop mysqld", "err", err)
		}
	}()
	st.MySQLPort = mysql.Port()

	tablet, err := startTablet(ctx, tabletBin, dir, &st, mysql, etcd, logger)
	if err != nil {
		return err
	}
	if err := saveState(dir, st); err != nil {
		return err
	}
	var role string
	if tablet != nil {
		if role, err = tablet.makePrimary(ctx, etcd.Address(), st.TabletHTTPPort, logger); err != nil {
			tablet.stop(logger)
			return err
		}
	}

	fmt.Fprintf(out, "\nSandbox is up. Ctrl-C stops it; its state stays in %s.\n\n", dir)
	fmt.Fprintf(out, "  MySQL (%s %s)\n", mysql.Flavor().Name(), mysql.Flavor().Version())
	fmt.Fprintf(out, "    socket      %s\n", mysql.Socket())
	fmt.Fprintf(out, "    tcp         127.0.0.1:%d\n", mysql.Port())
	fmt.Fprintf(out, "    as app      mariadb -S %s -u %s -p%s\n", mysql.Socket(), testenv.UserOf(testenv.RoleApp), testenv.PasswordOf(testenv.RoleApp))
	fmt.Fprintf(out, "    as admin    mariadb -S %s -u %s -p%s\n", mysql.Socket(), testenv.UserOf(testenv.RoleAdmin), testenv.PasswordOf(testenv.RoleAdmin))
	fmt.Fprintf(out, "    error log   %s\n", mysql.ErrorLog())
	fmt.Fprintf(out, "  etcd          %s (global root %s, cell %s at %s)\n", etcd.Endpoint(), globalRoot, cell, cellRoot)
	fmt.Fprintf(out, "    records     bin/tablet topo --topo_global_server_address %s --topo_global_root %s TopoCat --decode_proto --long '/*'\n",
		etcd.Address(), globalRoot)
	if tablet != nil {
		fmt.Fprintf(out, "  tablet        %s (log %s)\n", tablet.alias, tablet.logPath)
		fmt.Fprintf(out, "    role        %s\n", role)
		fmt.Fprintf(out, "    http        http://127.0.0.1:%d/debug/health\n", st.TabletHTTPPort)
		fmt.Fprintf(out, "    grpc        127.0.0.1:%d\n", st.TabletGRPCPort)
	} else {
		fmt.Fprintf(out, "  tablet        not started: %s not found (make run builds it)\n", tabletBin)
	}
	fmt.Fprintln(out)

	var tabletDone <-chan struct{}
	if tablet != nil {
		tabletDone = tablet.exited
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "Stopping the sandbox...")
	case <-tabletDone:
		return fmt.Errorf("the tablet exited (%v); its log: %s", tablet.err, tablet.logPath)
	}
	if tablet != nil {
		tablet.stop(logger)
	}
	return nil
}

func loadState(dir string) (state, bool, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return st, false, os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		return st, false, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, fmt.Errorf("read %s: %w (delete the directory to start afresh)", filepath.Join(dir, "state.json"), err)
	}
	return st, true, nil
}

func saveState(dir string, st state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "state.json"), append(b, '\n'), 0o600)
}
