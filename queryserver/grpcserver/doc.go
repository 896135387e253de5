// Package grpcserver is the tablet's gRPC Query service: Vitess's
// queryservice.Query over the query engine (package queryserver), with
// GetSchema over the schema tracker (package queryserver/schema) and
// StreamHealth over the tablet's health, which the agent provides. It also
// holds the gRPC server settings every service of the tablet shares (TLS
// with client certificates, keepalives, message size) as a Config that
// turns into grpc.ServerOptions.
//
// # What each request goes through
//
// Target and state are checked first, as vttablet does, so that a gateway
// can act on the answer:
//
//   - a tablet that does not serve answers with vtrpc code CLUSTER_EVENT
//     and "operation not allowed in state NOT_SERVING"; one shutting down
//     (after lameduck) with "operation not allowed in state SHUTTING_DOWN".
//     These are the texts and code vtgate's buffering recognizes, so a
//     gateway buffers through a failover instead of failing queries. Work
//     on an open transaction or reserved connection is still accepted while
//     shutting down, and Commit, Rollback and Release in every state;
//   - a keyspace or shard other than the tablet's is INVALID_ARGUMENT
//     ("invalid keyspace X does not match expected Y"); a tablet type
//     other than the tablet's is FAILED_PRECONDITION ("wrong tablet type:
//     REPLICA, want: PRIMARY"). A request without a target is
//     INVALID_ARGUMENT.
//
// The caller ids in the request (effective_caller_id and
// immediate_caller_id) go with the request to the engine, which counts
// statistics and logs queries by them.
//
// # Results and errors
//
// Results are Vitess's QueryResult: fields with names and Vitess types
// (and, when options.included_fields is ALL, MySQL flags, column type and
// charset 63 for binary and numeric columns), rows as lengths plus
// concatenated values with NULL as -1, rows affected and insert id.
// Converting a result allocates a fixed handful of slices, whatever its
// size; StreamExecute reuses them from one chunk to the next.
//
// Errors carry the engine's vtrpc code as the gRPC status code (as
// Vitess's vterrors.ToGRPC does, so CLUSTER_EVENT travels as code 17) and
// its message, which keeps MySQL's "(errno N) (sqlstate S)". Calls that
// may leave a transaction or reserved connection open (BeginExecute,
// ReserveExecute, ReserveBeginExecute and the streaming ones) return the
// error inside the response with the ids, as Vitess does, so the gateway
// can end what was opened.
//
// Every other RPC of the service (two-phase commit, messages,
// ReserveBeginStreamExecute) answers codes.Unimplemented saying so.
//
// # Usage
//
//	opts, err := cfg.ServerOptions(logger) // TLS, keepalive, message size, panic recovery
//	gs := grpc.NewServer(opts...)
//	grpcserver.New(grpcserver.Deps{Engine: eng, Health: h, Schema: tracker, Alias: alias, Logger: logger}).Register(gs)
//	go gs.Serve(ln)
package grpcserver
