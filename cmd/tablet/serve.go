package main

import (
	"context"
	"log/slog"

	"github.com/tabletd/tablet/agent"
	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/orc"
	"github.com/tabletd/tablet/topo/topofactory"
)

// serve runs the tablet until ctx ends.
func serve(ctx context.Context, cfg *config, logger *slog.Logger) error {
	ts, err := topofactory.Open(ctx, cfg.topo, logger)
	if err != nil {
		return err
	}
	defer ts.Close()
	vars := debugvars.New()
	var opts []agent.Option
	if cfg.orc.Enabled() {
		opts = append(opts, agent.WithOrchestrator(orc.New(cfg.orc, vars, logger)))
	}
	if cfg.backup.Enabled() {
		b, closeBackups, err := openBackups(ctx, cfg, vars, logger)
		if err != nil {
			return err
		}
		defer closeBackups()
		opts = append(opts, agent.WithBackuper(b))
	}
	return agent.New(cfg.agent, cfg.db, ts, vars, logger, opts...).Run(ctx)
}
