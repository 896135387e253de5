package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/tabletd/tablet/proto/querypb"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/proto/vtrpcpb"
	"github.com/tabletd/tablet/queryserver/client"
)

// Example runs a query on a tablet's primary, as a gateway does, and tells
// a failover (retry after it) from other errors.
func Example() {
	cfg := client.DefaultConfig()
	cfg.Address = "127.0.0.1:16100"
	c, err := client.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ctx := client.WithCaller(context.Background(), client.Caller{Principal: "alice", Username: "gateway"})
	target := &querypb.Target{Keyspace: "commerce", Shard: "0", TabletType: topodatapb.TabletType_PRIMARY}
	res, err := c.Execute(ctx, target, "SELECT name FROM customer WHERE id = :id",
		map[string]*querypb.BindVariable{"id": client.Int64(42)}, 0, 0, nil)
	switch {
	case client.CodeOf(err) == vtrpcpb.Code_CLUSTER_EVENT:
		// The tablet is not serving (a failover, a shutdown): buffer and
		// retry on the shard's next primary.
	case err != nil:
		log.Fatal(err)
	default:
		for _, row := range res.Rows {
			fmt.Printf("%s\n", row[0]) // nil prints as empty: NULL
		}
	}
}
