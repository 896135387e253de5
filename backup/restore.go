package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tabletd/tablet/mysqld"
)

// Server is the local mysqld as a restore needs it: stopped before its
// datadir is replaced and started on the restored one. The agent
// implements it.
type Server interface {
	// Stop shuts mysqld down and returns once it is down. Stopping a
	// stopped server is not an error.
	Stop(ctx context.Context) error
	// Start starts mysqld on its datadir and returns once it answers.
	Start(ctx context.Context) error
}

// RestoreRequest asks to restore the local datadir from a backup.
type RestoreRequest struct {
	// Keyspace and Shard say whose backups to restore from.
	Keyspace string
	Shard    string
	// Name picks a backup; empty picks the latest complete one, or, when
	// Before is set, the latest complete one started at or before Before.
	Name   string
	Before time.Time
	// Server stops and starts the local mysqld. Required.
	Server Server
	// Configure, when set, runs once mysqld runs on the restored data and
	// before the restore is marked complete: set gtid_slave_pos (see
	// mysqld.RestorePositionStatements) and replication here, so that a
	// crash before it is done makes the next start restore again.
	Configure func(ctx context.Context, man *Manifest) error
	// Progress, when set, receives a report every ProgressInterval and a
	// last one when the restore ends. It is never called concurrently.
	Progress func(Progress)
}

// RestoreResult is what a successful restore did.
type RestoreResult struct {
	// Manifest is the restored backup's MANIFEST.
	Manifest *Manifest
	// Position is the GTID position of the restored data: replication
	// from the primary resumes after it.
	Position string
	// Elapsed is how long the restore took.
	Elapsed time.Duration
}

// Restore replaces the local datadir with a backup: it picks the backup,
// stops mysqld, writes the restore marker, fetches every stripe (checking
// its size and SHA-256 before using it), decompresses and extracts them
// into a staging directory beside the datadir, prepares them, moves them
// into the datadir, starts mysqld, runs Configure, and removes the marker.
// It blocks until done; ctx ending stops it.
//
// Restore refuses (ErrDataPresent) a datadir that holds user data, unless
// the marker of an interrupted restore is there. On failure the marker
// stays, so the next start restores again, and the staging directory
// keeps what was fetched and unpacked; the error names both. Errors:
// ErrBusy, ErrNoBackup, ErrNoCompleteBackup, ErrNotFound (no such
// backup), ErrIncompatible, ErrDataPresent, a *ChecksumError naming the
// stored file, a *ToolError, or a storage or server error.
func (m *Manager) Restore(ctx context.Context, req RestoreRequest) (*RestoreResult, error) {
	if m.dataDir == "" {
		return nil, errors.New("restore: the Manager has no datadir (Deps.DataDir)")
	}
	if req.Server == nil {
		return nil, errors.New("restore: RestoreRequest.Server is required")
	}
	label := req.Name
	if label == "" {
		label = "(latest)"
	}
	release, err := m.acquire("restore", label)
	if err != nil {
		return nil, err
	}
	defer release()
	start := m.now()
	m.metrics.restoreInProgress.Set(1)
	defer m.metrics.restoreInProgress.Set(0)
	defer func() { m.metrics.restoreDuration.Store(int64(m.now().Sub(start))) }()

	res, err := m.restore(ctx, req, start)
	if err != nil {
		m.metrics.restores.Add(1, "failure")
		return nil, err
	}
	m.metrics.restores.Add(1, "success")
	return res, nil
}

func (m *Manager) restore(ctx context.Context, req RestoreRequest, start time.Time) (*RestoreResult, error) {
	man, err := m.choose(ctx, req.Keyspace, req.Shard, req.Name, req.Before)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	m.mu.Lock()
	m.running.name = man.Name
	m.mu.Unlock()
	if err := m.compatible(man); err != nil {
		return nil, fmt.Errorf("restore %s: %w", man.Name, err)
	}
	dataDir := m.dataDir
	mk, err := ReadRestoreMarker(dataDir)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", man.Name, err)
	}
	if mk == nil {
		has, evidence, err := DataDirHasData(dataDir)
		if err != nil {
			return nil, fmt.Errorf("restore %s: %w", man.Name, err)
		}
		if has {
			return nil, fmt.Errorf("restore %s: %w: %s holds %s; refusing to overwrite it", man.Name, ErrDataPresent, dataDir, evidence)
		}
	} else {
		m.logger.Warn("found the marker of an interrupted restore, restoring again",
			"datadir", dataDir, "interrupted_backup", mk.Backup, "interrupted_at", mk.Started)
	}
	staging := filepath.Clean(dataDir) + ".restore"
	m.logger.Info("restore starting", "name", man.Name, "shard", req.Keyspace+"/"+req.Shard, "datadir", dataDir,
		"staging", staging, "stored_bytes", man.StoredBytes, "raw_bytes", man.RawBytes, "files", len(man.Files), "position", man.Position)

	meter := startMeter("restore", man.Name, PhaseStopping, man.StoredBytes, m.cfg.ProgressInterval, m.logger, req.Progress, m.metrics.restoreRaw, m.metrics.restoreStored)
	defer meter.stop()

	if err := req.Server.Stop(ctx); err != nil {
		return nil, fmt.Errorf("restore %s: stop mysqld: %w", man.Name, err)
	}
	err = writeMarker(dataDir, RestoreMarker{Backup: man.Name, Keyspace: req.Keyspace, Shard: req.Shard,
		Started: start.UTC(), Staging: staging, PID: os.Getpid()})
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", man.Name, err)
	}
	// From here on a failure leaves the marker, and the evidence.
	fail := func(err error) (*RestoreResult, error) {
		return nil, fmt.Errorf("restore %s into %s failed: %w; what was fetched and unpacked is kept in %s, "+
			"and the marker %s stays so that the next start restores again",
			man.Name, dataDir, err, staging, filepath.Join(dataDir, MarkerFile))
	}
	if _, err := os.Stat(staging); err == nil {
		m.logger.Warn("removing the staging directory of an earlier failed restore", "staging", staging)
		if err := os.RemoveAll(staging); err != nil {
			return fail(fmt.Errorf("remove old staging directory: %w", err))
		}
	}
	if err := os.MkdirAll(staging, 0o750); err != nil {
		return fail(fmt.Errorf("create staging directory: %w", err))
	}

	meter.setPhase(PhaseDownloading)
	if err := m.fetch(ctx, man, staging, meter); err != nil {
		return fail(err)
	}
	meter.setPhase(PhasePreparing)
	pos, err := m.engine.Prepare(ctx, staging)
	if err != nil {
		return fail(fmt.Errorf("prepare: %w", err))
	}
	if pos != man.Position {
		m.logger.Warn("the restored files' binlog info differs from the MANIFEST; using the MANIFEST's position",
			"name", man.Name, "manifest_position", man.Position, "files_position", pos)
	}
	meter.setPhase(PhasePlacing)
	if err := place(staging, dataDir); err != nil {
		return fail(err)
	}
	meter.setPhase(PhaseStarting)
	if err := req.Server.Start(ctx); err != nil {
		return fail(fmt.Errorf("start mysqld on the restored datadir: %w", err))
	}
	if req.Configure != nil {
		if err := req.Configure(ctx, man); err != nil {
			return fail(fmt.Errorf("configure the restored server: %w", err))
		}
	}
	if err := removeMarker(dataDir); err != nil {
		return nil, fmt.Errorf("restore %s: the restore is complete, but: %w", man.Name, err)
	}
	final := meter.stop()
	m.logger.Info("restore complete", append(final.logAttrs(), "position", man.Position, "datadir", dataDir)...)
	return &RestoreResult{Manifest: man, Position: man.Position, Elapsed: final.Elapsed}, nil
}

// choose finds the backup a restore or a plan uses: the named one, or the
// latest complete one (at or before before, when set). Errors: ErrNotFound
// for a named backup without MANIFEST or no backup before the time,
// ErrNoBackup when the shard has no backup at all, ErrNoCompleteBackup when
// it has only incomplete ones.
func (m *Manager) choose(ctx context.Context, keyspace, shard, name string, before time.Time) (*Manifest, error) {
	if name != "" {
		if err := checkElement("backup name", name); err != nil {
			return nil, err
		}
		man, err := m.readManifest(ctx, keyspace, shard, name)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, fmt.Errorf("backup %s of %s/%s: %w (no MANIFEST: it does not exist or is incomplete)", name, keyspace, shard, ErrNotFound)
			}
			return nil, err
		}
		return man, nil
	}
	complete, partial, err := m.scan(ctx, keyspace, shard)
	if err != nil {
		return nil, err
	}
	var candidates []Info
	for _, b := range complete {
		if before.IsZero() || !b.Time.After(before) {
			candidates = append(candidates, b)
		}
	}
	switch {
	case len(candidates) > 0:
		return candidates[len(candidates)-1].Manifest, nil
	case len(complete) > 0:
		return nil, fmt.Errorf("no complete backup of %s/%s at or before %s (the oldest is %s): %w",
			keyspace, shard, before.UTC().Format(NameTimeLayout), complete[0].Name, ErrNotFound)
	case len(partial) > 0:
		return nil, fmt.Errorf("%w for %s/%s: %d backups, none with a MANIFEST (the latest, %s: %s)",
			ErrNoCompleteBackup, keyspace, shard, len(partial), partial[len(partial)-1].name, partial[len(partial)-1].reason)
	}
	return nil, fmt.Errorf("%w for %s/%s", ErrNoBackup, keyspace, shard)
}

// compatible checks that this tablet can restore man.
func (m *Manager) compatible(man *Manifest) error {
	if man.Engine != m.engine.Name() {
		return fmt.Errorf("%w: made by engine %s, this tablet runs %s", ErrIncompatible, man.Engine, m.engine.Name())
	}
	theirs, err := mysqld.ParseFlavor(man.ServerVersion)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrIncompatible, err)
	}
	if theirs.IsMariaDB() != m.flavor.IsMariaDB() {
		return fmt.Errorf("%w: taken from %s %s, this tablet runs %s %s", ErrIncompatible,
			theirs.Name(), theirs.Version(), m.flavor.Name(), m.flavor.Version())
	}
	tv, lv := theirs.Version(), m.flavor.Version()
	if !lv.AtLeast(tv.Major, tv.Minor) {
		return fmt.Errorf("%w: taken from %s %s, newer than this tablet's %s", ErrIncompatible, theirs.Name(), tv, lv)
	}
	if tv.Major != lv.Major || tv.Minor != lv.Minor {
		m.logger.Warn("restoring a backup from an older server version", "backup_version", tv.String(), "local_version", lv.String())
	}
	return nil
}

// fetched is one stripe, fetched, verified and decompressed.
type fetched struct {
	raw  []byte
	free func() // returns the stripe's buffers
	err  error
}

// fetch streams man's stripes, in order, into the engine's extractor
// working in dir. Up to Concurrency stripes are fetched and decompressed
// ahead of the one being extracted.
func (m *Manager) fetch(ctx context.Context, man *Manifest, dir string, meter *meter) error {
	c, err := newCodec(man.Compression, 0)
	if err != nil {
		return err
	}
	dec, err := c.newDecompressor(m.cfg.Concurrency)
	if err != nil {
		return err
	}
	defer dec.close()
	var maxSize, maxRaw int64
	for _, f := range man.Files {
		maxSize, maxRaw = max(maxSize, f.Size), max(maxRaw, f.RawSize)
	}
	storedPool, rawPool := newBufPool(int(maxSize)), newBufPool(int(maxRaw))
	backupDir := Dir(man.Keyspace, man.Shard, man.Name)

	g, gctx := errgroup.WithContext(ctx)
	queue := make(chan chan fetched, m.cfg.Concurrency)
	sem := make(chan struct{}, m.cfg.Concurrency)
	in := &stripeReader{ctx: gctx, queue: queue, sem: sem, meter: meter}
	g.Go(func() error {
		if err := m.engine.Extract(gctx, in, dir); err != nil {
			return err
		}
		if !in.finished() {
			return errors.New("the extractor exited before the end of the stream")
		}
		return nil
	})
	g.Go(func() error { // dispatcher: starts the fetches, in order
		defer close(queue)
		for _, f := range man.Files {
			select {
			case sem <- struct{}{}:
			case <-gctx.Done():
				return nil
			}
			ch := make(chan fetched, 1)
			queue <- ch // never blocks: the queue holds as many as sem
			g.Go(func() error {
				ch <- m.fetchOne(gctx, backupDir+f.Name, f, c, dec, storedPool, rawPool, meter)
				return nil // the stripeReader reports the error, in stream order
			})
		}
		return nil
	})
	err = g.Wait()
	if serr := in.sourceErr(); serr != nil { // the stripe's own error, not the extractor's reaction to it
		return serr
	}
	return err
}

// stripeReader is the extractor's input: the fetched stripes, in order,
// each released (its buffers returned, its slot freed for the next fetch)
// once handed over. WriteTo writes each stripe with one call, which spares
// a copy and thousands of small pipe writes when os/exec feeds the
// extractor's stdin. It is used by one goroutine at a time.
type stripeReader struct {
	ctx   context.Context
	queue <-chan chan fetched
	sem   chan struct{}
	meter *meter

	cur  fetched // the stripe Read is handing over
	off  int     // how much of it Read has handed over
	busy bool    // cur holds a stripe

	mu   sync.Mutex // guards err and done, read after the extractor exits
	err  error      // the first fetch or context error
	done bool       // every stripe was handed over
}

// next waits for the next stripe; io.EOF after the last one.
func (s *stripeReader) next() (fetched, error) {
	var ch chan fetched
	var ok bool
	select {
	case ch, ok = <-s.queue:
	case <-s.ctx.Done():
		return fetched{}, s.fail(context.Cause(s.ctx))
	}
	if !ok {
		if err := s.ctx.Err(); err != nil { // the dispatcher gave up
			return fetched{}, s.fail(context.Cause(s.ctx))
		}
		s.mu.Lock()
		s.done = true
		s.mu.Unlock()
		return fetched{}, io.EOF
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return fetched{}, s.fail(r.err)
		}
		return r, nil
	case <-s.ctx.Done():
		return fetched{}, s.fail(context.Cause(s.ctx))
	}
}

// release returns a handed-over stripe's buffers and slot.
func (s *stripeReader) release(r fetched) {
	r.free()
	<-s.sem
	s.meter.addRaw(int64(len(r.raw)))
}

func (s *stripeReader) fail(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	return err
}

// WriteTo writes every remaining stripe to w.
func (s *stripeReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if s.busy {
		n, err := w.Write(s.cur.raw[s.off:])
		total += int64(n)
		s.busy = false
		s.release(s.cur)
		if err != nil {
			return total, err
		}
	}
	for {
		r, err := s.next()
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		n, err := w.Write(r.raw)
		total += int64(n)
		s.release(r)
		if err != nil {
			return total, err
		}
	}
}

// Read hands over the stripes through p.
func (s *stripeReader) Read(p []byte) (int, error) {
	for !s.busy {
		r, err := s.next()
		if err != nil {
			return 0, err
		}
		s.cur, s.off, s.busy = r, 0, true
	}
	n := copy(p, s.cur.raw[s.off:])
	s.off += n
	if s.off == len(s.cur.raw) {
		s.busy = false
		s.release(s.cur)
	}
	return n, nil
}

// finished reports whether every stripe was handed over.
func (s *stripeReader) finished() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// sourceErr is the first fetch or context error.
func (s *stripeReader) sourceErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// fetchOne fetches one stripe, checks its size and SHA-256 against the
// MANIFEST, and decompresses it.
func (m *Manager) fetchOne(ctx context.Context, key string, f File, c codec, dec decompressor, storedPool, rawPool *bufPool, meter *meter) fetched {
	var stored []byte
	err := m.retry(ctx, "fetch "+key, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, attemptTimeout(int(f.Size)))
		defer cancel()
		r, err := m.store.Get(ctx, key)
		if err != nil {
			return err
		}
		defer r.Close()
		buf, err := readAtMost(r, storedPool.get(), f.Size+1)
		if err != nil {
			storedPool.put(buf)
			return fmt.Errorf("read %s: %w", key, err)
		}
		if int64(len(buf)) != f.Size {
			storedPool.put(buf)
			return &ChecksumError{Key: key, WantSize: f.Size, GotSize: int64(len(buf))}
		}
		sum := sha256.Sum256(buf)
		if got := hex.EncodeToString(sum[:]); got != f.SHA256 {
			storedPool.put(buf)
			return &ChecksumError{Key: key, WantSize: f.Size, GotSize: f.Size, WantSHA256: f.SHA256, GotSHA256: got}
		}
		stored = buf
		return nil
	})
	if err != nil {
		return fetched{err: err}
	}
	meter.addStored(f.Size)
	if c.name == CompressionNone {
		return fetched{raw: stored, free: func() { storedPool.put(stored) }}
	}
	raw, err := dec.decompress(rawPool.get(), stored, f.RawSize)
	storedPool.put(stored)
	if err != nil {
		return fetched{err: fmt.Errorf("decompress %s: %w", key, err)}
	}
	return fetched{raw: raw, free: func() { rawPool.put(raw) }}
}

// readAtMost reads r to its end into buf, up to limit bytes.
func readAtMost(r io.Reader, buf []byte, limit int64) ([]byte, error) {
	lr := io.LimitReader(r, limit)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// place moves the prepared backup from staging into dataDir: it empties
// dataDir (all but the marker), moves every entry of staging into it and
// removes staging, then makes the changes durable.
func place(staging, dataDir string) error {
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return fmt.Errorf("place: %w", err)
	}
	for _, e := range entries {
		if e.Name() == MarkerFile || e.Name() == "lost+found" { // the marker, and a mount point's own
			continue
		}
		if err := os.RemoveAll(filepath.Join(dataDir, e.Name())); err != nil {
			return fmt.Errorf("place: empty the datadir: %w", err)
		}
	}
	entries, err = os.ReadDir(staging)
	if err != nil {
		return fmt.Errorf("place: %w", err)
	}
	for _, e := range entries {
		if e.Name() == MarkerFile {
			continue
		}
		if err := move(filepath.Join(staging, e.Name()), filepath.Join(dataDir, e.Name())); err != nil {
			return fmt.Errorf("place: %w", err)
		}
	}
	if err := os.Remove(staging); err != nil {
		return fmt.Errorf("place: %w", err)
	}
	return syncDir(dataDir)
}

// move renames src to dst, copying when they are on different
// filesystems (a datadir that is a mount point of its own).
func move(src, dst string) error {
	err := os.Rename(src, dst)
	if !errors.Is(err, syscall.EXDEV) {
		return err
	}
	if err := copyTree(src, dst); err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return os.RemoveAll(src)
}

// copyTree copies the directories and regular files under src to dst,
// syncing each file.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o750)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", path)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		if err := out.Sync(); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
