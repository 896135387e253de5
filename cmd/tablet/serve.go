package main

import (
	"context"
	"log/slog"

	"github.com/tabletd/tablet/agent"
	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/topo/topofactory"
)

// serve runs the tablet until ctx ends.
func serve(ctx context.Context, cfg *config, logger *slog.Logger) error {
	ts, err := topofactory.Open(ctx, cfg.topo, logger)
	if err != nil {
		return err
	}
	defer ts.Close()
	return agent.New(cfg.agent, cfg.db, ts, debugvars.New(), logger).Run(ctx)
}
