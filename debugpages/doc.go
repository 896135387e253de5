// Package debugpages serves the tablet's diagnostic pages, the ones
// vttablet documents under "Monitoring": a human overview on /debug/status,
// per-query statistics, plans, query and transaction logs, consolidations,
// the schema with its table sizes, running streaming queries with a kill
// action, and optionally pprof. It also runs TableStats, which reads table
// sizes from information_schema on an interval and publishes them as the
// DataFree, DataLength, IndexLength and TableRows variables.
//
// It renders; it does not decide. Every value comes from a source given in
// Sources, each a small interface declared here that the tablet's own
// types already satisfy (*debugvars.Registry, *queryserver.Engine,
// *health.Checker, *pools.Set, *TableStats). A page whose source is nil is
// not mounted, and the status page leaves its section out.
//
// It sits between agent, its only importer, and the packages it shows: it
// imports queryserver, health and pools for their record types (query
// statistics, log entries, health status, pool statistics), mysqld for
// the information_schema query, and nothing above them.
//
// # Pages
//
//	/debug/status          HTML overview: identity, serving state, health,
//	                       replication, pools, recent errors, links
//	/debug/vars, /metrics  the registry's JSON and Prometheus pages
//	/debug/health          health's own handler ("ok" / "not ok")
//	/queryz                HTML per normalized query: count, time, rows,
//	                       errors; ?sort=column orders it
//	/debug/query_stats     the same as JSON
//	/debug/query_plans     the plan cache as JSON
//	/querylogz             HTML of the most recent queries; ?limit=N (300)
//	/debug/querylog        every query from now on, one JSON object a line
//	                       (?format=text: tab-separated), until the client
//	                       goes away
//	/txlogz, /debug/txlog  the same two views of ended transactions
//	/consolidations        the most recently consolidated queries, counted
//	/schemaz               the tables with their sizes and columns
//	/debug/schema          the same as JSON
//	/streamqueryz          running streaming queries; each row has a Kill
//	                       button posting to /streamqueryz/terminate
//	/debug/pprof/          Go's profiler, only with Sources.EnablePprof
//
// /querylogz and /txlogz show the last N records the engine kept, newest
// first, rather than waiting for the next N as vttablet's do: the page
// answers at once, even on an idle tablet.
//
// # Safety
//
// Pages are html/template, so every value (query text, table and user
// names, error messages) is escaped; they load no external assets and run
// no script, and say so in a Content-Security-Policy header. Read-only
// pages answer GET (and HEAD) only. The one state-changing action, killing
// a streaming query, takes POST only (GET answers 405) and refuses
// cross-origin requests, so a page elsewhere cannot trigger it from an
// operator's browser. Bind variable values never reach these pages: the
// engine records statements with their bind variable references. Literals
// a client writes into the text itself do show in the query logs and in
// MySQL's error messages, as on vttablet's; /queryz shows normalized text
// without them. Serve the pages on a private port.
//
// # Usage
//
//	cfg := debugpages.DefaultConfig()
//	cfg.DBName = "vt_commerce"
//	stats := debugpages.NewTableStats(cfg, dbaDB, vars, logger)
//	g.Go(func() error { return stats.Run(ctx) }) // an errgroup: cancel ctx, then Wait
//
//	mux := http.NewServeMux()
//	debugpages.Register(mux, debugpages.Sources{
//		Vars: vars, Engine: engine, Health: checker, Pools: poolSet,
//		Schema: stats, Status: statusFunc, EnablePprof: pprofFlag,
//		Logger: logger,
//	})
package debugpages
