package queryserver

import (
	"errors"
	"reflect"
	"testing"
)

func TestBuildPlan(t *testing.T) {
	tests := []struct {
		sql      string
		typ      PlanType
		tables   []string
		reserved bool
		parsed   bool
	}{
		{"select * from t where id = :id", PlanSelect, []string{"t"}, false, true},
		{"SELECT a.x FROM db1.a JOIN b ON a.id = b.id", PlanSelect, []string{"db1.a", "b"}, false, true},
		{"select 1", PlanSelect, nil, false, true},
		{"with c as (select id from t) select * from c", PlanSelect, []string{"t"}, false, true},
		{"select * from t union select * from u", PlanSelect, []string{"t", "u"}, false, true},
		{"select * from t where id = 1 for update", PlanSelectLock, []string{"t"}, false, true},
		{"select * from t lock in share mode", PlanSelectLock, []string{"t"}, false, true},
		{"select get_lock('x', 1)", PlanSelectSession, nil, true, true},
		{"select @a := 1", PlanSelectSession, nil, true, true},
		{"select @a", PlanSelect, nil, false, true},
		{"insert into t (a) values (:a)", PlanInsert, []string{"t"}, false, true},
		{"replace into t values (1)", PlanInsert, []string{"t"}, false, true},
		{"update t set a = 1 where id = 2", PlanUpdate, []string{"t"}, false, true},
		{"delete from t where id = 2", PlanDelete, []string{"t"}, false, true},
		{"create table t (id int primary key)", PlanDDL, []string{"t"}, false, true},
		{"create temporary table tt (id int)", PlanDDL, []string{"tt"}, true, true},
		{"drop temporary table tt", PlanDDL, []string{"tt"}, true, true},
		{"alter table t add column b int", PlanDDL, []string{"t"}, false, true},
		{"truncate table t", PlanDDL, []string{"t"}, false, true},
		{"set @@session.sql_mode = 'ANSI'", PlanSet, nil, true, true},
		{"set names utf8mb4", PlanSet, nil, true, true},
		{"show tables", PlanOtherRead, nil, false, true},
		{"describe t", PlanOtherRead, []string{"t"}, false, true},
		{"explain select * from t", PlanOtherRead, []string{"t"}, false, true},
		{"use db1", PlanUse, nil, true, true},
		{"begin", PlanTransaction, nil, false, true},
		{"start transaction", PlanTransaction, nil, false, true},
		{"commit", PlanTransaction, nil, false, true},
		{"rollback", PlanTransaction, nil, false, true},
		{"rollback to savepoint s1", PlanSRollback, nil, false, true},
		{"savepoint s1", PlanSavepoint, nil, false, true},
		{"release savepoint s1", PlanRelease, nil, false, true},
		{"lock tables t read", PlanLockTables, []string{"t"}, true, true},
		{"unlock tables", PlanUnlockTables, nil, true, true},
		{"call p(1)", PlanCallProc, nil, false, true},
		{"analyze table t", PlanOtherAdmin, []string{"t"}, false, true},
		// MariaDB-only syntax the parser does not know: classified by keyword.
		{"create or replace temporary table tt (id int)", PlanDDL, nil, true, false},
		{"select seq from seq_1_to_10 where seq > :n limit 1 offset 2 rows examined 3", PlanSelect, nil, false, false},
		{"delete from t returning id", PlanDelete, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			p, err := BuildPlan(tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			if p.Type != tt.typ || !reflect.DeepEqual(p.Tables, tt.tables) || p.needsReserved != tt.reserved || p.Parsed != tt.parsed {
				t.Errorf("got %v %v reserved=%v parsed=%v (%s), want %v %v reserved=%v parsed=%v",
					p.Type, p.Tables, p.needsReserved, p.Parsed, p.ParseError, tt.typ, tt.tables, tt.reserved, tt.parsed)
			}
		})
	}
}

func TestBuildPlanRefuses(t *testing.T) {
	for _, sql := range []string{"", "   ", "/* nothing */", "-- nothing\n", "select 1; select 2"} {
		t.Run(sql, func(t *testing.T) {
			_, err := BuildPlan(sql)
			if !errors.Is(err, ErrSyntax) || CodeOf(err) != CodeInvalidArgument {
				t.Fatalf("err = %v, want ErrSyntax", err)
			}
		})
	}
}

func TestPlanNormalized(t *testing.T) {
	a, _ := BuildPlan("SELECT name FROM users WHERE id = 1 AND k IN (1, 2, 3)")
	b, _ := BuildPlan("select name   from users where id = :id and k in ::ks")
	if a.Normalized != b.Normalized {
		t.Errorf("normalized forms differ:\n%s\n%s", a.Normalized, b.Normalized)
	}
	if a.Normalized == "" || a.Normalized == a.SQL {
		t.Errorf("normalized %q", a.Normalized)
	}
}

func TestPlanCacheLRU(t *testing.T) {
	c := newPlanCache(2)
	mk := func(s string) *Plan { return &Plan{SQL: s} }
	c.put(mk("a"))
	c.put(mk("b"))
	if _, ok := c.get("a"); !ok { // a is now the most recent
		t.Fatal("a missing")
	}
	c.put(mk("c")) // evicts b
	if _, ok := c.get("b"); ok {
		t.Error("b should have been evicted")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s missing", k)
		}
	}
	if c.size() != 2 || c.evictions.Load() != 1 || c.hits.Load() != 3 || c.misses.Load() != 1 {
		t.Errorf("size %d evictions %d hits %d misses %d", c.size(), c.evictions.Load(), c.hits.Load(), c.misses.Load())
	}
	c.setCapacity(1)
	if got := c.plans(); len(got) != 1 || got[0].SQL != "c" {
		t.Errorf("after shrinking: %v", got)
	}
}

func TestConsolidatable(t *testing.T) {
	for sql, want := range map[string]bool{
		"select * from t":                          true,
		"select * from t for update":               false,
		"select * from t into outfile '/tmp/x'":    false,
		"select get_lock('a', 1)":                  false,
		"show tables":                              false,
		"select * from t where a = 1 examined foo": false, // unparsed
	} {
		p, err := BuildPlan(sql)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.consolidatable(); got != want {
			t.Errorf("%s: consolidatable %v, want %v", sql, got, want)
		}
	}
}
