package mysqld

import (
	"context"
	"database/sql"
	"fmt"
)

// TablesQuery selects the tables of one database (the only argument) with
// the size figures information_schema keeps for each: the source of the
// DataFree, DataLength, IndexLength and TableRows variables and of
// /schemaz. The figures are the storage engine's estimates: InnoDB's row
// count is sampled, and on MySQL 8.0 the whole row is cached for
// information_schema_stats_expiry (a day by default) unless the server is
// told otherwise.
const TablesQuery = "SELECT table_name, table_type, engine, table_rows, data_length, index_length, data_free " +
	"FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name"

// ColumnsQuery selects the columns of every table of one database (the
// only argument), in table order and then in their order in the table.
const ColumnsQuery = "SELECT table_name, column_name, column_type, column_key, is_nullable " +
	"FROM information_schema.columns WHERE table_schema = ? ORDER BY table_name, ordinal_position"

// TableInfo is one table (or view) of a database as information_schema
// describes it. Sizes are in bytes; a view has no engine and no sizes.
type TableInfo struct {
	Name        string       // table_name
	Type        string       // table_type: BASE TABLE, VIEW, SYSTEM VERSIONED, SEQUENCE
	Engine      string       // engine, such as InnoDB; empty for a view
	Rows        int64        // table_rows: an estimate for InnoDB
	DataLength  int64        // data_length: bytes of data (InnoDB: the clustered index)
	IndexLength int64        // index_length: bytes of secondary indexes
	DataFree    int64        // data_free: bytes allocated but unused
	Columns     []ColumnInfo // in their order in the table
}

// ColumnInfo is one column of a table.
type ColumnInfo struct {
	Name       string // column_name
	Type       string // column_type, such as "bigint(20) unsigned" or "varchar(64)"
	PrimaryKey bool   // part of the primary key (column_key is PRI)
	Nullable   bool   // is_nullable is YES
}

// ReadTables returns the tables of database dbName with their sizes and
// columns, sorted by name, read from information_schema with TablesQuery
// and ColumnsQuery through q. A database that does not exist, or whose
// tables the user may not see, has no tables: that is not an error.
func ReadTables(ctx context.Context, q Querier, dbName string) ([]TableInfo, error) {
	rows, err := q.QueryContext(ctx, TablesQuery, dbName)
	if err != nil {
		return nil, fmt.Errorf("read tables of %s: %w", dbName, err)
	}
	defer rows.Close()
	var tables []TableInfo
	byName := map[string]int{}
	for rows.Next() {
		var (
			t                                        TableInfo
			engine                                   sql.NullString
			nrows, dataLength, indexLength, dataFree sql.NullInt64
		)
		if err := rows.Scan(&t.Name, &t.Type, &engine, &nrows, &dataLength, &indexLength, &dataFree); err != nil {
			return nil, fmt.Errorf("read tables of %s: %w", dbName, err)
		}
		t.Engine, t.Rows = engine.String, nrows.Int64
		t.DataLength, t.IndexLength, t.DataFree = dataLength.Int64, indexLength.Int64, dataFree.Int64
		byName[t.Name] = len(tables)
		tables = append(tables, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tables of %s: %w", dbName, err)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("read tables of %s: %w", dbName, err)
	}
	if len(tables) == 0 {
		return nil, nil
	}

	cols, err := q.QueryContext(ctx, ColumnsQuery, dbName)
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", dbName, err)
	}
	defer cols.Close()
	for cols.Next() {
		var table, key, nullable string
		var c ColumnInfo
		if err := cols.Scan(&table, &c.Name, &c.Type, &key, &nullable); err != nil {
			return nil, fmt.Errorf("read columns of %s: %w", dbName, err)
		}
		c.PrimaryKey, c.Nullable = key == "PRI", nullable == "YES"
		// A table created between the two queries has columns but no
		// row; it shows at the next read.
		if i, ok := byName[table]; ok {
			tables[i].Columns = append(tables[i].Columns, c)
		}
	}
	if err := cols.Err(); err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", dbName, err)
	}
	return tables, nil
}
