package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/pools"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/queryserver"
	"github.com/tabletd/tablet/queryserver/schema"
)

// QueryService is the query engine as the agent drives it through the
// tablet's life. The agent calls it from one goroutine at a time, in this
// order: SetServing whenever the tablet type or the serving verdict
// changes, StartLameduck once on SIGTERM, Shutdown once when the lameduck
// period is over.
type QueryService interface {
	// SetServing makes the engine serve tablet type typ (PRIMARY,
	// REPLICA, RDONLY, ...) and accept new queries when serving is true
	// (health allows it), or refuse them when false. It should not block
	// for long: ctx bounds it.
	SetServing(ctx context.Context, typ topodatapb.TabletType, serving bool) error
	// StartLameduck tells the engine the tablet is going away: it keeps
	// serving queries, while health reports the tablet not serving so
	// that gateways move their traffic elsewhere. It returns at once.
	StartLameduck()
	// Shutdown refuses new queries and transactions, lets those in
	// flight finish until ctx ends, then kills the rest, and returns once
	// none is left. The agent gives it --shutdown_grace_period.
	Shutdown(ctx context.Context) error
}

// WithQueryService makes the agent drive qs instead of the query service
// it builds from Config (pools, engine, schema tracker, the gRPC Query
// service). With it the gRPC port serves no Query service: for tests of
// the agent's life.
func WithQueryService(qs QueryService) Option {
	return func(a *Agent) { a.qs = qs }
}

// Option changes how New builds an Agent.
type Option func(*Agent)

// localQueries is the query service the agent builds: the MySQL pools,
// the engine over them, and the schema tracker, with the goroutines that
// keep the tracker current. Shutdown closes them in reverse order.
type localQueries struct {
	set     *pools.Set
	eng     *queryserver.Engine
	tracker *schema.Tracker
	target  queryserver.Target // keyspace and shard; the type comes with SetServing
	logger  *slog.Logger

	stop    context.CancelFunc // stops the tracker
	workers sync.WaitGroup     // the tracker and the DDL watcher
}

// newLocalQueries builds and opens the query service for database dbName:
// pools (app users on dbName, dba without a database), the engine
// (NOT_SERVING until SetServing), and the schema tracker, which reloads
// now, on its interval and after each DDL the engine runs.
func newLocalQueries(cfg Config, db mysqld.Config, initType topodatapb.TabletType, vars *debugvars.Registry, logger *slog.Logger) (*localQueries, error) {
	appCfg := db.DriverConfig(mysqld.RoleApp)
	appCfg.DBName = cfg.DBName()
	app, err := pools.NewDBConnector(appCfg, logger)
	if err != nil {
		return nil, fmt.Errorf("query service: app connections: %w", err)
	}
	dba, err := pools.NewDBConnector(db.DriverConfig(mysqld.RoleDBA), logger)
	if err != nil {
		return nil, fmt.Errorf("query service: dba connections: %w", err)
	}
	set, err := pools.NewSet(cfg.Pools, app, dba, logger)
	if err != nil {
		return nil, err
	}
	q := &localQueries{
		set:     set,
		eng:     queryserver.New(cfg.Query, set, vars, logger),
		tracker: schema.New(cfg.Schema, schema.PoolDB(set.DBA), cfg.DBName(), vars, logger),
		target:  queryserver.Target{Keyspace: cfg.InitKeyspace, Shard: cfg.InitShard, TabletType: queryserver.TabletType(initType)},
		logger:  logger,
	}
	set.Open()
	if err := q.eng.Open(); err != nil {
		return nil, errors.Join(err, set.Close(context.Background()))
	}
	if err := q.eng.SetServingState(q.target, queryserver.StateNotServing); err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	q.stop = stop
	q.workers.Go(func() { q.tracker.Run(ctx) })
	ddl := q.eng.QueryLog().Subscribe()
	q.workers.Go(func() {
		// Ends when the engine closes its log (Shutdown).
		for e := range ddl.C {
			if e.PlanType == queryserver.PlanDDL.String() && e.Code == queryserver.CodeOK {
				q.tracker.Trigger()
			}
		}
	})
	return q, nil
}

// SetServing implements QueryService.
func (q *localQueries) SetServing(_ context.Context, typ topodatapb.TabletType, serving bool) error {
	t := q.target
	t.TabletType = queryserver.TabletType(typ)
	state := queryserver.StateNotServing
	if serving {
		state = queryserver.StateServing
	}
	return q.eng.SetServingState(t, state)
}

// StartLameduck implements QueryService: the engine goes on serving.
func (q *localQueries) StartLameduck() {}

// Shutdown implements QueryService: the engine drains until ctx ends and
// kills what is left, then the tracker stops and the pools close (their
// connections all back by then).
func (q *localQueries) Shutdown(ctx context.Context) error {
	err := q.eng.Close(ctx)
	q.stop()
	q.workers.Wait()
	pctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	return errors.Join(err, q.set.Close(pctx))
}
