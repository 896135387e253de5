package health_test

import (
	"context"
	"fmt"

	"github.com/tabletd/tablet/health"
	"github.com/tabletd/tablet/mysqld"
)

// replicaOK is a Prober that always sees a caught-up replica.
type replicaOK struct{}

func (replicaOK) Probe(context.Context, bool) health.Observation {
	lag := int64(0)
	return health.Observation{Replication: &mysqld.ReplicationStatus{
		IOState: mysqld.IORunning, SQLRunning: true, SecondsBehind: &lag, SourceHost: "10.0.0.1", SourcePort: 3306,
	}}
}

func Example() {
	cfg := health.DefaultConfig()
	checker := health.New(cfg, replicaOK{}, nil, nil)
	defer checker.Close()
	checker.SetTablet(health.Tablet{Type: "replica"})

	sub := checker.Subscribe() // holds the current status at once
	defer sub.Close()
	checker.Open() // the first check runs at once

	for st := range sub.Updates() {
		fmt.Printf("%s %s serving=%t reason=%q lag from %q\n", st.TabletType, st.State, st.Serving, st.Reason, st.LagSource)
		if st.State == health.Healthy {
			break
		}
	}
	// Output:
	// REPLICA NOT_SERVING serving=false reason="STARTING" lag from ""
	// REPLICA HEALTHY serving=true reason="" lag from "seconds_behind_master"
}
