// Package client is the Go client of a tablet's gRPC services, for a
// gateway or a tool: the Query service (queries, streams, transactions,
// reserved connections, StreamHealth, GetSchema) and the operations
// services (TabletManager: Ping, FullStatus, ChangeType, SetReadOnly,
// SetReadWrite, Backup, RestoreFromBackup; TabletControl: ListBackups,
// TabletExternallyReparented).
//
// It depends only on gRPC and the generated protocol packages, not on the
// query engine, so a gateway that imports it pulls in nothing of the
// tablet's server side.
//
// # Errors
//
// Every call returns nil or an *Error: the tablet's vtrpc code (which is
// the gRPC status code, CLUSTER_EVENT being 17), its message, and, when
// MySQL raised it, MySQL's error number and SQLSTATE parsed from the
// message's "(errno N) (sqlstate S)". Errors a tablet returns inside a
// response (BeginExecute and the calls that open sessions, when the
// statement failed after the session opened) come back the same way, with
// the ids of what was opened, so the caller can end it. CodeOf returns the
// code of any error. A canceled or expired context is an *Error with code
// CANCELED or DEADLINE_EXCEEDED that also matches context.Canceled or
// context.DeadlineExceeded with errors.Is.
//
// # Results
//
// Result holds the fields and the rows decoded from Vitess's wire form
// (lengths plus concatenated values): each value is a slice of the
// received message, nil for NULL, with no copy.
//
// # Usage
//
//	c, err := client.New(client.Config{Address: "db1:16100"})
//	defer c.Close()
//	ctx = client.WithCaller(ctx, client.Caller{Principal: "alice", Username: "gateway"})
//	target := &querypb.Target{Keyspace: "commerce", Shard: "0", TabletType: topodatapb.TabletType_PRIMARY}
//	res, err := c.Execute(ctx, target, "SELECT name FROM users WHERE id = :id",
//		map[string]*querypb.BindVariable{"id": client.Int64(42)}, 0, 0, nil)
//	if client.CodeOf(err) == vtrpcpb.Code_CLUSTER_EVENT { /* failover: retry later */ }
package client
