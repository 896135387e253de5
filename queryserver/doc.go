// Package queryserver is the tablet's query engine: it plans the
// statements a gateway sends, runs them on the tablet's MySQL pools under
// time budgets it enforces by killing, keeps transactions and reserved
// connections, consolidates identical reads, limits results and records
// the statistics vttablet publishes. It is a library: the gRPC Query
// service is a thin layer over Engine, whose methods map one to one onto
// Vitess's queryservice.Query RPCs (Execute, StreamExecute, Begin, Commit,
// Rollback, BeginExecute, ReserveExecute, ReserveBeginExecute, Release),
// with the target passed in and the caller carried by the context
// (WithCaller).
//
// It does not own the pools (package pools), talk to the topology, decide
// the serving state (the agent sets it), or serve HTTP pages: it exposes
// what the pages show (QueryLog, TxLog, QueryStats, Consolidations,
// StreamQueries, KillStreamQuery).
//
// # A statement's way through
//
//   - Serving state and target: new work needs StateServing; work on an
//     existing transaction or reserved connection is also accepted while
//     shutting down; Commit, Rollback and Release always. A request whose
//     Target differs from the engine's fails with ErrWrongTarget.
//   - Plan: the statement is parsed once by TiDB's MySQL parser (bind
//     variable references ":name" and "::name" are found by a small
//     scanner first) and cached in an LRU keyed by its text without margin
//     comments (a trace id in a leading comment does not make a new
//     plan; the comments still go to MySQL): its type
//     (PASS_SELECT, SELECT_LOCK, INSERT, UPDATE, DELETE, DDL, SET,
//     OTHER_READ, OTHER_ADMIN, ...), the tables it names and its
//     normalized text. A statement the parser cannot read (MariaDB-only
//     syntax) is classified by its leading keywords and left to MySQL.
//   - Bind variables are substituted as literals no value can escape
//     (see BindVar).
//   - Placement: statements that change session state (SET, USE, LOCK
//     TABLES, GET_LOCK, user variables, temporary tables, PREPARE) run
//     only on reserved connections, which are closed at Release, never
//     pooled again; transaction statements (BEGIN, COMMIT, ...) are
//     refused in favour of the API; DDL inside a transaction is refused,
//     since MySQL would commit the transaction implicitly.
//   - Budget: one deadline per request, the smallest of
//     --queryserver-config-query-timeout, the caller's deadline and, in a
//     transaction, the transaction's remaining time, spent on the pool wait
//     and the statement together.
//   - Admission: a caller whose remaining budget cannot cover the wait its
//     pool has recently imposed is refused at once (ErrOverloaded) rather
//     than queued to fail later.
//   - Consolidation: a plain read outside a session, when identical to
//     one in flight, waits for that one's result and gets a private copy
//     (modes enable, disable, replicas-only; caps on waiters and on the
//     shared result's size).
//   - Execution: at the deadline the statement gets KILL QUERY through
//     the dba pool; if it is still running KillEscalationDelay later, its
//     connection gets KILL and its socket is closed. The error says which
//     limit fired and after how long. A pooled connection goes back only
//     if healthy (and not after a kill that raced the statement's end).
//   - Results: a non-streaming result over --queryserver-config-max-result-size
//     rows fails with ErrResultTooLarge and the connection stays usable;
//     StreamExecute hands rows over in pieces of at most
//     --queryserver-config-stream-buffer-size bytes.
//   - Transactions come from the transaction pool; a killer rolls back and
//     closes any transaction older than
//     --queryserver-config-transaction-timeout. Ids are seeded from the
//     start time in nanoseconds, so they stay unique across restarts, and
//     a late request on an ended id learns how and when it ended.
//
// # Results
//
// Result is shaped like Vitess's query.QueryResult: fields with a name, a
// Vitess type and MySQL column flags; rows of [][]byte values, NULL as a
// nil slice and empty as an empty one; rows affected; insert id. Values
// are the text protocol's bytes, binary columns byte for byte. The MySQL
// driver hands integers and floats over already parsed: integers are
// printed back exactly, and FLOAT and DOUBLE are printed back with
// MySQL's layout (shortest round-trip digits; see appendMySQLFloat), which
// reproduces the server's text for DOUBLE, and for FLOAT whenever the
// server printed at most six significant digits. The driver exposes the
// column's database type name but not the raw type code and flags; see
// Field for what is derived from it. Connections must not use the
// driver's parseTime option (the tablet's do not), so dates stay text.
//
// # Errors
//
// Every error is an *Error with a Code a gateway can act on (the values of
// Vitess's vtrpc.Code: RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED,
// INVALID_ARGUMENT, FAILED_PRECONDITION, ALREADY_EXISTS, UNAVAILABLE,
// INTERNAL, ...), a message that keeps MySQL's error number and SQLSTATE
// ("... (errno 1062) (sqlstate 23000)"), and at most one sentinel
// (ErrTxPoolFull, ErrQueryTimeout, ErrTxKilled, ...) for errors.Is.
//
// # Variables
//
// New registers, under vttablet's names: Queries (timings by plan type),
// Results (rows per query), Mysql (Exec, ExecStream), Transactions
// (Completed, Aborted), Waits (Consolidations), Errors (by code),
// InfoErrors (DupKey), InternalErrors (Panic, HungQuery, KillFailed,
// StrayTransactions), Kills (Queries, Transactions), QueryCounts,
// QueryErrorCounts, QueryRowCounts, QueryTimesNs (by table and plan),
// UserTableQueryCount, UserTableQueryTimesNs (by table, user and plan),
// UserTransactionCount, UserTransactionTimesNs (by user and conclusion),
// QueryPlanCacheSize, QueryPlanCacheCapacity and the cache's hits, misses
// and evictions; and ours: ConsolidatorSkipped, OpenTransactions,
// ReservedConnections, StreamQueriesRunning, ConsolidationsInFlight. It
// also publishes the pools' variables (ConnPool*, StreamConnPool*,
// TransactionPool*, DBAPool*), since the engine is the pools' user: the
// agent must not publish them again.
//
// # Usage
//
//	set, _ := pools.NewSet(poolCfg, app, dba, logger)
//	set.Open()
//	eng := queryserver.New(queryserver.DefaultConfig(), set, vars, logger)
//	eng.Open()
//	eng.SetServingState(queryserver.Target{Keyspace: "ks", Shard: "0",
//		TabletType: queryserver.TabletReplica}, queryserver.StateServing)
//
//	ctx = queryserver.WithCaller(ctx, queryserver.Caller{Username: "app"})
//	res, err := eng.Execute(ctx, &target, "SELECT name FROM users WHERE id = :id",
//		map[string]*queryserver.BindVar{"id": ptr(queryserver.Int64Var(42))}, 0, 0, nil)
//	if errors.Is(err, queryserver.ErrQueryTimeout) { ... }
//
//	eng.Close(shutdownCtx) // drains, then kills what is left
//	set.Close(shutdownCtx)
package queryserver
