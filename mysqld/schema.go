package mysqld

import (
	"fmt"
	"strings"
)

// The statements below describe the tables, views and loadable functions
// of the database a tablet serves: what a gateway's schema tracker asks
// for (GetSchema) and what the tablet polls to tell it which tables
// changed. They read information_schema and mysql.func as the dba user
// and take the database name as a parameter, so they work on a
// connection with no default database.

// Table types as information_schema.TABLES.TABLE_TYPE spells them.
const (
	TableTypeBase = "BASE TABLE"
	TableTypeView = "VIEW"
	// TableTypeSystemView is MariaDB's and MySQL's type of the tables of
	// information_schema itself; never in a tablet's database.
	TableTypeSystemView = "SYSTEM VIEW"
)

// SchemaSignaturesQuery selects one row per table and view of database
// db: TABLE_NAME, TABLE_TYPE and a signature, a string that changes when
// the object's definition does. The signature sums checksums of the
// columns (name, position, type, collation, nullability, default, extra,
// comment), of the index parts (name, position, column, uniqueness,
// prefix length), of the table options (engine, collation, options,
// comment) and of a view's definition, so that one query over
// information_schema answers "which objects changed since last time" for
// any number of tables. Foreign keys and check constraints do not count.
//
// The checksums are added up per table, so the query needs no
// GROUP_CONCAT (whose default length limit would truncate wide tables).
func SchemaSignaturesQuery(db string) string {
	q := QuoteString(db)
	return "SELECT t.TABLE_NAME, t.TABLE_TYPE, CONCAT_WS(':', " +
		"IFNULL(c.sig, 0), IFNULL(s.sig, 0), " +
		"CRC32(CONCAT_WS('|', IFNULL(t.ENGINE, ''), IFNULL(t.TABLE_COLLATION, ''), IFNULL(t.CREATE_OPTIONS, ''), IFNULL(t.TABLE_COMMENT, ''))), " +
		"IFNULL(CRC32(v.VIEW_DEFINITION), 0)) " +
		"FROM information_schema.TABLES t " +
		"LEFT JOIN (SELECT TABLE_NAME, SUM(CRC32(CONCAT_WS('|', COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, " +
		"IFNULL(COLLATION_NAME, ''), IS_NULLABLE, IFNULL(COLUMN_DEFAULT, '<null>'), EXTRA, IFNULL(COLUMN_COMMENT, '')))) AS sig " +
		"FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = " + q + " GROUP BY TABLE_NAME) c ON c.TABLE_NAME = t.TABLE_NAME " +
		"LEFT JOIN (SELECT TABLE_NAME, SUM(CRC32(CONCAT_WS('|', INDEX_NAME, SEQ_IN_INDEX, IFNULL(COLUMN_NAME, ''), NON_UNIQUE, " +
		"IFNULL(SUB_PART, '')))) AS sig " +
		"FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = " + q + " GROUP BY TABLE_NAME) s ON s.TABLE_NAME = t.TABLE_NAME " +
		"LEFT JOIN information_schema.VIEWS v ON v.TABLE_SCHEMA = t.TABLE_SCHEMA AND v.TABLE_NAME = t.TABLE_NAME " +
		"WHERE t.TABLE_SCHEMA = " + q + " ORDER BY t.TABLE_NAME"
}

// TableNamesQuery selects TABLE_NAME and TABLE_TYPE of every table and view
// of database db.
func TableNamesQuery(db string) string {
	return "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = " + QuoteString(db) +
		" ORDER BY TABLE_NAME"
}

// ShowCreateTable returns the statement whose result's second column is
// the CREATE statement of table or view name in database db: SHOW CREATE
// TABLE answers for views too (with CREATE VIEW).
func ShowCreateTable(db, name string) string {
	return "SHOW CREATE TABLE " + QuoteIdentifier(db) + "." + QuoteIdentifier(name)
}

// UDFsQuery selects the loadable functions the server has (CREATE
// FUNCTION ... SONAME): name, return type (string, real, integer or
// decimal) and kind (function or aggregate).
const UDFsQuery = "SELECT name, ret, type FROM mysql.func ORDER BY name"

// CreateDatabase returns the statement that creates database db if it is
// missing, with the server's default character set.
func CreateDatabase(db string) string {
	return "CREATE DATABASE IF NOT EXISTS " + QuoteIdentifier(db)
}

// DatabaseExistsQuery selects one row if database db exists, none if not.
func DatabaseExistsQuery(db string) string {
	return "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = " + QuoteString(db)
}

// QuoteIdentifier returns name as a backquoted SQL identifier, backquotes
// inside doubled.
func QuoteIdentifier(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// UDFReturn is the return type of a loadable function as mysql.func's ret
// column spells it.
type UDFReturn string

// The return types of loadable functions.
const (
	UDFString  UDFReturn = "string"
	UDFReal    UDFReturn = "real"
	UDFInteger UDFReturn = "integer"
	UDFDecimal UDFReturn = "decimal"
)

// ParseUDFReturn checks a value of mysql.func's ret column, which MySQL
// stores as an ENUM and MariaDB as a number in old versions.
func ParseUDFReturn(s string) (UDFReturn, error) {
	switch strings.ToLower(s) {
	case "string", "0":
		return UDFString, nil
	case "real", "1":
		return UDFReal, nil
	case "integer", "2":
		return UDFInteger, nil
	case "decimal", "4":
		return UDFDecimal, nil
	}
	return "", fmt.Errorf("mysql.func: unknown return type %q", s)
}
