package topo_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/topo"
	"github.com/tabletd/tablet/topo/topofactory"
)

// A tablet's startup against the topology: find its cell, make sure its
// keyspace and shard exist, publish its record, and read the shard back.
// The memory backend stands in for etcd2 here; only the Config differs.
func Example() {
	ctx := context.Background()
	cfg := topo.DefaultConfig()
	cfg.Implementation = topo.ImplMemory // in production: etcd2 and GlobalServerAddress
	cfg.GlobalRoot = "/vitess/global"
	ts, err := topofactory.Open(ctx, cfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer ts.Close()

	// An operator adds the cell once (topoadmin AddCellInfo).
	if err := ts.CreateCellInfo(ctx, "zone1", &topodatapb.CellInfo{ServerAddress: "memory", Root: "/vitess/zone1"}); err != nil {
		log.Fatal(err)
	}

	// The tablet checks its cell exists.
	if _, err := ts.GetCellInfo(ctx, "zone1"); errors.Is(err, topo.ErrNoNode) {
		log.Fatalf("cell zone1 is missing; add it first: %v", err)
	}
	if _, err := ts.GetOrCreateShard(ctx, "commerce", "0"); err != nil {
		log.Fatal(err)
	}
	alias := &topodatapb.TabletAlias{Cell: "zone1", Uid: 100}
	if err := ts.CreateTablet(ctx, &topodatapb.Tablet{
		Alias: alias, Hostname: "db1", Keyspace: "commerce", Shard: "0", Type: topodatapb.TabletType_REPLICA,
	}); err != nil {
		log.Fatal(err)
	}
	si, err := ts.GetShard(ctx, "commerce", "0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(topo.TabletPath(topo.TabletAliasString(alias)))
	fmt.Println(topo.ShardPath(si.Keyspace, si.Name), "serving:", si.Shard.IsPrimaryServing)
	// Output:
	// tablets/zone1-0000000100/Tablet
	// keyspaces/commerce/shards/0/Shard serving: true
}
