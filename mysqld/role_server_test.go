package mysqld_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/testenv"
)

// TestRolesOnServer makes one server primary and another its replica,
// then swaps them, as the admin role, and checks that each call changes
// only what differs, that data flows, and that local metadata stays on the
// server that wrote it.
func TestRolesOnServer(t *testing.T) {
	a := testenv.StartMySQL(t)
	b := testenv.StartMySQL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := a.Flavor()
	admin := map[*testenv.MySQL]*sql.DB{a: openDB(t, a, mysqld.RoleAdmin), b: openDB(t, b, mysqld.RoleAdmin)}
	source := func(m *testenv.MySQL) *mysqld.ReplicationSource {
		s := testenv.ReplicaSource(m)
		return &s
	}
	mustChange := func(what string, done []string, err error, want ...string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for _, w := range want {
			if !slices.ContainsFunc(done, func(d string) bool { return strings.Contains(d, w) }) {
				t.Errorf("%s changed %q, want a change %q", what, done, w)
			}
		}
		if len(want) == 0 && len(done) > 0 {
			t.Errorf("%s again changed %q, want nothing", what, done)
		}
	}

	done, err := mysqld.MakePrimary(ctx, admin[a], f, time.Second)
	mustChange("MakePrimary(a)", done, err, "read_only off")
	done, err = mysqld.MakePrimary(ctx, admin[a], f, time.Second)
	mustChange("MakePrimary(a)", done, err)
	done, err = mysqld.MakeReplica(ctx, admin[b], f, source(a))
	mustChange("MakeReplica(b)", done, err, "replicating from 127.0.0.1:")
	if err := testenv.WaitReplicationRunning(ctx, b); err != nil {
		t.Fatal(err)
	}
	done, err = mysqld.MakeReplica(ctx, admin[b], f, source(a))
	mustChange("MakeReplica(b)", done, err)

	app := openDB(t, a, mysqld.RoleApp)
	for _, s := range []string{"CREATE DATABASE vt_roles", "CREATE TABLE vt_roles.t (id INT PRIMARY KEY)", "INSERT INTO vt_roles.t VALUES (1)"} {
		if _, err := app.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s on the primary: %v", s, err)
		}
	}
	testenv.WaitCaughtUp(t, a, b)

	// Local metadata: per server, never in the binary log.
	var posBefore, posAfter string
	if err := admin[a].QueryRowContext(ctx, f.PrimaryPositionQuery()).Scan(&posBefore); err != nil {
		t.Fatal(err)
	}
	for m, alias := range map[*testenv.MySQL]string{a: "zone1-0000000001", b: "zone1-0000000002"} {
		md := mysqld.LocalMetadata{Alias: alias, ClusterAlias: "roles.0", DataCenter: "zone1", PromotionRule: mysqld.PromotionNeutral}
		if err := mysqld.WriteLocalMetadata(ctx, admin[m], f, md, "vt_roles"); err != nil {
			t.Fatalf("WriteLocalMetadata(%s): %v", alias, err)
		}
	}
	if err := admin[a].QueryRowContext(ctx, f.PrimaryPositionQuery()).Scan(&posAfter); err != nil {
		t.Fatal(err)
	}
	if posAfter != posBefore {
		t.Errorf("writing local metadata moved the primary's GTID position from %q to %q", posBefore, posAfter)
	}
	testenv.WaitCaughtUp(t, a, b)
	var alias string
	if err := admin[b].QueryRowContext(ctx, "SELECT value FROM _vt.local_metadata WHERE name='Alias'").Scan(&alias); err != nil || alias != "zone1-0000000002" {
		t.Errorf("replica's Alias = %q, %v; want its own, zone1-0000000002", alias, err)
	}

	// Swap: b is promoted, a (with transactions of its own) follows it.
	done, err = mysqld.MakePrimary(ctx, admin[b], f, time.Second)
	mustChange("MakePrimary(b)", done, err, "stopped fetching", "reset replication", "read_only off")
	done, err = mysqld.MakeReplica(ctx, admin[a], f, source(b))
	mustChange("MakeReplica(a)", done, err, "read_only on", "moved gtid_slave_pos", "replicating from")
	if err := testenv.WaitReplicationRunning(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := openDB(t, b, mysqld.RoleApp).ExecContext(ctx, "INSERT INTO vt_roles.t VALUES (2)"); err != nil {
		t.Fatalf("write on the new primary: %v", err)
	}
	testenv.WaitCaughtUp(t, b, a)
	var n int
	if err := admin[a].QueryRowContext(ctx, "SELECT COUNT(*) FROM vt_roles.t").Scan(&n); err != nil || n != 2 {
		t.Errorf("old primary has %d rows (%v), want 2", n, err)
	}
	if _, err := app.ExecContext(ctx, "INSERT INTO vt_roles.t VALUES (3)"); err == nil {
		t.Error("the app user wrote on the demoted server")
	}
	for m, want := range map[*testenv.MySQL]bool{a: true, b: false} {
		if ro, err := mysqld.ReadOnly(ctx, admin[m], f); err != nil || ro != want {
			t.Errorf("server %d read_only = %t, %v; want %t", m.Port(), ro, err, want)
		}
	}
}
