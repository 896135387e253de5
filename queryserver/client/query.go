package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"google.golang.org/grpc"

	"github.com/tabletd/tablet/proto/querypb"
	"github.com/tabletd/tablet/proto/vtrpcpb"
)

// Row is one result row: one value per field, nil for NULL, an empty
// non-nil slice for an empty value.
type Row [][]byte

// Result is a query's result, or one piece of a streamed one.
type Result struct {
	Fields       []*querypb.Field // set in a whole result, and in the first piece of a stream
	Rows         []Row
	RowsAffected uint64
	InsertID     uint64
}

// DecodeResult decodes a QueryResult. Values are slices of qr's buffers,
// not copies. A row whose lengths overrun its values is an error.
func DecodeResult(qr *querypb.QueryResult) (*Result, error) {
	if qr == nil {
		return &Result{}, nil
	}
	r := &Result{Fields: qr.GetFields(), RowsAffected: qr.GetRowsAffected(), InsertID: qr.GetInsertId()}
	if len(qr.GetRows()) == 0 {
		return r, nil
	}
	nvals := 0
	for _, pr := range qr.GetRows() {
		nvals += len(pr.GetLengths())
	}
	vals := make([][]byte, nvals)
	r.Rows = make([]Row, len(qr.GetRows()))
	k := 0
	for i, pr := range qr.GetRows() {
		n := len(pr.GetLengths())
		row := Row(vals[k : k+n : k+n])
		k += n
		data := pr.GetValues()
		off := int64(0)
		for j, l := range pr.GetLengths() {
			if l < 0 {
				continue // NULL
			}
			if off+l > int64(len(data)) {
				return nil, fmt.Errorf("row %d value %d: length %d overruns the row's %d bytes", i, j, l, len(data))
			}
			if l == 0 {
				row[j] = emptyValue
				continue
			}
			row[j] = data[off : off+l : off+l]
			off += l
		}
		r.Rows[i] = row
	}
	return r, nil
}

// emptyValue is an empty, non-NULL value: a proto field that is empty on
// the wire decodes as nil, which would read as NULL.
var emptyValue = []byte{}

// Int64 returns a bind variable holding v.
func Int64(v int64) *querypb.BindVariable {
	return &querypb.BindVariable{Type: querypb.Type_INT64, Value: strconv.AppendInt(nil, v, 10)}
}

// Uint64 returns a bind variable holding v.
func Uint64(v uint64) *querypb.BindVariable {
	return &querypb.BindVariable{Type: querypb.Type_UINT64, Value: strconv.AppendUint(nil, v, 10)}
}

// Float64 returns a bind variable holding v.
func Float64(v float64) *querypb.BindVariable {
	return &querypb.BindVariable{Type: querypb.Type_FLOAT64, Value: strconv.AppendFloat(nil, v, 'g', -1, 64)}
}

// String returns a bind variable holding s as text.
func String(s string) *querypb.BindVariable {
	return &querypb.BindVariable{Type: querypb.Type_VARCHAR, Value: []byte(s)}
}

// Bytes returns a bind variable holding b as binary, byte for byte.
func Bytes(b []byte) *querypb.BindVariable {
	return &querypb.BindVariable{Type: querypb.Type_VARBINARY, Value: b}
}

// Null returns a bind variable holding NULL.
func Null() *querypb.BindVariable { return &querypb.BindVariable{Type: querypb.Type_NULL_TYPE} }

// callerIDs are the request fields for ctx's caller.
func callerIDs(ctx context.Context) (*vtrpcpb.CallerID, *querypb.VTGateCallerID) {
	c, ok := callerOf(ctx)
	if !ok {
		return nil, nil
	}
	var eff *vtrpcpb.CallerID
	if c.Principal != "" || c.Component != "" || c.Subcomponent != "" {
		eff = &vtrpcpb.CallerID{Principal: c.Principal, Component: c.Component, Subcomponent: c.Subcomponent}
	}
	var imm *querypb.VTGateCallerID
	if c.Username != "" {
		imm = &querypb.VTGateCallerID{Username: c.Username}
	}
	return eff, imm
}

func bound(sql string, bindVars map[string]*querypb.BindVariable) *querypb.BoundQuery {
	return &querypb.BoundQuery{Sql: sql, BindVariables: bindVars}
}

// Execute runs one statement (in transaction or reserved connection
// transactionID / reservedID, when not zero) and returns its result.
func (c *Client) Execute(ctx context.Context, target *querypb.Target, sql string, bindVars map[string]*querypb.BindVariable,
	transactionID, reservedID int64, opts *querypb.ExecuteOptions) (*Result, error) {
	eff, imm := callerIDs(ctx)
	resp, err := c.query.Execute(ctx, &querypb.ExecuteRequest{
		EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target, Query: bound(sql, bindVars),
		TransactionId: transactionID, ReservedId: reservedID, Options: opts,
	})
	if err != nil {
		return nil, fromGRPC(ctx, err)
	}
	return DecodeResult(resp.GetResult())
}

// recvAll reads a stream to its end, calling each for every message. It
// cancels the stream when each fails, which makes the tablet kill the
// query.
func recvAll[M any](ctx context.Context, cancel context.CancelFunc, stream grpc.ServerStreamingClient[M], each func(*M) error) error {
	defer cancel()
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fromGRPC(ctx, err)
		}
		if err := each(m); err != nil {
			return err
		}
	}
}

// StreamExecute runs a read and calls callback with its result in pieces:
// first one holding only the fields, then pieces of rows, as the tablet
// sends them. callback's error cancels the stream (the tablet kills the
// query) and is returned as is.
func (c *Client) StreamExecute(ctx context.Context, target *querypb.Target, sql string, bindVars map[string]*querypb.BindVariable,
	transactionID, reservedID int64, opts *querypb.ExecuteOptions, callback func(*Result) error) error {
	eff, imm := callerIDs(ctx)
	sctx, cancel := context.WithCancel(ctx)
	stream, err := c.query.StreamExecute(sctx, &querypb.StreamExecuteRequest{
		EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target, Query: bound(sql, bindVars),
		TransactionId: transactionID, ReservedId: reservedID, Options: opts,
	})
	if err != nil {
		cancel()
		return fromGRPC(ctx, err)
	}
	return recvAll(ctx, cancel, stream, func(m *querypb.StreamExecuteResponse) error {
		r, err := DecodeResult(m.GetResult())
		if err != nil {
			return err
		}
		return callback(r)
	})
}

// Begin begins a transaction and returns its id.
func (c *Client) Begin(ctx context.Context, target *querypb.Target, opts *querypb.ExecuteOptions) (int64, error) {
	eff, imm := callerIDs(ctx)
	resp, err := c.query.Begin(ctx, &querypb.BeginRequest{EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target, Options: opts})
	if err != nil {
		return 0, fromGRPC(ctx, err)
	}
	return resp.GetTransactionId(), nil
}

// Commit commits a transaction; it returns the reserved id when the
// transaction was on a reserved connection, which stays reserved.
func (c *Client) Commit(ctx context.Context, target *querypb.Target, transactionID int64) (int64, error) {
	eff, imm := callerIDs(ctx)
	resp, err := c.query.Commit(ctx, &querypb.CommitRequest{EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target, TransactionId: transactionID})
	if err != nil {
		return 0, fromGRPC(ctx, err)
	}
	return resp.GetReservedId(), nil
}

// Rollback rolls a transaction back; otherwise as Commit.
func (c *Client) Rollback(ctx context.Context, target *querypb.Target, transactionID int64) (int64, error) {
	eff, imm := callerIDs(ctx)
	resp, err := c.query.Rollback(ctx, &querypb.RollbackRequest{EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target, TransactionId: transactionID})
	if err != nil {
		return 0, fromGRPC(ctx, err)
	}
	return resp.GetReservedId(), nil
}

// BeginExecute begins a transaction (on reserved connection reservedID,
// after preQueries, when not zero) and runs a statement in it. If the
// statement failed after the transaction began, the transaction id comes
// back with the error: roll it back.
func (c *Client) BeginExecute(ctx context.Context, target *querypb.Target, preQueries []string, sql string,
	bindVars map[string]*querypb.BindVariable, reservedID int64, opts *querypb.ExecuteOptions) (int64, *Result, error) {
	eff, imm := callerIDs(ctx)
	resp, err := c.query.BeginExecute(ctx, &querypb.BeginExecuteRequest{
		EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target, Query: bound(sql, bindVars),
		Options: opts, ReservedId: reservedID, PreQueries: preQueries,
	})
	if err != nil {
		return 0, nil, fromGRPC(ctx, err)
	}
	if err := fromRPCError(resp.GetError()); err != nil {
		return resp.GetTransactionId(), nil, err
	}
	r, err := DecodeResult(resp.GetResult())
	return resp.GetTransactionId(), r, err
}

// BeginStreamExecute begins a transaction (on reservedID after preQueries,
// when not zero) and streams a read in it, as StreamExecute. It returns
// the transaction id, also when the read failed after the transaction
// began: roll it back.
func (c *Client) BeginStreamExecute(ctx context.Context, target *querypb.Target, preQueries []string, sql string,
	bindVars map[string]*querypb.BindVariable, reservedID int64, opts *querypb.ExecuteOptions, callback func(*Result) error) (int64, error) {
	eff, imm := callerIDs(ctx)
	sctx, cancel := context.WithCancel(ctx)
	stream, err := c.query.BeginStreamExecute(sctx, &querypb.BeginStreamExecuteRequest{
		EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target, Query: bound(sql, bindVars),
		Options: opts, PreQueries: preQueries, ReservedId: reservedID,
	})
	if err != nil {
		cancel()
		return 0, fromGRPC(ctx, err)
	}
	var id int64
	var inBand error
	err = recvAll(ctx, cancel, stream, func(m *querypb.BeginStreamExecuteResponse) error {
		if m.GetTransactionId() != 0 {
			id = m.GetTransactionId()
		}
		if e := fromRPCError(m.GetError()); e != nil {
			inBand = e
			return nil
		}
		if m.GetResult() == nil {
			return nil
		}
		r, err := DecodeResult(m.GetResult())
		if err != nil {
			return err
		}
		return callback(r)
	})
	return id, errors.Join(err, inBand)
}

// ReserveExecute reserves a connection (or transaction transactionID's),
// runs preQueries and then the statement on it, and returns the reserved
// id, also with an error when the statement failed after the reservation:
// release it.
func (c *Client) ReserveExecute(ctx context.Context, target *querypb.Target, preQueries []string, sql string,
	bindVars map[string]*querypb.BindVariable, transactionID int64, opts *querypb.ExecuteOptions) (int64, *Result, error) {
	eff, imm := callerIDs(ctx)
	resp, err := c.query.ReserveExecute(ctx, &querypb.ReserveExecuteRequest{
		EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target, Query: bound(sql, bindVars),
		TransactionId: transactionID, Options: opts, PreQueries: preQueries,
	})
	if err != nil {
		return 0, nil, fromGRPC(ctx, err)
	}
	if err := fromRPCError(resp.GetError()); err != nil {
		return resp.GetReservedId(), nil, err
	}
	r, err := DecodeResult(resp.GetResult())
	return resp.GetReservedId(), r, err
}

// ReserveBeginExecute reserves a connection, runs preQueries, begins a
// transaction, runs postBeginQueries and then the statement. The id is
// both the transaction's and the reserved connection's; it comes back
// with an error that happened after the reservation: release it.
func (c *Client) ReserveBeginExecute(ctx context.Context, target *querypb.Target, preQueries, postBeginQueries []string, sql string,
	bindVars map[string]*querypb.BindVariable, opts *querypb.ExecuteOptions) (int64, *Result, error) {
	eff, imm := callerIDs(ctx)
	resp, err := c.query.ReserveBeginExecute(ctx, &querypb.ReserveBeginExecuteRequest{
		EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target, Query: bound(sql, bindVars),
		Options: opts, PreQueries: preQueries, PostBeginQueries: postBeginQueries,
	})
	if err != nil {
		return 0, nil, fromGRPC(ctx, err)
	}
	id := resp.GetReservedId()
	if id == 0 {
		id = resp.GetTransactionId()
	}
	if err := fromRPCError(resp.GetError()); err != nil {
		return id, nil, err
	}
	r, err := DecodeResult(resp.GetResult())
	return id, r, err
}

// ReserveStreamExecute reserves a connection (or transaction
// transactionID's), runs preQueries, and streams a read on it, as
// StreamExecute. It returns the reserved id, also when the read failed
// after the reservation: release it.
func (c *Client) ReserveStreamExecute(ctx context.Context, target *querypb.Target, preQueries []string, sql string,
	bindVars map[string]*querypb.BindVariable, transactionID int64, opts *querypb.ExecuteOptions, callback func(*Result) error) (int64, error) {
	eff, imm := callerIDs(ctx)
	sctx, cancel := context.WithCancel(ctx)
	stream, err := c.query.ReserveStreamExecute(sctx, &querypb.ReserveStreamExecuteRequest{
		EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target, Query: bound(sql, bindVars),
		Options: opts, TransactionId: transactionID, PreQueries: preQueries,
	})
	if err != nil {
		cancel()
		return 0, fromGRPC(ctx, err)
	}
	var id int64
	var inBand error
	err = recvAll(ctx, cancel, stream, func(m *querypb.ReserveStreamExecuteResponse) error {
		if m.GetReservedId() != 0 {
			id = m.GetReservedId()
		}
		if e := fromRPCError(m.GetError()); e != nil {
			inBand = e
			return nil
		}
		if m.GetResult() == nil {
			return nil
		}
		r, err := DecodeResult(m.GetResult())
		if err != nil {
			return err
		}
		return callback(r)
	})
	return id, errors.Join(err, inBand)
}

// Release ends a reserved connection and any transaction on it (rolled
// back).
func (c *Client) Release(ctx context.Context, target *querypb.Target, transactionID, reservedID int64) error {
	eff, imm := callerIDs(ctx)
	_, err := c.query.Release(ctx, &querypb.ReleaseRequest{
		EffectiveCallerId: eff, ImmediateCallerId: imm, Target: target, TransactionId: transactionID, ReservedId: reservedID,
	})
	return fromGRPC(ctx, err)
}

// StreamHealth calls callback with the tablet's health: at once, then on
// every change and at least every health check interval, until ctx ends
// (then it returns ctx's error as an *Error) or callback fails (then it
// returns callback's error).
func (c *Client) StreamHealth(ctx context.Context, callback func(*querypb.StreamHealthResponse) error) error {
	sctx, cancel := context.WithCancel(ctx)
	stream, err := c.query.StreamHealth(sctx, &querypb.StreamHealthRequest{})
	if err != nil {
		cancel()
		return fromGRPC(ctx, err)
	}
	return recvAll(ctx, cancel, stream, func(m *querypb.StreamHealthResponse) error { return callback(m) })
}

// Health returns the tablet's current health: StreamHealth's first
// message.
func (c *Client) Health(ctx context.Context) (*querypb.StreamHealthResponse, error) {
	var first *querypb.StreamHealthResponse
	errStop := errors.New("stop")
	err := c.StreamHealth(ctx, func(m *querypb.StreamHealthResponse) error {
		first = m
		return errStop
	})
	if first != nil {
		return first, nil
	}
	if err == nil {
		err = &Error{Code: vtrpcpb.Code_UNAVAILABLE, Message: "StreamHealth ended without a message"}
	}
	return nil, err
}

// GetSchema calls callback with the definitions of the tables, views or
// both (tableType), all or those named, or with the loadable functions
// (SchemaTableType_UDFS), as the tablet sends them in pieces.
func (c *Client) GetSchema(ctx context.Context, target *querypb.Target, tableType querypb.SchemaTableType, names []string,
	callback func(*querypb.GetSchemaResponse) error) error {
	sctx, cancel := context.WithCancel(ctx)
	stream, err := c.query.GetSchema(sctx, &querypb.GetSchemaRequest{Target: target, TableType: tableType, TableNames: names})
	if err != nil {
		cancel()
		return fromGRPC(ctx, err)
	}
	return recvAll(ctx, cancel, stream, func(m *querypb.GetSchemaResponse) error { return callback(m) })
}
