// Package etcd2 is the topology backend on etcd (v3 API), with Vitess's
// etcd2 layout: a record at path p under root r is the key path.Join(r, p)
// holding the record's proto3 bytes, and a node's version is the key's
// ModRevision. Directories are implicit key prefixes.
//
// Locks and elections follow the same scheme as Vitess: the contender puts
// an ephemeral key <dir>/locks/<lease id> under a lease of its own whose
// TTL is Config.LeaseTTL (--topo_etcd_lease_duration, 30s by default),
// kept alive by the Conn. The key with the lowest ModRevision holds the
// lock; each other contender watches the next older key and re-checks when
// it goes. Leader election uses the same lock on elections/<name>, with
// the participant's id as contents. A holder whose process dies stops
// renewing its lease, and etcd deletes its key within the TTL.
//
// Opening a Conn does not wait for the server: every call carries the
// caller's context and ends at its deadline with a Timeout error naming the
// path, so an unreachable etcd is reported, not waited on. The client
// reconnects by itself once etcd is back.
//
//	conn, err := etcd2.Open(etcd2.Config{
//		Endpoints: []string{"127.0.0.1:2379"},
//		Root:      "/vitess/global",
//		LeaseTTL:  30 * time.Second,
//	}, logger)
//	...
//	defer conn.Close()
package etcd2
