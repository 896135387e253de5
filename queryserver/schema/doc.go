// Package schema follows the tables, views and loadable functions of the
// database a tablet serves, for a gateway's schema tracker: it answers
// GetSchema with CREATE statements, and it notices definitions that change
// so that StreamHealth can name them (RealtimeStats.table_schema_changed
// and view_schema_changed), prompting the gateway to ask again.
//
// A Tracker reloads on an interval (--queryserver-config-schema-reload-time)
// and when told to (Trigger: the query service saw a DDL succeed). A
// reload reads one signature per table and view from information_schema
// (mysqld.SchemaSignaturesQuery: checksums of columns, indexes, options
// and view definitions) and compares it with the last; objects created,
// altered or dropped since are a Change. The first load sets the baseline
// and reports nothing. A reload that fails (mysqld down) keeps the last
// baseline, so nothing is lost: the next good reload reports what changed
// meanwhile.
//
// It does not parse CREATE statements, keep column lists or serve
// queries: the gateway reads definitions through GetSchema, which the
// Tracker answers with SHOW CREATE TABLE from the dba pool.
//
// Usage:
//
//	tr := schema.New(schema.DefaultConfig(), schema.PoolDB(set.DBA), "vt_commerce", vars, logger)
//	go tr.Run(ctx) // returns when ctx ends
//	v := tr.Version()
//	...
//	<-tr.Changed(v)                 // closed once a reload finds a change after v
//	change, v := tr.ChangesSince(v) // what changed, and the version to wait on next
package schema
