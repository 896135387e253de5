package queryserver

import (
	"errors"
	"strings"
	"testing"
)

// FuzzBuildPlan plans arbitrary text: it never panics, an error is always
// a syntax error the caller is told about, and a plan always has a valid
// kind, tables with names, references that point into the text in order,
// and flags that agree with each other.
func FuzzBuildPlan(f *testing.F) {
	for _, s := range []string{
		"select 1",
		"select * from t where id = :id",
		"select * from t where id in ::ids and x = :x",
		"insert into db.t (a, b) values (:a, 'it''s'), (2, \"q\")",
		"update t set a = a + 1 where id = 5",
		"delete from t limit 1",
		"select * from t for update",
		"select get_lock('x', 1)",
		"select @a := 1",
		"select a into @v from t",
		"select a into outfile '/tmp/x' from t",
		"with c as (select 1) select * from c join t on true",
		"create temporary table t (a int)",
		"drop temporary table if exists t",
		"set names utf8mb4",
		"savepoint s1",
		"rollback to savepoint s1",
		"release savepoint s1",
		"lock tables t read",
		"unlock tables",
		"call p(:a)",
		"load data infile 'x' into table t",
		"use db",
		"prepare s from 'select 1'",
		"begin",
		"commit",
		"show tables",
		"explain select 1",
		"kill query 5",
		"select 1; select 2",
		"",
		"   -- only a comment\n",
		"/* unterminated",
		"select 'unterminated",
		"select :",
		"select ::",
		"select :a:b::c",
		"ALTER TABLE t ADD COLUMN c INT /*M! DEFAULT 1 */",
		"select /*! straight_join */ * from a, b",
		"select 1 -- :no\n, :yes",
		"SELECT JSON_EXTRACT(c, '$.a') FROM t WHERE x = _utf8mb4 X'41' AND y = _binary X'00'",
		"\x00select",
		"select '\xff\xfe'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		p, err := BuildPlan(sql)
		if err != nil {
			if !errors.Is(err, ErrSyntax) || CodeOf(err) != CodeInvalidArgument || p != nil {
				t.Fatalf("BuildPlan(%q) = %v, %v (code %v); want a syntax error and no plan", sql, p, err, CodeOf(err))
			}
			return
		}
		if p.Type >= numPlanTypes || strings.HasPrefix(p.Type.String(), "PlanType(") {
			t.Fatalf("BuildPlan(%q): invalid plan type %d", sql, p.Type)
		}
		if p.SQL != sql {
			t.Fatalf("BuildPlan(%q): SQL %q", sql, p.SQL)
		}
		if p.Parsed == (p.ParseError != "") {
			t.Fatalf("BuildPlan(%q): Parsed %v with ParseError %q", sql, p.Parsed, p.ParseError)
		}
		if !p.Parsed && len(p.Tables) != 0 {
			t.Fatalf("BuildPlan(%q): unparsed, yet tables %q", sql, p.Tables)
		}
		seen := map[string]bool{}
		for _, tb := range p.Tables {
			if tb == "" || seen[tb] {
				t.Fatalf("BuildPlan(%q): tables %q: empty or repeated name", sql, p.Tables)
			}
			seen[tb] = true
		}
		if p.consolidatable() && (p.Type != PlanSelect || !p.Parsed || p.needsReserved) {
			t.Fatalf("BuildPlan(%q): consolidatable %v plan", sql, p.Type)
		}
		if sessionChanging(p.Type) && !p.needsReserved {
			t.Fatalf("BuildPlan(%q): %v does not need a reserved connection", sql, p.Type)
		}
		last := 0
		vars := map[string]*BindVar{}
		for _, ph := range p.placeholders {
			if ph.start < last || ph.end <= ph.start || ph.end > len(sql) {
				t.Fatalf("BuildPlan(%q): reference %+v out of order or bounds", sql, ph)
			}
			want := ":" + ph.name
			if ph.list {
				want = "::" + ph.name
			}
			if sql[ph.start:ph.end] != want || ph.name == "" {
				t.Fatalf("BuildPlan(%q): reference %+v spans %q", sql, ph, sql[ph.start:ph.end])
			}
			last = ph.end
			vars[ph.name] = &BindVar{Type: TypeTuple, Values: []BindVar{Int64Var(1)}}
		}
		// Every reference bound to a valid value substitutes.
		if _, err := substitute(p, vars); err != nil {
			t.Fatalf("BuildPlan(%q): substitute valid values: %v", sql, err)
		}
		// Planning is a function of the text.
		q, err := BuildPlan(sql)
		if err != nil || q.Type != p.Type || q.Normalized != p.Normalized || q.Parsed != p.Parsed ||
			strings.Join(q.Tables, ",") != strings.Join(p.Tables, ",") {
			t.Fatalf("BuildPlan(%q) twice: %+v then %+v, %v", sql, p, q, err)
		}
	})
}
