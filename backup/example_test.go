package backup_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"

	"github.com/tabletd/tablet/backup"
	"github.com/tabletd/tablet/backup/blobstore"
	"github.com/tabletd/tablet/mysqld"
)

// A tablet wires a Manager from its configuration, then, at startup, asks
// Plan what to do with its datadir, and later takes backups on request.
// (Compiled, not run: it needs a mysqld and a backup tool.)
func Example() {
	ctx := context.Background()
	cfg := backup.DefaultConfig()
	cfg.StorageURL = "s3://backups?region=eu-west-1"
	cfg.BackupFlags = "--slave-info --safe-slave-backup"
	if err := cfg.Validate(); err != nil {
		panic(err) // cmd/tablet: exit naming the flag
	}
	var (
		dbCfg  mysqld.Config  // the tablet's --db_* flags
		db     *sql.DB        // the dba connection
		flavor mysqld.Flavor  // detected at startup
		local  backup.Server  // stops and starts the local mysqld
		logger *slog.Logger   // the tablet's logger
		myCnf  = "/vt/my.cnf" // --mycnf-file
	)
	store, err := blobstore.Open(ctx, cfg.StorageURL)
	if err != nil {
		panic(err)
	}
	defer store.Close()
	m, err := backup.New(cfg, backup.Deps{
		Storage:  store,
		Flavor:   flavor,
		ToolConn: backup.NewToolConn(cfg, dbCfg, myCnf),
		DB:       db,
		DataDir:  "/vt/data",
		Logger:   logger,
	})
	if err != nil {
		panic(err)
	}

	// Startup.
	d := m.Plan(ctx, backup.PlanRequest{Keyspace: "commerce", Shard: "0"})
	logger.Info("restore plan", "action", d.Action, "reason", d.Reason)
	switch d.Action {
	case backup.ActionRestore:
		_, err := m.Restore(ctx, backup.RestoreRequest{
			Keyspace: "commerce", Shard: "0", Name: d.Backup, Server: local,
			Configure: func(ctx context.Context, man *backup.Manifest) error {
				for _, stmt := range mysqld.RestorePositionStatements(flavor, man.Position) {
					if _, err := db.ExecContext(ctx, stmt); err != nil {
						return err
					}
				}
				return nil // ... then point replication at the primary
			},
		})
		if err != nil {
			panic(err)
		}
	case backup.ActionFail:
		panic(d.Err)
	}

	// A backup request.
	man, err := m.Backup(ctx, backup.BackupRequest{Keyspace: "commerce", Shard: "0", TabletAlias: "zone1-0000000100",
		ShardMayBeServing: true})
	switch {
	case errors.Is(err, backup.ErrBusy):
		// answer "try later"
	case err != nil:
		panic(err)
	default:
		logger.Info("backup done", "name", man.Name, "position", man.Position)
	}
	if _, err := m.Prune(ctx, "commerce", "0"); err != nil {
		logger.Warn("prune failed", "err", err)
	}
}
