package debugvars

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestVarsGolden checks /debug/vars key for key against
// testdata/vars.golden.json. Run with -update to rewrite the golden file.
func TestVarsGolden(t *testing.T) {
	body, contentType := get(t, newFixture(t).VarsHandler())
	if !strings.HasPrefix(contentType, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", contentType)
	}
	got := decodeJSON(t, body)
	vars, ok := got.(map[string]any)
	if !ok {
		t.Fatalf("/debug/vars is %T, want an object", got)
	}
	// The standard variables change from run to run: check their shape
	// here and leave them out of the golden file.
	if _, ok := vars[cmdlineName].([]any); !ok {
		t.Errorf("cmdline is %T, want an array", vars[cmdlineName])
	}
	if ms, ok := vars[memstatsName].(map[string]any); !ok || ms["HeapAlloc"] == nil || ms["NumGC"] == nil {
		t.Errorf("memstats = %v, want runtime.MemStats fields", vars[memstatsName])
	}
	delete(vars, cmdlineName)
	delete(vars, memstatsName)

	path := filepath.Join("testdata", "vars.golden.json")
	if *update {
		b, err := json.MarshalIndent(vars, "", "  ")
		if err != nil {
			t.Fatalf("encode golden: %v", err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatalf("write golden: %v", err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	for _, d := range diffJSON("", vars, decodeJSON(t, b)) {
		t.Error(d)
	}
}

// TestVarsDocument checks the document as a whole: valid JSON, one object,
// top-level keys unique and sorted, the standard variables as expvar
// renders them.
func TestVarsDocument(t *testing.T) {
	body, _ := get(t, newFixture(t).VarsHandler())
	if !json.Valid(body) {
		t.Fatalf("invalid JSON:\n%s", body)
	}
	keys := topLevelKeys(t, body)
	if !slices.IsSorted(keys) {
		t.Errorf("keys not sorted: %q", keys)
	}
	if c := slices.Compact(slices.Clone(keys)); len(c) != len(keys) {
		t.Errorf("keys repeated: %q", keys)
	}
	var doc struct {
		Cmdline  []string       `json:"cmdline"`
		Memstats map[string]any `json:"memstats"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !slices.Equal(doc.Cmdline, os.Args) {
		t.Errorf("cmdline = %q, want os.Args %q", doc.Cmdline, os.Args)
	}
	if len(doc.Memstats) == 0 {
		t.Error("memstats is empty")
	}
}

// TestRegistriesAreIndependent holds two registries with the same names in
// one process, which expvar's global registry cannot.
func TestRegistriesAreIndependent(t *testing.T) {
	a, b := New(), New()
	ca := a.NewCounter("Commits", "tablet_commits_total", "Transactions committed.")
	cb := b.NewCounter("Commits", "tablet_commits_total", "Transactions committed.")
	ca.Add(1)
	cb.Add(2)
	for _, tc := range []struct {
		name string
		r    *Registry
		want string
	}{
		{"a", a, "1"},
		{"b", b, "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.r.Get("Commits")
			if !ok || string(got) != tc.want {
				t.Errorf("Get(Commits) = %s, %v; want %s, true", got, ok, tc.want)
			}
		})
	}
}

// TestGet checks each kind's rendering through Registry.Get.
func TestGet(t *testing.T) {
	r := newFixture(t)
	tests := []struct {
		name string
		want string
	}{
		{"QueryCacheMisses", `5`},
		{"TransactionPoolCapacity", `300`},
		{"TransactionPoolAvailable", `298`},
		{"TransactionPoolTimeout", `30000000000`},
		{"TransactionPoolWaitTime", `250000000`},
		{"Errors", `{"Deadlock": 0, "Fail": 1, "NotInTx": 0, "TxPoolFull": 0}`},
		{"Kills", `{"Queries": 2, "Transactions": 0}`},
		{"QueryCounts", `{"odd_name.PASS_SELECT": 1, "orders.INSERT_PK": 1, "users.PASS_SELECT": 3}`},
		{"UserTableQueryCount", `{"app.users.PASS_SELECT": 2}`},
		{"QueryTimesNs", `{"users.PASS_SELECT": 1500000}`},
		{"DataLength", `{"orders": 32768, "users": 16384}`},
		{"TabletState", `{"Keyspace":"commerce","Shard":"0","Type":"REPLICA","Serving":true}`},
		{"Results", `{"0": 1, "1": 2, "5": 3, "10": 3, "50": 3, "100": 3, "500": 3, "1000": 3, "5000": 3, "10000": 3, "inf": 4, "Count": 4, "Total": 20004}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := r.Get(tc.name)
			if !ok {
				t.Fatalf("Get(%q) found nothing", tc.name)
			}
			if string(got) != tc.want {
				t.Errorf("Get(%q) =\n%s\nwant\n%s", tc.name, got, tc.want)
			}
		})
	}
	if _, ok := r.Get("NoSuchVariable"); ok {
		t.Error("Get(NoSuchVariable) found a variable")
	}
}

// TestHistogramBuckets checks bucket boundaries: a value equal to a cutoff
// counts under it, and counts are cumulative.
func TestHistogramBuckets(t *testing.T) {
	tests := []struct {
		name   string
		values []int64
		want   []int64 // cumulative per cutoff 0, 10, 100, then inf
	}{
		{"empty", nil, []int64{0, 0, 0, 0}},
		{"on cutoffs", []int64{0, 10, 100}, []int64{1, 2, 3, 3}},
		{"between cutoffs", []int64{5, 50}, []int64{0, 1, 2, 2}},
		{"beyond last", []int64{101, 1 << 40}, []int64{0, 0, 0, 2}},
		{"negative", []int64{-3}, []int64{1, 1, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h histogram
			h.init([]int64{0, 10, 100})
			var total int64
			for _, v := range tc.values {
				h.add(v)
				total += v
			}
			s := h.snapshot()
			if !slices.Equal(s.cumulative, tc.want) {
				t.Errorf("cumulative = %v, want %v", s.cumulative, tc.want)
			}
			if s.total != total {
				t.Errorf("total = %d, want %d", s.total, total)
			}
		})
	}
}

func TestTimingHandle(t *testing.T) {
	r := New()
	q := r.NewTimings("Queries", "tablet_queries_duration_seconds", "Time spent serving queries, by plan.", "plan")
	h := q.Handle("PASS_SELECT")
	if h != q.Handle("PASS_SELECT") {
		t.Fatal("Handle returned a different Timing for the same category")
	}
	h.Record(time.Millisecond)
	q.Record("PASS_SELECT", 2*time.Millisecond)
	q.Add("PASS_SELECT", time.Now())
	h.Record(-time.Second)
	if got, want := h.Count(), int64(4); got != want {
		t.Errorf("Count = %d, want %d", got, want)
	}
	if got := h.Time(); got < 3*time.Millisecond {
		t.Errorf("Time = %v, want at least 3ms", got)
	}
}

func TestKeys(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		key    string
	}{
		{"two", []string{"users", "PASS_SELECT"}, "users.PASS_SELECT"},
		{"three", []string{"app", "users", "PASS_SELECT"}, "app.users.PASS_SELECT"},
		{"dots replaced", []string{"a.b", "c.d.e"}, "a_b.c_d_e"},
		{"empty values", []string{"", ""}, "."},
		{"long", []string{strings.Repeat("t", 200), "PLAN"}, strings.Repeat("t", 200) + ".PLAN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := string(appendKey(nil, tc.values))
			if key != tc.key {
				t.Errorf("appendKey(%q) = %q, want %q", tc.values, key, tc.key)
			}
			back := splitKey(key, len(tc.values))
			if len(back) != len(tc.values) {
				t.Errorf("splitKey(%q) = %q, want %d values", key, back, len(tc.values))
			}
		})
	}
}

// TestIndex checks that every key maps to one cell however lookups
// interleave with publications, and that a fixed key set ends up published
// (served without the lock) once lookups repeat.
func TestIndex(t *testing.T) {
	const keys = 100
	x := newIndex(func() *Counter { return new(Counter) })
	first := make(map[string]*Counter)
	published := func() bool {
		m := x.read.Load()
		return m != nil && len(*m) == keys
	}
	// Each round that still misses adds at least one miss, and a copy is
	// published once misses reach the published size (< keys), so keys
	// rounds always suffice.
	for round := 0; round == 0 || !published(); round++ {
		if round > keys {
			t.Fatalf("read map still incomplete after %d rounds", round)
		}
		for i := range keys {
			k := fmt.Sprintf("k%d", i)
			c := x.get(k)
			if round == 0 {
				first[k] = c
			} else if first[k] != c {
				t.Fatalf("round %d: key %q moved to a new cell", round, k)
			}
			if b := x.getBytes([]byte(k)); b != c {
				t.Fatalf("getBytes(%q) and get disagree", k)
			}
		}
	}
	es := x.entries()
	if len(es) != keys {
		t.Errorf("entries: %d, want %d", len(es), keys)
	}
	if !slices.IsSortedFunc(es, func(a, b entry[Counter]) int { return strings.Compare(a.key, b.key) }) {
		t.Error("entries not sorted by key")
	}
}

func TestJSONFuncError(t *testing.T) {
	r := New()
	r.PublishJSONFunc("Bad", func() any { return func() {} })
	got, _ := r.Get("Bad")
	var s string
	if err := json.Unmarshal(got, &s); err != nil || !strings.Contains(s, "encode variable") {
		t.Errorf("Get(Bad) = %s, want a JSON string naming the error", got)
	}
}

// decodeJSON decodes b keeping numbers exact.
func decodeJSON(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode JSON: %v\n%s", err, b)
	}
	return v
}

// topLevelKeys returns the keys of the JSON object in b, in document order.
func topLevelKeys(t testing.TB, b []byte) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	if _, err := d.Token(); err != nil { // {
		t.Fatalf("decode: %v", err)
	}
	var keys []string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatalf("decode value of %q: %v", tok, err)
		}
	}
	return keys
}

// diffJSON lists the differences between two decoded JSON values, one line
// per path.
func diffJSON(path string, got, want any) []string {
	gm, gok := got.(map[string]any)
	wm, wok := want.(map[string]any)
	if !gok || !wok {
		if fmt.Sprint(got) != fmt.Sprint(want) || gok != wok {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, got, want)}
		}
		return nil
	}
	var diffs []string
	for _, k := range sortedKeys(wm) {
		if _, ok := gm[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s.%s: missing, want %v", path, k, wm[k]))
			continue
		}
		diffs = append(diffs, diffJSON(path+"."+k, gm[k], wm[k])...)
	}
	for _, k := range sortedKeys(gm) {
		if _, ok := wm[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s.%s: unexpected, got %v", path, k, gm[k]))
		}
	}
	return diffs
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
