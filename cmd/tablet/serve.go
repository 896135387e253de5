package main

import (
	"context"
	"log/slog"

	"github.com/tabletd/tablet/agent"
)

// serve runs the tablet until ctx ends.
func serve(ctx context.Context, cfg *config, logger *slog.Logger) error {
	return agent.New(cfg.agent, cfg.db, logger).Run(ctx)
}
