package queryserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"

	"github.com/tabletd/tablet/pools"
)

// Code is the category of an error: what a gateway can do about it. The
// values and names are Vitess's vtrpc.Code (equal to gRPC's codes for 0 to
// 16), so the gRPC layer converts with a cast.
type Code int32

// The codes, numbered as vtrpc.Code.
const (
	CodeOK                 Code = 0
	CodeCanceled           Code = 1  // the caller canceled, or an operator killed the query
	CodeUnknown            Code = 2  // a MySQL error with no better category
	CodeInvalidArgument    Code = 3  // bad SQL, bad bind variable, statement not allowed
	CodeDeadlineExceeded   Code = 4  // a time budget ran out; the query was killed
	CodeNotFound           Code = 5  // unused here; kept for the mapping
	CodeAlreadyExists      Code = 6  // duplicate key
	CodePermissionDenied   Code = 7  // MySQL refused access
	CodeResourceExhausted  Code = 8  // pool full, admission refused, result too large
	CodeFailedPrecondition Code = 9  // wrong target, connection in use, needs a reserved connection, read-only
	CodeAborted            Code = 10 // transaction killed, ended or unknown; deadlock
	CodeOutOfRange         Code = 11
	CodeUnimplemented      Code = 12
	CodeInternal           Code = 13 // a bug: a recovered panic, a hung query
	CodeUnavailable        Code = 14 // not serving, shutting down, MySQL unreachable
	CodeDataLoss           Code = 15
	CodeUnauthenticated    Code = 16
)

var codeNames = [...]string{
	"OK", "CANCELED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
}

// String returns the code's vtrpc name, such as "RESOURCE_EXHAUSTED".
func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", int32(c))
}

// Sentinel errors: every error the engine returns is an *Error that wraps
// at most one of these, so callers branch with errors.Is and categorize
// with CodeOf. Each message names the object concerned (the transaction
// id, the pool, the flag, the limit).
var (
	// ErrNotServing: the engine is not serving, or is shutting down and
	// accepts only work on existing transactions. CodeUnavailable.
	ErrNotServing = errors.New("query service not serving")

	// ErrWrongTarget: the request's target (keyspace, shard, tablet type)
	// is not this tablet's. CodeFailedPrecondition.
	ErrWrongTarget = errors.New("wrong target")

	// ErrTxPoolFull: Begin found no transaction pool connection within
	// the pool's wait timeout. CodeResourceExhausted.
	ErrTxPoolFull = errors.New("transaction pool full")

	// ErrPoolFull: a query found no connection in its pool within the
	// pool's wait timeout, or the pool's queue of waiters was full.
	// CodeResourceExhausted.
	ErrPoolFull = errors.New("connection pool full")

	// ErrOverloaded: the caller's remaining deadline cannot cover the
	// expected wait for a pool connection, so it was refused at once.
	// CodeResourceExhausted.
	ErrOverloaded = errors.New("cannot cover the expected wait for a connection")

	// ErrQueryTimeout: a time budget (query timeout, caller deadline or the
	// transaction's remaining time) ran out; the query was killed if it was
	// running. The message says which limit and after how long.
	// CodeDeadlineExceeded.
	ErrQueryTimeout = errors.New("query timed out")

	// ErrQueryKilled: the caller canceled or an operator killed the
	// query, and it was killed. CodeCanceled.
	ErrQueryKilled = errors.New("query killed")

	// ErrResultTooLarge: a non-streaming result had more rows than
	// --queryserver-config-max-result-size. CodeResourceExhausted.
	ErrResultTooLarge = errors.New("result too large")

	// ErrTxNotFound: no open transaction or reserved connection has the
	// id: it never existed here, predates this engine, or ended (commit,
	// rollback, release). The message says which. CodeAborted.
	ErrTxNotFound = errors.New("transaction not found")

	// ErrTxKilled: the transaction or reserved connection was killed (past
	// --queryserver-config-transaction-timeout, or at shutdown) and rolled
	// back. The message says when and why. CodeAborted.
	ErrTxKilled = errors.New("transaction killed")

	// ErrInUse: another request is using the transaction or reserved
	// connection. CodeFailedPrecondition.
	ErrInUse = errors.New("connection in use")

	// ErrNeedsReservedConn: the statement changes session state (SET, USE,
	// LOCK TABLES, GET_LOCK, user variables, temporary tables, PREPARE)
	// and may run only on a reserved connection. CodeFailedPrecondition.
	ErrNeedsReservedConn = errors.New("statement needs a reserved connection")

	// ErrNotAllowed: the statement may not run this way (transaction
	// control statements outside Begin/Commit/Rollback, DDL inside a
	// transaction, a non-read through StreamExecute). CodeInvalidArgument
	// or CodeFailedPrecondition.
	ErrNotAllowed = errors.New("statement not allowed")

	// ErrBindVariable: a bind variable is missing or its value is invalid
	// for its type. CodeInvalidArgument.
	ErrBindVariable = errors.New("bad bind variable")

	// ErrSyntax: the SQL is empty or holds several statements.
	// CodeInvalidArgument.
	ErrSyntax = errors.New("bad statement")
)

// Error is the error type of every failure the engine returns: a Code, a
// message that says what happened (with MySQL's error number and SQLSTATE
// when MySQL raised it), and what it wraps (a sentinel above, the MySQL
// driver's error, a context error).
type Error struct {
	Code     Code   // the category, for the gateway
	Message  string // what happened, with MySQL's error number and SQLSTATE when MySQL raised it
	Number   uint16 // MySQL error number; 0 if MySQL did not raise it
	SQLState string // MySQL SQLSTATE; empty if MySQL did not raise it

	kind  error // one of the sentinels, or nil
	cause error

	// callerSpecific marks a failure that belongs to the caller (its
	// deadline passed, it canceled) rather than to the statement: a
	// consolidated read whose leader fails so does not fail its waiters.
	callerSpecific bool
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the sentinel and the cause, for errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	out := make([]error, 0, 2)
	if e.kind != nil {
		out = append(out, e.kind)
	}
	if e.cause != nil {
		out = append(out, e.cause)
	}
	return out
}

// errorf builds an *Error of code wrapping kind, with a message from format
// and args; a %w among them is wrapped too.
func errorf(code Code, kind error, format string, args ...any) *Error {
	cause := fmt.Errorf(format, args...)
	e := &Error{Code: code, Message: cause.Error(), kind: kind}
	if errors.Unwrap(cause) != nil {
		e.cause = cause
	}
	if me, ok := errors.AsType[*mysql.MySQLError](cause); ok {
		e.Number, e.SQLState = me.Number, sqlState(me)
	}
	return e
}

// CodeOf returns the category of err: its Code if it is (or wraps) an
// *Error, else a best guess from what it wraps (context errors, pool
// errors, MySQL errors); CodeOK for nil and CodeUnknown otherwise.
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return errorCode(err)
}

// errorCode guesses the code of an error that is not an *Error.
func errorCode(err error) Code {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return CodeDeadlineExceeded
	case errors.Is(err, context.Canceled):
		return CodeCanceled
	case errors.Is(err, pools.ErrPoolExhausted):
		return CodeResourceExhausted
	case errors.Is(err, pools.ErrPoolClosed):
		return CodeUnavailable
	case errors.Is(err, pools.ErrRowLimitExceeded):
		return CodeResourceExhausted
	}
	if me, ok := errors.AsType[*mysql.MySQLError](err); ok {
		return mysqlCode(me.Number)
	}
	if pools.IsConnError(err) {
		return CodeUnavailable
	}
	return CodeUnknown
}

// mysqlCode maps a MySQL (or MariaDB) error number to a code, after
// Vitess's mapping in tabletserver.
func mysqlCode(n uint16) Code {
	switch n {
	case 1062, 1586, 1050, 1061, 1060, 1022:
		// duplicate entry / key / table / column
		return CodeAlreadyExists
	case 1213: // ER_LOCK_DEADLOCK
		return CodeAborted
	case 1205, 3024, 1969: // lock wait timeout, max_execution_time, max_statement_time
		return CodeDeadlineExceeded
	case 1317: // ER_QUERY_INTERRUPTED, not by us
		return CodeCanceled
	case 1290, 1792, 1836: // read-only server, read-only transaction
		return CodeFailedPrecondition
	case 1040, 1203, 1226, 1135, 1037, 1038, 1041, 1114: // too many connections, out of memory, table full
		return CodeResourceExhausted
	case 1044, 1045, 1142, 1143, 1227, 1095, 1370: // access denied
		return CodePermissionDenied
	case 1046, 1216, 1217, 1451, 1452, 1701: // no database, foreign keys
		return CodeFailedPrecondition
	case 1064, 1054, 1146, 1048, 1364, 1406, 1264, 1366, 1292, 1052, 1051, 1049, 1091, 1149,
		1063, 1065, 1105, 1109, 1111, 1136, 1241, 1242, 1247, 1248, 1305, 1318, 1365, 1690:
		return CodeInvalidArgument
	case 1053, 1927, 2006, 2013, 2002, 2003, 2055, 1152, 1184, 1158, 1159, 1160, 1161:
		return CodeUnavailable
	}
	return CodeUnknown
}

// mysqlError turns an error from running a statement into an *Error whose
// message carries MySQL's error number and SQLSTATE, prefixed by what was
// being done.
func mysqlError(what string, err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	if me, ok := errors.AsType[*mysql.MySQLError](err); ok {
		return &Error{
			Code:     mysqlCode(me.Number),
			Message:  fmt.Sprintf("%s: %s (errno %d) (sqlstate %s)", what, me.Message, me.Number, sqlState(me)),
			Number:   me.Number,
			SQLState: sqlState(me),
			cause:    err,
		}
	}
	return &Error{Code: errorCode(err), Message: fmt.Sprintf("%s: %v", what, err), cause: err}
}

// sqlState returns the error's SQLSTATE, or HY000 (general error) when the
// server sent none.
func sqlState(me *mysql.MySQLError) string {
	if me.SQLState == [5]byte{} {
		return "HY000"
	}
	return string(me.SQLState[:])
}
