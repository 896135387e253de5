package mysqld

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
)

// The heartbeat table, _vt.heartbeat, holds one row per server that has
// written heartbeats as a primary: its server_id and the time of its latest
// write, in nanoseconds since the Unix epoch by the primary's clock. The
// primary rewrites its row every heartbeat interval through the binary log,
// so on a replica the newest ts is the primary's clock as of the last
// transaction the replica applied, and now minus ts is the replica's lag.
//
// Rows are keyed by server_id rather than by shard so that a primary never
// overwrites a row another server wrote; after a failover the old primary's
// row simply stops moving, and readers take the newest row.
const (
	// HeartbeatTable is the table's qualified name.
	HeartbeatTable = "_vt.heartbeat"

	// HeartbeatReadQuery selects the newest heartbeat, in nanoseconds since
	// the epoch, or NULL when the table is empty.
	HeartbeatReadQuery = "SELECT MAX(ts) FROM _vt.heartbeat"
)

// HeartbeatTableDDL returns the statements that create the heartbeat
// database and table if they are missing. They are meant for the primary
// and replicate like any other statement.
func HeartbeatTableDDL() []string {
	return []string{
		"CREATE DATABASE IF NOT EXISTS _vt",
		"CREATE TABLE IF NOT EXISTS _vt.heartbeat (" +
			"server_id INT UNSIGNED NOT NULL PRIMARY KEY, " +
			"ts BIGINT UNSIGNED NOT NULL COMMENT 'nanoseconds since the Unix epoch, writer''s clock'" +
			") ENGINE=InnoDB",
	}
}

// HeartbeatWrite returns the statement that records ts as the heartbeat of
// the server with serverID. The values are written into the statement as
// literals (they are numbers), so it runs as one round trip on any
// connection and replicates the same under any binlog format.
func HeartbeatWrite(serverID uint32, ts time.Time) string {
	return fmt.Sprintf("INSERT INTO _vt.heartbeat (server_id, ts) VALUES (%d, %d) ON DUPLICATE KEY UPDATE ts = VALUES(ts)",
		serverID, ts.UnixNano())
}

// ErrNoHeartbeat means the heartbeat table is missing or empty: no primary
// has written a heartbeat that reached this server.
var ErrNoHeartbeat = errors.New("mysqld: no heartbeat in _vt.heartbeat")

// ReadHeartbeat returns the time of the newest heartbeat through q. It
// returns an error wrapping ErrNoHeartbeat when the table (or the _vt
// database) does not exist or holds no row.
func ReadHeartbeat(ctx context.Context, q Querier) (time.Time, error) {
	rows, err := q.QueryContext(ctx, HeartbeatReadQuery)
	if err != nil {
		var me *mysql.MySQLError
		// 1146 ER_NO_SUCH_TABLE, 1049 ER_BAD_DB_ERROR.
		if errors.As(err, &me) && (me.Number == 1146 || me.Number == 1049) {
			return time.Time{}, fmt.Errorf("read heartbeat: %w: %w", ErrNoHeartbeat, err)
		}
		return time.Time{}, fmt.Errorf("read heartbeat: %w", err)
	}
	defer rows.Close()
	var ts sql.NullInt64
	if rows.Next() {
		if err := rows.Scan(&ts); err != nil {
			return time.Time{}, fmt.Errorf("read heartbeat: %w", err)
		}
	} else if err := rows.Err(); err != nil {
		return time.Time{}, fmt.Errorf("read heartbeat: %w", err)
	}
	if err := rows.Close(); err != nil {
		return time.Time{}, fmt.Errorf("read heartbeat: %w", err)
	}
	if !ts.Valid || ts.Int64 <= 0 {
		return time.Time{}, fmt.Errorf("read heartbeat: %w", ErrNoHeartbeat)
	}
	return time.Unix(0, ts.Int64), nil
}

// ServerIDQuery selects the server's server_id.
const ServerIDQuery = "SELECT @@GLOBAL.server_id"
