// Package pools holds the bounded connection pools through which the tablet
// reaches MySQL, and the MySQL connection they pool.
//
// It has three parts:
//
//   - Pool, a generic bounded pool over any Conn (Close and IsBroken). It
//     knows nothing of MySQL, metrics or topology. Capacity can change at
//     run time; Get waits first come, first served until the caller's
//     deadline or the pool's wait timeout, whichever is sooner; idle and
//     aged connections close in the background; broken ones are replaced,
//     never handed out; a watchdog repairs and counts any stall of waiters
//     beside idle connections.
//   - DBConn, one MySQL connection through github.com/go-sql-driver/mysql at
//     the driver level, knowing its server connection id (for KILL) and the
//     server's flavor, and marking itself broken after an error that leaves
//     it unusable.
//   - Set and Config, the tablet's four named pools (ConnPool,
//     StreamConnPool, TransactionPool and DBAPool) with vttablet's flags and
//     defaults, and their variables under vttablet's names.
//
// It does not publish metrics itself: Pool.Stats, Stats.Vars and VarFuncs
// give names and values from one table of suffixes, for the owner's
// registry. It does not plan, time out or kill queries; callers do that with
// DBConn.ID and Set.KillQuery.
//
// Usage:
//
//	app, err := pools.NewDBConnector(appMySQLConfig, logger)
//	dba, err := pools.NewDBConnector(dbaMySQLConfig, logger)
//	set, err := pools.NewSet(pools.DefaultConfig(), app, dba, logger)
//	set.Open()
//	defer set.Close(shutdownCtx)
//
//	pc, err := set.Conn.Get(ctx)
//	if err != nil {
//		// errors.Is(err, pools.ErrPoolExhausted): no connection in time
//		// errors.Is(err, pools.ErrPoolClosed): the pool is shutting down
//		// errors.Is(err, context.DeadlineExceeded): the caller's deadline
//		return err
//	}
//	defer pc.Release()
//	res, err := pc.Conn.Fetch(ctx, "SELECT ...", maxRows)
//
// Errors a caller sees from Get: ErrPoolExhausted, ErrPoolClosed, the
// context's error, or a connect error; each names the pool. From DBConn:
// the driver's errors (a *mysql.MySQLError for server errors), wrapped with
// the connection id; IsConnError tells those that broke the connection.
package pools
