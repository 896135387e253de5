package agent

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/topo"
)

// Agent runs one tablet. Build it with New, then call Run once.
type Agent struct {
	cfg    Config
	db     mysqld.Config
	ts     *topo.Server
	vars   *debugvars.Registry
	logger *slog.Logger

	ready    chan struct{} // closed when the tablet is published and serving HTTP
	httpAddr atomic.Pointer[net.TCPAddr]
	record   atomic.Pointer[topodatapb.Tablet] // the tablet record as last written
	lameduck atomic.Bool                       // set on shutdown: health reports not ok
}

// New builds an Agent without side effects. ts is the topology service,
// which the caller opens and closes. The agent publishes its variables in
// vars and serves them as /debug/vars and /metrics.
func New(cfg Config, db mysqld.Config, ts *topo.Server, vars *debugvars.Registry, logger *slog.Logger) *Agent {
	a := &Agent{cfg: cfg, db: db, ts: ts, vars: vars, logger: logger, ready: make(chan struct{})}
	a.publish()
	return a
}

// publish registers the tablet's identity variables.
func (a *Agent) publish() {
	a.vars.PublishJSONFunc("TabletAlias", func() any { return a.cfg.TabletPath })
	a.vars.PublishJSONFunc("TabletKeyspace", func() any { return a.cfg.InitKeyspace })
	a.vars.PublishJSONFunc("TabletShard", func() any { return a.cfg.InitShard })
	a.vars.PublishJSONFunc("TabletType", func() any {
		if t := a.record.Load(); t != nil {
			return t.GetType().String()
		}
		return strings.ToUpper(a.cfg.InitTabletType)
	})
}

// Ready is closed once the tablet's record is published and its listeners
// accept connections.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// HTTPAddr is the bound HTTP address; nil until the listener is up.
func (a *Agent) HTTPAddr() *net.TCPAddr { return a.httpAddr.Load() }

// Record returns the tablet record as this process last wrote it; nil
// before Ready.
func (a *Agent) Record() *topodatapb.Tablet { return a.record.Load() }

// Run starts the tablet and serves until ctx ends, then goes lameduck and
// shuts down. Startup, in order: listen (so the record can hold the real
// ports), check the topology (cell exists, the alias is not recorded in
// another shard), take the alias's claim, publish the record. A refusal
// wraps ErrInit and writes nothing. Run returns nil after a clean
// shutdown.
func (a *Agent) Run(ctx context.Context) error {
	alias, err := topo.ParseTabletAlias(a.cfg.TabletPath)
	if err != nil {
		return fmt.Errorf("--tablet-path: %w", err)
	}
	aliasStr := topo.TabletAliasString(alias)
	hostname := a.cfg.Hostname
	if hostname == "" {
		if hostname, err = os.Hostname(); err != nil {
			return fmt.Errorf("--tablet_hostname is empty and the host name is unknown: %w", err)
		}
	}

	conn, err := mysql.NewConnector(a.db.DriverConfig(mysqld.RoleDBA))
	if err != nil {
		return fmt.Errorf("mysqld connection for dba: %w", err)
	}
	dba := sql.OpenDB(conn)
	defer dba.Close()
	dba.SetMaxOpenConns(2)

	ln, err := net.Listen("tcp", net.JoinHostPort(a.cfg.BindAddress, strconv.Itoa(a.cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen on --port=%d: %w", a.cfg.Port, err)
	}
	defer ln.Close()
	httpAddr := ln.Addr().(*net.TCPAddr)
	a.httpAddr.Store(httpAddr)

	if err := a.checkTopo(ctx, alias); err != nil {
		return err
	}
	cellConn, err := a.ts.ConnForCell(ctx, alias.GetCell())
	if err != nil {
		return err
	}
	owner := fmt.Sprintf("%s:%d pid %d", hostname, httpAddr.Port, os.Getpid())
	cl, err := takeClaim(ctx, cellConn, aliasStr, owner, a.ts.LeaseDuration()+5*time.Second)
	if err != nil {
		return err
	}
	defer cl.release()
	a.logger.Info("claimed tablet alias", "alias", aliasStr, "owner", owner)

	want, err := a.tabletRecord(alias, hostname, httpAddr.Port, a.cfg.GRPCPort, a.mysqlPort(ctx, dba))
	if err != nil {
		return err
	}
	rec, err := a.publishRecord(ctx, want)
	if err != nil {
		return err
	}
	a.record.Store(rec)
	a.logger.Info("published tablet record", "alias", aliasStr, "keyspace", rec.GetKeyspace(), "shard", rec.GetShard(),
		"type", rec.GetType().String(), "hostname", rec.GetHostname(), "mysql_port", rec.GetMysqlPort())

	mux := http.NewServeMux()
	mux.Handle("/debug/vars", a.vars.VarsHandler())
	mux.Handle("/metrics", a.vars.MetricsHandler())
	mux.HandleFunc("/debug/health", func(w http.ResponseWriter, r *http.Request) {
		a.serveHealth(w, r, dba)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.logger.Info("serving http", "addr", httpAddr.String())
	close(a.ready)

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-cl.lost.Done():
		// Serving goes on: losing the claim (an etcd outage longer than the
		// lease) is no reason to fail queries. The next start re-claims.
		a.logger.Error("lost the claim on the tablet alias; still serving", "alias", aliasStr)
		<-ctx.Done()
	case <-ctx.Done():
	}
	a.lameduck.Store(true)
	a.logger.Info("entering lameduck", "period", a.cfg.LameduckPeriod.String())
	timer := time.NewTimer(a.cfg.LameduckPeriod)
	<-timer.C
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownGracePeriod+time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down http server: %w", err)
	}
	a.clearPorts(shutdownCtx, alias)
	return nil
}

// clearPorts empties the record's port map on shutdown, so that nothing
// routes to a tablet that is gone. Failure is logged: the process is
// leaving either way.
func (a *Agent) clearPorts(ctx context.Context, alias *topodatapb.TabletAlias) {
	_, err := a.ts.UpdateTabletFields(ctx, alias, func(t *topodatapb.Tablet) error {
		if len(t.PortMap) == 0 {
			return topo.ErrNoUpdateNeeded
		}
		t.PortMap = nil
		return nil
	})
	if err != nil {
		a.logger.Error("clear tablet ports on shutdown", "alias", topo.TabletAliasString(alias), "err", err)
	}
}

// mysqlPort is the port the local mysqld listens on, as it reports it, or
// the configured --db_port when it does not answer in time.
func (a *Agent) mysqlPort(ctx context.Context, dba *sql.DB) int32 {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var port int32
	if err := dba.QueryRowContext(ctx, "SELECT @@global.port").Scan(&port); err != nil {
		a.logger.Warn("mysqld did not report its port; using --db_port", "db_port", a.db.Port, "err", err)
		return int32(a.db.Port)
	}
	return port
}

// serveHealth answers "ok" with 200 while mysqld answers and the tablet is
// not shutting down, and "not ok: <reason>" with 503 otherwise.
func (a *Agent) serveHealth(w http.ResponseWriter, r *http.Request, dba *sql.DB) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if a.lameduck.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ok: shutting down")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := dba.PingContext(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ok: mysqld unreachable: %v\n", err)
		return
	}
	fmt.Fprintln(w, "ok")
}
