package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/tabletd/tablet/health"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/queryserver/grpcserver"
	"github.com/tabletd/tablet/queryserver/schema"
)

// healthFeed is what StreamHealth streams: the health checker's status,
// with the tablet's target and the schema changes the tracker found. It
// implements grpcserver.HealthSource.
type healthFeed struct {
	checker  *health.Checker
	tracker  *schema.Tracker // nil when the agent runs no query service of its own
	keyspace string
	shard    string
	cell     string
	// typ is the tablet type to report before health knows one: the
	// record's.
	typ func() topodatapb.TabletType
}

// WatchHealth implements grpcserver.HealthSource.
func (f *healthFeed) WatchHealth() grpcserver.HealthWatch {
	w := &healthWatch{f: f, sub: f.checker.Subscribe()}
	if f.tracker != nil {
		w.version = f.tracker.Version()
	}
	return w
}

// healthWatch is one StreamHealth stream's subscription.
type healthWatch struct {
	f       *healthFeed
	sub     *health.Subscription
	version uint64 // the schema changes already reported
	last    health.Status
	have    bool // last holds a status
}

// Next implements grpcserver.HealthWatch: the first call returns the
// current status; later calls wait for a health update or a schema
// change, whichever comes first.
func (w *healthWatch) Next(ctx context.Context) (grpcserver.HealthStatus, error) {
	var changed <-chan struct{}
	if w.f.tracker != nil && w.have {
		changed = w.f.tracker.Changed(w.version)
	}
	select {
	case st, ok := <-w.sub.Updates():
		if !ok {
			return grpcserver.HealthStatus{}, w.closedError()
		}
		w.last, w.have = st, true
	case <-changed:
	case <-ctx.Done():
		return grpcserver.HealthStatus{}, ctx.Err()
	}
	return w.status(), nil
}

// closedError says why the checker closed the subscription.
func (w *healthWatch) closedError() error {
	err := w.sub.Err()
	switch {
	case errors.Is(err, health.ErrSlowSubscriber):
		return fmt.Errorf("%w: %v", grpcserver.ErrSlowSubscriber, err)
	case err == nil:
		return fmt.Errorf("%w: subscription closed", grpcserver.ErrHealthClosed)
	}
	return fmt.Errorf("%w: %v", grpcserver.ErrHealthClosed, err)
}

// status is the last health status with the schema changes not yet
// reported.
func (w *healthWatch) status() grpcserver.HealthStatus {
	st := w.last
	typ := topodatapb.TabletType(topodatapb.TabletType_value[st.TabletType])
	if st.TabletType == "" {
		typ = w.f.typ()
	}
	hs := grpcserver.HealthStatus{
		Keyspace: w.f.keyspace, Shard: w.f.shard, Cell: w.f.cell, TabletType: typ,
		Serving: st.Serving, PrimaryTermStart: st.PrimaryTermStart,
		HealthError: st.Realtime.HealthError, ReplicationLag: st.Realtime.ReplicationLag,
		QPS: st.Realtime.QPS, CPUUsage: st.Realtime.CPUUsage,
	}
	if w.f.tracker != nil {
		var c schema.Change
		c, w.version = w.f.tracker.ChangesSince(w.version)
		hs.TablesChanged, hs.ViewsChanged = c.Tables, c.Views
	}
	return hs
}

// Close implements grpcserver.HealthWatch.
func (w *healthWatch) Close() { w.sub.Close() }
