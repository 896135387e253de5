package grpcserver

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tabletd/tablet/proto/querypb"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/proto/vtrpcpb"
	"github.com/tabletd/tablet/queryserver"
)

// Texts vttablet answers with when it does not serve; vtgate's buffering
// recognizes them (with code CLUSTER_EVENT) as a failover in progress.
const (
	notServingText   = "operation not allowed in state NOT_SERVING"
	shuttingDownText = "operation not allowed in state SHUTTING_DOWN"
	// wrongTabletText starts the error of a request for another tablet
	// type; gateways match "wrong tablet type".
	wrongTabletText = "wrong tablet type"
)

// maxErrorBytes bounds an error message: gRPC clients may limit trailers to
// 8 KiB, so Vitess keeps messages under 8 KiB minus headroom.
const maxErrorBytes = 8*1024 - 512

// truncate shortens a message to maxErrorBytes, saying so.
func truncate(msg string) string {
	if len(msg) <= maxErrorBytes {
		return msg
	}
	return msg[:maxErrorBytes] + " [...] [remainder of the error is truncated because gRPC has a size limit on errors.]"
}

// grpcCode is the gRPC status code for vtrpc code c: the same number, as
// Vitess's vterrors.ToGRPC sends it (CLUSTER_EVENT travels as 17).
func grpcCode(c vtrpcpb.Code) codes.Code { return codes.Code(c) }

// rpcError is err inside a response, for the calls that return it next to
// the ids of what they opened.
func (s *Server) rpcError(err error) *vtrpcpb.RPCError {
	code, msg := s.classify(err)
	return &vtrpcpb.RPCError{Code: code, Message: msg}
}

// statusError is err as a gRPC status error; nil for nil.
func (s *Server) statusError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok && !isEngineError(err) {
		return err
	}
	code, msg := s.classify(err)
	return status.Error(grpcCode(code), msg)
}

func isEngineError(err error) bool {
	_, ok := errors.AsType[*queryserver.Error](err)
	return ok
}

// classify returns err's vtrpc code and message. The engine refusing work
// because it does not serve, or cutting a query short because it is
// shutting down, becomes CLUSTER_EVENT with vttablet's text first (as
// vttablet answers for queries it kills at shutdown), so that a gateway
// retries the statement on the next primary; the engine's own words follow.
func (s *Server) classify(err error) (vtrpcpb.Code, string) {
	if errors.Is(err, queryserver.ErrNotServing) {
		text := notServingText
		if state, _ := s.eng.ServingState(); state == queryserver.StateShuttingDown {
			text = shuttingDownText
		}
		return vtrpcpb.Code_CLUSTER_EVENT, truncate(text + ": " + err.Error())
	}
	if st, ok := status.FromError(err); ok && !isEngineError(err) {
		return vtrpcpb.Code(st.Code()), truncate(st.Message())
	}
	return vtrpcpb.Code(queryserver.CodeOf(err)), truncate(err.Error())
}

// withCaller puts the request's caller ids in ctx for the engine.
func withCaller(ctx context.Context, eff *vtrpcpb.CallerID, imm *querypb.VTGateCallerID) context.Context {
	if eff == nil && imm == nil {
		return ctx
	}
	return queryserver.WithCaller(ctx, queryserver.Caller{
		Principal:    eff.GetPrincipal(),
		Component:    eff.GetComponent(),
		Subcomponent: eff.GetSubcomponent(),
		Username:     imm.GetUsername(),
	})
}

// bindVars converts the request's bind variables: one map and one array of
// values for all of them.
func bindVars(in map[string]*querypb.BindVariable) map[string]*queryserver.BindVar {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]*queryserver.BindVar, len(in))
	vals := make([]queryserver.BindVar, len(in))
	i := 0
	for name, bv := range in {
		v := &vals[i]
		i++
		if bv == nil {
			continue // a missing variable: the engine names it
		}
		v.Type, v.Value = queryserver.Type(bv.GetType()), bv.GetValue()
		if n := len(bv.GetValues()); n > 0 {
			v.Values = make([]queryserver.BindVar, n)
			for j, e := range bv.GetValues() {
				v.Values[j] = queryserver.BindVar{Type: queryserver.Type(e.GetType()), Value: e.GetValue()}
			}
		}
		out[name] = v
	}
	return out
}

// execOptions converts the request's options the engine honours.
func execOptions(o *querypb.ExecuteOptions) *queryserver.ExecuteOptions {
	if o == nil || !o.GetSkipQueryPlanCache() {
		return nil
	}
	return &queryserver.ExecuteOptions{SkipQueryPlanCache: true}
}

// charsetBinary is MySQL's collation id of the binary character set,
// which numbers, dates and binary strings report.
const charsetBinary = 63

// encoder converts engine results into QueryResults. Its buffers are
// reused from one encode to the next, for StreamExecute, whose messages
// are serialized by Send before it returns. The zero value is ready.
type encoder struct {
	incl     querypb.ExecuteOptions_IncludedFields
	rowPtrs  []*querypb.Row
	rows     []querypb.Row
	lengths  []int64
	values   []byte
	fieldBuf []querypb.Field
}

// encode fills dst from r. dst's rows, lengths and values share the
// encoder's buffers: valid until the next encode.
func (e *encoder) encode(dst *querypb.QueryResult, r *queryserver.Result) {
	dst.Fields = nil
	if len(r.Fields) > 0 {
		dst.Fields = e.fields(r.Fields)
	}
	dst.RowsAffected, dst.InsertId = r.RowsAffected, r.InsertID
	dst.Rows = nil
	if len(r.Rows) == 0 {
		return
	}
	nvals, nbytes := 0, 0
	for _, row := range r.Rows {
		nvals += len(row)
		for _, v := range row {
			nbytes += len(v)
		}
	}
	n := len(r.Rows)
	if cap(e.rows) < n {
		e.rows = make([]querypb.Row, n)
		e.rowPtrs = make([]*querypb.Row, n)
		for i := range e.rows {
			e.rowPtrs[i] = &e.rows[i]
		}
	}
	if cap(e.lengths) < nvals {
		e.lengths = make([]int64, nvals)
	}
	if cap(e.values) < nbytes {
		e.values = make([]byte, 0, nbytes)
	}
	lengths, values := e.lengths[:nvals], e.values[:0]
	k := 0
	for i, row := range r.Rows {
		start, vstart := k, len(values)
		for _, v := range row {
			if v == nil {
				lengths[k] = -1
			} else {
				lengths[k] = int64(len(v))
				values = append(values, v...)
			}
			k++
		}
		pr := &e.rows[i]
		pr.Lengths = lengths[start:k:k]
		pr.Values = values[vstart:len(values):len(values)]
	}
	e.values = values[:0]
	dst.Rows = e.rowPtrs[:n]
}

// fields converts the result's fields as options.included_fields asks:
// type only, type and name (the default), or all the engine knows.
func (e *encoder) fields(in []queryserver.Field) []*querypb.Field {
	if cap(e.fieldBuf) < len(in) {
		e.fieldBuf = make([]querypb.Field, len(in))
	}
	buf := e.fieldBuf[:len(in)]
	out := make([]*querypb.Field, len(in))
	for i, f := range in {
		pf := &buf[i]
		pf.Type = querypb.Type(f.Type)
		if e.incl != querypb.ExecuteOptions_TYPE_ONLY {
			pf.Name = f.Name
		}
		if e.incl == querypb.ExecuteOptions_ALL {
			pf.Flags = f.Flags
			pf.ColumnType = f.ColumnType
			if f.Flags&queryserver.FlagBinary != 0 || f.Type.IsIntegral() || f.Type.IsFloat() || f.Type == queryserver.TypeDecimal {
				pf.Charset = charsetBinary
			}
		}
		out[i] = pf
	}
	// The next result must not overwrite these: fields go out once per
	// stream, in its first message, and a non-streaming result owns them.
	e.fieldBuf = nil
	return out
}

// encodeResult converts one whole result.
func encodeResult(r *queryserver.Result, o *querypb.ExecuteOptions) *querypb.QueryResult {
	if r == nil {
		return nil
	}
	e := encoder{incl: o.GetIncludedFields()}
	qr := &querypb.QueryResult{}
	e.encode(qr, r)
	return qr
}

// tabletTypeName is Vitess's name for a tablet type.
func tabletTypeName(t topodatapb.TabletType) string { return t.String() }
