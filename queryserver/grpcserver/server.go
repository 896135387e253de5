package grpcserver

import (
	"context"
	"fmt"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tabletd/tablet/proto/querypb"
	"github.com/tabletd/tablet/proto/queryservicepb"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/queryserver"
)

// Engine is the query engine as the Query service uses it;
// *queryserver.Engine implements it. Its methods are safe for concurrent
// use.
type Engine interface {
	ServingState() (queryserver.ServingState, queryserver.Target)
	Execute(ctx context.Context, target *queryserver.Target, sql string, bindVars map[string]*queryserver.BindVar,
		transactionID, reservedID int64, opts *queryserver.ExecuteOptions) (*queryserver.Result, error)
	StreamExecute(ctx context.Context, target *queryserver.Target, sql string, bindVars map[string]*queryserver.BindVar,
		transactionID, reservedID int64, opts *queryserver.ExecuteOptions, callback func(*queryserver.Result) error) error
	Begin(ctx context.Context, target *queryserver.Target, opts *queryserver.ExecuteOptions) (int64, error)
	BeginSession(ctx context.Context, target *queryserver.Target, preQueries []string, reservedID int64) (int64, error)
	Commit(ctx context.Context, target *queryserver.Target, transactionID int64) (int64, error)
	Rollback(ctx context.Context, target *queryserver.Target, transactionID int64) (int64, error)
	BeginExecute(ctx context.Context, target *queryserver.Target, preQueries []string, sql string,
		bindVars map[string]*queryserver.BindVar, reservedID int64, opts *queryserver.ExecuteOptions) (int64, *queryserver.Result, error)
	Reserve(ctx context.Context, target *queryserver.Target, preQueries []string, transactionID int64) (int64, error)
	ReserveExecute(ctx context.Context, target *queryserver.Target, preQueries []string, sql string,
		bindVars map[string]*queryserver.BindVar, transactionID int64, opts *queryserver.ExecuteOptions) (int64, *queryserver.Result, error)
	ReserveBeginExecute(ctx context.Context, target *queryserver.Target, preQueries, postBeginQueries []string, sql string,
		bindVars map[string]*queryserver.BindVar, opts *queryserver.ExecuteOptions) (int64, *queryserver.Result, error)
	Release(ctx context.Context, target *queryserver.Target, transactionID, reservedID int64) error
}

// Deps are what the Query service serves from.
type Deps struct {
	// Engine runs the queries. Required.
	Engine Engine
	// Health feeds StreamHealth; nil makes StreamHealth UNAVAILABLE.
	Health HealthSource
	// Schema answers GetSchema; nil makes it UNIMPLEMENTED.
	Schema Schema
	// Alias is the tablet's alias as its topology record has it, returned
	// by Begin and the calls that open sessions, and by StreamHealth.
	Alias *topodatapb.TabletAlias
	// Logger logs what the operator must know (a dropped health
	// subscriber). Nil discards.
	Logger *slog.Logger
}

// Server implements queryservice.Query. Build it with New and Register it
// on a grpc.Server.
type Server struct {
	queryservicepb.UnimplementedQueryServer

	eng    Engine
	health HealthSource
	schema Schema
	alias  *topodatapb.TabletAlias
	logger *slog.Logger
}

// New builds the Query service. It panics without an Engine.
func New(d Deps) *Server {
	if d.Engine == nil {
		panic("grpcserver.New: nil Engine")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{eng: d.Engine, health: d.Health, schema: d.Schema, alias: d.Alias, logger: d.Logger}
}

// Register registers the Query service on gs.
func (s *Server) Register(gs grpc.ServiceRegistrar) { queryservicepb.RegisterQueryServer(gs, s) }

// access is what a request needs from the serving state, as the engine
// distinguishes it.
type access int

const (
	accessNew     access = iota // new work: the tablet must serve
	accessSession               // work on an open session: also while shutting down
	accessEnd                   // Commit, Rollback, Release: in every state
)

// check validates the serving state and the request's target as
// vttablet's StartRequest does (state first, then keyspace, shard and
// tablet type), and returns the target for the engine.
func (s *Server) check(target *querypb.Target, acc access) (*queryserver.Target, error) {
	state, mine := s.eng.ServingState()
	if acc != accessEnd {
		switch {
		case state == queryserver.StateShuttingDown && acc == accessNew:
			return nil, status.Error(grpcCode(clusterEvent), shuttingDownText)
		case state != queryserver.StateServing && state != queryserver.StateShuttingDown:
			return nil, status.Error(grpcCode(clusterEvent), notServingText)
		}
	}
	if target == nil {
		return nil, status.Error(codes.InvalidArgument, "No target: the request must name the keyspace, shard and tablet type it is for")
	}
	switch {
	case target.GetKeyspace() != mine.Keyspace:
		return nil, status.Errorf(codes.InvalidArgument, "invalid keyspace %v does not match expected %v", target.GetKeyspace(), mine.Keyspace)
	case target.GetShard() != mine.Shard:
		return nil, status.Errorf(codes.InvalidArgument, "invalid shard %v does not match expected %v", target.GetShard(), mine.Shard)
	case queryserver.TabletType(target.GetTabletType()) != mine.TabletType:
		return nil, status.Errorf(codes.FailedPrecondition, "%s: %v, want: %v", wrongTabletText,
			tabletTypeName(target.GetTabletType()), tabletTypeName(topodatapb.TabletType(mine.TabletType)))
	}
	return &mine, nil
}

// sessionAccess is the access of a request on ids, new work when both are
// zero.
func sessionAccess(ids ...int64) access {
	for _, id := range ids {
		if id != 0 {
			return accessSession
		}
	}
	return accessNew
}

// Execute implements queryservice.Query.
func (s *Server) Execute(ctx context.Context, req *querypb.ExecuteRequest) (*querypb.ExecuteResponse, error) {
	t, err := s.check(req.GetTarget(), sessionAccess(req.GetTransactionId(), req.GetReservedId()))
	if err != nil {
		return nil, err
	}
	ctx = withCaller(ctx, req.GetEffectiveCallerId(), req.GetImmediateCallerId())
	res, err := s.eng.Execute(ctx, t, req.GetQuery().GetSql(), bindVars(req.GetQuery().GetBindVariables()),
		req.GetTransactionId(), req.GetReservedId(), execOptions(req.GetOptions()))
	if err != nil {
		return nil, s.statusError(err)
	}
	return &querypb.ExecuteResponse{Result: encodeResult(res, req.GetOptions())}, nil
}

// streamer converts a stream's results into one reused QueryResult, which
// each send puts in its message type.
type streamer struct {
	enc encoder
	qr  querypb.QueryResult
}

func (st *streamer) callback(send func(*querypb.QueryResult) error) func(*queryserver.Result) error {
	return func(r *queryserver.Result) error {
		st.enc.encode(&st.qr, r)
		return send(&st.qr)
	}
}

// StreamExecute implements queryservice.Query. The engine hands over rows
// in pieces of at most --queryserver-config-stream-buffer-size bytes; each
// is one message, and Send blocks while the client is behind (gRPC flow
// control), which holds the query on MySQL back: memory stays bounded
// whatever the result's size. A client that cancels gets its query killed
// on MySQL.
func (s *Server) StreamExecute(req *querypb.StreamExecuteRequest, stream grpc.ServerStreamingServer[querypb.StreamExecuteResponse]) error {
	t, err := s.check(req.GetTarget(), sessionAccess(req.GetTransactionId(), req.GetReservedId()))
	if err != nil {
		return err
	}
	ctx := withCaller(stream.Context(), req.GetEffectiveCallerId(), req.GetImmediateCallerId())
	st := &streamer{enc: encoder{incl: req.GetOptions().GetIncludedFields()}}
	resp := &querypb.StreamExecuteResponse{}
	err = s.eng.StreamExecute(ctx, t, req.GetQuery().GetSql(), bindVars(req.GetQuery().GetBindVariables()),
		req.GetTransactionId(), req.GetReservedId(), execOptions(req.GetOptions()),
		st.callback(func(qr *querypb.QueryResult) error {
			resp.Result = qr
			return stream.Send(resp)
		}))
	return s.statusError(err)
}

// Begin implements queryservice.Query.
func (s *Server) Begin(ctx context.Context, req *querypb.BeginRequest) (*querypb.BeginResponse, error) {
	t, err := s.check(req.GetTarget(), accessNew)
	if err != nil {
		return nil, err
	}
	ctx = withCaller(ctx, req.GetEffectiveCallerId(), req.GetImmediateCallerId())
	id, err := s.eng.Begin(ctx, t, execOptions(req.GetOptions()))
	if err != nil {
		return nil, s.statusError(err)
	}
	return &querypb.BeginResponse{TransactionId: id, TabletAlias: s.alias}, nil
}

// Commit implements queryservice.Query.
func (s *Server) Commit(ctx context.Context, req *querypb.CommitRequest) (*querypb.CommitResponse, error) {
	t, err := s.check(req.GetTarget(), accessEnd)
	if err != nil {
		return nil, err
	}
	ctx = withCaller(ctx, req.GetEffectiveCallerId(), req.GetImmediateCallerId())
	rid, err := s.eng.Commit(ctx, t, req.GetTransactionId())
	if err != nil {
		return nil, s.statusError(err)
	}
	return &querypb.CommitResponse{ReservedId: rid}, nil
}

// Rollback implements queryservice.Query.
func (s *Server) Rollback(ctx context.Context, req *querypb.RollbackRequest) (*querypb.RollbackResponse, error) {
	t, err := s.check(req.GetTarget(), accessEnd)
	if err != nil {
		return nil, err
	}
	ctx = withCaller(ctx, req.GetEffectiveCallerId(), req.GetImmediateCallerId())
	rid, err := s.eng.Rollback(ctx, t, req.GetTransactionId())
	if err != nil {
		return nil, s.statusError(err)
	}
	return &querypb.RollbackResponse{ReservedId: rid}, nil
}

// BeginExecute implements queryservice.Query. When the transaction began
// but the statement failed, the error comes inside the response with the
// transaction id, for the gateway to roll it back.
func (s *Server) BeginExecute(ctx context.Context, req *querypb.BeginExecuteRequest) (*querypb.BeginExecuteResponse, error) {
	t, err := s.check(req.GetTarget(), sessionAccess(req.GetReservedId()))
	if err != nil {
		return nil, err
	}
	ctx = withCaller(ctx, req.GetEffectiveCallerId(), req.GetImmediateCallerId())
	id, res, err := s.eng.BeginExecute(ctx, t, req.GetPreQueries(), req.GetQuery().GetSql(),
		bindVars(req.GetQuery().GetBindVariables()), req.GetReservedId(), execOptions(req.GetOptions()))
	if err != nil {
		if id != 0 {
			return &querypb.BeginExecuteResponse{Error: s.rpcError(err), TransactionId: id, TabletAlias: s.alias}, nil
		}
		return nil, s.statusError(err)
	}
	return &querypb.BeginExecuteResponse{Result: encodeResult(res, req.GetOptions()), TransactionId: id, TabletAlias: s.alias}, nil
}

// BeginStreamExecute implements queryservice.Query: Begin (on the
// reserved connection, if any) and then StreamExecute in the transaction.
// The last message carries the transaction id, and the error if the
// statement failed after the transaction began.
func (s *Server) BeginStreamExecute(req *querypb.BeginStreamExecuteRequest, stream grpc.ServerStreamingServer[querypb.BeginStreamExecuteResponse]) error {
	t, err := s.check(req.GetTarget(), sessionAccess(req.GetReservedId()))
	if err != nil {
		return err
	}
	ctx := withCaller(stream.Context(), req.GetEffectiveCallerId(), req.GetImmediateCallerId())
	id, err := s.eng.BeginSession(ctx, t, req.GetPreQueries(), req.GetReservedId())
	if err != nil {
		return s.statusError(err)
	}
	st := &streamer{enc: encoder{incl: req.GetOptions().GetIncludedFields()}}
	resp := &querypb.BeginStreamExecuteResponse{}
	err = s.eng.StreamExecute(ctx, t, req.GetQuery().GetSql(), bindVars(req.GetQuery().GetBindVariables()),
		id, req.GetReservedId(), execOptions(req.GetOptions()),
		st.callback(func(qr *querypb.QueryResult) error {
			resp.Result = qr
			return stream.Send(resp)
		}))
	last := &querypb.BeginStreamExecuteResponse{TransactionId: id, TabletAlias: s.alias}
	if err != nil {
		last.Error = s.rpcError(err)
	}
	return stream.Send(last)
}

// ReserveExecute implements queryservice.Query. When the connection was
// reserved but the statement failed, the error comes inside the response
// with the reserved id, for the gateway to release it.
func (s *Server) ReserveExecute(ctx context.Context, req *querypb.ReserveExecuteRequest) (*querypb.ReserveExecuteResponse, error) {
	t, err := s.check(req.GetTarget(), sessionAccess(req.GetTransactionId()))
	if err != nil {
		return nil, err
	}
	ctx = withCaller(ctx, req.GetEffectiveCallerId(), req.GetImmediateCallerId())
	id, res, err := s.eng.ReserveExecute(ctx, t, req.GetPreQueries(), req.GetQuery().GetSql(),
		bindVars(req.GetQuery().GetBindVariables()), req.GetTransactionId(), execOptions(req.GetOptions()))
	if err != nil {
		if id != 0 {
			return &querypb.ReserveExecuteResponse{Error: s.rpcError(err), ReservedId: id, TabletAlias: s.alias}, nil
		}
		return nil, s.statusError(err)
	}
	return &querypb.ReserveExecuteResponse{Result: encodeResult(res, req.GetOptions()), ReservedId: id, TabletAlias: s.alias}, nil
}

// ReserveBeginExecute implements queryservice.Query; errors after the
// connection was reserved come inside the response with its ids.
func (s *Server) ReserveBeginExecute(ctx context.Context, req *querypb.ReserveBeginExecuteRequest) (*querypb.ReserveBeginExecuteResponse, error) {
	t, err := s.check(req.GetTarget(), accessNew)
	if err != nil {
		return nil, err
	}
	ctx = withCaller(ctx, req.GetEffectiveCallerId(), req.GetImmediateCallerId())
	id, res, err := s.eng.ReserveBeginExecute(ctx, t, req.GetPreQueries(), req.GetPostBeginQueries(), req.GetQuery().GetSql(),
		bindVars(req.GetQuery().GetBindVariables()), execOptions(req.GetOptions()))
	if err != nil {
		if id != 0 {
			return &querypb.ReserveBeginExecuteResponse{Error: s.rpcError(err), TransactionId: id, ReservedId: id, TabletAlias: s.alias}, nil
		}
		return nil, s.statusError(err)
	}
	return &querypb.ReserveBeginExecuteResponse{Result: encodeResult(res, req.GetOptions()), TransactionId: id, ReservedId: id, TabletAlias: s.alias}, nil
}

// ReserveStreamExecute implements queryservice.Query: reserve a
// connection (or the transaction's), run the pre-queries, then stream the
// statement on it. The last message carries the reserved id, and the
// error if the statement failed after the connection was reserved.
func (s *Server) ReserveStreamExecute(req *querypb.ReserveStreamExecuteRequest, stream grpc.ServerStreamingServer[querypb.ReserveStreamExecuteResponse]) error {
	t, err := s.check(req.GetTarget(), sessionAccess(req.GetTransactionId()))
	if err != nil {
		return err
	}
	ctx := withCaller(stream.Context(), req.GetEffectiveCallerId(), req.GetImmediateCallerId())
	id, err := s.eng.Reserve(ctx, t, req.GetPreQueries(), req.GetTransactionId())
	if err != nil {
		return s.statusError(err)
	}
	st := &streamer{enc: encoder{incl: req.GetOptions().GetIncludedFields()}}
	resp := &querypb.ReserveStreamExecuteResponse{}
	err = s.eng.StreamExecute(ctx, t, req.GetQuery().GetSql(), bindVars(req.GetQuery().GetBindVariables()),
		req.GetTransactionId(), id, execOptions(req.GetOptions()),
		st.callback(func(qr *querypb.QueryResult) error {
			resp.Result = qr
			return stream.Send(resp)
		}))
	last := &querypb.ReserveStreamExecuteResponse{ReservedId: id, TabletAlias: s.alias}
	if err != nil {
		last.Error = s.rpcError(err)
	}
	return stream.Send(last)
}

// Release implements queryservice.Query.
func (s *Server) Release(ctx context.Context, req *querypb.ReleaseRequest) (*querypb.ReleaseResponse, error) {
	t, err := s.check(req.GetTarget(), accessEnd)
	if err != nil {
		return nil, err
	}
	ctx = withCaller(ctx, req.GetEffectiveCallerId(), req.GetImmediateCallerId())
	if err := s.eng.Release(ctx, t, req.GetTransactionId(), req.GetReservedId()); err != nil {
		return nil, s.statusError(err)
	}
	return &querypb.ReleaseResponse{}, nil
}

// unimplemented is the error of an RPC this tablet does not offer.
func unimplemented(method, why string) error {
	return status.Errorf(codes.Unimplemented, "%s is not implemented by this tablet: %s", method, why)
}

const noTwoPC = "distributed transactions (two-phase commit) are not supported; use single-shard transactions"

// Prepare implements queryservice.Query: Unimplemented.
func (s *Server) Prepare(context.Context, *querypb.PrepareRequest) (*querypb.PrepareResponse, error) {
	return nil, unimplemented("Prepare", noTwoPC)
}

// CommitPrepared implements queryservice.Query: Unimplemented.
func (s *Server) CommitPrepared(context.Context, *querypb.CommitPreparedRequest) (*querypb.CommitPreparedResponse, error) {
	return nil, unimplemented("CommitPrepared", noTwoPC)
}

// RollbackPrepared implements queryservice.Query: Unimplemented.
func (s *Server) RollbackPrepared(context.Context, *querypb.RollbackPreparedRequest) (*querypb.RollbackPreparedResponse, error) {
	return nil, unimplemented("RollbackPrepared", noTwoPC)
}

// CreateTransaction implements queryservice.Query: Unimplemented.
func (s *Server) CreateTransaction(context.Context, *querypb.CreateTransactionRequest) (*querypb.CreateTransactionResponse, error) {
	return nil, unimplemented("CreateTransaction", noTwoPC)
}

// StartCommit implements queryservice.Query: Unimplemented.
func (s *Server) StartCommit(context.Context, *querypb.StartCommitRequest) (*querypb.StartCommitResponse, error) {
	return nil, unimplemented("StartCommit", noTwoPC)
}

// SetRollback implements queryservice.Query: Unimplemented.
func (s *Server) SetRollback(context.Context, *querypb.SetRollbackRequest) (*querypb.SetRollbackResponse, error) {
	return nil, unimplemented("SetRollback", noTwoPC)
}

// ConcludeTransaction implements queryservice.Query: Unimplemented.
func (s *Server) ConcludeTransaction(context.Context, *querypb.ConcludeTransactionRequest) (*querypb.ConcludeTransactionResponse, error) {
	return nil, unimplemented("ConcludeTransaction", noTwoPC)
}

// ReadTransaction implements queryservice.Query: Unimplemented.
func (s *Server) ReadTransaction(context.Context, *querypb.ReadTransactionRequest) (*querypb.ReadTransactionResponse, error) {
	return nil, unimplemented("ReadTransaction", noTwoPC)
}

// UnresolvedTransactions implements queryservice.Query: Unimplemented.
func (s *Server) UnresolvedTransactions(context.Context, *querypb.UnresolvedTransactionsRequest) (*querypb.UnresolvedTransactionsResponse, error) {
	return nil, unimplemented("UnresolvedTransactions", noTwoPC)
}

// MessageStream implements queryservice.Query: Unimplemented.
func (s *Server) MessageStream(*querypb.MessageStreamRequest, grpc.ServerStreamingServer[querypb.MessageStreamResponse]) error {
	return unimplemented("MessageStream", "message tables are not supported")
}

// MessageAck implements queryservice.Query: Unimplemented.
func (s *Server) MessageAck(context.Context, *querypb.MessageAckRequest) (*querypb.MessageAckResponse, error) {
	return nil, unimplemented("MessageAck", "message tables are not supported")
}

// ReserveBeginStreamExecute implements queryservice.Query: Unimplemented.
func (s *Server) ReserveBeginStreamExecute(*querypb.ReserveBeginStreamExecuteRequest, grpc.ServerStreamingServer[querypb.ReserveBeginStreamExecuteResponse]) error {
	return unimplemented("ReserveBeginStreamExecute", "use ReserveBeginExecute, or ReserveExecute and then BeginStreamExecute with the reserved id")
}

// String describes the server for logs.
func (s *Server) String() string { return fmt.Sprintf("query service of %v", s.alias) }
