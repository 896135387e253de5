package grpcserver

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tabletd/tablet/proto/querypb"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/proto/vtrpcpb"
	"github.com/tabletd/tablet/queryserver/schema"
)

// clusterEvent is the vtrpc code of "not serving now, retry after the
// failover".
const clusterEvent = vtrpcpb.Code_CLUSTER_EVENT

// HealthStatus is one StreamHealth update: what a gateway routes by.
type HealthStatus struct {
	// Keyspace, Shard and Cell place the tablet; TabletType is its type
	// now (PRIMARY once promoted).
	Keyspace, Shard, Cell string
	TabletType            topodatapb.TabletType
	// Serving says whether the tablet takes queries for its target.
	Serving bool
	// PrimaryTermStart is when the tablet's term as primary began; zero
	// unless TabletType is PRIMARY.
	PrimaryTermStart time.Time
	// HealthError is empty while the tablet is healthy enough to serve.
	HealthError string
	// ReplicationLag is a replica's lag; QPS and CPUUsage its load.
	ReplicationLag time.Duration
	QPS, CPUUsage  float64
	// TablesChanged and ViewsChanged name the tables and views whose
	// definition changed since the previous update of this stream.
	TablesChanged, ViewsChanged []string
}

// HealthWatch is one StreamHealth subscriber's view of the tablet's
// health.
type HealthWatch interface {
	// Next returns the current status on its first call, then blocks
	// until the next update (a check, a change of health, of the tablet
	// type, or of the schema) or until ctx ends. Its errors wrap
	// ErrSlowSubscriber or ErrHealthClosed, or are ctx's.
	Next(ctx context.Context) (HealthStatus, error)
	// Close ends the watch. It is idempotent.
	Close()
}

// HealthSource hands out health watches; the agent implements it over its
// health checker and schema tracker.
type HealthSource interface {
	WatchHealth() HealthWatch
}

// Errors a HealthWatch reports.
var (
	// ErrSlowSubscriber: the subscriber fell behind and was dropped, so
	// as never to slow the health checks (RESOURCE_EXHAUSTED).
	ErrSlowSubscriber = errors.New("health subscriber too slow, dropped: call StreamHealth again")
	// ErrHealthClosed: the tablet is shutting down (UNAVAILABLE).
	ErrHealthClosed = errors.New("health checks stopped: the tablet is shutting down")
)

// StreamHealth implements queryservice.Query: the current health at once,
// then on every change and at least every health check interval. A
// client that does not keep up is dropped with RESOURCE_EXHAUSTED; the
// stream ends with UNAVAILABLE when the tablet shuts down.
func (s *Server) StreamHealth(_ *querypb.StreamHealthRequest, stream grpc.ServerStreamingServer[querypb.StreamHealthResponse]) error {
	if s.health == nil {
		return status.Error(codes.Unavailable, "StreamHealth: this tablet has no health source")
	}
	w := s.health.WatchHealth()
	defer w.Close()
	ctx := stream.Context()
	for {
		st, err := w.Next(ctx)
		switch {
		case err == nil:
		case errors.Is(err, ErrSlowSubscriber):
			s.logger.Warn("dropped a slow StreamHealth client", "err", err)
			return status.Error(codes.ResourceExhausted, err.Error())
		case errors.Is(err, ErrHealthClosed):
			return status.Error(codes.Unavailable, err.Error())
		case ctx.Err() != nil:
			return status.FromContextError(ctx.Err()).Err()
		default:
			return status.Error(codes.Unavailable, err.Error())
		}
		if err := stream.Send(s.healthResponse(st)); err != nil {
			return err
		}
	}
}

// healthResponse converts st.
func (s *Server) healthResponse(st HealthStatus) *querypb.StreamHealthResponse {
	resp := &querypb.StreamHealthResponse{
		Target:      &querypb.Target{Keyspace: st.Keyspace, Shard: st.Shard, TabletType: st.TabletType, Cell: st.Cell},
		Serving:     st.Serving,
		TabletAlias: s.alias,
		RealtimeStats: &querypb.RealtimeStats{
			HealthError:           st.HealthError,
			ReplicationLagSeconds: uint32(st.ReplicationLag / time.Second),
			CpuUsage:              st.CPUUsage,
			Qps:                   st.QPS,
			TableSchemaChanged:    st.TablesChanged,
			ViewSchemaChanged:     st.ViewsChanged,
		},
	}
	if st.TabletType == topodatapb.TabletType_PRIMARY && !st.PrimaryTermStart.IsZero() {
		resp.PrimaryTermStartTimestamp = st.PrimaryTermStart.Unix()
	}
	return resp
}

// Schema answers GetSchema; *schema.Tracker implements it.
type Schema interface {
	Definitions(ctx context.Context, kind schema.Kind, names []string, emit func(name, create string) error) error
	UDFs(ctx context.Context) ([]schema.UDF, error)
}

// schemaChunkBytes bounds the definitions sent in one GetSchema message,
// well under the default 16 MiB message limit.
const schemaChunkBytes = 1 << 20

// GetSchema implements queryservice.Query: the CREATE statements of the
// tables, views or both (all, or those named), in messages of about 1 MiB,
// or the loadable functions.
func (s *Server) GetSchema(req *querypb.GetSchemaRequest, stream grpc.ServerStreamingServer[querypb.GetSchemaResponse]) error {
	if s.schema == nil {
		return unimplemented("GetSchema", "this tablet tracks no schema")
	}
	if _, err := s.check(req.GetTarget(), accessNew); err != nil {
		return err
	}
	ctx := stream.Context()
	if req.GetTableType() == querypb.SchemaTableType_UDFS {
		udfs, err := s.schema.UDFs(ctx)
		if err != nil {
			return status.Errorf(codes.Unavailable, "GetSchema: %v", err)
		}
		resp := &querypb.GetSchemaResponse{}
		for _, u := range udfs {
			resp.Udfs = append(resp.Udfs, &querypb.UDFInfo{Name: u.Name, Aggregating: u.Aggregating, ReturnType: udfType(string(u.Return))})
		}
		return stream.Send(resp)
	}
	var kind schema.Kind
	switch req.GetTableType() {
	case querypb.SchemaTableType_TABLES:
		kind = schema.KindTables
	case querypb.SchemaTableType_VIEWS:
		kind = schema.KindViews
	case querypb.SchemaTableType_ALL:
		kind = schema.KindAll
	default:
		return status.Errorf(codes.InvalidArgument, "GetSchema: unknown table_type %d", req.GetTableType())
	}
	resp := &querypb.GetSchemaResponse{TableDefinition: map[string]string{}}
	size, sent := 0, false
	err := s.schema.Definitions(ctx, kind, req.GetTableNames(), func(name, create string) error {
		resp.TableDefinition[name] = create
		size += len(name) + len(create)
		if size < schemaChunkBytes {
			return nil
		}
		sent = true
		if err := stream.Send(resp); err != nil {
			return err
		}
		resp, size = &querypb.GetSchemaResponse{TableDefinition: map[string]string{}}, 0
		return nil
	})
	if err != nil {
		if _, ok := status.FromError(err); ok {
			return err
		}
		return status.Errorf(codes.Unavailable, "GetSchema: %v", err)
	}
	if size > 0 || !sent {
		return stream.Send(resp)
	}
	return nil
}

// udfType is the Vitess type a loadable function returns.
func udfType(r string) querypb.Type {
	switch r {
	case "integer":
		return querypb.Type_INT64
	case "real":
		return querypb.Type_FLOAT64
	case "decimal":
		return querypb.Type_DECIMAL
	}
	return querypb.Type_VARCHAR
}
