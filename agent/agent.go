package agent

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/health"
	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/proto/tabletctlpb"
	"github.com/tabletd/tablet/proto/tabletmanagerservicepb"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/queryserver/grpcserver"
	"github.com/tabletd/tablet/topo"
)

// Timings of the agent that are not worth a flag.
const (
	// cleanupTimeout bounds the last steps of shutdown, after the grace
	// period: stopping the role manager and health, clearing the record's
	// ports, releasing the claim and closing the HTTP server. Each talks
	// to a local process or the topology with a deadline, so a hung mysqld
	// or etcd costs at most this much.
	cleanupTimeout = 500 * time.Millisecond
	// promoteDrain bounds how long a replica being promoted may take to
	// apply what it had fetched from the old primary before it turns
	// writable: long enough for a relay log that is a few seconds behind,
	// short enough that a stuck applier does not hold up a failover.
	promoteDrain = 5 * time.Second
	// roleAttemptTimeout bounds one attempt to apply the tablet's role; a
	// newer shard record cuts it short anyway.
	roleAttemptTimeout = 30 * time.Second
	// roleRetryMin and roleRetryMax bound the backoff of the role manager
	// after a failure: quick enough to follow a mysqld restart, slow
	// enough not to hammer a server that is down.
	roleRetryMin = 100 * time.Millisecond
	roleRetryMax = 5 * time.Second
)

// Agent runs one tablet. Build it with New, then call Run once.
type Agent struct {
	cfg        Config
	db         mysqld.Config
	ts         *topo.Server
	vars       *debugvars.Registry
	logger     *slog.Logger
	qs         QueryService // set by WithQueryService, else built by Run
	backuper   Backuper     // set by WithBackuper; nil: backups not configured
	maintainer Maintainer   // set by WithMaintainer; nil: holds do nothing
	orc        orchestrator // set by WithOrchestrator; nil: no Orchestrator integration
	typeHold   typeHold     // the maintenance hold the tablet's type asks for
	started    time.Time    // when Run began, for the status page

	ready    chan struct{} // closed when the tablet is published and serving HTTP and gRPC
	done     chan struct{} // closed when Run returns
	httpAddr atomic.Pointer[net.TCPAddr]
	grpcAddr atomic.Pointer[net.TCPAddr]
	record   atomic.Pointer[topodatapb.Tablet] // the tablet record as last written

	recordMu      sync.Mutex    // guards recordChanged
	recordChanged chan struct{} // closed and replaced each time the record is written

	// Built by Run before the role manager starts and the gRPC port
	// serves; used by the role manager's goroutine (through the
	// roleObserver methods), the gRPC handlers and shutdown. All are safe
	// for concurrent use.
	checker   *health.Checker
	heartbeat *health.HeartbeatWriter
	dba       *sql.DB
	admin     *adminMySQL
	roles     *roleManager
	serving   *serving
}

// New builds an Agent without side effects. ts is the topology service,
// which the caller opens and closes. The agent publishes its variables in
// vars and serves them as /debug/vars and /metrics.
func New(cfg Config, db mysqld.Config, ts *topo.Server, vars *debugvars.Registry, logger *slog.Logger, opts ...Option) *Agent {
	a := &Agent{cfg: cfg, db: db, ts: ts, vars: vars, logger: logger,
		ready: make(chan struct{}), done: make(chan struct{}), recordChanged: make(chan struct{})}
	for _, o := range opts {
		o(a)
	}
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
// (HTTP and gRPC) accept connections. Whether the tablet serves is
// health's to say.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// GRPCAddr is the bound gRPC address; nil until the listener is up.
func (a *Agent) GRPCAddr() *net.TCPAddr { return a.grpcAddr.Load() }

// Done is closed when Run has returned.
func (a *Agent) Done() <-chan struct{} { return a.done }

// HTTPAddr is the bound HTTP address; nil until the listener is up.
func (a *Agent) HTTPAddr() *net.TCPAddr { return a.httpAddr.Load() }

// Record returns the tablet record as this process last wrote it; nil
// before Ready.
func (a *Agent) Record() *topodatapb.Tablet { return a.record.Load() }

// Run starts the tablet and serves until ctx ends, then goes lameduck and
// shuts down (see shutdown). Startup, in order: listen on the HTTP and
// gRPC ports (so the record can hold the real ports) and load the gRPC
// certificates, check the topology (cell exists, the alias is not recorded
// in another shard), take the alias's claim, publish the record, open the
// query service (pools, engine, schema tracker; NOT_SERVING), serve gRPC
// and HTTP, restore from backup when Config.Restore asks (see
// restoreOnStartup), start the role manager. A refusal wraps ErrInit and writes
// nothing. The tablet serves (health says so, and the query service
// accepts queries) once mysqld answers and the role the shard record
// gives is applied; until then /debug/health says why not. Run returns
// nil after a clean shutdown.
func (a *Agent) Run(ctx context.Context) error {
	defer close(a.done)
	a.started = time.Now()
	if err := a.cfg.Validate(); err != nil {
		return err
	}
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
	initType := topodatapb.TabletType(topodatapb.TabletType_value[strings.ToUpper(a.cfg.InitTabletType)])

	// A few dba connections for health checks and heartbeats; the admin
	// role, which may change read_only and replication, for the role.
	dba, err := openDB(a.db, mysqld.RoleDBA, 3)
	if err != nil {
		return err
	}
	defer dba.Close()
	admin, err := openDB(a.db, mysqld.RoleAdmin, 2)
	if err != nil {
		return err
	}
	defer admin.Close()

	ln, err := net.Listen("tcp", net.JoinHostPort(a.cfg.BindAddress, strconv.Itoa(a.cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen on --port=%d: %w", a.cfg.Port, err)
	}
	defer ln.Close()
	httpAddr := ln.Addr().(*net.TCPAddr)
	a.httpAddr.Store(httpAddr)
	grpcLn, err := net.Listen("tcp", net.JoinHostPort(a.cfg.BindAddress, strconv.Itoa(a.cfg.GRPCPort)))
	if err != nil {
		return fmt.Errorf("listen on --grpc_port=%d: %w", a.cfg.GRPCPort, err)
	}
	defer grpcLn.Close()
	grpcAddr := grpcLn.Addr().(*net.TCPAddr)
	a.grpcAddr.Store(grpcAddr)
	grpcOpts, err := a.cfg.GRPC.ServerOptions(a.logger)
	if err != nil {
		return err
	}

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
	claimHeld := true
	defer func() {
		if claimHeld {
			cl.release()
		}
	}()
	a.logger.Info("claimed tablet alias", "alias", aliasStr, "owner", owner)

	want, err := a.tabletRecord(alias, hostname, httpAddr.Port, grpcAddr.Port, a.mysqlPort(ctx, dba))
	if err != nil {
		return err
	}
	rec, err := a.publishRecord(ctx, want)
	if err != nil {
		return err
	}
	a.record.Store(rec)
	a.tabletUpdated(rec)
	a.logger.Info("published tablet record", "alias", aliasStr, "keyspace", rec.GetKeyspace(), "shard", rec.GetShard(),
		"type", rec.GetType().String(), "hostname", rec.GetHostname(), "mysql_port", rec.GetMysqlPort())

	a.checker = health.New(a.cfg.Health, health.NewProber(a.cfg.Health, dba), a.vars, a.logger)
	a.heartbeat = health.NewHeartbeatWriter(a.cfg.Health, dba, a.vars, a.logger)
	a.dba = dba
	a.admin = &adminMySQL{db: admin, dbName: a.cfg.DBName(), drain: promoteDrain}
	a.roles = newRoleManager(roleConfig{
		alias:          alias,
		keyspace:       a.cfg.InitKeyspace,
		shard:          a.cfg.InitShard,
		initType:       initType,
		repl:           a.db.Users[mysqld.RoleRepl],
		connectRetry:   a.cfg.ReplicationConnectRetry,
		checkInterval:  a.cfg.RoleCheckInterval,
		retryMin:       roleRetryMin,
		retryMax:       roleRetryMax,
		attemptTimeout: roleAttemptTimeout,
	}, a.ts, a.ts.GlobalConn().Watch, a.admin, a, a.vars, a.logger)

	// The query service, NOT_SERVING until the role is applied and health
	// allows; then gRPC.
	var local *localQueries
	if a.qs == nil {
		if local, err = newLocalQueries(a.cfg, a.db, initType, a.vars, a.logger); err != nil {
			return err
		}
		a.qs = local
	}
	a.serving = newServing(a.qs, initType, a.logger)
	gs := a.newGRPCServer(grpcOpts, rec, local)
	grpcServed := make(chan error, 1) // Serve's result; it returns once shutdown stops gs
	go func() { grpcServed <- gs.Serve(grpcLn) }()
	a.logger.Info("serving grpc", "addr", grpcAddr.String(), "tls", a.cfg.GRPC.TLS(), "client_certs", a.cfg.GRPC.CAFile != "")
	servingCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	servingDone := goDone(func() { a.serving.followHealth(servingCtx, a.checker) })

	// Table statistics and the Orchestrator integration run until
	// shutdown stops them, after the role manager.
	auxCtx, stopAux := context.WithCancel(context.WithoutCancel(ctx))
	defer stopAux()
	tables := a.newTableStats(dba)
	tablesDone := goDone(func() { _ = tables.Run(auxCtx) })
	orcDone := a.runOrchestrator(auxCtx)

	srv := &http.Server{Handler: a.debugHandler(local, tables), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1) // Serve's result; it returns once shutdown closes srv
	go func() { served <- srv.Serve(ln) }()
	a.logger.Info("serving http", "addr", httpAddr.String())

	// The role manager outlives ctx: a change of primary during lameduck
	// is still applied. shutdown stops it. A restore from backup on
	// startup comes first, with mysqld stopped and replaced; after a
	// failed one the role manager never runs (see restoreOnStartup).
	roleCtx, stopRoles := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRoles()
	rolesDone := make(chan struct{})
	go func() {
		defer close(rolesDone)
		if a.restoreOnStartup(roleCtx) {
			a.roles.run(roleCtx)
		}
	}()
	close(a.ready)

	var runErr error
	lameduck := true
	select {
	case err := <-served:
		runErr = fmt.Errorf("http server: %w", err)
		served <- err // for shutdown, which waits for Serve to return
		lameduck = false
	case err := <-grpcServed:
		runErr = fmt.Errorf("grpc server: %w", err)
		grpcServed <- err
		lameduck = false
	case <-cl.lost.Done():
		// Serving goes on: losing the claim (an etcd outage longer than the
		// lease) is no reason to fail queries. The next start re-claims.
		a.logger.Error("lost the claim on the tablet alias; still serving", "alias", aliasStr)
		<-ctx.Done()
	case <-ctx.Done():
	}
	claimHeld = false
	a.shutdown(running{
		alias: alias, lameduck: lameduck, srv: srv, served: served, grpc: gs, grpcServed: grpcServed,
		stopRoles: stopRoles, rolesDone: rolesDone, stopServing: stopServing, servingDone: servingDone,
		stopAux: stopAux, auxDone: []<-chan struct{}{tablesDone, orcDone},
		claim: cl, dbs: []*sql.DB{dba, admin},
	})
	return runErr
}

// newGRPCServer builds the gRPC port's server: the Query service over
// local (when the agent runs its own), TabletManager, TabletControl,
// grpc.health.v1 following the serving state, and reflection so that
// standard tools can list the services.
func (a *Agent) newGRPCServer(opts []grpc.ServerOption, rec *topodatapb.Tablet, local *localQueries) *grpc.Server {
	gs := grpc.NewServer(opts...)
	if local != nil {
		feed := &healthFeed{
			checker: a.checker, tracker: local.tracker, keyspace: rec.GetKeyspace(), shard: rec.GetShard(),
			cell: rec.GetAlias().GetCell(), typ: func() topodatapb.TabletType { return a.record.Load().GetType() },
		}
		grpcserver.New(grpcserver.Deps{Engine: local.eng, Health: feed, Schema: local.tracker, Alias: rec.GetAlias(), Logger: a.logger}).Register(gs)
	}
	tabletmanagerservicepb.RegisterTabletManagerServer(gs, &managerServer{a: a})
	tabletctlpb.RegisterTabletControlServer(gs, &controlServer{a: a})
	hs := grpchealth.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	a.serving.attach(hs)
	reflection.Register(gs)
	return gs
}

// running is what shutdown takes down.
type running struct {
	alias       *topodatapb.TabletAlias
	lameduck    bool // go lameduck first; false when a listener failed and nobody can see it
	srv         *http.Server
	served      <-chan error
	grpc        *grpc.Server
	grpcServed  <-chan error
	stopRoles   context.CancelFunc
	rolesDone   <-chan struct{}
	stopServing context.CancelFunc
	servingDone <-chan struct{}
	stopAux     context.CancelFunc // stops the table statistics and the Orchestrator integration
	auxDone     []<-chan struct{}
	claim       *claim
	dbs         []*sql.DB
}

// shutdown takes the tablet down, in order:
//
//  1. Lameduck: health reports not serving at once (/debug/health,
//     StreamHealth and grpc.health.v1), while queries are still served
//     for LameduckPeriod, so that gateways move their traffic away
//     without errors.
//  2. The query service refuses new queries (with vttablet's SHUTTING_DOWN
//     answer, which gateways buffer on), gives those in flight
//     ShutdownGracePeriod to finish, and kills the rest; then the schema
//     tracker stops and the MySQL pools close.
//  3. The role manager stops. mysqld keeps its role: a primary stays
//     writable, as its shard record says, for the next start.
//  4. Heartbeats and health checks stop; StreamHealth streams end
//     (UNAVAILABLE). Table statistics and the Orchestrator integration
//     stop (maintenance left active expires in Orchestrator, or the next
//     start ends it when nothing holds it).
//  5. At the same time: the record's ports are cleared, so nothing routes
//     to a tablet that is gone, then the claim is released; the HTTP
//     server closes; the gRPC server stops (gracefully for half the
//     budget, then at once); the mysqld connections close.
//
// Steps 3 to 5 share cleanupTimeout and wait no longer on a hung mysqld or
// topology, so shutdown takes at most LameduckPeriod +
// ShutdownGracePeriod + cleanupTimeout.
func (a *Agent) shutdown(r running) {
	if r.lameduck {
		a.serving.lameduck()
		a.checker.SetLameduck(true)
		a.qs.StartLameduck()
		a.logger.Info("entering lameduck: reporting not serving, still serving queries", "period", a.cfg.LameduckPeriod.String())
		if a.cfg.LameduckPeriod > 0 {
			t := time.NewTimer(a.cfg.LameduckPeriod)
			<-t.C
		}
	}

	a.logger.Info("refusing new queries; waiting for those in flight", "grace_period", a.cfg.ShutdownGracePeriod.String())
	graceCtx, cancelGrace := context.WithTimeout(context.Background(), a.cfg.ShutdownGracePeriod)
	if err := a.qs.Shutdown(graceCtx); err != nil {
		a.logger.Error("query service shutdown", "err", err)
	}
	cancelGrace()

	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	r.stopRoles()
	if !waitUntil(ctx, r.rolesDone) {
		a.logger.Warn("the role manager did not stop in time; leaving it behind")
	}
	r.stopServing()
	<-r.servingDone // it waits on nothing but its context
	a.serving.shutdown()
	a.heartbeat.Close()
	a.checker.Close()
	r.stopAux()
	for _, done := range r.auxDone {
		if !waitUntil(ctx, done) {
			a.logger.Warn("table statistics or the orchestrator integration did not stop in time; leaving them behind")
		}
	}

	// The last steps do not depend on each other, so that a hung topology
	// holds up neither the HTTP server nor the mysqld connections.
	topoDone := goDone(func() {
		a.clearPorts(ctx, r.alias)
		r.claim.release()
	})
	httpDone := goDone(func() {
		if err := r.srv.Shutdown(ctx); err != nil {
			r.srv.Close()
		}
		<-r.served
	})
	grpcDone := goDone(func() {
		gctx, cancel := context.WithTimeout(ctx, cleanupTimeout/2)
		defer cancel()
		stopped := goDone(r.grpc.GracefulStop)
		if !waitUntil(gctx, stopped) {
			r.grpc.Stop()
			<-stopped
		}
		<-r.grpcServed
	})
	dbDone := goDone(func() {
		for _, db := range r.dbs {
			db.Close()
		}
	})
	if !waitUntil(ctx, topoDone) {
		a.logger.Warn("the claim on the tablet alias was not released in time; its lease expires by itself",
			"lease", a.ts.LeaseDuration().String())
	}
	if !waitUntil(ctx, httpDone) {
		a.logger.Warn("the HTTP server did not close in time; leaving it behind")
	}
	if !waitUntil(ctx, grpcDone) {
		a.logger.Warn("the gRPC server did not stop in time; leaving it behind")
	}
	if !waitUntil(ctx, dbDone) {
		a.logger.Warn("mysqld connections did not close in time; leaving them behind")
	}
}

// goDone runs f on a goroutine and returns a channel closed when f
// returns. The caller waits on it with a deadline (waitUntil); a goroutine
// still running past the deadline is left to the process's exit.
func goDone(f func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	return done
}

// waitUntil waits for done to close and reports whether it did before ctx
// ended; a done already closed wins over an ended ctx.
func waitUntil(ctx context.Context, done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	case <-ctx.Done():
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// leavingPrimary implements roleObserver: heartbeats stop before the
// server turns read-only, so none is written after another primary took
// over.
func (a *Agent) leavingPrimary() { a.heartbeat.Close() }

// roleChanged implements roleObserver: health learns the type and term
// (and starts checking, the first time), the heartbeat writer runs while
// the tablet is the primary, and the query service serves the new type.
func (a *Agent) roleChanged(ctx context.Context, typ topodatapb.TabletType, termStart time.Time) {
	primary := typ == topodatapb.TabletType_PRIMARY
	if !primary {
		a.heartbeat.Close()
	}
	a.checker.SetTablet(health.Tablet{Type: typ.String(), PrimaryTermStart: termStart})
	// Checks start only now, so that the first one sees the applied role
	// and is published as it is.
	a.checker.Open()
	if primary {
		a.heartbeat.Open()
	}
	a.serving.setType(ctx, typ)
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
	if err := dba.QueryRowContext(ctx, mysqld.PortQuery).Scan(&port); err != nil {
		a.logger.Warn("mysqld did not report its port; using --db_port", "db_port", a.db.Port, "err", err)
		return int32(a.db.Port)
	}
	return port
}
