package queryserver_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/pools"
	"github.com/tabletd/tablet/queryserver"
)

func ExampleBuildPlan() {
	p, err := queryserver.BuildPlan("SELECT name FROM app.users WHERE id = :id AND state IN ::states FOR UPDATE")
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Type, p.Tables)
	fmt.Println(p.Normalized)
	// Output:
	// SELECT_LOCK [app.users]
	// select `name` from `app` . `users` where `id` = ? and `state` in ( ... ) for update
}

// Example_engine wires an engine over the tablet's pools and runs a query
// with a bind variable. It needs a MySQL server, so it is compiled but not
// run.
func Example_engine() {
	logger := slog.Default()
	appCfg, dbaCfg := mysql.NewConfig(), mysql.NewConfig()
	appCfg.User, dbaCfg.User = "vt_app", "vt_dba"
	app, _ := pools.NewDBConnector(appCfg, logger)
	dba, _ := pools.NewDBConnector(dbaCfg, logger)
	set, err := pools.NewSet(pools.DefaultConfig(), app, dba, logger)
	if err != nil {
		panic(err)
	}
	set.Open()

	eng := queryserver.New(queryserver.DefaultConfig(), set, debugvars.New(), logger)
	if err := eng.Open(); err != nil {
		panic(err)
	}
	target := queryserver.Target{Keyspace: "app", Shard: "0", TabletType: queryserver.TabletReplica}
	_ = eng.SetServingState(target, queryserver.StateServing)

	ctx := queryserver.WithCaller(context.Background(), queryserver.Caller{Username: "gateway"})
	id := queryserver.Int64Var(42)
	res, err := eng.Execute(ctx, &target, "SELECT name FROM app.users WHERE id = :id",
		map[string]*queryserver.BindVar{"id": &id}, 0, 0, nil)
	switch {
	case errors.Is(err, queryserver.ErrQueryTimeout):
		fmt.Println("too slow:", err) // the statement was killed
	case queryserver.CodeOf(err) == queryserver.CodeResourceExhausted:
		fmt.Println("overloaded, try another tablet:", err)
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println(len(res.Rows), "rows")
	}

	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = eng.Close(shutdown)
	_ = set.Close(shutdown)
}
