package agent

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
)

// Agent runs one tablet. Build it with New, then call Run once.
type Agent struct {
	cfg    Config
	db     mysqld.Config
	vars   *debugvars.Registry
	logger *slog.Logger

	ready    chan struct{} // closed when the listeners are up
	httpAddr atomic.Pointer[net.TCPAddr]
	lameduck atomic.Bool // set on shutdown: health reports not ok
}

// New builds an Agent without side effects. It publishes its variables in
// vars, which it serves as /debug/vars and /metrics.
func New(cfg Config, db mysqld.Config, vars *debugvars.Registry, logger *slog.Logger) *Agent {
	a := &Agent{cfg: cfg, db: db, vars: vars, logger: logger, ready: make(chan struct{})}
	a.publish()
	return a
}

// publish registers the tablet's identity and state variables.
func (a *Agent) publish() {
	a.vars.PublishJSONFunc("TabletAlias", func() any { return a.cfg.TabletPath })
	a.vars.PublishJSONFunc("TabletKeyspace", func() any { return a.cfg.InitKeyspace })
	a.vars.PublishJSONFunc("TabletShard", func() any { return a.cfg.InitShard })
	a.vars.PublishJSONFunc("TabletType", func() any { return strings.ToUpper(a.cfg.InitTabletType) })
}

// Ready is closed once the tablet's listeners accept connections.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// HTTPAddr is the bound HTTP address; nil before Ready.
func (a *Agent) HTTPAddr() *net.TCPAddr { return a.httpAddr.Load() }

// Run serves until ctx ends, then goes lameduck for the configured period
// and shuts down, returning nil after a clean shutdown.
func (a *Agent) Run(ctx context.Context) error {
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
	a.httpAddr.Store(ln.Addr().(*net.TCPAddr))
	mux := http.NewServeMux()
	mux.Handle("/debug/vars", a.vars.VarsHandler())
	mux.Handle("/metrics", a.vars.MetricsHandler())
	mux.HandleFunc("/debug/health", func(w http.ResponseWriter, r *http.Request) {
		a.serveHealth(w, r, dba)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.logger.Info("serving http", "addr", ln.Addr().String())
	close(a.ready)

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	a.lameduck.Store(true)
	a.logger.Info("entering lameduck", "period", a.cfg.LameduckPeriod)
	timer := time.NewTimer(a.cfg.LameduckPeriod)
	<-timer.C
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownGracePeriod+time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down http server: %w", err)
	}
	return nil
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
