package client

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"google.golang.org/grpc/status"

	"github.com/tabletd/tablet/proto/vtrpcpb"
)

// Error is a tablet's error: its vtrpc code and message, and MySQL's error
// number and SQLSTATE when MySQL raised it.
type Error struct {
	Code     vtrpcpb.Code // the category: what a caller can do about it
	Message  string       // the tablet's message
	Number   uint16       // MySQL error number; 0 if MySQL did not raise it
	SQLState string       // MySQL SQLSTATE; empty if MySQL did not raise it

	cause error // the context's error when the call's context ended
}

// Error returns the code and the message.
func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Unwrap returns the context's error for a call whose context ended.
func (e *Error) Unwrap() error { return e.cause }

// mysqlErrRE finds MySQL's error number and SQLSTATE in a message, written
// as the tablet (and vttablet) writes them.
var mysqlErrRE = regexp.MustCompile(`\(errno (\d+)\) \(sqlstate ([0-9A-Z]{5})\)`)

func newError(code vtrpcpb.Code, msg string) *Error {
	e := &Error{Code: code, Message: msg}
	if m := mysqlErrRE.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.ParseUint(m[1], 10, 16); err == nil {
			e.Number, e.SQLState = uint16(n), m[2]
		}
	}
	return e
}

// fromGRPC converts the error of a call made with ctx.
func fromGRPC(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	st, _ := status.FromError(err)
	e := newError(vtrpcpb.Code(st.Code()), st.Message())
	if ctx.Err() != nil {
		e.cause = context.Cause(ctx)
	}
	return e
}

// fromRPCError converts an error returned inside a response; nil for nil.
func fromRPCError(e *vtrpcpb.RPCError) error {
	if e == nil {
		return nil
	}
	return newError(e.GetCode(), e.GetMessage())
}

// CodeOf returns err's vtrpc code: OK for nil, the code of an *Error (or
// of a gRPC status), UNKNOWN otherwise.
func CodeOf(err error) vtrpcpb.Code {
	if err == nil {
		return vtrpcpb.Code_OK
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	if st, ok := status.FromError(err); ok {
		return vtrpcpb.Code(st.Code())
	}
	return vtrpcpb.Code_UNKNOWN
}
