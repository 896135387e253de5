package backup

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tabletd/tablet/debugvars"
)

// Phases of a backup and a restore, as Progress reports them.
const (
	PhaseStreaming   = "streaming"   // backup: the tool runs; stripes are compressed and stored
	PhaseManifest    = "manifest"    // backup: writing the MANIFEST
	PhaseStopping    = "stopping"    // restore: mysqld stops; the marker is written
	PhaseDownloading = "downloading" // restore: stripes are fetched, verified, decompressed, extracted
	PhasePreparing   = "preparing"   // restore: the tool applies the redo log
	PhasePlacing     = "placing"     // restore: the prepared files move into the datadir
	PhaseStarting    = "starting"    // restore: mysqld starts on the restored datadir
	PhaseDone        = "done"        // the operation ended, successfully or not
)

// Progress is a snapshot of a running backup or restore.
type Progress struct {
	// Operation is "backup" or "restore"; Name the backup's name.
	Operation string
	Name      string
	// Phase is one of the Phase constants.
	Phase string
	// Elapsed is the time since the operation started.
	Elapsed time.Duration
	// RawBytes counts stream bytes: written by the tool (backup) or handed
	// to the extractor (restore).
	RawBytes int64
	// StoredBytes counts stored, compressed bytes: written to storage
	// (backup) or fetched and verified (restore); Files counts the stored
	// files behind them.
	StoredBytes int64
	Files       int64
	// TotalStoredBytes is, on restore, the stored size of the whole
	// backup; zero on backup, where it is not known in advance.
	TotalStoredBytes int64
}

// RateBytesPerSecond is RawBytes over Elapsed: the stream's throughput.
func (p Progress) RateBytesPerSecond() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.RawBytes) / p.Elapsed.Seconds()
}

// logAttrs are p's fields for a log line.
func (p Progress) logAttrs() []any {
	return []any{"name", p.Name, "phase", p.Phase, "elapsed", p.Elapsed.Round(time.Millisecond),
		"raw_bytes", p.RawBytes, "stored_bytes", p.StoredBytes, "files", p.Files,
		"rate_mb_per_s", float64(int64(p.RateBytesPerSecond()/1e4)) / 100}
}

// metrics are the package's variables on /debug/vars and /metrics.
type metrics struct {
	backups, restores                   *debugvars.CountersWithLabels // by result
	backupInProgress, restoreInProgress *debugvars.Gauge
	backupRaw, backupStored             *debugvars.Counter
	restoreRaw, restoreStored           *debugvars.Counter
	backupDuration, restoreDuration     atomic.Int64 // of the last one, in nanoseconds
}

func newMetrics(r *debugvars.Registry) *metrics {
	m := &metrics{}
	m.backups = r.NewCountersWithLabels("BackupCount", "tablet_backups_total",
		"Backups this tablet took, by result.", []string{"result"})
	m.restores = r.NewCountersWithLabels("RestoreCount", "tablet_restores_total",
		"Restores into this tablet, by result.", []string{"result"})
	for _, res := range []string{"success", "failure"} {
		m.backups.Handle(res)
		m.restores.Handle(res)
	}
	m.backupInProgress = r.NewGauge("BackupInProgress", "tablet_backup_in_progress",
		"Whether a backup is running (1) or not (0).")
	m.restoreInProgress = r.NewGauge("RestoreInProgress", "tablet_restore_in_progress",
		"Whether a restore is running (1) or not (0).")
	bytes := r.NewCountersWithLabels("BackupBytes", "tablet_backup_bytes_total",
		"Bytes backed up: the tool's stream (raw) and what was stored after compression (stored).", []string{"stage"})
	m.backupRaw, m.backupStored = bytes.Handle("raw"), bytes.Handle("stored")
	bytes = r.NewCountersWithLabels("RestoreBytes", "tablet_restore_bytes_total",
		"Bytes restored: fetched from storage (stored) and handed to the extractor (raw).", []string{"stage"})
	m.restoreRaw, m.restoreStored = bytes.Handle("raw"), bytes.Handle("stored")
	r.NewGaugeDurationFunc("BackupDurationNanoseconds", "tablet_backup_last_duration_seconds",
		"How long the last backup took, successful or not.", func() time.Duration { return time.Duration(m.backupDuration.Load()) })
	r.NewGaugeDurationFunc("RestoreDurationNanoseconds", "tablet_restore_last_duration_seconds",
		"How long the last restore took, successful or not.", func() time.Duration { return time.Duration(m.restoreDuration.Load()) })
	return m
}

// meter counts one operation's progress, feeds the metrics as it goes, and
// reports every interval from a goroutine that stop ends and waits for.
type meter struct {
	op, name    string
	start       time.Time
	totalStored int64
	raw, stored *debugvars.Counter // the metrics to feed
	// The fields above are set before the reporting goroutine starts and
	// never change; those below are atomics.

	rawBytes, storedBytes, files atomic.Int64
	phase                        atomic.Pointer[string]

	stopc    chan struct{}
	stopOnce sync.Once
	done     sync.WaitGroup
}

// startMeter starts reporting op's progress, from phase, every interval to
// logger and, when non-nil, to report (which is never called concurrently
// with itself). totalStored is Progress.TotalStoredBytes.
func startMeter(op, name, phase string, totalStored int64, interval time.Duration, logger *slog.Logger, report func(Progress), raw, stored *debugvars.Counter) *meter {
	m := &meter{op: op, name: name, start: time.Now(), totalStored: totalStored, raw: raw, stored: stored, stopc: make(chan struct{})}
	m.setPhase(phase)
	m.done.Add(1)
	go func() {
		defer m.done.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-m.stopc:
				if report != nil {
					report(m.snapshot())
				}
				return
			case <-t.C:
				p := m.snapshot()
				logger.Info(op+" progress", p.logAttrs()...)
				if report != nil {
					report(p)
				}
			}
		}
	}()
	return m
}

func (m *meter) setPhase(p string) { m.phase.Store(&p) }

func (m *meter) addRaw(n int64) {
	m.rawBytes.Add(n)
	m.raw.Add(n)
}

func (m *meter) addStored(n int64) {
	m.storedBytes.Add(n)
	m.files.Add(1)
	m.stored.Add(n)
}

func (m *meter) snapshot() Progress {
	return Progress{
		Operation:        m.op,
		Name:             m.name,
		Phase:            *m.phase.Load(),
		Elapsed:          time.Since(m.start),
		RawBytes:         m.rawBytes.Load(),
		StoredBytes:      m.storedBytes.Load(),
		Files:            m.files.Load(),
		TotalStoredBytes: m.totalStored,
	}
}

// stop ends the reporting goroutine, after a last report in phase done,
// and returns the final snapshot.
// Calling it again only returns the snapshot.
func (m *meter) stop() Progress {
	m.stopOnce.Do(func() {
		m.setPhase(PhaseDone)
		close(m.stopc)
		m.done.Wait()
	})
	return m.snapshot()
}
