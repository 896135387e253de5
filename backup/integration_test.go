package backup_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tabletd/tablet/backup"
	"github.com/tabletd/tablet/backup/blobstore"
	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/testenv"
)

// These tests run the real tool (mariabackup here) against private
// servers, and store in a real S3 server (versitygw) and on disk. They
// skip under -short.

// tables are the tables the tests load and compare.
var tables = []string{"app.orders", "app.notes"}

// loadData creates the app schema on a writable server and fills it with
// about rows rows of ~150 bytes in an InnoDB table, plus an Aria table (a
// non-InnoDB engine, copied under the backup lock).
func loadData(t testing.TB, ctx context.Context, db *sql.DB, rows int) {
	t.Helper()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, stmt := range []string{
		"SET SESSION max_recursive_iterations = 100000000",
		"CREATE DATABASE IF NOT EXISTS app",
		"CREATE TABLE IF NOT EXISTS app.orders (id INT PRIMARY KEY AUTO_INCREMENT, customer VARCHAR(64), item VARCHAR(128), n BIGINT, KEY (customer)) ENGINE=InnoDB",
		"CREATE TABLE IF NOT EXISTS app.notes (id INT PRIMARY KEY, body TEXT) ENGINE=Aria",
		fmt.Sprintf("INSERT INTO app.orders (customer, item, n) WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < %d) "+
			"SELECT CONCAT('customer-', i %% 997), REPEAT(MD5(i), 3), i * 7 FROM s", rows),
		"INSERT INTO app.notes WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 500) SELECT i, REPEAT('note ', i % 50) FROM s",
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%.60s: %v", stmt, err)
		}
	}
}

// checksums returns CHECKSUM TABLE of the test tables.
func checksums(t testing.TB, ctx context.Context, db *sql.DB) map[string]int64 {
	t.Helper()
	rows, err := db.QueryContext(ctx, "CHECKSUM TABLE "+strings.Join(tables, ", "))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var sum sql.NullInt64
		if err := rows.Scan(&name, &sum); err != nil {
			t.Fatal(err)
		}
		if !sum.Valid {
			t.Fatalf("CHECKSUM TABLE %s: NULL (no such table)", name)
		}
		out[name] = sum.Int64
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func openDB(t testing.TB, m *testenv.MySQL, role testenv.Role) *sql.DB {
	t.Helper()
	db, err := m.DB(role)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// backupUser is a user with only the privileges the documentation asks of
// the backup tool's user on a MariaDB replica backed up with --slave-info
// --safe-slave-backup.
const (
	backupUser     = "vt_backup"
	backupPassword = "vt-backup-pw"
	backupGrants   = "RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, SLAVE MONITOR, REPLICATION SLAVE ADMIN"
)

// newManager builds a Manager that backs up server m (as the dba user,
// or backupUser when the Config names it) into the store at url, and
// restores into dataDir.
func newManager(t testing.TB, m *testenv.MySQL, url, dataDir string, change func(*backup.Config)) *backup.Manager {
	t.Helper()
	cfg := backup.DefaultConfig()
	cfg.StorageURL = url
	cfg.StripeBytes = 1 << 20
	cfg.BackupFlags = "--slave-info --safe-slave-backup"
	if change != nil {
		change(&cfg)
	}
	store, err := blobstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	conn := backup.NewToolConn(cfg, m.DBConfig(), m.DefaultsFile())
	if cfg.User == backupUser {
		conn.Password = backupPassword
	}
	mgr, err := backup.New(cfg, backup.Deps{
		Storage:  store,
		Flavor:   m.Flavor(),
		ToolConn: conn,
		DB:       openDB(t, m, testenv.RoleDBA),
		DataDir:  dataDir,
		Logger:   testLogger(t),
		Registry: debugvars.New(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return mgr
}

// testLogger logs through t, at info level (debug has every line of the
// tool's stderr).
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newServer is the backup.Server of a private mysqld that does not exist
// yet: its first Start opens one on dir (whose data/ a restore filled),
// with a fresh server_id, port and my.cnf.
type newServer struct {
	dir string
	m   *testenv.MySQL
}

func (s *newServer) Stop(ctx context.Context) error {
	if s.m == nil {
		return nil
	}
	return s.m.Stop(ctx)
}

func (s *newServer) Start(ctx context.Context) error {
	if s.m != nil {
		return s.m.Start(ctx)
	}
	m, err := testenv.OpenMySQL(ctx, testenv.MySQLConfig{Dir: s.dir})
	if err != nil {
		return err
	}
	s.m = m
	return nil
}

func restoreDir(t testing.TB) (*newServer, string) {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "bk-restore") // short: the socket lives here
	if err != nil {
		t.Fatal(err)
	}
	s := &newServer{dir: dir}
	t.Cleanup(func() {
		if s.m != nil {
			if t.Failed() {
				t.Logf("restored mysqld error log:\n%s", s.m.ErrorLogTail(30))
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s.m.Stop(ctx)
		}
		os.RemoveAll(dir)
	})
	return s, filepath.Join(dir, "data")
}

// replicateFrom is the Configure step of a restore: it sets the restored
// server's GTID position from the MANIFEST and replicates from primary.
func replicateFrom(primary *testenv.MySQL, srv *newServer) func(context.Context, *backup.Manifest) error {
	return func(ctx context.Context, man *backup.Manifest) error {
		db, err := srv.m.DB(testenv.RoleAdmin)
		if err != nil {
			return err
		}
		defer db.Close()
		stmts := append([]string{srv.m.Flavor().StopReplication(mysqld.AllThreads)},
			mysqld.RestorePositionStatements(srv.m.Flavor(), man.Position)...)
		for _, stmt := range stmts {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", stmt, err)
			}
		}
		return testenv.StartReplication(ctx, primary, srv.m)
	}
}

func TestMariaBackupReplicaToFileAndS3(t *testing.T) {
	primary := testenv.StartMySQL(t)
	replica := testenv.StartMySQL(t)
	s3 := testenv.StartS3(t)
	s3.SetEnv(t)
	testenv.Replicate(t, primary, replica)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pdb := openDB(t, primary, testenv.RoleAdmin)
	for _, stmt := range []string{
		fmt.Sprintf("CREATE USER %s@'localhost' IDENTIFIED BY '%s'", backupUser, backupPassword),
		fmt.Sprintf("GRANT %s ON *.* TO %s@'localhost'", backupGrants, backupUser),
	} {
		if _, err := pdb.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	loadData(t, ctx, pdb, 20000)
	testenv.WaitCaughtUp(t, primary, replica)
	var primaryPos string
	if err := pdb.QueryRowContext(ctx, primary.Flavor().PrimaryPositionQuery()).Scan(&primaryPos); err != nil {
		t.Fatal(err)
	}
	if has, err := backup.HasUserData(ctx, openDB(t, replica, testenv.RoleDBA)); err != nil || !has {
		t.Fatalf("HasUserData on the loaded replica = %v, %v", has, err)
	}

	stores := map[string]string{
		"file": "file://" + filepath.Join(t.TempDir(), "backups"),
		"s3":   s3.URL("tablets/"),
	}
	manifests := map[string]*backup.Manifest{}
	for _, name := range []string{"file", "s3"} {
		// The dba user backs up to file, a user with only the documented
		// privileges to S3.
		var user func(*backup.Config)
		if name == "s3" {
			user = func(c *backup.Config) { c.User = backupUser }
		}
		mgr := newManager(t, replica, stores[name], "", user)
		start := time.Now()
		man, err := mgr.Backup(ctx, backup.BackupRequest{Keyspace: "commerce", Shard: "0", TabletAlias: "zone1-0000000101", ShardMayBeServing: true})
		if err != nil {
			t.Fatalf("backup to %s: %v", name, err)
		}
		t.Logf("backup to %s: %s, %d MB stream in %d files of %d MB stored, %v, position %s",
			name, man.Name, man.RawBytes>>20, len(man.Files), man.StoredBytes>>20, time.Since(start).Round(time.Millisecond), man.Position)
		if man.Position != primaryPos {
			t.Errorf("%s: MANIFEST position %q, want the primary's %q", name, man.Position, primaryPos)
		}
		if !strings.Contains(man.ReplicaInfo, "gtid_slave_pos") || man.Tool != "mariabackup" || man.Flavor != "mariadb" {
			t.Errorf("%s: MANIFEST = %+v", name, man)
		}
		list, err := mgr.List(ctx, "commerce", "0")
		if err != nil || len(list) != 1 || list[0].Name != man.Name {
			t.Fatalf("%s: List = %+v, %v", name, list, err)
		}
		manifests[name] = man
	}
	// Objects in the real S3 server's bucket, under the prefix.
	if _, err := os.Stat(filepath.Join(s3.Dir(), s3.Bucket(), "tablets", "commerce", "0", manifests["s3"].Name, backup.ManifestFile)); err != nil {
		t.Errorf("no MANIFEST in the S3 bucket: %v", err)
	}

	// The primary moves on after the backup: a restored replica catches up.
	for _, stmt := range []string{
		"INSERT INTO app.orders (customer, item, n) VALUES ('late', 'after the backup', 1), ('later', 'still after', 2)",
		"UPDATE app.orders SET n = n + 1 WHERE id % 100 = 0",
		"DELETE FROM app.notes WHERE id > 450",
	} {
		if _, err := pdb.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}

	for _, name := range []string{"s3", "file"} {
		t.Run("restore from "+name, func(t *testing.T) {
			srv, dataDir := restoreDir(t)
			mgr := newManager(t, replica, stores[name], dataDir, nil)
			d := mgr.Plan(ctx, backup.PlanRequest{Keyspace: "commerce", Shard: "0"})
			if d.Action != backup.ActionRestore || d.Backup != manifests[name].Name {
				t.Fatalf("Plan = %+v", d)
			}
			start := time.Now()
			res, err := mgr.Restore(ctx, backup.RestoreRequest{Keyspace: "commerce", Shard: "0", Name: d.Backup,
				Server: srv, Configure: replicateFrom(primary, srv)})
			if err != nil {
				t.Fatalf("Restore: %v", err)
			}
			t.Logf("restore from %s: %v", name, time.Since(start).Round(time.Millisecond))
			if res.Position != primaryPos {
				t.Errorf("restored position %q, want %q", res.Position, primaryPos)
			}
			waitCaughtUp(t, primary, srv.m)
			want, got := checksums(t, ctx, pdb), checksums(t, ctx, openDB(t, srv.m, testenv.RoleAdmin))
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("restored checksums %v, primary's %v", got, want)
			}
			// Started once, with data: the next start does not restore.
			if d := mgr.Plan(ctx, backup.PlanRequest{Keyspace: "commerce", Shard: "0"}); d.Action != backup.ActionNoRestore {
				t.Errorf("Plan after the restore = %+v", d)
			}
		})
	}

	t.Run("corrupt byte", func(t *testing.T) {
		man := manifests["file"]
		path := filepath.Join(strings.TrimPrefix(stores["file"], "file://"), "commerce", "0", man.Name, man.Files[len(man.Files)/2].Name)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/3] ^= 0x20
		if err := os.WriteFile(path, b, 0o640); err != nil {
			t.Fatal(err)
		}
		srv, dataDir := restoreDir(t)
		mgr := newManager(t, replica, stores["file"], dataDir, nil)
		_, err = mgr.Restore(ctx, backup.RestoreRequest{Keyspace: "commerce", Shard: "0", Server: srv})
		var ce *backup.ChecksumError
		if !errors.As(err, &ce) || !strings.HasSuffix(ce.Key, man.Files[len(man.Files)/2].Name) {
			t.Fatalf("Restore of a corrupted backup: %v, want a *ChecksumError naming %s", err, man.Files[len(man.Files)/2].Name)
		}
		t.Logf("as expected: %v", err)
		if srv.m != nil {
			t.Error("a server was started on a corrupted restore")
		}
		if d := mgr.Plan(ctx, backup.PlanRequest{Keyspace: "commerce", Shard: "0"}); d.Action != backup.ActionRestore ||
			!strings.Contains(d.Reason, "interrupted") {
			t.Errorf("Plan after a failed restore = %+v, want to restore again", d)
		}
	})
}

// waitCaughtUp is testenv.WaitCaughtUp, saying why replication is stuck
// when it is.
func waitCaughtUp(t testing.TB, primary, replica *testenv.MySQL) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := testenv.CatchUp(ctx, primary, replica); err != nil {
		db := openDB(t, replica, testenv.RoleAdmin)
		st, serr := mysqld.ReadReplicationStatus(context.Background(), db, replica.Flavor())
		t.Fatalf("%v; replication status: %+v (%v)", err, st, serr)
	}
}

// storeHook is a backup.Storage that runs a function before each Put.
type storeHook struct {
	backup.Storage
	beforePut func(key string)
}

func (s storeHook) Put(ctx context.Context, key string, data []byte) error {
	s.beforePut(key)
	return s.Storage.Put(ctx, key, data)
}

// The object store goes away mid-backup: the backup fails saying so, and
// leaves no MANIFEST and nothing listed.
func TestMariaBackupStoreStopsMidBackup(t *testing.T) {
	m := testenv.StartMySQL(t)
	s3 := testenv.StartS3(t)
	s3.SetEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	db := openDB(t, m, testenv.RoleAdmin)
	for _, stmt := range m.Flavor().SetReadOnly(false) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	loadData(t, ctx, db, 5000)

	store, err := blobstore.Open(ctx, s3.URL(""))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var puts atomic.Int32
	hooked := storeHook{Storage: store, beforePut: func(key string) {
		if puts.Add(1) == 4 {
			s3.Kill()
		}
	}}
	cfg := backup.DefaultConfig()
	cfg.StorageURL = s3.URL("")
	cfg.StripeBytes = 1 << 20
	cfg.Concurrency = 2
	cfg.StorageAttempts = 2
	cfg.RetryDelay = 10 * time.Millisecond
	mgr, err := backup.New(cfg, backup.Deps{
		Storage:  hooked,
		Flavor:   m.Flavor(),
		ToolConn: backup.NewToolConn(cfg, m.DBConfig(), m.DefaultsFile()),
		DB:       openDB(t, m, testenv.RoleDBA),
		Logger:   testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = mgr.Backup(ctx, backup.BackupRequest{Keyspace: "commerce", Shard: "0", TabletAlias: "zone1-0000000100"})
	if err == nil {
		t.Fatal("Backup succeeded with the store stopped")
	}
	t.Logf("failed in %v, as expected: %v", time.Since(start).Round(time.Millisecond), err)
	for _, want := range []string{"backup.xbstream.", "connection refused", "commerce/0/"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q", want)
		}
	}
	if err := s3.Start(ctx); err != nil {
		t.Fatal(err)
	}
	list, err := mgr.List(ctx, "commerce", "0")
	if err != nil || len(list) != 0 {
		t.Errorf("List after the failed backup = %v, %v", list, err)
	}
	filepath.WalkDir(s3.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == backup.ManifestFile {
			t.Errorf("a MANIFEST was stored: %s", path)
		}
		return nil
	})
}

// An empty database: the initial backup of a shard is taken only when no
// tablet may serve, and a tablet restores it like any other.
func TestMariaBackupEmptyDatabase(t *testing.T) {
	m := testenv.StartMySQL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if has, err := backup.HasUserData(ctx, openDB(t, m, testenv.RoleDBA)); err != nil || has {
		t.Fatalf("HasUserData on a fresh server = %v, %v", has, err)
	}
	url := "file://" + filepath.Join(t.TempDir(), "backups")
	srv, dataDir := restoreDir(t)
	mgr := newManager(t, m, url, dataDir, func(c *backup.Config) { c.BackupFlags = "" })
	if d := mgr.Plan(ctx, backup.PlanRequest{Keyspace: "commerce", Shard: "0"}); d.Action != backup.ActionStartEmpty {
		t.Fatalf("Plan with no backup = %+v", d)
	}
	req := backup.BackupRequest{Keyspace: "commerce", Shard: "0", TabletAlias: "zone1-0000000100", ShardMayBeServing: true}
	if _, err := mgr.Backup(ctx, req); !errors.Is(err, backup.ErrEmptyDatabase) {
		t.Fatalf("Backup of an empty database beside a serving tablet: %v", err)
	}
	req.ShardMayBeServing = false
	man, err := mgr.Backup(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgr.Restore(ctx, backup.RestoreRequest{Keyspace: "commerce", Shard: "0", Server: srv}); err != nil {
		t.Fatal(err)
	}
	var pos string
	if err := openDB(t, srv.m, testenv.RoleAdmin).QueryRowContext(ctx, "SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	t.Logf("initial backup %s at position %q restored; the restored server's binlog position is %q", man.Name, man.Position, pos)
}
