package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tabletd/tablet/mysqld"
)

// systemSchemas hold the server's and the tablet's own tables, never user
// data.
var systemSchemas = []string{"mysql", "information_schema", "performance_schema", "sys", "_vt"}

// userTablesQuery counts the tables and views outside the system schemas.
var userTablesQuery = "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN ('" +
	strings.Join(systemSchemas, "', '") + "')"

// HasUserData reports whether the running server reached through q holds
// any table or view outside the system schemas (mysql,
// information_schema, performance_schema, sys, and the tablet's _vt). An
// empty schema is not data.
func HasUserData(ctx context.Context, q Querier) (bool, error) {
	var n int64
	if err := queryOne(ctx, q, userTablesQuery, &n); err != nil {
		return false, fmt.Errorf("check for user data: %w", err)
	}
	return n > 0, nil
}

// DataDirHasData reports whether the datadir dir holds user data, looking
// at its files only (mysqld may be stopped): a schema directory other than
// the system ones that holds any file besides db.opt. A missing or empty
// datadir, or one that mysql_install_db or mariadb-install-db just
// initialized, holds none. It returns the first file found as evidence.
//
// A table whose only trace is in the shared tablespace (MySQL 8.0 with
// innodb_file_per_table=OFF, which is not the default) is not seen.
func DataDirHasData(dir string) (bool, string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, "", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("inspect datadir: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || contains(systemSchemas, name) || strings.HasPrefix(name, "#") ||
			strings.HasPrefix(name, ".") || name == "lost+found" {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, name))
		if err != nil {
			return false, "", fmt.Errorf("inspect datadir: %w", err)
		}
		for _, f := range files {
			if f.Name() != "db.opt" {
				return true, filepath.Join(dir, name, f.Name()), nil
			}
		}
	}
	return false, "", nil
}

// nonInnoDBTablesQuery lists the tables of the engines that cache writes
// outside InnoDB's redo log (MariaDB's system tables are Aria; users may
// have MyISAM or Aria ones). CSV (the log tables) writes through; MEMORY
// and the like have no files to copy.
const nonInnoDBTablesQuery = "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES " +
	"WHERE TABLE_TYPE = 'BASE TABLE' AND ENGINE IN ('Aria', 'MyISAM', 'MRG_MyISAM') " +
	"AND TABLE_SCHEMA NOT IN ('information_schema', 'performance_schema')"

// flushLockWait bounds how long the flush waits for a table another
// statement holds: a backup should fail, saying so, rather than hang
// behind a long query (MariaDB's lock_wait_timeout defaults to a year).
const flushLockWait = 60

// flushBatch is how many tables one FLUSH statement names.
const flushBatch = 200

// flushNonInnoDB writes the changes that engines other than InnoDB keep
// in memory (Aria's page cache) to their files, with FLUSH NO_WRITE_TO_BINLOG
// TABLES (never binlogged: on a replica a binlogged FLUSH would be an
// errant transaction). It returns how many tables it flushed.
//
// Why: MariaDB Backup 10.11 copies an Aria table's files without its
// unflushed pages. A replica backed up right after its SQL thread wrote an
// Aria table restored it with 74 of the 500 rows the write had committed
// (and replication then stopped at the first event touching a missing
// row); a FLUSH of the table first made the copy complete.
func flushNonInnoDB(ctx context.Context, db mysqld.Execer, flavor mysqld.Flavor) (int, error) {
	rows, err := db.QueryContext(ctx, nonInnoDBTablesQuery)
	if err != nil {
		return 0, fmt.Errorf("list non-InnoDB tables: %w", err)
	}
	var names []string
	for rows.Next() {
		var schema, table string
		if err := rows.Scan(&schema, &table); err != nil {
			rows.Close()
			return 0, fmt.Errorf("list non-InnoDB tables: %w", err)
		}
		names = append(names, quoteIdent(schema)+"."+quoteIdent(table))
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("list non-InnoDB tables: %w", err)
	}
	rows.Close()
	for i := 0; i < len(names); i += flushBatch {
		batch := names[i:min(i+flushBatch, len(names))]
		stmt := "FLUSH NO_WRITE_TO_BINLOG TABLES " + strings.Join(batch, ", ")
		if flavor.IsMariaDB() {
			stmt = fmt.Sprintf("SET STATEMENT lock_wait_timeout = %d FOR %s", flushLockWait, stmt)
		}
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return i, fmt.Errorf("flush non-InnoDB tables before the backup: %w", err)
		}
	}
	return len(names), nil
}

// quoteIdent quotes a schema or table name with backquotes.
func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
