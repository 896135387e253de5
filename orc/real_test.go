package orc_test

import (
	"context"
	"testing"
	"time"

	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/orc"
	"github.com/tabletd/tablet/orc/orctest"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/testenv"
)

// sampleConfig is the sample Orchestrator configuration shipped with the
// tablet; the real runs start Orchestrator with it, adjusted for a test.
const sampleConfig = "../deploy/orchestrator/orchestrator.conf.json"

// newRealEnv starts a private mysqld holding _vt.local_metadata for
// testAlias, and the Orchestrator binary bin with the sample configuration
// on a free port and a private SQLite backend, and puts a recording
// orctest.Server in front of it. Everything stops when t ends.
func newRealEnv(t *testing.T, bin string) *env {
	t.Helper()
	m := testenv.StartMySQL(t)
	const orcUser, orcPassword = "orc_topology", "orc-topology-pw"
	prepareMySQL(t, m, orcUser, orcPassword)
	o := testenv.StartOrchestrator(t, testenv.OrchestratorConfig{
		Bin: bin, BaseConfig: sampleConfig, TopologyUser: orcUser, TopologyPassword: orcPassword,
	})
	srv := orctest.Start(t, orctest.WithUpstream(o.APIURL()))
	tab := orc.Tablet{Alias: testAlias, Host: m.Host(), Port: m.Port(), Type: topodatapb.TabletType_REPLICA}
	return &env{srv: srv, tablet: tab, real: true}
}

// prepareMySQL creates Orchestrator's topology user and the tablet's
// _vt.local_metadata rows, as a tablet writes them (without binary
// logging: the rows are per server).
func prepareMySQL(t *testing.T, m *testenv.MySQL, user, password string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.GrantOrchestrator(ctx, user, password); err != nil {
		t.Fatal(err)
	}
	db, err := m.DB(testenv.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	md := mysqld.LocalMetadata{Alias: testAlias, ClusterAlias: "commerce.0", DataCenter: "zone1", PromotionRule: mysqld.PromotionNeutral}
	if err := mysqld.WriteLocalMetadata(ctx, db, m.Flavor(), md, "vt_commerce"); err != nil {
		t.Fatal(err)
	}
}
