package agent

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tabletd/tablet/proto/topodatapb"
)

// TestServingFollowsTypeAndHealth: the query service hears of a change of
// type or of health's verdict, once per change; grpc.health.v1 follows
// the verdict; after lameduck neither the query service's state nor
// grpc.health.v1 turns back to serving.
func TestServingFollowsTypeAndHealth(t *testing.T) {
	qs := &fakeQueries{}
	s := newServing(qs, topodatapb.TabletType_REPLICA, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := health.NewServer()
	s.attach(h)
	ctx := context.Background()
	grpcStatus := func() healthpb.HealthCheckResponse_ServingStatus {
		resp, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: "queryservice.Query"})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetStatus()
	}
	steps := []struct {
		name  string
		do    func()
		calls string
		grpc  healthpb.HealthCheckResponse_ServingStatus
	}{
		{"starts not serving", func() {}, "", healthpb.HealthCheckResponse_NOT_SERVING},
		{"health unchanged", func() { s.setHealthy(ctx, false) }, "", healthpb.HealthCheckResponse_NOT_SERVING},
		{"role applied", func() { s.setType(ctx, topodatapb.TabletType_REPLICA) }, "", healthpb.HealthCheckResponse_NOT_SERVING},
		{"healthy", func() { s.setHealthy(ctx, true) }, "serve REPLICA true", healthpb.HealthCheckResponse_SERVING},
		{"healthy again", func() { s.setHealthy(ctx, true) }, "serve REPLICA true", healthpb.HealthCheckResponse_SERVING},
		{"promoted", func() { s.setType(ctx, topodatapb.TabletType_PRIMARY) }, "serve REPLICA true,serve PRIMARY true", healthpb.HealthCheckResponse_SERVING},
		{"lameduck", func() { s.lameduck() }, "serve REPLICA true,serve PRIMARY true", healthpb.HealthCheckResponse_NOT_SERVING},
		{"health during lameduck", func() { s.setHealthy(ctx, false) }, "serve REPLICA true,serve PRIMARY true", healthpb.HealthCheckResponse_NOT_SERVING},
		{"shutdown", func() { s.shutdown() }, "serve REPLICA true,serve PRIMARY true", healthpb.HealthCheckResponse_NOT_SERVING},
	}
	for _, st := range steps {
		st.do()
		qs.mu.Lock()
		got := strings.Join(qs.calls, ",")
		qs.mu.Unlock()
		if got != st.calls {
			t.Errorf("%s: query service calls %q, want %q", st.name, got, st.calls)
		}
		if g := grpcStatus(); g != st.grpc {
			t.Errorf("%s: grpc.health.v1 = %v, want %v", st.name, g, st.grpc)
		}
	}
}
