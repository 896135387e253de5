package agent

import (
	"context"

	"github.com/tabletd/tablet/proto/topodatapb"
)

// QueryService is the query engine as the agent drives it through the
// tablet's life. The agent calls it from one goroutine at a time, in this
// order: SetServing whenever the tablet's role changes (the first call
// means mysqld answers and its role is applied), StartLameduck once on
// SIGTERM, Shutdown once when the lameduck period is over.
type QueryService interface {
	// SetServing makes the engine serve queries for tablet type typ
	// (PRIMARY, REPLICA, RDONLY, ...), switching from the type it served.
	// It should not block for long: ctx bounds it.
	SetServing(ctx context.Context, typ topodatapb.TabletType) error
	// StartLameduck tells the engine the tablet is going away: it keeps
	// serving queries, while health reports the tablet not serving so
	// that gateways move their traffic elsewhere. It returns at once.
	StartLameduck()
	// Shutdown refuses new queries and transactions, lets those in
	// flight finish until ctx ends, then kills the rest, and returns once
	// none is left. The agent gives it --shutdown_grace_period.
	Shutdown(ctx context.Context) error
}

// WithQueryService makes the agent drive qs. Without it the agent serves
// no queries (its health, records and role work all the same).
func WithQueryService(qs QueryService) Option {
	return func(a *Agent) { a.qs = qs }
}

// Option changes how New builds an Agent.
type Option func(*Agent)

// noQueries is the QueryService of an agent that serves no queries.
type noQueries struct{}

func (noQueries) SetServing(context.Context, topodatapb.TabletType) error { return nil }
func (noQueries) StartLameduck()                                          {}
func (noQueries) Shutdown(context.Context) error                          { return nil }
