package queryserver

import (
	"errors"
	"reflect"
	"testing"
)

func TestScanPlaceholders(t *testing.T) {
	tests := []struct {
		name      string
		sql       string
		names     []string
		lists     []bool
		parseText string
	}{
		{"none", "select 1", nil, nil, "select 1"},
		{"one", "select * from t where id = :id", []string{"id"}, []bool{false}, "select * from t where id = ?"},
		{"list", "select * from t where id in ::ids", []string{"ids"}, []bool{true}, "select * from t where id in (?, ?)"},
		{"several", "insert into t values (:a, :b_2, :a)", []string{"a", "b_2", "a"}, []bool{false, false, false}, "insert into t values (?, ?, ?)"},
		{"in single quotes", "select ':no', :yes", []string{"yes"}, []bool{false}, "select ':no', ?"},
		{"escaped quote", `select 'it\'s :no', :yes`, []string{"yes"}, []bool{false}, `select 'it\'s :no', ?`},
		{"doubled quote", "select 'it''s :no', :yes", []string{"yes"}, []bool{false}, "select 'it''s :no', ?"},
		{"double quotes", `select ":no", :yes`, []string{"yes"}, []bool{false}, `select ":no", ?`},
		{"backticks", "select `a:no` from t where x = :yes", []string{"yes"}, []bool{false}, "select `a:no` from t where x = ?"},
		{"line comment", "select 1 -- :no\n, :yes", []string{"yes"}, []bool{false}, "select 1 -- :no\n, ?"},
		{"hash comment", "select 1 # :no\n, :yes", []string{"yes"}, []bool{false}, "select 1 # :no\n, ?"},
		{"block comment", "select /* :no */ :yes", []string{"yes"}, []bool{false}, "select /* :no */ ?"},
		{"assignment", "select @a := :v", []string{"v"}, []bool{false}, "select @a := ?"},
		{"minus minus is no comment", "select 1--:v", []string{"v"}, []bool{false}, "select 1--?"},
		{"unterminated quote", "select ':no", nil, nil, "select ':no"},
		{"time literal", "select '10:30:00'", nil, nil, "select '10:30:00'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phs, text := scanPlaceholders(tt.sql)
			var names []string
			var lists []bool
			for _, p := range phs {
				names = append(names, p.name)
				lists = append(lists, p.list)
				if got := tt.sql[p.start:p.end]; got != ":"+p.name && got != "::"+p.name {
					t.Errorf("placeholder %q spans %q", p.name, got)
				}
			}
			if !reflect.DeepEqual(names, tt.names) || !reflect.DeepEqual(lists, tt.lists) {
				t.Errorf("names %v lists %v, want %v %v", names, lists, tt.names, tt.lists)
			}
			if text != tt.parseText {
				t.Errorf("parse text %q, want %q", text, tt.parseText)
			}
		})
	}
}

func TestSubstitute(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		vars map[string]*BindVar
		want string
	}{
		{"int", "select :v", map[string]*BindVar{"v": ptr(Int64Var(-42))}, "select -42"},
		{"uint", "select :v", map[string]*BindVar{"v": ptr(Uint64Var(18446744073709551615))}, "select 18446744073709551615"},
		{"float", "select :v", map[string]*BindVar{"v": ptr(Float64Var(1e20))}, "select 1e+20"},
		{"string", "select :v", map[string]*BindVar{"v": ptr(StringVar("abc"))}, "select 'abc'"},
		{"hostile quote", "select * from t where name = :v",
			map[string]*BindVar{"v": ptr(StringVar("x' OR '1'='1"))},
			"select * from t where name = 'x'' OR ''1''=''1'"},
		{"backslash goes hex", "select :v", map[string]*BindVar{"v": ptr(StringVar(`a\' OR 1=1 -- `))},
			"select _utf8mb4 X'615C27204F5220313D31202D2D20'"},
		{"nul goes hex", "select :v", map[string]*BindVar{"v": ptr(StringVar("a\x00b"))}, "select _utf8mb4 X'610062'"},
		{"empty string", "select :v", map[string]*BindVar{"v": ptr(StringVar(""))}, "select ''"},
		{"bytes", "select :v", map[string]*BindVar{"v": ptr(BytesVar([]byte{0, 0xff, '\''}))}, "select _binary X'00FF27'"},
		{"empty bytes", "select :v", map[string]*BindVar{"v": ptr(BytesVar(nil))}, "select _binary X''"},
		{"null", "select :v", map[string]*BindVar{"v": ptr(NullVar())}, "select NULL"},
		{"decimal with a trailing dot", "select :v from t", map[string]*BindVar{"v": {Type: TypeDecimal, Value: []byte("-5.")}}, "select -5.0 from t"},
		{"decimal with a dot before the exponent", "select :v", map[string]*BindVar{"v": {Type: TypeDecimal, Value: []byte("1.e5")}}, "select 1.0e5"},
		{"hexnum written 0x", "select :v", map[string]*BindVar{"v": {Type: TypeHexNum, Value: []byte("0X1aF")}}, "select 0x1aF"},
		{"tuple", "select * from t where id in ::ids",
			map[string]*BindVar{"ids": ptr(TupleVar(Int64Var(1), StringVar("a'b"), NullVar()))},
			"select * from t where id in (1, 'a''b', NULL)"},
		{"tuple on scalar reference", "select * from t where id in :ids",
			map[string]*BindVar{"ids": ptr(TupleVar(Int64Var(1), Int64Var(2)))},
			"select * from t where id in (1, 2)"},
		{"decimal", "select :v", map[string]*BindVar{"v": {Type: TypeDecimal, Value: []byte("-12.50")}}, "select -12.50"},
		{"date is quoted", "select :v", map[string]*BindVar{"v": {Type: TypeDate, Value: []byte("2024-01-02")}}, "select '2024-01-02'"},
		{"hexnum", "select :v", map[string]*BindVar{"v": {Type: TypeHexNum, Value: []byte("0x1F")}}, "select 0x1F"},
		{"unused variable ignored", "select :a", map[string]*BindVar{"a": ptr(Int64Var(1)), "b": ptr(Int64Var(2))}, "select 1"},
		{"no placeholders", "select 1", nil, "select 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := BuildPlan(tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			got, err := substitute(p, tt.vars)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestSubstituteRefusesBadValues(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		vars map[string]*BindVar
	}{
		{"missing", "select :v", nil},
		{"nil value", "select :v", map[string]*BindVar{"v": nil}},
		{"int injection", "select :v", map[string]*BindVar{"v": {Type: TypeInt64, Value: []byte("1 OR 1=1")}}},
		{"uint negative", "select :v", map[string]*BindVar{"v": {Type: TypeUint64, Value: []byte("-1")}}},
		{"float injection", "select :v", map[string]*BindVar{"v": {Type: TypeFloat64, Value: []byte("1; DROP TABLE t")}}},
		{"float nan", "select :v", map[string]*BindVar{"v": {Type: TypeFloat64, Value: []byte("NaN")}}},
		{"decimal injection", "select :v", map[string]*BindVar{"v": {Type: TypeDecimal, Value: []byte("1 union select 2")}}},
		{"hexnum injection", "select :v", map[string]*BindVar{"v": {Type: TypeHexNum, Value: []byte("0x1 or 1")}}},
		{"hexval odd", "select :v", map[string]*BindVar{"v": {Type: TypeHexVal, Value: []byte("X'123'")}}},
		{"bitnum", "select :v", map[string]*BindVar{"v": {Type: TypeBitNum, Value: []byte("0b102")}}},
		{"expression", "select :v", map[string]*BindVar{"v": {Type: TypeExpression, Value: []byte("now()")}}},
		{"list needs tuple", "select * from t where id in ::v", map[string]*BindVar{"v": ptr(Int64Var(1))}},
		{"empty tuple", "select * from t where id in ::v", map[string]*BindVar{"v": ptr(TupleVar())}},
		{"nested tuple", "select * from t where id in ::v", map[string]*BindVar{"v": ptr(TupleVar(TupleVar(Int64Var(1))))}},
		{"unknown type", "select :v", map[string]*BindVar{"v": {Type: Type(12345), Value: []byte("1")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := BuildPlan(tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			_, err = substitute(p, tt.vars)
			if !errors.Is(err, ErrBindVariable) || CodeOf(err) != CodeInvalidArgument {
				t.Fatalf("err = %v (code %v), want ErrBindVariable INVALID_ARGUMENT", err, CodeOf(err))
			}
		})
	}
}

func TestSplitMarginComments(t *testing.T) {
	tests := []struct{ sql, lead, body, trail string }{
		{"select 1", "", "select 1", ""},
		{"  select 1  ", "  ", "select 1", "  "},
		{"/* trace=1 */ select 1 /* route=a */", "/* trace=1 */ ", "select 1", " /* route=a */"},
		{"-- hi\nselect /* inner */ 1 # end", "-- hi\n", "select /* inner */ 1", " # end"},
		{"select '/* not a comment */'", "", "select '/* not a comment */'", ""},
		{"/*!40101 set names utf8 */", "", "/*!40101 set names utf8 */", ""},
		{"/* only a comment */", "/* only a comment */", "", ""},
	}
	for _, tt := range tests {
		lead, body, trail := splitMarginComments(tt.sql)
		if lead != tt.lead || body != tt.body || trail != tt.trail {
			t.Errorf("%q: %q %q %q, want %q %q %q", tt.sql, lead, body, trail, tt.lead, tt.body, tt.trail)
		}
	}
}
