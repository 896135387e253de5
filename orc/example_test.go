package orc_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/orc"
	"github.com/tabletd/tablet/proto/topodatapb"
)

// The agent's wiring: build the Registrar from its Config, run it in a
// goroutine the agent owns, tell it about the tablet whenever the record
// changes, and wrap operations that must not meet a promotion.
func Example() {
	cfg := orc.DefaultConfig()
	cfg.APIURL = "http://orchestrator:3000/api" // --orc_api_url
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	r := orc.New(cfg, debugvars.New(), slog.New(slog.NewTextHandler(os.Stderr, nil)))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// At start and on every change of type or MySQL address.
	r.SetTablet(orc.Tablet{Alias: "zone1-0000000100", Host: "db1.example", Port: 3306, Type: topodatapb.TabletType_REPLICA})

	// Around a backup taken without changing the tablet's type.
	_ = r.WithMaintenance(ctx, "backup", func(ctx context.Context) error {
		return nil // take the backup
	})
}
