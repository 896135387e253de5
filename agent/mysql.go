package agent

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
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
	// nowhere and returns the changes made, for the log. newTerm says the
	// shard record started a new primary term for this tablet; within a
	// term, mysqld stays read-only if SetReadOnly made it so.
	MakePrimary(ctx context.Context, newTerm bool) ([]string, error)
	// MakeReplica makes mysqld read-only and, when src is not nil,
	// replicate from src, and returns the changes made.
	MakeReplica(ctx context.Context, src *mysqld.ReplicationSource) ([]string, error)
	// WriteMetadata rewrites _vt.local_metadata without replicating it.
	WriteMetadata(ctx context.Context, md mysqld.LocalMetadata) error
}

// adminMySQL is mysqlRole over the admin role's connections: the role that
// may change read_only and replication. It asks the server's flavor on
// every call, one cheap query, so that it follows a server upgraded under
// a running tablet. It also serves SetReadOnly and SetReadWrite, under the
// same lock as the role's changes, so that an operator's read-only is not
// undone by a role check running at the same moment.
type adminMySQL struct {
	db     *sql.DB
	dbName string
	// drain bounds how long a promoted replica may take to apply what it
	// had fetched before it turns writable.
	drain time.Duration

	mu sync.Mutex // serializes changes of read_only and replication; guards held
	// held is set by SetReadOnly on the primary: the role manager leaves
	// mysqld read-only until SetReadWrite or a new primary term.
	held bool
}

func (m *adminMySQL) MakePrimary(ctx context.Context, newTerm bool) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if newTerm {
		m.held = false
	}
	if m.held {
		return nil, nil
	}
	f, err := mysqld.DetectFlavor(ctx, m.db)
	if err != nil {
		return nil, err
	}
	done, err := mysqld.MakePrimary(ctx, m.db, f, m.drain)
	if err != nil {
		return done, err
	}
	// The primary creates the served database, as vttablet does; it
	// replicates to the replicas.
	rows, err := m.db.QueryContext(ctx, mysqld.DatabaseExistsQuery(m.dbName))
	if err != nil {
		return done, fmt.Errorf("look for database %s: %w", m.dbName, err)
	}
	exists := rows.Next()
	rows.Close()
	if !exists {
		if _, err := m.db.ExecContext(ctx, mysqld.CreateDatabase(m.dbName)); err != nil {
			return done, fmt.Errorf("create database %s: %w", m.dbName, err)
		}
		done = append(done, "created database "+m.dbName)
	}
	return done, nil
}

func (m *adminMySQL) MakeReplica(ctx context.Context, src *mysqld.ReplicationSource) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, err := mysqld.DetectFlavor(ctx, m.db)
	if err != nil {
		return nil, err
	}
	return mysqld.MakeReplica(ctx, m.db, f, src)
}

// SetReadOnly turns mysqld read-only (with super_read_only where the
// flavor has it) or writable, with the flavor's statements, and holds
// read-only against the role manager until it is turned off again or a
// new primary term starts.
func (m *adminMySQL) SetReadOnly(ctx context.Context, readOnly bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, err := mysqld.DetectFlavor(ctx, m.db)
	if err != nil {
		return err
	}
	for _, stmt := range f.SetReadOnly(readOnly) {
		if _, err := m.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	m.held = readOnly
	return nil
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
