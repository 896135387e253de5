package mysqld

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
)

// SourcePosition connects to the replication source src as src's user
// (the repl user: reading the position needs no privilege) and returns
// its GTID position: every transaction it has written. f is the flavor of
// the replica, which in one shard is the source's too.
func SourcePosition(ctx context.Context, src ReplicationSource, f Flavor, connectTimeout time.Duration) (string, error) {
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr = "tcp", hostPort(src.Host, src.Port)
	cfg.User, cfg.Passwd = src.User, src.Password
	cfg.Timeout = connectTimeout
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return "", err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	var pos string
	if err := queryRow(ctx, db, f.PrimaryPositionQuery(), &pos); err != nil {
		return "", fmt.Errorf("read the position of %s as %s: %w", cfg.Addr, src.User, err)
	}
	return pos, nil
}

// WaitForPosition waits up to timeout for the server reached through db
// to have applied pos, and reports whether it did.
func WaitForPosition(ctx context.Context, db Querier, f Flavor, pos string, timeout time.Duration) (bool, error) {
	return waitForPosition(ctx, db, f, pos, timeout)
}
