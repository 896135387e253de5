package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	"github.com/tabletd/tablet/backup"
	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/proto/logutilpb"
	"github.com/tabletd/tablet/proto/tabletmanagerdatapb"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/proto/vtrpcpb"
	"github.com/tabletd/tablet/testenv"
	"github.com/tabletd/tablet/topo"
)

// backupRows is the primary's table size the acceptance asks for.
const backupRows = 200_000

// backupTables are the tables whose checksums a restored tablet must share
// with the primary.
var backupTables = []string{"vt_commerce.orders", "vt_commerce.notes"}

// TestBackupAndRestoreThroughTheBinary is the backup issue's acceptance,
// through tablet binaries over real servers (private mysqld, etcd, a
// versitygw S3 server and file://):
//
//  1. a primary with 200k rows and writes going on; a replica's tablet
//     backs up to file:// and to S3 (the gRPC Backup streams progress; a
//     second backup at the same time is refused; the CLI takes another,
//     and retention prunes the first); each MANIFEST holds the GTID
//     position;
//  2. a new tablet on an empty datadir with --restore_from_backup restores
//     from S3 (its record says RESTORE meanwhile), catches up with the
//     primary and serves, with the primary's table checksums;
//  3. the S3 server killed mid-backup: a clear error, nothing listed, no
//     MANIFEST;
//  4. one byte of a stored file corrupted: a new tablet refuses to restore
//     with a checksum error naming the file, does not serve, and says why
//     on /debug/health.
func TestBackupAndRestoreThroughTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts etcd, four mysqld, an S3 server and tablet binaries")
	}
	w := newWorld(t)
	s3 := testenv.StartS3(t)
	s3.SetEnv(t) // the tablets inherit the credentials
	m100, m101 := w.mysql, testenv.StartMySQL(t)
	fileDir := filepath.Join(t.TempDir(), "backups")
	fileURL, s3URL := "file://"+fileDir, s3.URL("tablets/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	common := []string{"--tablet_hostname=127.0.0.1", "--heartbeat_interval=1h", "--degraded_threshold=2h", "--unhealthy_threshold=3h",
		"--backup-progress-interval=100ms", "--backup-stripe-bytes=1048576", "--backup-storage-attempts=2", "--backup-retry-delay=10ms"}
	replica := append(append([]string{}, common...), "--xtrabackup_backup_flags=--slave-info --safe-slave-backup", "--backup_retention_count=1")
	with := func(base []string, extra ...string) []string { return append(append([]string{}, base...), extra...) }
	t100 := startTablet(t, w.argsOn(t, m100, "zone1-100", "commerce", "0", common...))
	t101 := startTablet(t, w.argsOn(t, m101, "zone1-101", "commerce", "0", with(replica, "--backup_storage_url="+fileURL)...))
	t100.waitType(t, "REPLICA")
	t101.waitType(t, "REPLICA")
	w.reparent(t, "zone1-100")
	t100.waitType(t, "PRIMARY")
	t100.waitServing(t)
	t101.waitServing(t)

	pdb := openDB(t, m100, mysqld.RoleAdmin)
	start := time.Now()
	loadBackupData(t, ctx, pdb, backupRows)
	t.Logf("loaded %d rows on the primary in %v", backupRows, time.Since(start).Round(time.Millisecond))
	if err := testenv.CatchUp(ctx, m100, m101); err != nil {
		t.Fatal(err)
	}
	loaded := readPosition(t, ctx, pdb, m100)
	writer := startWriter(t, pdb)

	// 1a. file://, through gRPC: progress streams; a second backup is
	// refused while the first runs.
	c101 := dial(t, w.grpcAddr(t, "zone1-101"))
	var mu sync.Mutex
	var events []string
	first := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	start = time.Now()
	go func() {
		done <- c101.Backup(ctx, &tabletmanagerdatapb.BackupRequest{}, func(e *logutilpb.Event) {
			mu.Lock()
			events = append(events, e.GetValue())
			mu.Unlock()
			once.Do(func() { close(first) })
		})
	}()
	select {
	case <-first:
	case err := <-done:
		t.Fatalf("backup ended before its first progress event: %v", err)
	case <-ctx.Done():
		t.Fatal("no progress event from the backup")
	}
	err := c101.Backup(ctx, &tabletmanagerdatapb.BackupRequest{}, nil)
	if code(err) != vtrpcpb.Code_FAILED_PRECONDITION || !strings.Contains(err.Error(), "another backup or restore is running") {
		t.Errorf("second backup while one runs: %v (code %v), want FAILED_PRECONDITION saying another backup runs", err, code(err))
	} else {
		t.Logf("second backup refused, as expected: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("backup to file: %v\n%s", err, t101.stderr.String())
	}
	mu.Lock()
	t.Logf("backup to file took %v, %d progress events; last: %s", time.Since(start).Round(time.Millisecond), len(events), events[len(events)-1])
	mu.Unlock()
	list, err := c101.ListBackups(ctx, 0)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListBackups after the first backup = %v, %v", list, err)
	}
	firstName := list[0].GetName()
	checkManifest(t, filepath.Join(fileDir, "commerce", "0", firstName, backup.ManifestFile), m100, loaded)

	// 1b. The CLI takes another; retention (1) prunes the first. Backup
	// names carry their start time to the second: wait for the next one.
	if at, _, ok := backup.ParseName(firstName); ok {
		<-time.After(time.Until(at.Add(time.Second)))
	}
	var out, errb bytes.Buffer
	if rc := run(ctx, []string{"backup", "--server", w.grpcAddr(t, "zone1-101")}, &out, &errb); rc != 0 || !strings.Contains(out.String(), "backup complete") {
		t.Fatalf("tablet backup: exit %d\n%s%s", rc, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "pruned 1 old backups") {
		t.Errorf("the CLI's progress does not report the prune:\n%s", out.String())
	}
	list, err = c101.ListBackups(ctx, 0)
	if err != nil || len(list) != 1 || list[0].GetName() == firstName {
		t.Fatalf("ListBackups after the second backup with --backup_retention_count=1 = %v, %v", list, err)
	}
	fileBackup := list[0].GetName()
	if _, err := os.Stat(filepath.Join(fileDir, "commerce", "0", firstName)); !os.IsNotExist(err) {
		t.Errorf("the pruned backup %s is still stored: %v", firstName, err)
	}
	out.Reset()
	if rc := run(ctx, []string{"backups", "--server", w.grpcAddr(t, "zone1-101")}, &out, &errb); rc != 0 || !strings.Contains(out.String(), fileBackup) {
		t.Errorf("tablet backups: exit %d\n%s%s", rc, out.String(), errb.String())
	}

	// The same tablet, now backing up to S3.
	stopTablet(t, t101)
	t101 = startTablet(t, w.argsOn(t, m101, "zone1-101", "commerce", "0", with(replica, "--backup_storage_url="+s3URL)...))
	t101.waitServing(t)
	c101 = dial(t, w.grpcAddr(t, "zone1-101"))

	// 3. The S3 server dies mid-backup.
	files := regexp.MustCompile(`stored in (\d+) files`)
	killed := false
	start = time.Now()
	err = c101.Backup(ctx, &tabletmanagerdatapb.BackupRequest{}, func(e *logutilpb.Event) {
		if m := files.FindStringSubmatch(e.GetValue()); !killed && m != nil {
			if n, _ := strconv.Atoi(m[1]); n >= 2 {
				s3.Kill()
				killed = true
			}
		}
	})
	if !killed {
		t.Fatalf("the backup ended (%v) before two files were stored", err)
	}
	if err == nil {
		t.Fatal("the backup succeeded with the S3 server killed")
	}
	t.Logf("backup with the S3 server killed failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	for _, want := range []string{"backup.xbstream.", "commerce/0/", "connection refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q", want)
		}
	}
	if err := s3.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if list, err := c101.ListBackups(ctx, 0); err != nil || len(list) != 0 {
		t.Errorf("ListBackups after the failed backup = %v, %v; want none", list, err)
	}
	filepath.WalkDir(s3.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == backup.ManifestFile {
			t.Errorf("the failed backup left a MANIFEST: %s", path)
		}
		return nil
	})

	// 1c. S3, with writes still going on.
	start = time.Now()
	if err := c101.Backup(ctx, &tabletmanagerdatapb.BackupRequest{}, nil); err != nil {
		t.Fatalf("backup to S3: %v", err)
	}
	list, err = c101.ListBackups(ctx, 0)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListBackups after the S3 backup = %v, %v", list, err)
	}
	man := checkManifest(t, filepath.Join(s3.Dir(), s3.Bucket(), "tablets", "commerce", "0", list[0].GetName(), backup.ManifestFile), m100, loaded)
	t.Logf("backup to S3 took %v: %d bytes of stream stored as %d bytes in %d files, position %s",
		time.Since(start).Round(time.Millisecond), man.RawBytes, man.StoredBytes, len(man.Files), man.Position)
	written := writer.stop()
	t.Logf("%d rows written on the primary while the backups ran", written)

	// 2. A new tablet on an empty datadir restores from S3, catches up and
	// serves.
	m102 := emptyMySQL(t, ctx)
	types := watchTypes(t, w, "zone1-102")
	start = time.Now()
	t102 := startTablet(t, w.argsOn(t, m102, "zone1-102", "commerce", "0", with(common, restoreFlags(m102, s3URL)...)...))
	t102.waitServing(t)
	t.Logf("new tablet restored and serving %v after it started", time.Since(start).Round(time.Millisecond))
	if err := testenv.CatchUp(ctx, m100, m102); err != nil {
		t.Fatal(err)
	}
	if !replicatingFrom(t, m102, m100) {
		t.Error("the restored server does not replicate from the primary")
	}
	want, got := tableChecksums(t, ctx, pdb), tableChecksums(t, ctx, openDB(t, m102, mysqld.RoleAdmin))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("restored checksums %v, primary's %v", got, want)
	} else {
		t.Logf("checksums equal the primary's: %v", got)
	}
	if seen := types.stop(); !strings.Contains(seen, "RESTORE REPLICA") {
		t.Errorf("record types of the restoring tablet: %s; want RESTORE, then REPLICA", seen)
	}
	for _, want := range []string{`"restoring from backup"`, `"the restored server caught up with the primary"`} {
		if !strings.Contains(t102.stderr.String(), want) {
			t.Errorf("the restoring tablet did not log %s", want)
		}
	}

	// 4. One byte of a stored file corrupted: no restore, no serving.
	dir := filepath.Join(fileDir, "commerce", "0", fileBackup)
	fileMan := readManifest(t, filepath.Join(dir, backup.ManifestFile))
	victim := fileMan.Files[len(fileMan.Files)/2].Name
	b, err := os.ReadFile(filepath.Join(dir, victim))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(filepath.Join(dir, victim), b, 0o640); err != nil {
		t.Fatal(err)
	}
	m103 := emptyMySQL(t, ctx)
	t103 := startTablet(t, w.argsOn(t, m103, "zone1-103", "commerce", "0", with(common, restoreFlags(m103, fileURL)...)...))
	var body string
	t103.waitFor(t, "reporting the failed restore on /debug/health", func() bool {
		var code int
		code, body = t103.get("/debug/health")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "RESTORE_FAILED")
	})
	t.Logf("/debug/health of the tablet with the corrupted backup: %s", strings.TrimSpace(body))
	if !strings.Contains(body, "checksum mismatch in commerce/0/"+fileBackup+"/"+victim) {
		t.Errorf("/debug/health does not name the corrupted file %s", victim)
	}
	if _, status := t103.get("/debug/status"); !strings.Contains(status, "RESTORE_FAILED") {
		t.Error("/debug/status does not show the failed restore")
	}
	if typ := w.tablet(t, "zone1-103").GetType(); typ != topodatapb.TabletType_RESTORE {
		t.Errorf("record type after the failed restore %v, want RESTORE", typ)
	}
	if _, err := os.Stat(filepath.Join(m103.DataDir(), backup.MarkerFile)); err != nil {
		t.Errorf("the restore marker is not kept as evidence: %v", err)
	}
	if !strings.Contains(t103.stderr.String(), `"restore from backup failed`) {
		t.Error("the failed restore is not in the log")
	}
}

// loadBackupData creates vt_commerce.orders with rows rows of about 150
// bytes (one statement: a recursive CTE feeds one INSERT) and a small
// Aria table, a non-InnoDB engine that the backup copies under its lock.
func loadBackupData(t *testing.T, ctx context.Context, db *sql.DB, rows int) {
	t.Helper()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, stmt := range []string{
		"SET SESSION max_recursive_iterations = 100000000",
		"CREATE DATABASE IF NOT EXISTS vt_commerce",
		"CREATE TABLE vt_commerce.orders (id INT PRIMARY KEY AUTO_INCREMENT, customer VARCHAR(64), item VARCHAR(128), n BIGINT, KEY (customer)) ENGINE=InnoDB",
		"CREATE TABLE vt_commerce.notes (id INT PRIMARY KEY, body TEXT) ENGINE=Aria",
		fmt.Sprintf("INSERT INTO vt_commerce.orders (customer, item, n) WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < %d) "+
			"SELECT CONCAT('customer-', i %% 997), REPEAT(MD5(i), 3), i * 7 FROM s", rows),
		"INSERT INTO vt_commerce.notes WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 500) SELECT i, REPEAT('note ', i % 50) FROM s",
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%.60s: %v", stmt, err)
		}
	}
}

// writer inserts rows into vt_commerce.orders on the primary, one every
// few milliseconds, until stopped.
type writer struct {
	quit chan struct{}
	done chan int // the rows written, once
	n    int
}

func startWriter(t *testing.T, db *sql.DB) *writer {
	w := &writer{quit: make(chan struct{}), done: make(chan int, 1)}
	quit := w.quit
	// Each insert ends when the writer is stopped, so that a stuck
	// primary cannot hold up the test's cleanup.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-quit
		cancel()
	}()
	go func() {
		n := 0
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				w.done <- n
				return
			case <-tick.C:
			}
			if _, err := db.ExecContext(ctx, "INSERT INTO vt_commerce.orders (customer, item, n) VALUES ('live', 'written during a backup', ?)", n); err == nil {
				n++
			}
		}
	}()
	t.Cleanup(func() { w.stop() })
	return w
}

// stop stops the writer and returns how many rows it wrote.
func (w *writer) stop() int {
	if w.quit != nil {
		close(w.quit)
		w.quit = nil
		w.n = <-w.done
	}
	return w.n
}

// readManifest reads and decodes a stored MANIFEST.
func readManifest(t *testing.T, path string) *backup.Manifest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read MANIFEST: %v", err)
	}
	man, err := backup.DecodeManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	return man
}

// readPosition is the primary's GTID position (MariaDB: one
// domain-server-sequence), as its sequence number.
func readPosition(t *testing.T, ctx context.Context, db *sql.DB, primary *testenv.MySQL) int {
	t.Helper()
	var pos string
	if err := db.QueryRowContext(ctx, primary.Flavor().PrimaryPositionQuery()).Scan(&pos); err != nil {
		t.Fatal(err)
	}
	return sequence(t, pos)
}

// sequence is the sequence number of a one-GTID MariaDB position.
func sequence(t *testing.T, pos string) int {
	t.Helper()
	parts := strings.Split(pos, "-")
	n, err := strconv.Atoi(parts[len(parts)-1])
	if len(parts) != 3 || err != nil {
		t.Fatalf("position %q is not one MariaDB GTID", pos)
	}
	return n
}

// checkManifest checks that the MANIFEST at path describes a mariabackup
// backup of a replica whose position holds the primary's transactions up
// to at least sequence number atLeast.
func checkManifest(t *testing.T, path string, primary *testenv.MySQL, atLeast int) *backup.Manifest {
	t.Helper()
	man := readManifest(t, path)
	if seq := sequence(t, man.Position); seq < atLeast {
		t.Errorf("MANIFEST %s: position %s, older than the primary's once the rows were loaded (sequence %d)", path, man.Position, atLeast)
	}
	if !strings.Contains(man.Position, fmt.Sprintf("-%d-", primary.ServerID())) || man.Tool != "mariabackup" ||
		!strings.Contains(man.ReplicaInfo, "gtid_slave_pos") || man.TabletAlias != "zone1-0000000101" || len(man.Files) == 0 {
		t.Errorf("MANIFEST %s: position %q, tool %q, replica info %q, tablet %q, %d files", path, man.Position, man.Tool,
			man.ReplicaInfo, man.TabletAlias, len(man.Files))
	}
	return man
}

// emptyMySQL is a private mysqld, stopped, whose datadir is empty: the
// server of a new host.
func emptyMySQL(t *testing.T, ctx context.Context) *testenv.MySQL {
	t.Helper()
	m := testenv.StartMySQL(t)
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.EmptyDataDir(); err != nil {
		t.Fatal(err)
	}
	return m
}

// restoreFlags are the flags of a tablet that restores m from url on
// startup.
func restoreFlags(m *testenv.MySQL, url string) []string {
	return []string{"--backup_storage_url=" + url, "--restore_from_backup", "--restore-catch-up-timeout=1m",
		"--mysqld-start-command=" + m.StartCommand(), "--mycnf_data_dir=" + m.DataDir(), "--mycnf_file=" + m.DefaultsFile(),
		fmt.Sprintf("--db_port=%d", m.Port())}
}

// tableChecksums returns CHECKSUM TABLE of backupTables.
func tableChecksums(t *testing.T, ctx context.Context, db *sql.DB) map[string]int64 {
	t.Helper()
	rows, err := db.QueryContext(ctx, "CHECKSUM TABLE "+strings.Join(backupTables, ", "))
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

// stopTablet sends SIGTERM and waits for a clean exit.
func stopTablet(t *testing.T, p *proc) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if rc := p.wait(t, 30*time.Second); rc != 0 {
		t.Fatalf("tablet exited %d after SIGTERM:\n%s", rc, p.stderr.String())
	}
}

// typeWatch collects the tablet types written to one tablet record.
type typeWatch struct {
	cancel context.CancelFunc
	done   chan struct{}
	types  []string // distinct consecutive types, in order
}

// watchTypes watches alias's record in etcd until stop.
func watchTypes(t *testing.T, w *world, alias string) *typeWatch {
	t.Helper()
	a, err := topo.ParseTabletAlias(alias)
	if err != nil {
		t.Fatal(err)
	}
	key := "/vitess/zone1/" + topo.TabletPath(topo.TabletAliasString(a))
	ctx, cancel := context.WithCancel(context.Background())
	tw := &typeWatch{cancel: cancel, done: make(chan struct{})}
	ch := w.cli.Watch(ctx, key)
	go func() {
		defer close(tw.done)
		for resp := range ch {
			for _, ev := range resp.Events {
				if ev.Type != clientv3.EventTypePut {
					continue
				}
				tb := &topodatapb.Tablet{}
				if proto.Unmarshal(ev.Kv.Value, tb) != nil {
					continue
				}
				if typ := tb.GetType().String(); len(tw.types) == 0 || tw.types[len(tw.types)-1] != typ {
					tw.types = append(tw.types, typ)
				}
			}
		}
	}()
	t.Cleanup(func() { tw.stop() })
	return tw
}

// stop ends the watch and returns the types seen, space-separated.
func (tw *typeWatch) stop() string {
	tw.cancel()
	<-tw.done
	return strings.Join(tw.types, " ")
}
