package mysqld_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/testenv"
)

func openDB(t *testing.T, m *testenv.MySQL, role mysqld.Role) *sql.DB {
	t.Helper()
	db, err := m.DB(role)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestReplicationOnServer reads replication status and heartbeats from a
// real primary and replica, as the dba role the tablet uses.
func TestReplicationOnServer(t *testing.T) {
	primary := testenv.StartMySQL(t)
	replica := testenv.StartMySQL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pdba := openDB(t, primary, mysqld.RoleDBA)
	rdba := openDB(t, replica, mysqld.RoleDBA)
	f := replica.Flavor()

	if _, err := mysqld.ReadReplicationStatus(ctx, rdba, f); !errors.Is(err, mysqld.ErrReplicationNotConfigured) {
		t.Fatalf("status of a fresh server: %v, want ErrReplicationNotConfigured", err)
	}
	if _, err := mysqld.ReadHeartbeat(ctx, rdba); !errors.Is(err, mysqld.ErrNoHeartbeat) {
		t.Fatalf("heartbeat on a fresh server: %v, want ErrNoHeartbeat", err)
	}

	testenv.Replicate(t, primary, replica)
	st, err := mysqld.ReadReplicationStatus(ctx, rdba, f)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Running() || st.SourcePort != primary.Port() || st.SourceHost != primary.Host() ||
		st.SourceUser != testenv.UserOf(mysqld.RoleRepl) || !st.UsingGTID || st.SecondsBehind == nil {
		t.Errorf("status of a running replica = %+v", st)
	}

	// Heartbeats written as dba on the primary replicate.
	var serverID uint32
	if err := pdba.QueryRowContext(ctx, mysqld.ServerIDQuery).Scan(&serverID); err != nil {
		t.Fatal(err)
	}
	for _, s := range mysqld.HeartbeatTableDDL() {
		if _, err := pdba.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	ts := time.Unix(0, time.Now().Add(-5*time.Second).UnixNano())
	if _, err := pdba.ExecContext(ctx, mysqld.HeartbeatWrite(serverID, ts)); err != nil {
		t.Fatal(err)
	}
	testenv.WaitCaughtUp(t, primary, replica)
	got, err := mysqld.ReadHeartbeat(ctx, rdba)
	if err != nil || !got.Equal(ts) {
		t.Errorf("replica heartbeat = %v, %v; want %v", got, err, ts)
	}

	// Stopping the SQL thread shows, with either statement spelling.
	admin := openDB(t, replica, mysqld.RoleAdmin)
	if _, err := admin.ExecContext(ctx, f.StopReplication(mysqld.SQLThread)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{f.ReplicationStatusQuery(), "SHOW REPLICA STATUS"} {
		st, err := mysqld.ReadReplicationStatus(ctx, rdba, staticQuery{f, q})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if st.SQLRunning || st.IOState != mysqld.IORunning || st.SecondsBehind != nil {
			t.Errorf("%s with the SQL thread stopped: SQL running %t, IO %s, behind %v", q, st.SQLRunning, st.IOState, st.SecondsBehind)
		}
	}
	if _, err := admin.ExecContext(ctx, f.StopReplication(mysqld.AllThreads)); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{f.SetReplicationDelay(2 * time.Second), f.StartReplication(mysqld.AllThreads)} {
		if _, err := admin.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := testenv.WaitReplicationRunning(ctx, replica); err != nil {
		t.Fatal(err)
	}
	if st, err = mysqld.ReadReplicationStatus(ctx, rdba, f); err != nil || st.SQLDelay != 2*time.Second {
		t.Errorf("SQL delay = %v, %v; want 2s", st.SQLDelay, err)
	}

	for _, s := range f.ResetReplication() {
		if _, err := admin.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if _, err := mysqld.ReadReplicationStatus(ctx, rdba, f); !errors.Is(err, mysqld.ErrReplicationNotConfigured) {
		t.Errorf("status after reset: %v, want ErrReplicationNotConfigured", err)
	}
}

// staticQuery is a flavor whose replication status statement is q.
type staticQuery struct {
	mysqld.Flavor
	q string
}

func (s staticQuery) ReplicationStatusQuery() string { return s.q }
