package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tabletd/tablet/mysqld"
)

// cleanupTimeout bounds the best-effort removal of a failed backup's
// files, which runs even when the backup's context has ended.
const cleanupTimeout = time.Minute

// BackupRequest asks for one backup of the local mysqld.
type BackupRequest struct {
	// Keyspace, Shard and TabletAlias place and name the backup.
	Keyspace    string
	Shard       string
	TabletAlias string
	// ShardMayBeServing is the caller's word that some tablet of the shard
	// may be serving (it cannot rule that out). A database without user
	// data is then not backed up: new tablets would restore an empty shard
	// beside a serving one. See HasUserData.
	ShardMayBeServing bool
	// Progress, when set, receives a report every ProgressInterval and a
	// last one when the backup ends. It is never called concurrently.
	Progress func(Progress)
}

// Backup takes a hot backup of the local mysqld and stores it under
// <keyspace>/<shard>/<name>/: the tool's stream cut into stripes, each
// compressed and stored concurrently with its SHA-256 recorded, then the
// MANIFEST. It returns the MANIFEST. It blocks until the backup is complete
// or has failed; ctx ending stops it.
//
// A failed backup removes what it stored (best effort) and its error says
// why and what, if anything, was left behind. Errors: ErrBusy when another
// backup or restore runs, ErrEmptyDatabase when the database is empty and
// must not be backed up, ErrExists when the name is taken, a *ToolError
// when the tool fails, or a storage error.
func (m *Manager) Backup(ctx context.Context, req BackupRequest) (*Manifest, error) {
	for what, v := range map[string]string{"keyspace": req.Keyspace, "shard": req.Shard, "tablet alias": req.TabletAlias} {
		if err := checkElement(what, v); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
	}
	if m.db == nil {
		return nil, errors.New("backup: the Manager has no connection to mysqld (Deps.DB)")
	}
	start := m.now().UTC()
	name := Name(start, req.TabletAlias)
	release, err := m.acquire("backup", name)
	if err != nil {
		return nil, err
	}
	defer release()
	m.metrics.backupInProgress.Set(1)
	defer m.metrics.backupInProgress.Set(0)
	defer func() { m.metrics.backupDuration.Store(int64(m.now().Sub(start))) }()

	man, err := m.backup(ctx, req, name, start)
	if err != nil {
		m.metrics.backups.Add(1, "failure")
		return nil, err
	}
	m.metrics.backups.Add(1, "success")
	return man, nil
}

func (m *Manager) backup(ctx context.Context, req BackupRequest, name string, start time.Time) (*Manifest, error) {
	shard := req.Keyspace + "/" + req.Shard
	dir := Dir(req.Keyspace, req.Shard, name)

	var version string
	if err := queryOne(ctx, m.db, mysqld.VersionQuery, &version); err != nil {
		return nil, fmt.Errorf("backup %s: read server version: %w", name, err)
	}
	hasData, err := HasUserData(ctx, m.db)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", name, err)
	}
	if !hasData {
		if req.ShardMayBeServing {
			return nil, fmt.Errorf("%w: %s has no user data and the shard %s may have a serving tablet; "+
				"take the backup from a tablet that holds the shard's data", ErrEmptyDatabase, req.TabletAlias, shard)
		}
		complete, _, err := m.scan(ctx, req.Keyspace, req.Shard)
		if err != nil {
			return nil, fmt.Errorf("backup %s: %w", name, err)
		}
		if len(complete) > 0 {
			return nil, fmt.Errorf("%w: %s has no user data and the shard %s already has backups (the latest is %s); "+
				"restore this tablet from it instead", ErrEmptyDatabase, req.TabletAlias, shard, complete[len(complete)-1].Name)
		}
		m.logger.Info("backing up an empty database: the initial backup of the shard", "shard", shard)
	}
	existing, err := m.store.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", name, err)
	}
	if len(existing) > 0 {
		return nil, fmt.Errorf("%w: %s holds %d files already", ErrExists, dir, len(existing))
	}

	flushed, err := flushNonInnoDB(ctx, m.db, m.flavor)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", name, err)
	}
	m.logger.Info("backup starting", "name", name, "shard", shard, "engine", m.engine.Name(), "tool", m.engine.Tool(),
		"compression", m.codec.name, "level", m.codec.level, "stripe_bytes", m.cfg.StripeBytes, "concurrency", m.cfg.Concurrency,
		"dir", dir, "flushed_non_innodb_tables", flushed)
	meter := startMeter("backup", name, PhaseStreaming, 0, m.cfg.ProgressInterval, m.logger, req.Progress, m.metrics.backupRaw, m.metrics.backupStored)
	files, res, err := m.stream(ctx, dir, meter)
	if err == nil && res.Position == "" && hasData {
		err = errors.New("the backup has no GTID position although the database holds data: " +
			"GTIDs must be on (gtid_mode=ON on MySQL) for replicas to resume from a backup")
	}
	var man *Manifest
	if err == nil {
		meter.setPhase(PhaseManifest)
		man = &Manifest{
			FormatVersion: manifestVersion,
			Name:          name,
			Keyspace:      req.Keyspace,
			Shard:         req.Shard,
			TabletAlias:   req.TabletAlias,
			Engine:        m.engine.Name(),
			Tool:          m.engine.Tool(),
			ToolVersion:   res.ToolVersion,
			Flavor:        m.flavor.Name(),
			ServerVersion: version,
			Position:      res.Position,
			BinlogFile:    res.BinlogFile,
			BinlogPos:     res.BinlogPos,
			ReplicaInfo:   res.ReplicaInfo,
			StartTime:     start,
			Compression:   m.codec.name,
			StripeBytes:   m.cfg.StripeBytes,
			Files:         files,
		}
		for _, f := range files {
			man.RawBytes += f.RawSize
			man.StoredBytes += f.Size
		}
		man.EndTime = m.now().UTC()
		err = m.putManifest(ctx, dir, man)
	}
	final := meter.stop()
	if err != nil {
		err = fmt.Errorf("backup %s of %s failed: %w", name, shard, err)
		if cerr := m.remove(context.WithoutCancel(ctx), dir); cerr != nil {
			return nil, errors.Join(err, fmt.Errorf("and its files could not all be removed, remove %s by hand: %w", dir, cerr))
		}
		return nil, fmt.Errorf("%w (its files under %s were removed)", err, dir)
	}
	m.logger.Info("backup complete", append(final.logAttrs(), "position", man.Position, "stored_files", len(man.Files))...)
	return man, nil
}

// stream runs the engine and stores its stream as compressed stripes,
// returning them in stream order.
func (m *Manager) stream(ctx context.Context, dir string, meter *meter) ([]File, EngineResult, error) {
	comp, err := m.codec.newCompressor(m.cfg.Concurrency)
	if err != nil {
		return nil, EngineResult{}, err
	}
	defer comp.close()
	var (
		mu    sync.Mutex // guards files
		files = map[int]File{}
	)
	size := int(m.cfg.StripeBytes)
	compressed := newBufPool(size + size/64 + 1024) // zstd and gzip never grow data by more
	g, gctx := errgroup.WithContext(ctx)
	st := &striper{
		ctx:  gctx,
		g:    g,
		sem:  make(chan struct{}, m.cfg.Concurrency),
		pool: newBufPool(size),
		size: size,
		raw:  meter.addRaw,
		store: func(ctx context.Context, index int, raw []byte) error {
			out := raw
			if m.codec.name != CompressionNone {
				buf := compressed.get()
				var err error
				if out, err = comp.compress(buf, raw); err != nil {
					return fmt.Errorf("compress stripe %d: %w", index, err)
				}
				defer compressed.put(out)
			}
			sum := sha256.Sum256(out)
			f := File{Name: stripeName(index, m.codec.ext), Size: int64(len(out)), RawSize: int64(len(raw)), SHA256: hex.EncodeToString(sum[:])}
			key := dir + f.Name
			err := m.retry(ctx, "store "+key, func(ctx context.Context) error {
				ctx, cancel := context.WithTimeout(ctx, attemptTimeout(len(out)))
				defer cancel()
				return m.store.Put(ctx, key, out)
			})
			if err != nil {
				return err
			}
			meter.addStored(f.Size)
			mu.Lock()
			files[index] = f
			mu.Unlock()
			return nil
		},
	}
	var res EngineResult
	g.Go(func() error {
		var err error
		if res, err = m.engine.Backup(gctx, st); err != nil {
			return err
		}
		return st.flush()
	})
	if err := g.Wait(); err != nil {
		return nil, res, err
	}
	out := make([]File, st.stripes())
	for i := range out {
		f, ok := files[i]
		if !ok {
			return nil, res, fmt.Errorf("stripe %d was never stored", i)
		}
		out[i] = f
	}
	if len(out) == 0 {
		return nil, res, errors.New("the tool wrote an empty stream")
	}
	return out, res, nil
}

// attemptTimeout bounds one storage request for size bytes: two minutes
// of slack plus the transfer at 1 MiB/s, far below what any store that is
// working delivers, so only a hung request hits it.
func attemptTimeout(size int) time.Duration {
	return 2*time.Minute + time.Duration(size>>20)*time.Second
}

// putManifest writes man as dir's MANIFEST.
func (m *Manager) putManifest(ctx context.Context, dir string, man *Manifest) error {
	if err := man.Validate(); err != nil {
		return err
	}
	b, err := man.Encode()
	if err != nil {
		return err
	}
	key := dir + ManifestFile
	return m.retry(ctx, "store "+key, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, attemptTimeout(len(b)))
		defer cancel()
		return m.store.Put(ctx, key, b)
	})
}

// remove deletes every file under the backup directory dir, the MANIFEST
// first so that a half-removed backup is never taken as complete. It is
// best effort, bounded by cleanupTimeout, and returns what failed.
func (m *Manager) remove(ctx context.Context, dir string) error {
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	if err := m.store.Delete(ctx, dir+ManifestFile); err != nil {
		return fmt.Errorf("delete %s: %w", dir+ManifestFile, err)
	}
	entries, err := m.store.List(ctx, dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir {
			continue
		}
		if err := m.store.Delete(ctx, e.Key); err != nil {
			errs = append(errs, fmt.Errorf("delete %s: %w", e.Key, err))
		}
	}
	return errors.Join(errs...)
}

// queryOne runs a query that returns one row of one column.
func queryOne(ctx context.Context, q Querier, query string, dest any) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("%s: %w", query, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return fmt.Errorf("%s: %w", query, err)
		}
		return fmt.Errorf("%s: no row", query)
	}
	if err := rows.Scan(dest); err != nil {
		return fmt.Errorf("%s: %w", query, err)
	}
	return rows.Close()
}
