package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/proto/querypb"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/proto/vtrpcpb"
	"github.com/tabletd/tablet/testenv"
)

// TestReparentFlipsRolesAndReplication runs two tablets on two mysqld
// servers and makes each the primary in turn with the operator command:
// the primary turns writable, the other turns read-only and replicates
// from it, and rows written through the primary's MySQL reach the replica.
func TestReparentFlipsRolesAndReplication(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts etcd, two mysqld and two tablet binaries")
	}
	w := newWorld(t)
	m100, m101 := w.mysql, testenv.StartMySQL(t)
	// The heartbeat is written when a tablet becomes the primary and then
	// only hourly, so that no heartbeat lands on the old primary in the
	// moment between a reparent and its reaction. Such a write would be a
	// transaction the new primary lacks, which MariaDB's gtid_strict_mode
	// refuses once the old primary replicates; an external reparent of a
	// primary that is still writable carries that risk for any write.
	flags := []string{"--tablet_hostname=127.0.0.1", "--heartbeat_interval=1h", "--degraded_threshold=2h", "--unhealthy_threshold=3h"}
	t100 := startTablet(t, w.argsOn(t, m100, "zone1-100", "commerce", "0", flags...))
	t101 := startTablet(t, w.argsOn(t, m101, "zone1-101", "commerce", "0", flags...))
	t100.waitType(t, "REPLICA")
	t101.waitType(t, "REPLICA")
	for _, m := range []*testenv.MySQL{m100, m101} {
		if !readOnly(t, m) {
			t.Errorf("mysqld %d is writable while its shard has no primary", m.Port())
		}
	}

	start := time.Now()
	w.reparent(t, "zone1-100")
	waitMySQL(t, "zone1-100 writable", func() bool { return !readOnly(t, m100) })
	waitMySQL(t, "zone1-101 replicating from zone1-100", func() bool { return replicatingFrom(t, m101, m100) })
	t.Logf("first reparent: new primary writable and replica replicating %v after the command", time.Since(start).Round(time.Millisecond))
	t100.waitType(t, "PRIMARY")
	t100.waitServing(t)
	t101.waitServing(t)

	app100, app101 := openApp(t, m100), openApp(t, m101)
	mustExec(t, app100, "CREATE DATABASE IF NOT EXISTS vt_commerce") // the primary creates it; this does not wait for that
	mustExec(t, app100, "CREATE TABLE vt_commerce.t (id INT PRIMARY KEY, written_on VARCHAR(32))")
	mustExec(t, app100, "INSERT INTO vt_commerce.t VALUES (1, 'zone1-100')")
	waitMySQL(t, "row 1 on zone1-101", func() bool { return hasRow(t, m101, 1) })
	if _, err := app101.Exec("INSERT INTO vt_commerce.t VALUES (99, 'zone1-101')"); !isReadOnlyError(err) {
		t.Errorf("app write on the replica: %v, want the read-only refusal (1290)", err)
	}

	start = time.Now()
	w.reparent(t, "zone1-101")
	waitMySQL(t, "zone1-101 writable", func() bool { return !readOnly(t, m101) })
	waitMySQL(t, "zone1-100 read-only and replicating from zone1-101", func() bool {
		return readOnly(t, m100) && replicatingFrom(t, m100, m101)
	})
	t.Logf("second reparent: roles flipped %v after the command", time.Since(start).Round(time.Millisecond))
	t101.waitType(t, "PRIMARY")
	t100.waitType(t, "REPLICA")

	mustExec(t, app101, "INSERT INTO vt_commerce.t VALUES (2, 'zone1-101')")
	waitMySQL(t, "row 2 on zone1-100", func() bool { return hasRow(t, m100, 2) })
	if _, err := app100.Exec("INSERT INTO vt_commerce.t VALUES (98, 'zone1-100')"); !isReadOnlyError(err) {
		t.Errorf("app write on the old primary: %v, want the read-only refusal (1290)", err)
	}
	t100.waitServing(t)
	t101.waitServing(t)

	// Both servers restart (read-only, replication stopped, as their
	// configuration says): the tablets bring them back to their roles.
	app100.Close()
	app101.Close()
	for _, m := range []*testenv.MySQL{m101, m100} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := m.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	start = time.Now()
	waitMySQL(t, "zone1-101 writable again after its restart", func() bool { return !readOnly(t, m101) })
	waitMySQL(t, "zone1-100 replicating again after its restart", func() bool { return replicatingFrom(t, m100, m101) })
	t.Logf("mysqld restarts: roles restored %v after both were back", time.Since(start).Round(time.Millisecond))
	app101 = openApp(t, m101)
	mustExec(t, app101, "INSERT INTO vt_commerce.t VALUES (3, 'zone1-101')")
	waitMySQL(t, "row 3 on zone1-100", func() bool { return hasRow(t, m100, 3) })

	// The records and the shard agree; each server describes itself.
	r100, r101 := w.tablet(t, "zone1-100"), w.tablet(t, "zone1-101")
	if r101.GetType().String() != "PRIMARY" || r101.GetPrimaryTermStartTime() == nil || r100.GetType().String() != "REPLICA" || r100.GetPrimaryTermStartTime() != nil {
		t.Errorf("records after the second reparent: zone1-100 %v term %v, zone1-101 %v term %v",
			r100.GetType(), r100.GetPrimaryTermStartTime(), r101.GetType(), r101.GetPrimaryTermStartTime())
	}
	if r100.GetMysqlHostname() != "127.0.0.1" || int(r100.GetMysqlPort()) != m100.Port() {
		t.Errorf("zone1-100 record MySQL address %s:%d, want 127.0.0.1:%d", r100.GetMysqlHostname(), r100.GetMysqlPort(), m100.Port())
	}
	for m, alias := range map[*testenv.MySQL]string{m100: "zone1-0000000100", m101: "zone1-0000000101"} {
		want := map[string]string{"Alias": alias, "ClusterAlias": "commerce.0", "DataCenter": "zone1", "PromotionRule": "neutral"}
		if got := localMetadata(t, m); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("_vt.local_metadata on %s = %v, want %v", alias, got, want)
		}
	}
}

// TestTopologyOutageKeepsRolesAndServing: while etcd is down the tablets
// keep their roles and serve, replication goes on, and a tablet told to
// stop still stops in time; once etcd is back, a reparent is followed.
func TestTopologyOutageKeepsRolesAndServing(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts etcd, two mysqld and two tablet binaries")
	}
	w := newWorld(t)
	m100, m101 := w.mysql, testenv.StartMySQL(t)
	flags := []string{"--tablet_hostname=127.0.0.1", "--heartbeat_interval=1h", "--degraded_threshold=2h", "--unhealthy_threshold=3h"}
	t100 := startTablet(t, w.argsOn(t, m100, "zone1-100", "commerce", "0", flags...))
	t101 := startTablet(t, w.argsOn(t, m101, "zone1-101", "commerce", "0", flags...))
	t100.waitType(t, "REPLICA")
	t101.waitType(t, "REPLICA")
	w.reparent(t, "zone1-100")
	t100.waitType(t, "PRIMARY")
	waitMySQL(t, "zone1-101 replicating from zone1-100", func() bool { return replicatingFrom(t, m101, m100) })

	w.etcd.Stop() // about 5s: the embedded server drains its clients' watches
	app100 := openApp(t, m100)
	mustExec(t, app100, "CREATE DATABASE IF NOT EXISTS vt_commerce") // the primary creates it; this does not wait for that
	mustExec(t, app100, "CREATE TABLE vt_commerce.t (id INT PRIMARY KEY, written_on VARCHAR(32))")
	mustExec(t, app100, "INSERT INTO vt_commerce.t VALUES (1, 'zone1-100')")
	waitMySQL(t, "row 1 on zone1-101 during the outage", func() bool { return hasRow(t, m101, 1) })
	// Role checks (every second) and health checks (every 200ms) run
	// while etcd is down; health stays ok throughout.
	for _, p := range []*proc{t100, t101} {
		checks := healthChecks(t, p)
		p.waitFor(t, "through 8 health checks without etcd", func() bool {
			if code, body := p.get("/debug/health"); code != http.StatusOK {
				t.Fatalf("health during the etcd outage: %d %q", code, body)
			}
			return healthChecks(t, p) >= checks+8
		})
	}
	if readOnly(t, m100) || !readOnly(t, m101) {
		t.Errorf("roles changed during the outage: zone1-100 read_only %t, zone1-101 read_only %t", readOnly(t, m100), readOnly(t, m101))
	}

	// A tablet stopped while etcd is down does not wait for it: defaults
	// lameduck 50ms and grace 3s (nothing in flight, so no wait), plus 1s.
	sent := time.Now()
	if err := t101.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := t101.wait(t, 50*time.Millisecond+3*time.Second+time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	t.Logf("SIGTERM with etcd down: exited after %v", time.Since(sent).Round(time.Millisecond))

	// Back: the watch resumes and the next reparent is followed (zone1-101's
	// mysqld serves as the new primary's; its tablet is gone, which the
	// other tablet does not need).
	if err := w.etcd.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	w.reparent(t, "zone1-101")
	waitMySQL(t, "zone1-100 read-only and replicating from zone1-101 after the outage", func() bool {
		return readOnly(t, m100) && replicatingFrom(t, m100, m101)
	})
	t.Logf("reparent after the outage followed in %v", time.Since(start).Round(time.Millisecond))
	t100.waitType(t, "REPLICA")
}

// healthChecks reads the HealthChecks counter from /debug/vars.
func healthChecks(t *testing.T, p *proc) int64 {
	t.Helper()
	_, body := p.get("/debug/vars")
	var vars struct{ HealthChecks int64 }
	if err := json.Unmarshal([]byte(body), &vars); err != nil {
		t.Fatalf("/debug/vars: %v", err)
	}
	return vars.HealthChecks
}

// TestSIGTERMLameduckThenExit: on SIGTERM /debug/health, grpc.health.v1
// and StreamHealth say "not serving" at once, while queries through gRPC
// still succeed for the lameduck period; then new queries get vttablet's
// SHUTTING_DOWN answer (which gateways buffer on), a query already running
// finishes within the grace period and one still running after it is
// killed; the process clears its ports and exits 0 within lameduck +
// grace + 1s.
func TestSIGTERMLameduckThenExit(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts etcd, mysqld and the tablet binary")
	}
	const lameduck, grace = 2 * time.Second, time.Second
	w := newWorld(t)
	p := startTablet(t, w.args(t, "zone1-100", "commerce", "0", "--tablet_hostname=127.0.0.1",
		"--lameduck-period=2s", "--shutdown_grace_period=1"))
	p.waitType(t, "REPLICA")
	w.reparent(t, "zone1-100")
	p.waitType(t, "PRIMARY")
	p.waitServing(t)
	c := dial(t, w.grpcAddr(t, "zone1-100"))
	target := &querypb.Target{Keyspace: "commerce", Shard: "0", TabletType: topodatapb.TabletType_PRIMARY}
	waitHealth(t, c, "serving", func(m *querypb.StreamHealthResponse) bool { return m.GetServing() })

	// Two queries running when SIGTERM comes: one that ends inside the
	// grace period, one that would outlive it.
	type outcome struct {
		err  error
		done time.Time
	}
	finishing, outliving := make(chan outcome, 1), make(chan outcome, 1)
	ctx := context.Background()
	go func() {
		_, err := c.Execute(ctx, target, "SELECT SLEEP(2.5) AS finishing_marker", nil, 0, 0, nil)
		finishing <- outcome{err, time.Now()}
	}()
	go func() {
		_, err := c.Execute(ctx, target, "SELECT SLEEP(20) AS outliving_marker", nil, 0, 0, nil)
		outliving <- outcome{err, time.Now()}
	}()
	dba := openDB(t, w.mysql, mysqld.RoleDBA)
	waitMySQL(t, "both queries running", func() bool {
		var n int
		if err := dba.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE CONCAT('%', '_marker%') AND INFO LIKE 'SELECT SLEEP%'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 2
	})

	// StreamHealth, watched from before SIGTERM.
	healthFlip := make(chan time.Time, 1)
	hctx, stopHealth := context.WithCancel(ctx)
	defer stopHealth()
	go func() {
		_ = c.StreamHealth(hctx, func(m *querypb.StreamHealthResponse) error {
			if !m.GetServing() {
				healthFlip <- time.Now()
				return errors.New("flipped")
			}
			return nil
		})
	}()

	// Queries keep coming through gRPC all along.
	type attempt struct {
		at  time.Duration
		err error
	}
	var attempts []attempt
	queriesDone := make(chan struct{})
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(queriesDone)
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for {
			qctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := c.Execute(qctx, target, "SELECT 1", nil, 0, 0, nil)
			cancel()
			attempts = append(attempts, attempt{time.Since(sent), err})
			select {
			case <-p.done:
				return
			case <-tick.C:
			}
		}
	}()

	var flip, lastAnswer, grpcFlip time.Duration
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(lameduck + grace + time.Second)
	defer deadline.Stop()
	hc := healthpb.NewHealthClient(c.Conn())
poll:
	for {
		code, body := p.get("/debug/health")
		switch {
		case code == http.StatusOK && flip == 0:
			if time.Since(sent) > 500*time.Millisecond {
				t.Fatalf("health still %q %v after SIGTERM", body, time.Since(sent))
			}
		case code == http.StatusServiceUnavailable:
			if flip == 0 {
				flip = time.Since(sent)
			}
			if !strings.Contains(body, "SHUTTING_DOWN") {
				t.Errorf("lameduck health = %q, want SHUTTING_DOWN", body)
			}
			lastAnswer = time.Since(sent)
		case code == http.StatusOK:
			t.Errorf("health back to ok %v after SIGTERM", time.Since(sent))
		}
		if grpcFlip == 0 {
			hctx, cancel := context.WithTimeout(ctx, time.Second)
			resp, err := hc.Check(hctx, &healthpb.HealthCheckRequest{Service: "queryservice.Query"})
			cancel()
			if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
				grpcFlip = time.Since(sent)
			}
		}
		select {
		case <-p.done:
			break poll
		case <-deadline.C:
			t.Fatalf("still running %v after SIGTERM:\n%s", lameduck+grace+time.Second, p.stderr.String())
		case <-tick.C:
		}
	}
	exited := time.Since(sent)
	if code := p.wait(t, time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0:\n%s", code, p.stderr.String())
	}
	<-queriesDone
	t.Logf("SIGTERM: health not ok after %v (grpc.health.v1 %v), last answered %v, exited after %v (lameduck %v, grace %v)",
		flip.Round(time.Millisecond), grpcFlip.Round(time.Millisecond), lastAnswer.Round(time.Millisecond), exited.Round(time.Millisecond), lameduck, grace)
	if flip == 0 || flip > 500*time.Millisecond {
		t.Errorf("health turned not ok %v after SIGTERM, want at once", flip)
	}
	if grpcFlip == 0 || grpcFlip > 500*time.Millisecond {
		t.Errorf("grpc.health.v1 turned NOT_SERVING %v after SIGTERM, want at once", grpcFlip)
	}
	select {
	case at := <-healthFlip:
		if d := at.Sub(sent); d > 500*time.Millisecond {
			t.Errorf("StreamHealth reported not serving %v after SIGTERM, want at once", d)
		}
	default:
		t.Error("StreamHealth never reported not serving")
	}
	if lastAnswer < lameduck-200*time.Millisecond {
		t.Errorf("the tablet stopped answering %v after SIGTERM, before the lameduck period of %v was over", lastAnswer, lameduck)
	}
	if exited < lameduck || exited > lameduck+grace+time.Second {
		t.Errorf("exited %v after SIGTERM, want between %v and %v", exited, lameduck, lameduck+grace+time.Second)
	}

	// Queries: all answered during lameduck; the first refusal is
	// vttablet's SHUTTING_DOWN.
	var ok, refused int
	var firstRefusal *attempt
	for i, a := range attempts {
		switch {
		case a.err == nil:
			ok++
			if firstRefusal != nil {
				t.Errorf("query at %v succeeded after one was refused at %v", a.at, firstRefusal.at)
			}
		case firstRefusal == nil:
			firstRefusal = &attempts[i]
			refused++
		default:
			refused++
		}
	}
	if firstRefusal == nil || firstRefusal.at < lameduck-100*time.Millisecond {
		t.Errorf("queries during lameduck: %d answered, first refusal %+v; want all answered for %v", ok, firstRefusal, lameduck)
	} else if code(firstRefusal.err) != vtrpcpb.Code_CLUSTER_EVENT || !strings.Contains(firstRefusal.err.Error(), "operation not allowed in state SHUTTING_DOWN") {
		t.Errorf("first refused query at %v: %v, want CLUSTER_EVENT with vttablet's SHUTTING_DOWN text", firstRefusal.at, firstRefusal.err)
	}
	t.Logf("queries through gRPC after SIGTERM: %d answered, then %d refused from %v (%v)", ok, refused, firstRefusal.at.Round(time.Millisecond), firstRefusal.err)

	f := <-finishing
	if f.err != nil || f.done.Sub(sent) > lameduck+grace {
		t.Errorf("query running at SIGTERM that ends within the grace period: %v at %v, want success", f.err, f.done.Sub(sent))
	}
	o := <-outliving
	if d := o.done.Sub(sent); o.err == nil || d < lameduck+grace-100*time.Millisecond || d > lameduck+grace+time.Second {
		t.Errorf("query outliving the grace period: %v at %v, want killed at the end of the grace period (%v)", o.err, d, lameduck+grace)
	}
	t.Logf("running queries: the short one finished at %v, the long one ended at %v with %v",
		f.done.Sub(sent).Round(time.Millisecond), o.done.Sub(sent).Round(time.Millisecond), o.err)
	if ports := w.tablet(t, "zone1-100").GetPortMap(); len(ports) != 0 {
		t.Errorf("record ports after shutdown = %v, want none", ports)
	}
}

// waitMySQL polls cond until it holds, failing after 30s.
func waitMySQL(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("not %s after 30s", what)
		case <-tick.C:
		}
	}
}

func openDB(t *testing.T, m *testenv.MySQL, role mysqld.Role) *sql.DB {
	t.Helper()
	db, err := m.DB(role)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// oneShotDB opens a handle for a check or two; the caller closes it.
func oneShotDB(t *testing.T, m *testenv.MySQL, role mysqld.Role) *sql.DB {
	t.Helper()
	db, err := m.DB(role)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func openApp(t *testing.T, m *testenv.MySQL) *sql.DB { return openDB(t, m, mysqld.RoleApp) }

func mustExec(t *testing.T, db *sql.DB, stmt string) {
	t.Helper()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// readOnly reports @@global.read_only, read as the dba user.
func readOnly(t *testing.T, m *testenv.MySQL) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db := oneShotDB(t, m, mysqld.RoleDBA)
	defer db.Close()
	ro, err := mysqld.ReadOnly(ctx, db, m.Flavor())
	if err != nil {
		t.Fatal(err)
	}
	return ro
}

// replicatingFrom reports whether replica's both threads run, connected
// to primary's port.
func replicatingFrom(t *testing.T, replica, primary *testenv.MySQL) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db := oneShotDB(t, replica, mysqld.RoleDBA)
	defer db.Close()
	st, err := mysqld.ReadReplicationStatus(ctx, db, replica.Flavor())
	if errors.Is(err, mysqld.ErrReplicationNotConfigured) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	if st.LastSQLError != "" || st.LastIOError != "" {
		t.Logf("replica %d: last IO error %q, last SQL error %q", replica.Port(), st.LastIOError, st.LastSQLError)
	}
	return st.Running() && st.SourcePort == primary.Port()
}

func hasRow(t *testing.T, m *testenv.MySQL, id int) bool {
	t.Helper()
	db := oneShotDB(t, m, mysqld.RoleDBA)
	defer db.Close()
	var n int
	err := db.QueryRow("SELECT COUNT(*) FROM vt_commerce.t WHERE id = ?", id).Scan(&n)
	var me *mysql.MySQLError
	if errors.As(err, &me) && (me.Number == 1146 || me.Number == 1049) {
		return false // the table has not replicated yet
	}
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func isReadOnlyError(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1290
}

// localMetadata reads _vt.local_metadata as name -> value.
func localMetadata(t *testing.T, m *testenv.MySQL) map[string]string {
	t.Helper()
	db := oneShotDB(t, m, mysqld.RoleAdmin)
	defer db.Close()
	rows, err := db.Query(mysqld.LocalMetadataReadQuery)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var name, value, db string
		if err := rows.Scan(&name, &value, &db); err != nil {
			t.Fatal(err)
		}
		got[name] = value
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}
