package main

import (
	"context"
	"log/slog"

	"github.com/tabletd/tablet/agent"
	"github.com/tabletd/tablet/debugvars"
)

// serve runs the tablet until ctx ends.
func serve(ctx context.Context, cfg *config, logger *slog.Logger) error {
	return agent.New(cfg.agent, cfg.db, debugvars.New(), logger).Run(ctx)
}
