package agent

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/tabletd/tablet/mysqld"
)

// mysqlRole is how the role manager changes the local mysqld. Each method
// changes only what differs from what it asks for, so calling it again
// after a failure, or to check nothing drifted, is safe. The role manager
// is the only caller and never calls concurrently.
type mysqlRole interface {
	// MakePrimary makes mysqld a writable primary that replicates from
	// nowhere and returns the changes made, for the log.
	MakePrimary(ctx context.Context) ([]string, error)
	// MakeReplica makes mysqld read-only and, when src is not nil,
	// replicate from src, and returns the changes made.
	MakeReplica(ctx context.Context, src *mysqld.ReplicationSource) ([]string, error)
	// WriteMetadata rewrites _vt.local_metadata without replicating it.
	WriteMetadata(ctx context.Context, md mysqld.LocalMetadata) error
}

// adminMySQL is mysqlRole over the admin role's connections: the role that
// may change read_only and replication. It asks the server's flavor on
// every call, one cheap query, so that it follows a server upgraded under
// a running tablet.
type adminMySQL struct {
	db     *sql.DB
	dbName string
	// drain bounds how long a promoted replica may take to apply what it
	// had fetched before it turns writable.
	drain time.Duration
}

func (m *adminMySQL) MakePrimary(ctx context.Context) ([]string, error) {
	f, err := mysqld.DetectFlavor(ctx, m.db)
	if err != nil {
		return nil, err
	}
	return mysqld.MakePrimary(ctx, m.db, f, m.drain)
}

func (m *adminMySQL) MakeReplica(ctx context.Context, src *mysqld.ReplicationSource) ([]string, error) {
	f, err := mysqld.DetectFlavor(ctx, m.db)
	if err != nil {
		return nil, err
	}
	return mysqld.MakeReplica(ctx, m.db, f, src)
}

func (m *adminMySQL) WriteMetadata(ctx context.Context, md mysqld.LocalMetadata) error {
	f, err := mysqld.DetectFlavor(ctx, m.db)
	if err != nil {
		return err
	}
	return mysqld.WriteLocalMetadata(ctx, m.db, f, md, m.dbName)
}

// openDB returns a handle on the local mysqld as role, holding at most
// maxOpen connections. It opens no connection yet.
func openDB(cfg mysqld.Config, role mysqld.Role, maxOpen int) (*sql.DB, error) {
	conn, err := mysql.NewConnector(cfg.DriverConfig(role))
	if err != nil {
		return nil, fmt.Errorf("mysqld connection for the %s role: %w", role, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	db.SetConnMaxIdleTime(time.Minute)
	return db, nil
}
