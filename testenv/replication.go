package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/mysqld"
)

// replicationTimeout bounds each replication helper.
const replicationTimeout = 30 * time.Second

// Replicate makes primary writable and replica a read-only replica of it,
// positioned by GTID (MASTER_USE_GTID=slave_pos on MariaDB,
// SOURCE_AUTO_POSITION on MySQL) over TCP as the repl user, and returns once
// both replication threads run. Setup runs as the admin role, which never
// writes data on the replica. It fails t on any error.
func Replicate(t testing.TB, primary, replica *MySQL) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), replicationTimeout)
	defer cancel()
	if err := StartReplication(ctx, primary, replica); err != nil {
		t.Fatal(err)
	}
}

// WaitCaughtUp waits until replica has applied everything primary had
// written when it was called (MASTER_GTID_WAIT on MariaDB,
// WAIT_FOR_EXECUTED_GTID_SET on MySQL). It fails t on error or after 30s.
func WaitCaughtUp(t testing.TB, primary, replica *MySQL) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), replicationTimeout)
	defer cancel()
	if err := CatchUp(ctx, primary, replica); err != nil {
		t.Fatal(err)
	}
}

// ReplicaSource is how replica reaches primary: over TCP on loopback, as
// the repl user, retrying every second, with a one-second source heartbeat
// so a dead primary shows quickly.
func ReplicaSource(primary *MySQL) mysqld.ReplicationSource {
	return mysqld.ReplicationSource{
		Host:            primary.Host(),
		Port:            primary.Port(),
		User:            UserOf(RoleRepl),
		Password:        PasswordOf(RoleRepl),
		ConnectRetry:    time.Second,
		HeartbeatPeriod: time.Second,
	}
}

// StartReplication is Replicate for callers without a testing.TB, such as
// the sandbox.
func StartReplication(ctx context.Context, primary, replica *MySQL) error {
	if err := execAll(ctx, primary, primary.Flavor().SetReadOnly(false)); err != nil {
		return fmt.Errorf("make primary %d writable: %w", primary.Port(), err)
	}
	f := replica.Flavor()
	stmts := append([]string{}, f.SetReadOnly(true)...)
	stmts = append(stmts, f.ResetReplication()...)
	stmts = append(stmts, f.SetReplicationSource(ReplicaSource(primary)), f.StartReplication(mysqld.AllThreads))
	if err := execAll(ctx, replica, stmts); err != nil {
		return fmt.Errorf("set up replica %d of %d: %w", replica.Port(), primary.Port(), err)
	}
	if err := WaitReplicationRunning(ctx, replica); err != nil {
		return fmt.Errorf("replica %d of %d: %w", replica.Port(), primary.Port(), err)
	}
	return nil
}

// WaitReplicationRunning polls replica until both replication threads run
// and the IO thread is connected. It gives up when a thread stops with an
// error, or when ctx ends.
func WaitReplicationRunning(ctx context.Context, replica *MySQL) error {
	db, err := replica.DB(RoleAdmin)
	if err != nil {
		return err
	}
	defer db.Close()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := mysqld.ReadReplicationStatus(ctx, db, replica.Flavor())
		switch {
		case err != nil:
		case st.Running():
			return nil
		case !st.SQLRunning && st.LastSQLError != "":
			return fmt.Errorf("replication SQL thread stopped: %s", st.LastSQLError)
		default:
			err = fmt.Errorf("IO thread %s (last IO error %q), SQL thread running %t", st.IOState, st.LastIOError, st.SQLRunning)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for replication to run: %w (last: %v)", context.Cause(ctx), err)
		case <-tick.C:
		}
	}
}

// CatchUp is WaitCaughtUp for callers without a testing.TB: it waits until
// replica has applied primary's current GTID position, or ctx ends.
func CatchUp(ctx context.Context, primary, replica *MySQL) error {
	pdb, err := primary.DB(RoleAdmin)
	if err != nil {
		return err
	}
	defer pdb.Close()
	var pos string
	if err := pdb.QueryRowContext(ctx, primary.Flavor().PrimaryPositionQuery()).Scan(&pos); err != nil {
		return fmt.Errorf("read primary %d position: %w", primary.Port(), err)
	}
	rdb, err := replica.DB(RoleAdmin)
	if err != nil {
		return err
	}
	defer rdb.Close()
	timeout := replicationTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	var res sql.NullInt64
	q := replica.Flavor().WaitForPositionQuery(pos, timeout)
	if err := rdb.QueryRowContext(ctx, q).Scan(&res); err != nil {
		return fmt.Errorf("replica %d wait for position %q: %w", replica.Port(), pos, err)
	}
	if !res.Valid || res.Int64 != 0 {
		return fmt.Errorf("replica %d did not reach primary %d position %q in %s", replica.Port(), primary.Port(), pos, timeout)
	}
	return nil
}

// execAll runs stmts in order as the admin role.
func execAll(ctx context.Context, m *MySQL, stmts []string) error {
	db, err := m.DB(RoleAdmin)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", redactPassword(s), err)
		}
	}
	return nil
}

// redactPassword hides a CHANGE MASTER/REPLICATION SOURCE password (and,
// through redact, an IDENTIFIED BY one) in a statement for an error message.
func redactPassword(stmt string) string {
	if i := strings.Index(stmt, "_PASSWORD"); i >= 0 {
		return stmt[:i] + "_PASSWORD = <redacted> ..."
	}
	return redact(stmt)
}
