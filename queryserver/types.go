package queryserver

import (
	"strconv"
	"strings"
)

// Type is the type of a bind variable or of a result column. Its values are
// Vitess's query.Type enum (query.proto), so the gRPC layer converts with a
// plain cast: the low byte numbers the type, and the bits above it say
// whether it is integral, unsigned, float, quoted, text or binary.
type Type int32

// Flags within a Type, as Vitess's query.Flag.
const (
	flagIsIntegral Type = 256
	flagIsUnsigned Type = 512
	flagIsFloat    Type = 1024
	flagIsQuoted   Type = 2048
	flagIsText     Type = 4096
	flagIsBinary   Type = 8192
)

// The types, numbered as Vitess's query.Type.
const (
	TypeNull       Type = 0
	TypeInt8       Type = 257
	TypeUint8      Type = 770
	TypeInt16      Type = 259
	TypeUint16     Type = 772
	TypeInt24      Type = 261
	TypeUint24     Type = 774
	TypeInt32      Type = 263
	TypeUint32     Type = 776
	TypeInt64      Type = 265
	TypeUint64     Type = 778
	TypeFloat32    Type = 1035
	TypeFloat64    Type = 1036
	TypeTimestamp  Type = 2061
	TypeDate       Type = 2062
	TypeTime       Type = 2063
	TypeDatetime   Type = 2064
	TypeYear       Type = 785
	TypeDecimal    Type = 18
	TypeText       Type = 6163
	TypeBlob       Type = 10260
	TypeVarChar    Type = 6165
	TypeVarBinary  Type = 10262
	TypeChar       Type = 6167
	TypeBinary     Type = 10264
	TypeBit        Type = 2073
	TypeEnum       Type = 2074
	TypeSet        Type = 2075
	TypeTuple      Type = 28
	TypeGeometry   Type = 2077
	TypeJSON       Type = 2078
	TypeExpression Type = 31
	TypeHexNum     Type = 4128
	TypeHexVal     Type = 4129
	TypeBitNum     Type = 4130
)

var typeNames = map[Type]string{
	TypeNull: "NULL_TYPE", TypeInt8: "INT8", TypeUint8: "UINT8", TypeInt16: "INT16",
	TypeUint16: "UINT16", TypeInt24: "INT24", TypeUint24: "UINT24", TypeInt32: "INT32",
	TypeUint32: "UINT32", TypeInt64: "INT64", TypeUint64: "UINT64", TypeFloat32: "FLOAT32",
	TypeFloat64: "FLOAT64", TypeTimestamp: "TIMESTAMP", TypeDate: "DATE", TypeTime: "TIME",
	TypeDatetime: "DATETIME", TypeYear: "YEAR", TypeDecimal: "DECIMAL", TypeText: "TEXT",
	TypeBlob: "BLOB", TypeVarChar: "VARCHAR", TypeVarBinary: "VARBINARY", TypeChar: "CHAR",
	TypeBinary: "BINARY", TypeBit: "BIT", TypeEnum: "ENUM", TypeSet: "SET", TypeTuple: "TUPLE",
	TypeGeometry: "GEOMETRY", TypeJSON: "JSON", TypeExpression: "EXPRESSION",
	TypeHexNum: "HEXNUM", TypeHexVal: "HEXVAL", TypeBitNum: "BITNUM",
}

// String returns Vitess's name for t ("VARCHAR"), or "Type(N)" for a value
// that is not one of the constants.
func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// IsIntegral reports whether t is a signed or unsigned integer type.
func (t Type) IsIntegral() bool { return t&flagIsIntegral != 0 }

// IsUnsigned reports whether t is an unsigned integer type (or YEAR).
func (t Type) IsUnsigned() bool { return t&flagIsUnsigned != 0 }

// IsFloat reports whether t is FLOAT32 or FLOAT64.
func (t Type) IsFloat() bool { return t&flagIsFloat != 0 }

// IsQuoted reports whether values of t are written as quoted strings in SQL.
func (t Type) IsQuoted() bool { return t&flagIsQuoted != 0 }

// IsText reports whether t is a character string type.
func (t Type) IsText() bool { return t&flagIsText != 0 }

// IsBinary reports whether t is a binary string type.
func (t Type) IsBinary() bool { return t&flagIsBinary != 0 }

// MySQL column flags (the C API's *_FLAG bits, Vitess's query.MySqlFlag).
// Field.Flags carries those this package can derive; see Field.
const (
	FlagNotNull  uint32 = 1
	FlagBlob     uint32 = 16
	FlagUnsigned uint32 = 32
	FlagZerofill uint32 = 64
	FlagBinary   uint32 = 128
	FlagEnum     uint32 = 256
	FlagSet      uint32 = 2048
	FlagNum      uint32 = 32768
)

// Field describes one result column.
//
// The MySQL driver (github.com/go-sql-driver/mysql, at the driver level)
// exposes a column's name and its database type name ("UNSIGNED BIGINT",
// "VARBINARY", "TEXT"), not the raw protocol type code and flags. Type and
// Flags are derived from that name, which carries the type code, the
// unsigned flag and whether the column's character set is binary: Flags
// holds FlagUnsigned, FlagBinary, FlagBlob, FlagEnum, FlagSet and FlagNum
// where they apply, never the key, NOT NULL or auto-increment flags, which
// the name does not carry. VARCHAR and VAR_STRING both map to VARCHAR, and
// DATE/NEWDATE, DECIMAL/NEWDECIMAL likewise, as Vitess maps them.
type Field struct {
	Name       string // column name or alias, as the server sent it
	Type       Type   // Vitess type
	ColumnType string // database type name from the driver, e.g. "UNSIGNED INT"
	Flags      uint32 // derived MySQL column flags, see above
}

// Row is one result row: one value per field. A NULL is a nil slice; an
// empty value is a non-nil slice of length zero. Values are the server's
// text protocol bytes: binary columns byte for byte, numbers in decimal
// (see the package doc for FLOAT and DOUBLE).
type Row [][]byte

// Result is a query's result, shaped like Vitess's query.QueryResult so that
// the gRPC layer maps it field by field. For a statement without a result
// set, Fields and Rows are empty and RowsAffected and InsertID are set.
//
// A Result returned by Execute belongs to the caller: no other caller
// shares its memory, even when the query was consolidated. Results passed
// to a StreamExecute callback are valid only until the callback returns.
type Result struct {
	Fields       []Field // the columns; empty for a statement without a result set
	Rows         []Row   // the rows, one value per field
	RowsAffected uint64  // rows changed, as MySQL counts them
	InsertID     uint64  // the AUTO_INCREMENT value the statement generated, or 0
}

// size is the number of value bytes in r plus a small per-value overhead,
// the measure the consolidator's byte cap applies to.
func (r *Result) size() int64 {
	var n int64
	for _, row := range r.Rows {
		n += rowSize(row)
	}
	return n
}

// rowSize is the bytes of a row's values plus 8 per value (its length and
// NULL marker on the wire and in Vitess's encoding).
func rowSize(row Row) int64 {
	n := int64(8 * len(row))
	for _, v := range row {
		n += int64(len(v))
	}
	return n
}

// fieldFromTypeName maps the driver's database type name to a Vitess type
// and the MySQL flags the name implies.
func fieldFromTypeName(name, dbType string) Field {
	f := Field{Name: name, ColumnType: dbType}
	t := strings.TrimPrefix(dbType, "UNSIGNED ")
	unsigned := len(t) != len(dbType)
	integer := func(signed, uns Type) {
		f.Flags |= FlagNum
		if unsigned {
			f.Type = uns
			f.Flags |= FlagUnsigned
		} else {
			f.Type = signed
		}
	}
	switch t {
	case "TINYINT":
		integer(TypeInt8, TypeUint8)
	case "SMALLINT":
		integer(TypeInt16, TypeUint16)
	case "MEDIUMINT":
		integer(TypeInt24, TypeUint24)
	case "INT":
		integer(TypeInt32, TypeUint32)
	case "BIGINT":
		integer(TypeInt64, TypeUint64)
	case "FLOAT":
		f.Type, f.Flags = TypeFloat32, FlagNum
	case "DOUBLE":
		f.Type, f.Flags = TypeFloat64, FlagNum
	case "DECIMAL":
		f.Type, f.Flags = TypeDecimal, FlagNum
	case "YEAR":
		f.Type, f.Flags = TypeYear, FlagNum|FlagUnsigned|FlagZerofill
	case "DATE":
		f.Type, f.Flags = TypeDate, FlagBinary
	case "DATETIME":
		f.Type, f.Flags = TypeDatetime, FlagBinary
	case "TIMESTAMP":
		f.Type, f.Flags = TypeTimestamp, FlagBinary
	case "TIME":
		f.Type, f.Flags = TypeTime, FlagBinary
	case "BIT":
		f.Type, f.Flags = TypeBit, FlagUnsigned
	case "CHAR":
		f.Type = TypeChar
	case "BINARY":
		f.Type, f.Flags = TypeBinary, FlagBinary
	case "VARCHAR":
		f.Type = TypeVarChar
	case "VARBINARY":
		f.Type, f.Flags = TypeVarBinary, FlagBinary
	case "TEXT", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT":
		f.Type, f.Flags = TypeText, FlagBlob
	case "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB":
		f.Type, f.Flags = TypeBlob, FlagBlob|FlagBinary
	case "ENUM":
		f.Type, f.Flags = TypeEnum, FlagEnum
	case "SET":
		f.Type, f.Flags = TypeSet, FlagSet
	case "JSON":
		f.Type, f.Flags = TypeJSON, FlagBlob|FlagBinary
	case "GEOMETRY":
		f.Type, f.Flags = TypeGeometry, FlagBlob|FlagBinary
	case "NULL":
		f.Type, f.Flags = TypeNull, FlagBinary
	default:
		// VECTOR and anything newer: bytes as the server sent them.
		f.Type, f.Flags = TypeVarBinary, FlagBinary
	}
	return f
}
