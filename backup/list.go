package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// maxManifestBytes bounds a MANIFEST read: a few hundred bytes per stripe.
const maxManifestBytes = 64 << 20

// Info describes one complete backup.
type Info struct {
	// Name is the backup's name, Time the start time in it and
	// TabletAlias the tablet that took it.
	Name        string
	Time        time.Time
	TabletAlias string
	// Manifest is its MANIFEST.
	Manifest *Manifest
}

// incomplete is a backup directory without a valid MANIFEST.
type incomplete struct {
	name   string
	time   time.Time
	reason string
}

// List returns the complete backups of a shard, oldest first. Backups
// without a MANIFEST (failed, or still being written) are not listed.
func (m *Manager) List(ctx context.Context, keyspace, shard string) ([]Info, error) {
	complete, _, err := m.scan(ctx, keyspace, shard)
	return complete, err
}

// scan lists a shard's backup directories and reads their MANIFESTs, in
// parallel. Directories whose names Name did not make are ignored.
func (m *Manager) scan(ctx context.Context, keyspace, shard string) ([]Info, []incomplete, error) {
	for what, v := range map[string]string{"keyspace": keyspace, "shard": shard} {
		if err := checkElement(what, v); err != nil {
			return nil, nil, fmt.Errorf("list backups: %w", err)
		}
	}
	prefix := ShardDir(keyspace, shard)
	var entries []Entry
	err := m.retry(ctx, "list "+prefix, func(ctx context.Context) error {
		var err error
		entries, err = m.store.List(ctx, prefix)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list backups: %w", err)
	}
	type result struct {
		info Info
		bad  string
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(e.Key, prefix), "/")
		if _, _, ok := ParseName(name); !ok {
			m.logger.Debug("ignoring a directory that is not a backup", "dir", e.Key)
			continue
		}
		names = append(names, name)
	}
	results := make([]result, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.cfg.Concurrency)
	for i, name := range names {
		g.Go(func() error {
			t, alias, _ := ParseName(name)
			results[i].info = Info{Name: name, Time: t, TabletAlias: alias}
			man, err := m.readManifest(gctx, keyspace, shard, name)
			switch {
			case errors.Is(err, ErrNotFound):
				results[i].bad = "no MANIFEST"
			case errors.Is(err, errInvalidManifest):
				results[i].bad = err.Error()
			case err != nil:
				return err
			default:
				results[i].info.Manifest = man
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, fmt.Errorf("list backups: %w", err)
	}
	var complete []Info
	var partial []incomplete
	for _, r := range results {
		if r.bad != "" {
			partial = append(partial, incomplete{name: r.info.Name, time: r.info.Time, reason: r.bad})
			continue
		}
		complete = append(complete, r.info)
	}
	sort.Slice(complete, func(i, j int) bool { return complete[i].Name < complete[j].Name })
	sort.Slice(partial, func(i, j int) bool { return partial[i].name < partial[j].name })
	return complete, partial, nil
}

// errInvalidManifest marks a MANIFEST that exists but cannot be used.
var errInvalidManifest = errors.New("invalid MANIFEST")

// readManifest reads and checks a backup's MANIFEST. An absent one gives
// ErrNotFound; one that does not parse, or describes another backup,
// errInvalidManifest.
func (m *Manager) readManifest(ctx context.Context, keyspace, shard, name string) (*Manifest, error) {
	key := Dir(keyspace, shard, name) + ManifestFile
	var b []byte
	err := m.retry(ctx, "read "+key, func(ctx context.Context) error {
		r, err := m.store.Get(ctx, key)
		if err != nil {
			return err
		}
		defer r.Close()
		b, err = io.ReadAll(io.LimitReader(r, maxManifestBytes+1))
		if err != nil {
			return fmt.Errorf("read %s: %w", key, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(b) > maxManifestBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", errInvalidManifest, key, maxManifestBytes)
	}
	man, err := DecodeManifest(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errInvalidManifest, key, err)
	}
	if man.Name != name || man.Keyspace != keyspace || man.Shard != shard {
		return nil, fmt.Errorf("%w: %s describes %s/%s/%s", errInvalidManifest, key, man.Keyspace, man.Shard, man.Name)
	}
	return man, nil
}

// PruneResult says what Prune removed and kept.
type PruneResult struct {
	// Removed lists the backups removed, complete or not; Kept the
	// complete backups left.
	Removed []string
	Kept    []string
}

// Prune removes a shard's old backups: complete ones beyond the newest
// RetentionCount or older than RetentionAge (never the newest complete
// one), and incomplete ones older than IncompleteAge. With neither
// retention limit set it removes only old incomplete backups. It returns
// what it removed, and an error listing the backups it failed to remove.
func (m *Manager) Prune(ctx context.Context, keyspace, shard string) (PruneResult, error) {
	complete, partial, err := m.scan(ctx, keyspace, shard)
	if err != nil {
		return PruneResult{}, err
	}
	now := m.now()
	var doomed []string
	var res PruneResult
	for i := len(complete) - 1; i >= 0; i-- {
		newest := len(complete) - 1 - i // 0 for the newest
		b := complete[i]
		byCount := m.cfg.RetentionCount > 0 && newest >= m.cfg.RetentionCount
		byAge := m.cfg.RetentionAge > 0 && now.Sub(b.Time) > m.cfg.RetentionAge
		if newest > 0 && (byCount || byAge) {
			doomed = append(doomed, b.Name)
			continue
		}
		res.Kept = append(res.Kept, b.Name)
	}
	for _, p := range partial {
		if now.Sub(p.time) > m.cfg.IncompleteAge {
			doomed = append(doomed, p.name)
		}
	}
	var errs []error
	for _, name := range doomed {
		dir := Dir(keyspace, shard, name)
		if err := m.remove(ctx, dir); err != nil {
			errs = append(errs, fmt.Errorf("prune %s: %w", name, err))
			continue
		}
		m.logger.Info("pruned backup", "name", name, "shard", keyspace+"/"+shard)
		res.Removed = append(res.Removed, name)
	}
	sort.Strings(res.Removed)
	sort.Strings(res.Kept)
	return res, errors.Join(errs...)
}
