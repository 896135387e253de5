// Package topo is the tablet's client of the topology service, laid out as
// Vitess lays it out so that Vitess tooling reads what we write.
//
// The topology has a global cell (keyspaces, shards, cell locations) and
// one local cell per data center (tablets, replication graph, serving
// graph). Records are proto3 messages from package topodatapb, at these
// paths under each cell's root:
//
//	global: cells/<cell>/CellInfo
//	        keyspaces/<keyspace>/Keyspace
//	        keyspaces/<keyspace>/shards/<shard>/Shard
//	        keyspaces/<keyspace>/VSchema               (opaque bytes here)
//	local:  tablets/<cell>-<uid>/Tablet                (uid padded to 10 digits)
//	        keyspaces/<keyspace>/shards/<shard>/ShardReplication
//	        keyspaces/<keyspace>/SrvKeyspace
//	        SrvVSchema                                 (opaque bytes here)
//
// The package has three layers:
//
//   - Conn, the small interface to one cell's store: Create, Update
//     (compare-and-swap on Version), Get, List, Delete, Watch, Lock and
//     leader election. Backends implement it in subpackages: topo/etcd2 on
//     etcd, topo/memory in process for tests. topo/topotest is the
//     conformance suite both pass.
//   - Errors: every Conn and Server error wraps an *Error whose Code says
//     what happened (NodeExists, NoNode, BadVersion, Interrupted, Timeout,
//     Unavailable) and whose message names the path. Test with errors.Is
//     against ErrNoNode, ErrBadVersion and the other sentinels.
//   - Server, typed operations over a global Conn and per-cell Conns
//     opened from CellInfo: get, create and update-with-retry for tablets,
//     keyspaces and shards, shard updates under the shard lock,
//     ShardReplication membership, SrvKeyspace rebuilds, listings.
//
// Config carries the vttablet flags (--topo_implementation,
// --topo_global_server_address, --topo_global_root,
// --topo_etcd_lease_duration) and timeouts; topo/topofactory turns it into
// a Server with the chosen backend:
//
//	cfg := topo.DefaultConfig()
//	cfg.GlobalServerAddress = "127.0.0.1:2379"
//	cfg.GlobalRoot = "/vitess/global"
//	ts, err := topofactory.Open(ctx, cfg, logger)
//	...
//	defer ts.Close()
//	ti, err := ts.GetTablet(ctx, &topodatapb.TabletAlias{Cell: "zone1", Uid: 100})
//
// This package does not register flags, keep package state, or pick a
// backend by itself.
package topo
