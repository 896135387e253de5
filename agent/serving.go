package agent

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tabletd/tablet/proto/queryservicepb"
	"github.com/tabletd/tablet/proto/topodatapb"

	tablethealth "github.com/tabletd/tablet/health"
)

// serving decides what the query service accepts and what grpc.health.v1
// reports: the tablet type the role manager applied, and whether health
// says the tablet serves. Until lameduck both follow health; from
// lameduck on, grpc.health.v1 says NOT_SERVING while the query service
// keeps the state it had, so that queries still succeed while gateways
// move away. Its methods are safe for concurrent use and call the query
// service in the order the changes happen.
type serving struct {
	qs     QueryService
	grpc   *health.Server // nil until the gRPC port is up
	logger *slog.Logger

	mu      sync.Mutex // guards the fields below; held while calling qs
	typ     topodatapb.TabletType
	healthy bool
	frozen  bool                  // lameduck began
	toldTyp topodatapb.TabletType // what qs was last told
	toldOK  bool
}

// grpcServices are the names grpc.health.v1 reports on: the whole server
// and the Query service.
var grpcServices = []string{"", queryservicepb.Query_ServiceDesc.ServiceName}

func newServing(qs QueryService, initType topodatapb.TabletType, logger *slog.Logger) *serving {
	return &serving{qs: qs, typ: initType, toldTyp: initType, logger: logger}
}

// attach makes grpc.health.v1 follow the verdict.
func (s *serving) attach(h *health.Server) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grpc = h
	s.publishLocked()
}

// setType records the tablet type the role manager applied.
func (s *serving) setType(ctx context.Context, typ topodatapb.TabletType) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.typ = typ
	s.applyLocked(ctx)
}

// setHealthy records health's verdict.
func (s *serving) setHealthy(ctx context.Context, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.healthy = ok
	s.applyLocked(ctx)
}

// lameduck freezes the query service's state and turns grpc.health.v1 to
// NOT_SERVING.
func (s *serving) lameduck() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frozen = true
	s.publishLocked()
}

// shutdown turns grpc.health.v1 to NOT_SERVING for good.
func (s *serving) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frozen = true
	if s.grpc != nil {
		s.grpc.Shutdown()
	}
}

func (s *serving) applyLocked(ctx context.Context) {
	s.publishLocked()
	if s.frozen {
		return
	}
	if s.toldTyp == s.typ && s.toldOK == s.healthy {
		return // the engine starts NOT_SERVING with the init type: nothing to say yet
	}
	if err := s.qs.SetServing(ctx, s.typ, s.healthy); err != nil {
		s.logger.Error("query service did not take the new state", "type", s.typ.String(), "serving", s.healthy, "err", err)
		return
	}
	s.toldTyp, s.toldOK = s.typ, s.healthy
}

func (s *serving) publishLocked() {
	if s.grpc == nil {
		return
	}
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if s.healthy && !s.frozen {
		st = healthpb.HealthCheckResponse_SERVING
	}
	for _, name := range grpcServices {
		s.grpc.SetServingStatus(name, st)
	}
}

// followHealth feeds health's verdicts to s until ctx ends or the checker
// closes. A subscription dropped for being slow is renewed.
func (s *serving) followHealth(ctx context.Context, checker *tablethealth.Checker) {
	for {
		sub := checker.Subscribe()
		done := false
		for !done {
			select {
			case st, ok := <-sub.Updates():
				if !ok {
					done = true
					break
				}
				s.setHealthy(ctx, st.Serving)
			case <-ctx.Done():
				sub.Close()
				return
			}
		}
		if !errors.Is(sub.Err(), tablethealth.ErrSlowSubscriber) {
			return
		}
		// Dropped for lagging behind: the next subscription starts with
		// the current status.
	}
}
