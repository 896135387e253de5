package topo

import (
	"context"
	"errors"
	"fmt"
)

// ErrorCode is the category of a topology error, the part a caller
// branches on.
type ErrorCode int

// The error codes. Every Conn returns errors of these kinds for the
// conditions they name; other failures carry Unknown.
const (
	// Unknown is a failure with no more specific code.
	Unknown ErrorCode = iota
	// NodeExists: Create found the path already there.
	NodeExists
	// NoNode: the path, or the directory, does not exist.
	NoNode
	// BadVersion: a compare-and-swap found a different version.
	BadVersion
	// Interrupted: the caller's context was cancelled, or the operation was
	// stopped (Stop on an election, Close on the Conn).
	Interrupted
	// Timeout: the caller's deadline passed before the store answered.
	Timeout
	// Unavailable: the store could not be reached or refused the request for
	// want of a leader; retrying later may work.
	Unavailable
	// NotEmpty: a directory still has entries.
	NotEmpty
)

var codeText = map[ErrorCode]string{
	Unknown:     "error",
	NodeExists:  "node already exists",
	NoNode:      "node doesn't exist",
	BadVersion:  "bad node version",
	Interrupted: "interrupted",
	Timeout:     "deadline exceeded",
	Unavailable: "topology server unavailable",
	NotEmpty:    "node not empty",
}

// String describes the code in a few words.
func (c ErrorCode) String() string {
	if s, ok := codeText[c]; ok {
		return s
	}
	return fmt.Sprintf("topo error code %d", int(c))
}

// Error is a topology error: what was being done, to which path, its code
// and the underlying cause, if any. Compare with errors.Is against the
// sentinels below (errors.Is(err, topo.ErrNoNode)), or read Code with
// errors.As or CodeOf. Unwrap returns the cause, so errors.Is(err,
// context.DeadlineExceeded) also holds for a Timeout caused by a deadline.
type Error struct {
	// Code is the category.
	Code ErrorCode
	// Op is the operation, such as "get" or "lock"; empty in sentinels.
	Op string
	// Path is the path the operation was on, including the backend root;
	// empty in sentinels.
	Path string
	// Err is the cause; nil when the code says it all.
	Err error
}

// Error reads "<op> <path>: <code>[: <cause>]".
func (e *Error) Error() string {
	msg := e.Code.String()
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	switch {
	case e.Op != "" && e.Path != "":
		return e.Op + " " + e.Path + ": " + msg
	case e.Path != "":
		return e.Path + ": " + msg
	case e.Op != "":
		return e.Op + ": " + msg
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code and with no Op
// and Path, or with equal ones; so errors.Is(err, ErrNoNode) matches every
// NoNode error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t.Code != e.Code {
		return false
	}
	return (t.Op == "" || t.Op == e.Op) && (t.Path == "" || t.Path == e.Path)
}

// Sentinels for errors.Is, one per code.
var (
	ErrNodeExists  = &Error{Code: NodeExists}
	ErrNoNode      = &Error{Code: NoNode}
	ErrBadVersion  = &Error{Code: BadVersion}
	ErrInterrupted = &Error{Code: Interrupted}
	ErrTimeout     = &Error{Code: Timeout}
	ErrUnavailable = &Error{Code: Unavailable}
	ErrNotEmpty    = &Error{Code: NotEmpty}
)

// NewError returns an *Error for op on path with code and an optional
// cause.
func NewError(code ErrorCode, op, path string, cause error) *Error {
	return &Error{Code: code, Op: op, Path: path, Err: cause}
}

// CodeOf returns the code of the first *Error in err's chain, Unknown if
// there is none, or -1 when err is nil.
func CodeOf(err error) ErrorCode {
	if err == nil {
		return -1
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Unknown
}

// ContextError turns a finished context into a topology error for op on
// path: Timeout when its deadline passed, Interrupted when it was
// cancelled, carrying context.Cause as the cause. It returns nil while ctx
// is still live.
func ContextError(ctx context.Context, op, path string) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	code := Interrupted
	if errors.Is(err, context.DeadlineExceeded) {
		code = Timeout
	}
	return NewError(code, op, path, context.Cause(ctx))
}
