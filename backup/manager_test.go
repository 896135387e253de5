package backup_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tabletd/tablet/backup"
	"github.com/tabletd/tablet/backup/storagetest"
	"github.com/tabletd/tablet/testenv"
)

func TestMain(m *testing.M) {
	testenv.LeakCheckMain(m, "github.com/tabletd/tablet/backup")
}

const shardDir = "commerce/-80/"

func TestBackupAndRestore(t *testing.T) {
	for _, compression := range []string{backup.CompressionZstd, backup.CompressionGzip, backup.CompressionNone} {
		t.Run(compression, func(t *testing.T) {
			cfg := testConfig()
			cfg.Compression = compression
			const size = 3<<20 + 12345 // 13 stripes, the last one short
			f := newFixture(t, cfg, size)
			f.engine.readSmall = compression == backup.CompressionGzip
			var last backup.Progress
			man, err := f.m.Backup(context.Background(), backup.BackupRequest{
				Keyspace: "commerce", Shard: "-80", TabletAlias: "zone1-0000000100",
				Progress: func(p backup.Progress) { last = p },
			})
			if err != nil {
				t.Fatalf("Backup: %v", err)
			}
			if n := f.db.flushes.Load(); n != 1 {
				t.Errorf("non-InnoDB tables flushed %d times before the backup, want 1", n)
			}
			if want := "2024-05-01.120000.zone1-0000000100"; man.Name != want {
				t.Errorf("Name = %q, want %q", man.Name, want)
			}
			if man.Position != fakePosition || man.Flavor != "mariadb" || man.ServerVersion != "10.11.19-MariaDB-log" ||
				man.Engine != "xtrabackup" || man.Tool != "fakebackup" || man.Compression != compression ||
				man.TabletAlias != "zone1-0000000100" || man.Keyspace != "commerce" || man.Shard != "-80" {
				t.Errorf("MANIFEST = %+v", man)
			}
			if len(man.Files) != 13 || man.RawBytes != size {
				t.Errorf("%d files, %d raw bytes; want 13 files of %d bytes", len(man.Files), man.RawBytes, size)
			}
			if compression != backup.CompressionNone && man.StoredBytes > man.RawBytes/2 {
				t.Errorf("stored %d of %d bytes: not compressed", man.StoredBytes, man.RawBytes)
			}
			if last.Phase != backup.PhaseDone || last.RawBytes != size || last.StoredBytes != man.StoredBytes || last.Files != 13 {
				t.Errorf("last progress report = %+v", last)
			}
			// The MANIFEST and every stripe are stored, nothing else.
			keys := f.store.Keys()
			if len(keys) != 14 || keys[0] != backup.Dir("commerce", "-80", man.Name)+backup.ManifestFile {
				t.Errorf("stored keys = %v", keys)
			}

			list, err := f.m.List(context.Background(), "commerce", "-80")
			if err != nil || len(list) != 1 || list[0].Name != man.Name || list[0].TabletAlias != "zone1-0000000100" {
				t.Fatalf("List = %+v, %v", list, err)
			}

			configured := false
			req := f.restoreRequest()
			req.Configure = func(ctx context.Context, m *backup.Manifest) error {
				configured = m.Position == fakePosition
				if _, err := os.Stat(filepath.Join(f.dataDir, backup.MarkerFile)); err != nil {
					t.Errorf("the marker is gone before Configure ran: %v", err)
				}
				return nil
			}
			res, err := f.m.Restore(context.Background(), req)
			if err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if res.Position != fakePosition || res.Manifest.Name != man.Name || !configured {
				t.Errorf("Restore = %+v, configured %v", res, configured)
			}
			got, err := os.ReadFile(filepath.Join(f.dataDir, "stream"))
			if err != nil || !bytes.Equal(got, f.engine.stream) {
				t.Fatalf("the extracted stream differs from the backed up one (%d bytes, %v)", len(got), err)
			}
			if stops, starts := f.server.counts(); stops != 1 || starts != 1 {
				t.Errorf("server stopped %d and started %d times, want 1 and 1", stops, starts)
			}
			for _, p := range []string{filepath.Join(f.dataDir, backup.MarkerFile), f.dataDir + ".restore"} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s remains after a successful restore", p)
				}
			}
			if got := f.variable(t, "BackupCount"); got != `{"failure": 0, "success": 1}` {
				t.Errorf("BackupCount = %s", got)
			}
			if got := f.variable(t, "RestoreCount"); got != `{"failure": 0, "success": 1}` {
				t.Errorf("RestoreCount = %s", got)
			}
			if got := f.variable(t, "BackupBytes"); !strings.Contains(got, `"raw": 3158073`) {
				t.Errorf("BackupBytes = %s", got)
			}
		})
	}
}

// Stripes are stored concurrently, up to Concurrency at once: every Put
// waits until Concurrency of them are in flight.
func TestBackupStoresStripesConcurrently(t *testing.T) {
	cfg := testConfig()
	cfg.Concurrency = 4
	f := newFixture(t, cfg, 8*int(cfg.StripeBytes))
	var (
		mu       sync.Mutex
		inFlight int
		full     = make(chan struct{})
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f.store.SetFault(func(op storagetest.Op, key string) error {
		if op != storagetest.OpPut || strings.HasSuffix(key, backup.ManifestFile) {
			return nil
		}
		mu.Lock()
		inFlight++
		if inFlight == cfg.Concurrency {
			close(full)
		}
		mu.Unlock()
		select {
		case <-full:
			return nil
		case <-ctx.Done():
			return errors.New("fewer than Concurrency stripes were ever stored at once")
		}
	})
	if _, err := f.m.Backup(ctx, backup.BackupRequest{Keyspace: "commerce", Shard: "-80", TabletAlias: "zone1-0000000100"}); err != nil {
		t.Fatal(err)
	}
}

// The store fails mid-backup: the backup fails saying where, retries
// first, removes what it stored, and leaves nothing listed.
func TestBackupStorageFailure(t *testing.T) {
	f := newFixture(t, testConfig(), 3<<20)
	var puts int
	var mu sync.Mutex
	f.store.SetFault(func(op storagetest.Op, key string) error {
		if op != storagetest.OpPut {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if puts++; puts > 4 {
			return errors.New("connection refused")
		}
		return nil
	})
	_, err := f.m.Backup(context.Background(), backup.BackupRequest{Keyspace: "commerce", Shard: "-80", TabletAlias: "zone1-0000000100"})
	if err == nil {
		t.Fatal("Backup succeeded while the store refused writes")
	}
	for _, want := range []string{"connection refused", "3 attempts", "backup.xbstream.", "were removed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if keys := f.store.Keys(); len(keys) != 0 {
		t.Errorf("a failed backup left %v", keys)
	}
	if list, err := f.m.List(context.Background(), "commerce", "-80"); err != nil || len(list) != 0 {
		t.Errorf("List after a failed backup = %v, %v", list, err)
	}
	if got := f.variable(t, "BackupCount"); got != `{"failure": 1, "success": 0}` {
		t.Errorf("BackupCount = %s", got)
	}
	if got := f.variable(t, "BackupInProgress"); got != "0" {
		t.Errorf("BackupInProgress = %s", got)
	}
}

// When the cleanup fails too, the error says what is left and where.
func TestBackupFailureCleanupFails(t *testing.T) {
	f := newFixture(t, testConfig(), 1<<20)
	f.store.SetFault(func(op storagetest.Op, key string) error {
		if op == storagetest.OpDelete || strings.HasSuffix(key, backup.ManifestFile) && op == storagetest.OpPut {
			return errors.New("store unavailable")
		}
		return nil
	})
	_, err := f.m.Backup(context.Background(), backup.BackupRequest{Keyspace: "commerce", Shard: "-80", TabletAlias: "zone1-0000000100"})
	if err == nil || !strings.Contains(err.Error(), "remove commerce/-80/2024-05-01.120000.zone1-0000000100/ by hand") {
		t.Fatalf("error %v does not say what to remove", err)
	}
	f.store.SetFault(nil)
	// The stripes are left, but without a MANIFEST the backup is not listed.
	if list, err := f.m.List(context.Background(), "commerce", "-80"); err != nil || len(list) != 0 {
		t.Errorf("List = %v, %v", list, err)
	}
}

func TestBackupToolFailure(t *testing.T) {
	f := newFixture(t, testConfig(), 2<<20)
	f.engine.failAfter = 1 << 20
	_, err := f.m.Backup(context.Background(), backup.BackupRequest{Keyspace: "commerce", Shard: "-80", TabletAlias: "zone1-0000000100"})
	var te *backup.ToolError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("error %v: want a *ToolError quoting the tool's stderr", err)
	}
	if keys := f.store.Keys(); len(keys) != 0 {
		t.Errorf("a failed backup left %v", keys)
	}
}

// One backup or restore at a time: a second request is refused at once.
func TestBackupBusy(t *testing.T) {
	f := newFixture(t, testConfig(), 1<<20)
	f.engine.started, f.engine.release = make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := f.m.Backup(context.Background(), backup.BackupRequest{Keyspace: "commerce", Shard: "-80", TabletAlias: "zone1-0000000100"})
		done <- err
	}()
	<-f.engine.started
	_, err := f.m.Backup(context.Background(), backup.BackupRequest{Keyspace: "commerce", Shard: "-80", TabletAlias: "zone1-0000000100"})
	if !errors.Is(err, backup.ErrBusy) || !strings.Contains(err.Error(), "backup 2024-05-01.120000.zone1-0000000100") {
		t.Errorf("second Backup: %v, want ErrBusy naming the running backup", err)
	}
	if _, err := f.m.Restore(context.Background(), f.restoreRequest()); !errors.Is(err, backup.ErrBusy) {
		t.Errorf("Restore during a backup: %v, want ErrBusy", err)
	}
	if kind, name, _, ok := f.m.Running(); !ok || kind != "backup" || name != "2024-05-01.120000.zone1-0000000100" {
		t.Errorf("Running = %s %s %v", kind, name, ok)
	}
	close(f.engine.release)
	if err := <-done; err != nil {
		t.Fatalf("first Backup: %v", err)
	}
	if _, _, _, ok := f.m.Running(); ok {
		t.Error("Running after the backup ended")
	}
}

// A cancelled backup stops the tool, fails, and removes what it stored.
func TestBackupCancelled(t *testing.T) {
	f := newFixture(t, testConfig(), 2<<20)
	f.engine.started, f.engine.release = make(chan struct{}), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-f.engine.started
		cancel()
	}()
	_, err := f.m.Backup(ctx, backup.BackupRequest{Keyspace: "commerce", Shard: "-80", TabletAlias: "zone1-0000000100"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Backup: %v, want context.Canceled", err)
	}
	if keys := f.store.Keys(); len(keys) != 0 {
		t.Errorf("a cancelled backup left %v", keys)
	}
}

func TestBackupEmptyDatabase(t *testing.T) {
	req := backup.BackupRequest{Keyspace: "commerce", Shard: "-80", TabletAlias: "zone1-0000000100"}
	t.Run("shard may be serving", func(t *testing.T) {
		f := newFixture(t, testConfig(), 1<<20)
		f.db.userTables.Store(0)
		r := req
		r.ShardMayBeServing = true
		_, err := f.m.Backup(context.Background(), r)
		if !errors.Is(err, backup.ErrEmptyDatabase) || !strings.Contains(err.Error(), "may have a serving tablet") {
			t.Fatalf("Backup: %v, want ErrEmptyDatabase", err)
		}
		if f.engine.backups.Load() != 0 {
			t.Error("the tool ran")
		}
	})
	t.Run("initial backup", func(t *testing.T) {
		f := newFixture(t, testConfig(), 1<<20)
		f.db.userTables.Store(0)
		f.backup(t)
		// The shard has a backup now: another empty one is refused.
		_, err := f.m.Backup(context.Background(), req)
		if !errors.Is(err, backup.ErrEmptyDatabase) || !strings.Contains(err.Error(), "already has backups") {
			t.Fatalf("second empty Backup: %v, want ErrEmptyDatabase", err)
		}
		// With data it goes ahead, serving or not.
		f.db.userTables.Store(1)
		r := req
		r.ShardMayBeServing = true
		if _, err := f.m.Backup(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBackupNameTaken(t *testing.T) {
	f := newFixture(t, testConfig(), 1<<20)
	if err := f.store.Put(context.Background(), backup.Dir("commerce", "-80", "2024-05-01.120000.zone1-0000000100")+"stray", []byte("x")); err != nil {
		t.Fatal(err)
	}
	_, err := f.m.Backup(context.Background(), backup.BackupRequest{Keyspace: "commerce", Shard: "-80", TabletAlias: "zone1-0000000100"})
	if !errors.Is(err, backup.ErrExists) {
		t.Fatalf("Backup: %v, want ErrExists", err)
	}
}

func TestBackupRefusesBadNames(t *testing.T) {
	f := newFixture(t, testConfig(), 1<<20)
	for _, req := range []backup.BackupRequest{
		{Keyspace: "", Shard: "-80", TabletAlias: "a"},
		{Keyspace: "ks", Shard: "../x", TabletAlias: "a"},
		{Keyspace: "ks", Shard: "0", TabletAlias: ""},
	} {
		if _, err := f.m.Backup(context.Background(), req); err == nil {
			t.Errorf("Backup(%+v) accepted", req)
		}
	}
}

// One corrupted byte in a stored file: the restore refuses with a
// checksum error naming the file, starts no server, and keeps the marker
// and the evidence.
func TestRestoreChecksumError(t *testing.T) {
	f := newFixture(t, testConfig(), 2<<20)
	man := f.backup(t)
	key := backup.Dir("commerce", "-80", man.Name) + man.Files[3].Name
	if !f.store.Corrupt(key, 100) {
		t.Fatal("no byte to corrupt")
	}
	_, err := f.m.Restore(context.Background(), f.restoreRequest())
	var ce *backup.ChecksumError
	if !errors.As(err, &ce) || ce.Key != key || !errors.Is(err, backup.ErrChecksum) {
		t.Fatalf("Restore: %v, want a *ChecksumError for %s", err, key)
	}
	for _, want := range []string{key, "sha256", f.dataDir + ".restore", backup.MarkerFile} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if _, starts := f.server.counts(); starts != 0 {
		t.Error("the server was started on a failed restore")
	}
	if mk, err := backup.ReadRestoreMarker(f.dataDir); err != nil || mk == nil || mk.Backup != man.Name {
		t.Errorf("marker after a failed restore = %+v, %v", mk, err)
	}
	if _, err := os.Stat(filepath.Join(f.dataDir+".restore", "stream")); err != nil {
		t.Errorf("the partial extraction was not kept: %v", err)
	}
	if got := f.variable(t, "RestoreCount"); got != `{"failure": 1, "success": 0}` {
		t.Errorf("RestoreCount = %s", got)
	}
}

func TestRestoreMissingStripe(t *testing.T) {
	f := newFixture(t, testConfig(), 2<<20)
	man := f.backup(t)
	key := backup.Dir("commerce", "-80", man.Name) + man.Files[5].Name
	if err := f.store.Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	_, err := f.m.Restore(context.Background(), f.restoreRequest())
	if !errors.Is(err, backup.ErrNotFound) || !strings.Contains(err.Error(), key) {
		t.Fatalf("Restore: %v, want ErrNotFound naming %s", err, key)
	}
}

// An interrupted restore is redone on the next try, and the leftovers of
// the failed one are replaced.
func TestRestoreRedoesInterruptedRestore(t *testing.T) {
	f := newFixture(t, testConfig(), 2<<20)
	f.backup(t)
	f.engine.prepareErr = errors.New("prepare crashed")
	if _, err := f.m.Restore(context.Background(), f.restoreRequest()); err == nil {
		t.Fatal("Restore succeeded with a failing prepare")
	}
	// The datadir now holds only the marker; even with files that look
	// like data, Plan and Restore know it is not data.
	if err := os.MkdirAll(filepath.Join(f.dataDir, "app"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dataDir, "app", "half.ibd"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	d := f.m.Plan(context.Background(), backup.PlanRequest{Keyspace: "commerce", Shard: "-80"})
	if d.Action != backup.ActionRestore || !strings.Contains(d.Reason, "interrupted restore") {
		t.Fatalf("Plan = %+v, want a restore of the interrupted one", d)
	}
	f.engine.prepareErr = nil
	if _, err := f.m.Restore(context.Background(), f.restoreRequest()); err != nil {
		t.Fatalf("second Restore: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.dataDir, "app", "half.ibd")); !os.IsNotExist(err) {
		t.Error("the interrupted restore's files survived the redo")
	}
	d = f.m.Plan(context.Background(), backup.PlanRequest{Keyspace: "commerce", Shard: "-80"})
	if d.Action != backup.ActionNoRestore {
		t.Fatalf("Plan after a restore = %+v, want no-restore", d)
	}
}

// A datadir with data is never overwritten without a marker.
func TestRestoreRefusesDataPresent(t *testing.T) {
	f := newFixture(t, testConfig(), 1<<20)
	f.backup(t)
	if err := os.MkdirAll(filepath.Join(f.dataDir, "app"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dataDir, "app", "t.frm"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := f.m.Restore(context.Background(), f.restoreRequest())
	if !errors.Is(err, backup.ErrDataPresent) || !strings.Contains(err.Error(), "t.frm") {
		t.Fatalf("Restore: %v, want ErrDataPresent naming t.frm", err)
	}
	if stops, _ := f.server.counts(); stops != 0 {
		t.Error("the server was stopped for a refused restore")
	}
}

// A datadir that mysql_install_db just made holds no data: restore goes
// ahead and replaces it.
func TestRestoreReplacesFreshDatadir(t *testing.T) {
	f := newFixture(t, testConfig(), 1<<20)
	f.backup(t)
	for _, p := range []string{"mysql/user.frm", "_vt/heartbeat.ibd", "empty_schema/db.opt", "ibdata1", "binlog.000001"} {
		full := filepath.Join(f.dataDir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("x"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.m.Restore(context.Background(), f.restoreRequest()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.dataDir, "binlog.000001")); !os.IsNotExist(err) {
		t.Error("the old datadir's binary log survived the restore")
	}
}

func TestRestoreIncompatible(t *testing.T) {
	f := newFixture(t, testConfig(), 1<<20)
	f.db.version = "10.11.19-MariaDB"
	f.backup(t)
	// A backup from a newer server cannot be restored here.
	g := newFixture(t, testConfig(), 1<<20)
	g.db.version = "11.4.2-MariaDB"
	man := g.backupInto(t, f.store)
	_, err := f.m.Restore(context.Background(), backup.RestoreRequest{Keyspace: "commerce", Shard: "-80", Name: man.Name, Server: f.server})
	if !errors.Is(err, backup.ErrIncompatible) {
		t.Fatalf("Restore of an 11.4 backup on 10.11: %v, want ErrIncompatible", err)
	}
}

// backupInto takes a backup with f's engine and database into store.
func (f *fixture) backupInto(t *testing.T, store *storagetest.Memory) *backup.Manifest {
	t.Helper()
	m, err := backup.New(testConfig(), backup.Deps{Storage: store, Flavor: mustFlavor(t, f.db.version), Engine: f.engine,
		DB: mustDB(t, f.db), DataDir: f.dataDir, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	man, err := m.Backup(context.Background(), backup.BackupRequest{Keyspace: "commerce", Shard: "-80", TabletAlias: "zone1-0000000200"})
	if err != nil {
		t.Fatal(err)
	}
	return man
}

// Progress is reported every ProgressInterval while the backup runs, and
// once more at the end.
func TestBackupProgressReports(t *testing.T) {
	cfg := testConfig()
	cfg.ProgressInterval = time.Millisecond
	f := newFixture(t, cfg, 1<<20)
	f.engine.started, f.engine.release = make(chan struct{}), make(chan struct{})
	reported := make(chan backup.Progress, 1)
	var reports []backup.Progress
	done := make(chan error, 1)
	go func() {
		_, err := f.m.Backup(context.Background(), backup.BackupRequest{Keyspace: "commerce", Shard: "-80", TabletAlias: "zone1-0000000100",
			Progress: func(p backup.Progress) {
				reports = append(reports, p)
				select {
				case reported <- p:
				default:
				}
			}})
		done <- err
	}()
	<-f.engine.started
	select {
	case p := <-reported:
		if p.Phase != backup.PhaseStreaming || p.Operation != "backup" || p.Name != "2024-05-01.120000.zone1-0000000100" {
			t.Errorf("report while streaming = %+v", p)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no progress report while the backup ran")
	}
	close(f.engine.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	last := reports[len(reports)-1]
	if last.Phase != backup.PhaseDone || last.RawBytes != 1<<20 || last.RateBytesPerSecond() <= 0 {
		t.Errorf("last report = %+v", last)
	}
}
