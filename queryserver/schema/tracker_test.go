package schema

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/tabletd/tablet/debugvars"
	"github.com/tabletd/tablet/testenv"
)

func TestMain(m *testing.M) { testenv.LeakCheckMain(m, "tabletd/tablet/queryserver/schema.") }

// fakeDB answers the tracker's queries from a settable table list: name
// -> "type/signature", and definitions by name.
type fakeDB struct {
	mu      sync.Mutex // guards the fields below
	objects map[string][2]string
	fail    error
	queries int
	udfs    [][][]byte
}

func (f *fakeDB) set(name, typ, sig string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if typ == "" {
		delete(f.objects, name)
		return
	}
	f.objects[name] = [2]string{typ, sig}
}

func (f *fakeDB) Query(_ context.Context, q string) ([][][]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	if f.fail != nil {
		return nil, f.fail
	}
	switch {
	case strings.HasPrefix(q, "SHOW CREATE TABLE"):
		name := q[strings.LastIndex(q, ".`")+2 : len(q)-1]
		o, ok := f.objects[name]
		if !ok {
			return nil, &mysql.MySQLError{Number: 1146, Message: "no such table"}
		}
		return [][][]byte{{[]byte(name), []byte(fmt.Sprintf("CREATE %s `%s` /* %s */", o[0], name, o[1]))}}, nil
	case strings.Contains(q, "mysql.func"):
		return f.udfs, nil
	case strings.Contains(q, "CRC32"):
		var rows [][][]byte
		for n, o := range f.objects {
			rows = append(rows, [][]byte{[]byte(n), []byte(o[0]), []byte(o[1])})
		}
		return rows, nil
	default: // the table list
		var rows [][][]byte
		for _, n := range sortedNames(f.objects) {
			rows = append(rows, [][]byte{[]byte(n), []byte(f.objects[n][0])})
		}
		return rows, nil
	}
}

func sortedNames(m map[string][2]string) []string {
	b := map[string]bool{}
	for k := range m {
		b[k] = true
	}
	return sortedKeys(b)
}

func newTracker(t *testing.T, db *fakeDB, interval time.Duration) *Tracker {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ReloadInterval = interval
	return New(cfg, db, "vt_ks", debugvars.New(), slog.New(slog.DiscardHandler))
}

func TestReloadFindsChanges(t *testing.T) {
	db := &fakeDB{objects: map[string][2]string{"t1": {"BASE TABLE", "1"}, "t2": {"BASE TABLE", "2"}, "v1": {"VIEW", "3"}}}
	tr := newTracker(t, db, 0)
	ctx := context.Background()
	if c, err := tr.Reload(ctx); err != nil || !c.Empty() {
		t.Fatalf("first reload = %v, %v; want the baseline and no change", c, err)
	}
	v0 := tr.Version()
	changed := tr.Changed(v0)

	steps := []struct {
		name   string
		change func()
		want   string
	}{
		{"nothing", func() {}, "{[] []}"},
		{"alter, create, drop", func() {
			db.set("t1", "BASE TABLE", "1b")
			db.set("t3", "BASE TABLE", "9")
			db.set("t2", "", "")
		}, "{[t1 t2 t3] []}"},
		{"view redefined", func() { db.set("v1", "VIEW", "3b") }, "{[] [v1]}"},
		{"table replaced by a view", func() { db.set("t3", "VIEW", "x") }, "{[t3] [t3]}"},
	}
	for _, s := range steps {
		s.change()
		c, err := tr.Reload(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(c); got != s.want {
			t.Errorf("%s: change %s, want %s", s.name, got, s.want)
		}
	}
	select {
	case <-changed:
	default:
		t.Error("Changed(v0) not closed after changes")
	}
	c, v := tr.ChangesSince(v0)
	if fmt.Sprint(c) != "{[t1 t2 t3] [t3 v1]}" || v != v0+3 {
		t.Errorf("ChangesSince(v0) = %v, %d; want every change, version %d", c, v, v0+3)
	}
	if c, _ := tr.ChangesSince(v); !c.Empty() {
		t.Errorf("ChangesSince(current) = %v, want nothing", c)
	}
	select {
	case <-tr.Changed(v):
		t.Error("Changed(current) closed with nothing new")
	default:
	}

	// A failed reload keeps the baseline: the next good one reports the
	// difference.
	db.mu.Lock()
	db.fail = errors.New("mysqld is down")
	db.mu.Unlock()
	if _, err := tr.Reload(ctx); err == nil || !strings.Contains(err.Error(), "vt_ks") {
		t.Errorf("reload with mysqld down = %v, want an error naming the database", err)
	}
	db.mu.Lock()
	db.fail = nil
	db.mu.Unlock()
	db.set("t9", "BASE TABLE", "1")
	if c, _ := tr.Reload(ctx); fmt.Sprint(c) != "{[t9] []}" {
		t.Errorf("reload after the outage = %v, want t9", c)
	}
}

func TestChangesSinceTooOldNamesEverything(t *testing.T) {
	db := &fakeDB{objects: map[string][2]string{"a": {"BASE TABLE", "0"}, "v": {"VIEW", "0"}}}
	tr := newTracker(t, db, 0)
	ctx := context.Background()
	if _, err := tr.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range maxHistory + 5 {
		db.set("a", "BASE TABLE", fmt.Sprint(i+1))
		if _, err := tr.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if c, _ := tr.ChangesSince(0); fmt.Sprint(c) != "{[a] [v]}" {
		t.Errorf("ChangesSince(0) after %d changes = %v, want every object", maxHistory+5, c)
	}
}

func TestRunReloadsOnTrigger(t *testing.T) {
	db := &fakeDB{objects: map[string][2]string{"a": {"BASE TABLE", "0"}}}
	tr := newTracker(t, db, 0)                                 // no periodic reloads
	if _, err := tr.Reload(context.Background()); err != nil { // the baseline
		t.Fatal(err)
	}
	v := tr.Version()
	db.set("a", "BASE TABLE", "1")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	tr.Trigger()
	select {
	case <-tr.Changed(v):
		if c, _ := tr.ChangesSince(v); fmt.Sprint(c) != "{[a] []}" {
			t.Errorf("change = %v, want a", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change seen 10s after Trigger")
	}
}

func TestDefinitions(t *testing.T) {
	db := &fakeDB{objects: map[string][2]string{"t1": {"BASE TABLE", "1"}, "t2": {"BASE TABLE", "2"}, "v1": {"VIEW", "3"}},
		udfs: [][][]byte{{[]byte("f"), []byte("2"), []byte("function")}, {[]byte("g"), []byte("0"), []byte("aggregate")}}}
	tr := newTracker(t, db, 0)
	tests := []struct {
		kind  Kind
		names []string
		want  string
	}{
		{KindTables, nil, "[t1 t2]"},
		{KindViews, nil, "[v1]"},
		{KindAll, nil, "[t1 t2 v1]"},
		{KindAll, []string{"t2", "v1", "gone"}, "[t2 v1]"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.kind, tt.names), func(t *testing.T) {
			var got []string
			err := tr.Definitions(context.Background(), tt.kind, tt.names, func(name, create string) error {
				if !strings.Contains(create, "`"+name+"`") {
					t.Errorf("definition of %s = %q", name, create)
				}
				got = append(got, name)
				return nil
			})
			if err != nil || fmt.Sprint(got) != tt.want {
				t.Errorf("Definitions = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
	udfs, err := tr.UDFs(context.Background())
	if err != nil || fmt.Sprint(udfs) != "[{f false integer} {g true string}]" {
		t.Errorf("UDFs = %v, %v", udfs, err)
	}
}
