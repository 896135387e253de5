package backup_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tabletd/tablet/backup"
	"github.com/tabletd/tablet/testenv"
)

// benchRows sizes the benchmark's data set: about 100 MB of InnoDB table,
// a stream of about 150 MB.
const benchRows = 600000

// noServer is a backup.Server for a datadir no server runs on.
type noServer struct{}

func (noServer) Stop(context.Context) error  { return nil }
func (noServer) Start(context.Context) error { return nil }

// BenchmarkBackupRestore compares, on the same data in the same run, the
// Manager's backup (tool -> parallel zstd -> stripes with SHA-256 ->
// file:// storage), at zstd levels 3 (the zstd command's default) and 1
// (the Config's default), and restore (fetch, verify, decompress,
// extract, prepare, place) with the shell pipelines they replace:
//
//	mariabackup --backup --stream=xbstream | zstd -3 -T0 > file   (and -1)
//	zstd -d < file | mbstream -x -C dir && mariabackup --prepare --target-dir=dir
//
// MB/s is of the tool's uncompressed stream. Run it with
// go test -run XXX -bench BackupRestore -benchtime 3x ./backup/
func BenchmarkBackupRestore(b *testing.B) {
	m := testenv.StartMySQL(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	db := openDB(b, m, testenv.RoleAdmin)
	for _, stmt := range m.Flavor().SetReadOnly(false) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			b.Fatal(err)
		}
	}
	loadData(b, ctx, db, benchRows)
	waitClean(b, ctx, db)
	work := b.TempDir()
	url := "file://" + filepath.Join(work, "store")
	settings := func(c *backup.Config) {
		c.BackupFlags = ""
		c.StripeBytes = backup.DefaultConfig().StripeBytes
		c.CompressionLevel = 3 // as the zstd command's default
	}
	mgr := newManager(b, m, url, "", settings)
	req := backup.BackupRequest{Keyspace: "bench", Shard: "0", TabletAlias: "zone1-0000000100"}
	man, err := mgr.Backup(ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	stream := man.RawBytes
	b.Logf("data set: %d MB stream, %d MB stored in %d stripes", stream>>20, man.StoredBytes>>20, len(man.Files))
	tool, err := exec.LookPath("mariabackup")
	if err != nil {
		b.Skip("no mariabackup")
	}
	perOp := map[string]time.Duration{}
	run := func(name string, op func(b *testing.B, i int)) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(stream)
			cpu := cpuTime()
			for i := 0; b.Loop(); i++ {
				op(b, i)
			}
			perOp[name] = b.Elapsed() / time.Duration(b.N)
			// CPU of this process and its children (the tool, zstd, ...):
			// less sensitive than wall time to a busy machine.
			b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
	shell := func(b *testing.B, script string, args ...string) {
		b.Helper()
		cmd := exec.CommandContext(ctx, "bash", append([]string{"-o", "pipefail", "-c", script, "bash"}, args...)...)
		cmd.Env = append(os.Environ(), "MYSQL_PWD="+testenv.PasswordOf(testenv.RoleAdmin))
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", script, err, out)
		}
	}
	target := filepath.Join(work, "target")
	raw := filepath.Join(work, "raw.xbstream.zst")
	for _, level := range []int{3, 1} {
		out := fmt.Sprintf("%s.%d", raw, level)
		run(fmt.Sprintf("shell/backup-zstd%d", level), func(b *testing.B, i int) {
			os.RemoveAll(target)
			os.MkdirAll(target, 0o700)
			shell(b, `"$1" --defaults-file="$2" --backup --stream=xbstream --target-dir="$3" --user=root --socket="$4" 2>/dev/null | zstd -q -$6 -T0 > "$5"`,
				tool, m.DefaultsFile(), target, m.Socket(), out, fmt.Sprint(level))
			if st, err := os.Stat(out); err == nil {
				b.ReportMetric(float64(st.Size())/1e6, "stored-MB")
			}
		})
		lm := newManager(b, m, url, "", func(c *backup.Config) { settings(c); c.CompressionLevel = level })
		run(fmt.Sprintf("Manager/backup-zstd%d", level), func(b *testing.B, i int) {
			r := req // backup names are to the second: one alias per run
			r.TabletAlias = fmt.Sprintf("zone1-%010d", 100*level+i)
			man, err := lm.Backup(ctx, r)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(man.StoredBytes)/1e6, "stored-MB")
		})
	}
	raw += ".3"
	run("shell/restore", func(b *testing.B, i int) {
		dir := filepath.Join(work, fmt.Sprintf("shell-restore-%d", i))
		os.MkdirAll(dir, 0o700)
		shell(b, `zstd -q -d < "$1" | mbstream -x -C "$2" && "$3" --defaults-file="$2/backup-my.cnf" --prepare --target-dir="$2" 2>/dev/null`,
			raw, dir, tool)
		b.StopTimer()
		os.RemoveAll(dir)
		b.StartTimer()
	})
	run("Manager/restore", func(b *testing.B, i int) {
		dataDir := filepath.Join(work, fmt.Sprintf("restore-%d", i), "data")
		r := newManager(b, m, url, dataDir, settings)
		if _, err := r.Restore(ctx, backup.RestoreRequest{Keyspace: "bench", Shard: "0", Name: man.Name, Server: noServer{}}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(filepath.Dir(dataDir))
		b.StartTimer()
	})
	mbps := func(d time.Duration) float64 { return float64(stream) / 1e6 / d.Seconds() }
	for _, op := range []string{"backup-zstd3", "backup-zstd1", "restore"} {
		ours, theirs := perOp["Manager/"+op], perOp["shell/"+op]
		if ours > 0 && theirs > 0 {
			b.Logf("%s: Manager %.0f MB/s, shell pipeline %.0f MB/s: ratio %.2f", op, mbps(ours), mbps(theirs), mbps(ours)/mbps(theirs))
		}
	}
}

// cpuTime is the user and system CPU time of this process and of its
// children that have been waited for.
func cpuTime() time.Duration {
	var self, children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(children.Utime) + tv(children.Stime)
}

// waitClean has InnoDB write out every dirty page of the load and waits
// until it has, so that no background flushing competes with the timed
// runs (the first run after a load was up to twice as slow).
func waitClean(b *testing.B, ctx context.Context, db *sql.DB) {
	b.Helper()
	if _, err := db.ExecContext(ctx, "SET GLOBAL innodb_max_dirty_pages_pct = 0"); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var name string
		var dirty int64
		err := db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'").Scan(&name, &dirty)
		if err != nil {
			b.Fatal(err)
		}
		if dirty == 0 {
			return
		}
		select {
		case <-ctx.Done():
			b.Fatalf("InnoDB still has %d dirty pages: %v", dirty, context.Cause(ctx))
		case <-tick.C:
		}
	}
}
