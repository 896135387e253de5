package mysqld

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The local metadata table, _vt.local_metadata, describes the server to
// tools that only look at MySQL, Orchestrator above all: its detection
// queries select a value by name (DetectInstanceAliasQuery: "SELECT value
// FROM _vt.local_metadata WHERE name='Alias'", and likewise ClusterAlias,
// DataCenter and PromotionRule). The columns (name, value, db_name) are the
// ones Vitess uses, so the same Orchestrator configuration reads either.
//
// The rows describe this server, not the shard: they are written with the
// binary log off and never replicate. A write that did replicate would
// overwrite the replicas' own rows, and on MariaDB, where the admin user
// bypasses read_only, it would give a replica a transaction its primary
// lacks (an errant GTID) that breaks replication under gtid_strict_mode.
const LocalMetadataTable = "_vt.local_metadata"

// The values of LocalMetadata.PromotionRule that Orchestrator reads.
const (
	// PromotionNeutral: the server may be promoted.
	PromotionNeutral = "neutral"
	// PromotionMustNot: the server must never be promoted.
	PromotionMustNot = "must_not"
)

// LocalMetadata is what _vt.local_metadata holds about the server.
type LocalMetadata struct {
	// Alias is the tablet alias, "<cell>-<uid>" with the uid zero-padded
	// (row "Alias").
	Alias string
	// ClusterAlias is "<keyspace>.<shard>" (row "ClusterAlias").
	ClusterAlias string
	// DataCenter is the tablet's cell (row "DataCenter").
	DataCenter string
	// PromotionRule is PromotionNeutral or PromotionMustNot (row
	// "PromotionRule").
	PromotionRule string
}

// rows returns the name/value pairs of m, in a fixed order.
func (m LocalMetadata) rows() [][2]string {
	return [][2]string{
		{"Alias", m.Alias},
		{"ClusterAlias", m.ClusterAlias},
		{"DataCenter", m.DataCenter},
		{"PromotionRule", m.PromotionRule},
	}
}

// LocalMetadataDDL returns the statements that create the _vt database and
// the local metadata table if missing. Run them with the binary log off.
func LocalMetadataDDL() []string {
	return []string{
		"CREATE DATABASE IF NOT EXISTS _vt",
		"CREATE TABLE IF NOT EXISTS _vt.local_metadata (" +
			"name VARCHAR(255) NOT NULL, " +
			"value MEDIUMBLOB NOT NULL, " +
			"db_name VARBINARY(255) NOT NULL DEFAULT '', " +
			"PRIMARY KEY (name, db_name)" +
			") ENGINE=InnoDB",
	}
}

// LocalMetadataWrite returns the statements that make m the server's
// metadata for database dbName: rows of the same names left by another
// database name are deleted (one tablet per server; Orchestrator's queries
// do not filter on db_name), then each row is inserted or updated. Run
// them in one transaction with the binary log off.
func LocalMetadataWrite(m LocalMetadata, dbName string) []string {
	rows := m.rows()
	names := make([]string, len(rows))
	values := make([]string, len(rows))
	for i, r := range rows {
		names[i] = QuoteString(r[0])
		values[i] = fmt.Sprintf("(%s, %s, %s)", QuoteString(r[0]), QuoteString(r[1]), QuoteString(dbName))
	}
	return []string{
		fmt.Sprintf("DELETE FROM _vt.local_metadata WHERE name IN (%s) AND db_name <> %s", strings.Join(names, ", "), QuoteString(dbName)),
		"INSERT INTO _vt.local_metadata (name, value, db_name) VALUES " + strings.Join(values, ", ") +
			" ON DUPLICATE KEY UPDATE value = VALUES(value)",
	}
}

// LocalMetadataReadQuery selects every (name, value, db_name) row.
const LocalMetadataReadQuery = "SELECT name, value, db_name FROM _vt.local_metadata ORDER BY name, db_name"

// Conner hands out a dedicated connection. *sql.DB satisfies it.
type Conner interface {
	Conn(ctx context.Context) (*sql.Conn, error)
}

// superReadOnlyRestoreTimeout bounds putting super_read_only back after a
// metadata write, even when the caller's context has ended: leaving it off
// would let users with SUPER write on a replica.
const superReadOnlyRestoreTimeout = 5 * time.Second

// WriteLocalMetadata creates the metadata table if missing and writes m
// for dbName, on a connection of its own with the binary log off; the
// connection is closed afterwards rather than returned to db's pool with
// that session setting. db must be a user that may turn the binary log off
// for its session and write on a read-only server (the admin role). Where
// the flavor has super_read_only and it is on, it is lifted for the write
// (read_only stays on, so serving users still cannot write) and put back.
func WriteLocalMetadata(ctx context.Context, db Conner, f Flavor, m LocalMetadata, dbName string) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("write %s: %w", LocalMetadataTable, err)
	}
	defer func() {
		// Discard the session: it has the binary log off.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		_ = conn.Close()
	}()
	if err := execAll(ctx, conn, "SET SESSION sql_log_bin = 0"); err != nil {
		return fmt.Errorf("write %s: %w", LocalMetadataTable, err)
	}
	if hasSuperReadOnly(f) {
		ro, err := readReadOnly(ctx, conn, f)
		if err != nil {
			return fmt.Errorf("write %s: %w", LocalMetadataTable, err)
		}
		if ro.superReadOnly {
			if err := execAll(ctx, conn, "SET GLOBAL super_read_only = 0"); err != nil {
				return fmt.Errorf("write %s: %w", LocalMetadataTable, err)
			}
			defer func() {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), superReadOnlyRestoreTimeout)
				defer cancel()
				if rerr := execAll(rctx, conn, "SET GLOBAL super_read_only = 1"); rerr != nil {
					err = errors.Join(err, fmt.Errorf("restore super_read_only after writing %s: %w", LocalMetadataTable, rerr))
				}
			}()
		}
	}
	if err := execAll(ctx, conn, LocalMetadataDDL()...); err != nil {
		return fmt.Errorf("write %s: %w", LocalMetadataTable, err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write %s: begin: %w", LocalMetadataTable, err)
	}
	for _, s := range LocalMetadataWrite(m, dbName) {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("write %s: %s: %w", LocalMetadataTable, s, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write %s: commit: %w", LocalMetadataTable, err)
	}
	return nil
}
