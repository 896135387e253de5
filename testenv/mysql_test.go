package testenv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func openDB(t *testing.T, m *MySQL, role Role) *sql.DB {
	t.Helper()
	db, err := m.DB(role)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMySQLServesRolesReadOnly(t *testing.T) {
	m := StartMySQL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := openDB(t, m, RoleAdmin)

	var logBin, readOnly, autocommit int
	var sqlMode string
	var serverID uint32
	if err := admin.QueryRowContext(ctx, "SELECT @@log_bin, @@read_only, @@autocommit, @@sql_mode, @@server_id").
		Scan(&logBin, &readOnly, &autocommit, &sqlMode, &serverID); err != nil {
		t.Fatal(err)
	}
	if logBin != 1 || readOnly != 1 || autocommit != 1 || !strings.Contains(sqlMode, "STRICT_TRANS_TABLES") || serverID != m.ServerID() {
		t.Errorf("log_bin=%d read_only=%d autocommit=%d sql_mode=%q server_id=%d; want 1 1 1 STRICT_TRANS_TABLES %d",
			logBin, readOnly, autocommit, sqlMode, serverID, m.ServerID())
	}
	if m.Flavor().IsMariaDB() {
		var strict int
		if err := admin.QueryRowContext(ctx, "SELECT @@gtid_strict_mode").Scan(&strict); err != nil || strict != 1 {
			t.Errorf("gtid_strict_mode = %d (%v), want 1", strict, err)
		}
	}
	if _, err := admin.ExecContext(ctx, "CREATE TABLE _vt.probe (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}

	// Every serving role connects, and none of them can write while the
	// server is read-only.
	for _, r := range []Role{RoleApp, RoleAppDebug, RoleDBA, RoleFiltered} {
		t.Run(string(r), func(t *testing.T) {
			db := openDB(t, m, r)
			if err := db.PingContext(ctx); err != nil {
				t.Fatalf("connect as %s: %v", UserOf(r), err)
			}
			_, err := db.ExecContext(ctx, "INSERT INTO _vt.probe VALUES (1)")
			var me *mysql.MySQLError
			if !errors.As(err, &me) || (me.Number != 1290 && me.Number != 1142) {
				t.Errorf("insert as %s on a read-only server: %v, want error 1290 (read-only) or 1142 (denied)", UserOf(r), err)
			}
		})
	}
	t.Run("repl over tcp", func(t *testing.T) {
		db, err := sql.Open("mysql", m.TCPDSN(RoleRepl))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.PingContext(ctx); err != nil {
			t.Fatalf("connect as repl over TCP: %v", err)
		}
	})
	t.Run("app writes once writable", func(t *testing.T) {
		for _, stmt := range m.Flavor().SetReadOnly(false) {
			if _, err := admin.ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := openDB(t, m, RoleApp).ExecContext(ctx, "INSERT INTO _vt.probe VALUES (1)"); err != nil {
			t.Fatalf("insert as app on a writable server: %v", err)
		}
	})
}

func TestMySQLParallelServers(t *testing.T) {
	var mu sync.Mutex
	ports := map[int]bool{}
	ids := map[uint32]bool{}
	for i := range 3 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			m := StartMySQL(t)
			mu.Lock()
			if ports[m.Port()] || ids[m.ServerID()] {
				t.Errorf("port %d or server_id %d used twice", m.Port(), m.ServerID())
			}
			ports[m.Port()], ids[m.ServerID()] = true, true
			mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var port int
			if err := openDB(t, m, RoleApp).QueryRowContext(ctx, "SELECT @@port").Scan(&port); err != nil {
				t.Fatal(err)
			}
			if port != m.Port() {
				t.Errorf("@@port = %d, want %d", port, m.Port())
			}
		})
	}
}

func TestMySQLKillRestartKeepsCommittedData(t *testing.T) {
	m := StartMySQL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := openDB(t, m, RoleAdmin)
	for _, stmt := range []string{
		"CREATE DATABASE kr",
		"CREATE TABLE kr.t (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO kr.t VALUES (1, 'one'), (2, 'two')",
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	// An open, uncommitted transaction must be lost by the kill.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO kr.t VALUES (3, 'uncommitted')"); err != nil {
		t.Fatal(err)
	}

	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	if m.Running() {
		t.Fatal("server still running after Kill")
	}
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("ping succeeded with the server killed")
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	rows, err := db.QueryContext(ctx, "SELECT CONCAT(id, '=', v) FROM kr.t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "1=one,2=two" {
		t.Errorf("rows after kill and restart = %v, want [1=one 2=two]", got)
	}

	// A clean restart keeps data too, and the server stays read-only.
	if err := m.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	var n, ro int
	if err := db.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM kr.t), @@global.read_only").Scan(&n, &ro); err != nil {
		t.Fatal(err)
	}
	if n != 2 || ro != 1 {
		t.Errorf("after restart: %d rows, read_only=%d; want 2 rows, read_only=1", n, ro)
	}
}

func TestMySQLStartTwiceRefused(t *testing.T) {
	m := StartMySQL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Start(ctx); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Start: %v, want an 'already running' error", err)
	}
}

// TestServerKillRestart runs against whichever server StartServer gives:
// a private mysqld, or with TESTENV_MYSQL=docker a mysql:5.7 container.
func TestServerKillRestart(t *testing.T) {
	s := StartServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db, err := s.DB(RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{"CREATE DATABASE sk", "CREATE TABLE sk.t (id INT PRIMARY KEY)", "INSERT INTO sk.t VALUES (7)"} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var id, ro int
	if err := db.QueryRowContext(ctx, "SELECT (SELECT id FROM sk.t), @@global.read_only").Scan(&id, &ro); err != nil {
		t.Fatal(err)
	}
	if id != 7 || ro != 1 {
		t.Errorf("after kill and start: id=%d read_only=%d, want 7 and 1 (%s)", id, ro, s.Flavor().Name())
	}
}
