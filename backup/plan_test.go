package backup_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/backup"
)

func TestPlan(t *testing.T) {
	type setup struct {
		backups    int  // complete backups to take
		incomplete bool // add a backup directory without MANIFEST
		data       bool // put user data in the datadir
		marker     bool // leave a restore marker in the datadir
	}
	tests := []struct {
		name   string
		setup  setup
		req    backup.PlanRequest
		action backup.Action
		backup string // with ActionRestore
		reason string // a substring of Reason
		err    error  // with ActionFail
	}{
		{name: "no backup at all", action: backup.ActionStartEmpty, reason: "no backup of commerce/-80 exists"},
		{name: "only incomplete backups", setup: setup{incomplete: true}, action: backup.ActionFail, err: backup.ErrNoCompleteBackup},
		{name: "latest complete backup", setup: setup{backups: 2, incomplete: true}, action: backup.ActionRestore,
			backup: "2024-05-01.120100.zone1-0000000100", reason: "holds no data"},
		{name: "data present", setup: setup{backups: 1, data: true}, action: backup.ActionNoRestore, reason: "already holds data"},
		{name: "data present, no backups", setup: setup{data: true}, action: backup.ActionNoRestore},
		{name: "interrupted restore", setup: setup{backups: 1, data: true, marker: true}, action: backup.ActionRestore,
			backup: "2024-05-01.120000.zone1-0000000100", reason: "interrupted restore"},
		{name: "interrupted restore, no backup left", setup: setup{marker: true}, action: backup.ActionFail, err: backup.ErrNoBackup},
		{name: "named backup", setup: setup{backups: 2}, req: backup.PlanRequest{Name: "2024-05-01.120000.zone1-0000000100"},
			action: backup.ActionRestore, backup: "2024-05-01.120000.zone1-0000000100"},
		{name: "named backup missing", setup: setup{backups: 1}, req: backup.PlanRequest{Name: "2024-01-01.000000.zone1-1"},
			action: backup.ActionFail, err: backup.ErrNotFound},
		{name: "before a time", setup: setup{backups: 3},
			req:    backup.PlanRequest{Before: time.Date(2024, 5, 1, 12, 1, 30, 0, time.UTC)},
			action: backup.ActionRestore, backup: "2024-05-01.120100.zone1-0000000100"},
		{name: "before every backup", setup: setup{backups: 2},
			req:    backup.PlanRequest{Before: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)},
			action: backup.ActionFail, err: backup.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testConfig(), 300<<10)
			for range tt.setup.backups {
				f.backup(t)
			}
			if tt.setup.incomplete {
				key := backup.Dir("commerce", "-80", "2024-05-01.130000.zone1-0000000101") + "backup.xbstream.000000.zst"
				if err := f.store.Put(context.Background(), key, []byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			if tt.setup.data {
				writeFile(t, filepath.Join(f.dataDir, "app", "t.ibd"))
			}
			if tt.setup.marker {
				writeFile(t, filepath.Join(f.dataDir, backup.MarkerFile))
			}
			req := tt.req
			req.Keyspace, req.Shard = "commerce", "-80"
			d := f.m.Plan(context.Background(), req)
			if d.Action != tt.action || d.Backup != tt.backup || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("Plan = %v %q (%s), want %v %q (%s)", d.Action, d.Backup, d.Reason, tt.action, tt.backup, tt.reason)
			}
			if tt.err != nil && !errors.Is(d.Err, tt.err) {
				t.Errorf("Plan error = %v, want %v", d.Err, tt.err)
			}
			if d.Action == backup.ActionRestore && d.Position != fakePosition {
				t.Errorf("Position = %q", d.Position)
			}
		})
	}
}

func writeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestPrune(t *testing.T) {
	names := func(f *fixture) []string {
		list, err := f.m.List(context.Background(), "commerce", "-80")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, b := range list {
			out = append(out, b.Name[len("2024-05-01."):len("2024-05-01.1200")])
		}
		return out
	}
	t.Run("by count", func(t *testing.T) {
		cfg := testConfig()
		cfg.RetentionCount = 2
		f := newFixture(t, cfg, 100<<10)
		for range 4 {
			f.backup(t)
		}
		res, err := f.m.Prune(context.Background(), "commerce", "-80")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Removed) != 2 || len(res.Kept) != 2 {
			t.Errorf("Prune = %+v", res)
		}
		if got := strings.Join(names(f), " "); got != "1202 1203" {
			t.Errorf("left %s, want the newest two", got)
		}
	})
	t.Run("by age, never the newest", func(t *testing.T) {
		cfg := testConfig()
		cfg.RetentionAge = 90 * time.Second
		f := newFixture(t, cfg, 100<<10)
		for range 3 {
			f.backup(t)
		}
		// The clock is at 12:03: 12:00 and 12:01 are too old.
		if _, err := f.m.Prune(context.Background(), "commerce", "-80"); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(names(f), " "); got != "1202" {
			t.Errorf("left %s, want 1202", got)
		}
		f.clock.Advance(24 * time.Hour)
		if _, err := f.m.Prune(context.Background(), "commerce", "-80"); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(names(f), " "); got != "1202" {
			t.Errorf("left %s: the newest backup must stay, however old", got)
		}
	})
	t.Run("incomplete", func(t *testing.T) {
		f := newFixture(t, testConfig(), 100<<10)
		f.backup(t)
		old := backup.Dir("commerce", "-80", "2024-04-01.000000.zone1-0000000101") + "backup.xbstream.000000.zst"
		young := backup.Dir("commerce", "-80", "2024-05-01.115959.zone1-0000000102") + "backup.xbstream.000000.zst"
		for _, k := range []string{old, young} {
			if err := f.store.Put(context.Background(), k, []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		res, err := f.m.Prune(context.Background(), "commerce", "-80")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(res.Removed, " ") != "2024-04-01.000000.zone1-0000000101" {
			t.Errorf("Removed = %v, want only the month-old incomplete backup", res.Removed)
		}
		if _, ok := f.store.Object(young); !ok {
			t.Error("a young incomplete backup, maybe in progress elsewhere, was removed")
		}
	})
	t.Run("no limits", func(t *testing.T) {
		f := newFixture(t, testConfig(), 100<<10)
		for range 3 {
			f.backup(t)
		}
		res, err := f.m.Prune(context.Background(), "commerce", "-80")
		if err != nil || len(res.Removed) != 0 {
			t.Errorf("Prune without limits = %+v, %v", res, err)
		}
	})
}

// A MANIFEST that does not parse, or speaks of another backup, makes its
// backup incomplete: not listed, never restored.
func TestListSkipsBadManifests(t *testing.T) {
	f := newFixture(t, testConfig(), 100<<10)
	good := f.backup(t)
	ctx := context.Background()
	bad := backup.Dir("commerce", "-80", "2024-05-01.130000.zone1-0000000101") + backup.ManifestFile
	if err := f.store.Put(ctx, bad, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	copied, _ := f.store.Object(backup.Dir("commerce", "-80", good.Name) + backup.ManifestFile)
	other := backup.Dir("commerce", "-80", "2024-05-01.140000.zone1-0000000102") + backup.ManifestFile
	if err := f.store.Put(ctx, other, copied); err != nil {
		t.Fatal(err)
	}
	list, err := f.m.List(ctx, "commerce", "-80")
	if err != nil || len(list) != 1 || list[0].Name != good.Name {
		t.Fatalf("List = %+v, %v; want only %s", list, err, good.Name)
	}
}
