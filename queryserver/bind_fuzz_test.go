package queryserver

import (
	"bytes"
	"encoding/hex"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/test_driver"
)

// fuzzTemplates are statements with one bind variable reference each, in
// a place where a value belongs. The bind fuzz target substitutes hostile
// values into them.
var fuzzTemplates = []string{
	"select a, b from t1 where c = :v",
	"select t1.a from db1.t1 join t2 on t1.id = t2.id where t2.name = :v and t1.x = 1",
	"insert into t1 (a, b) values (:v, 'x')",
	"update t1 set a = :v where id = 7",
	"delete from t1 where a = :v limit 10",
	"select a from t1 where b in ::v",
	"select concat(:v, 'y') from t1 /* :c */ where d = 'z'",
	"replace into t2 values (1, :v)",
	"select * from t1 where a = :v for update",
	"insert into t1 (a) values (1) on duplicate key update a = :v",
	"select a from t1 where b = 1 -- :c\n and c = :v",
	"select count(*) from t3 where `weird:col` = :v",
}

// fuzzTypes are the types a fuzzed bind variable may have: every type
// the substitution knows, tuples included.
var fuzzTypes = func() []Type {
	ts := make([]Type, 0, len(typeNames))
	for t := range typeNames {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}()

// literalNodes returns the literal values and parameter markers of a
// parsed statement, in the order the syntax tree visits them.
type literalNodes struct{ nodes []ast.Node }

func (v *literalNodes) Enter(n ast.Node) (ast.Node, bool) {
	switch n.(type) {
	case *test_driver.ValueExpr, *test_driver.ParamMarkerExpr:
		v.nodes = append(v.nodes, n)
	}
	return n, false
}

func (v *literalNodes) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// parseLiterals parses text with the plan layer's parser and returns its
// literals, from a parser of its own.
func parseLiterals(t *testing.T, text string) []ast.Node {
	t.Helper()
	stmts, _, err := parser.New().Parse(text, "", "")
	if err != nil || len(stmts) != 1 {
		t.Fatalf("parse %q: %d statements, %v", text, len(stmts), err)
	}
	v := &literalNodes{}
	stmts[0].Accept(v)
	return v.nodes
}

// numericLiteral is what a number, decimal, hex or bit value may become:
// nothing that could end a literal or start another token.
var numericLiteral = regexp.MustCompile(`^(-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0b[01]+|[xX]'[0-9a-fA-F]*'|[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)$`)

// FuzzSubstitute substitutes a value of any type into statements with a
// bind variable where a value belongs and checks that no value changes
// the statement: the substituted text parses with the plan layer's parser
// to the same kind, the same tables, the same number of literals and no
// bind variable references, and the literal in the reference's place
// holds the value given. A value its type refuses fails with
// ErrBindVariable and no SQL.
func FuzzSubstitute(f *testing.F) {
	seeds := []struct {
		tmpl  uint8
		typ   Type
		value []byte
	}{
		{0, TypeVarChar, []byte("plain")},
		{0, TypeVarChar, []byte("x' or '1'='1")},
		{1, TypeVarChar, []byte(`a\' or 1=1 -- `)},
		{2, TypeVarChar, []byte("\x00\x1a'\"`\\\n\r\t%_")},
		{3, TypeVarBinary, []byte("\xff\xfe'; drop table t1; --")},
		{4, TypeInt64, []byte("-9223372036854775808")},
		{4, TypeInt64, []byte("1 or 1=1")},
		{5, TypeTuple, []byte("a'b")},
		{6, TypeText, []byte("*/ union select password from mysql.user /*")},
		{7, TypeDecimal, []byte("-12.5e-3")},
		{8, TypeFloat64, []byte("1e308")},
		{9, TypeHexVal, []byte("X'0aFF'")},
		{10, TypeHexNum, []byte("0xdeadbeef")},
		{11, TypeBitNum, []byte("0b1011")},
		{0, TypeJSON, []byte(`{"a": "b'c"}`)},
		{1, TypeDatetime, []byte("2024-01-02 03:04:05")},
		{2, TypeUint64, []byte("18446744073709551615")},
		{3, TypeNull, nil},
		{0, TypeExpression, []byte("now()")},
		{0, TypeVarChar, []byte(":v ::w :=")},
		{0, TypeVarChar, []byte("'\xc0'\xc0\\")},
		{0, TypeVarChar, []byte("\xbf\x27 or 1=1 -- ")},
	}
	for _, s := range seeds {
		f.Add(s.tmpl, uint16(slices.Index(fuzzTypes, s.typ)), s.value)
	}
	f.Fuzz(func(t *testing.T, tmpl uint8, typ uint16, value []byte) {
		template := fuzzTemplates[int(tmpl)%len(fuzzTemplates)]
		bt := fuzzTypes[int(typ)%len(fuzzTypes)]
		plan, err := BuildPlan(template)
		if err != nil || !plan.Parsed || len(plan.placeholders) != 1 {
			t.Fatalf("template %q: %v (parsed %v)", template, err, plan != nil && plan.Parsed)
		}
		ph := plan.placeholders[0]
		bv := &BindVar{Type: bt, Value: value}
		elem := BindVar{Type: bt, Value: value}
		switch {
		case ph.list && bt == TypeTuple:
			// A tuple of tuples is refused; make it a tuple of strings.
			elem.Type = TypeVarChar
			bv = &BindVar{Type: TypeTuple, Values: []BindVar{elem, elem}}
		case ph.list:
			bv = &BindVar{Type: TypeTuple, Values: []BindVar{elem, elem}}
		case bt == TypeTuple:
			// A tuple bound to ":v" becomes a list, which changes the
			// number of literals on purpose; bind the element instead.
			elem.Type = TypeVarBinary
			bv = &elem
		}

		sql, err := substitute(plan, map[string]*BindVar{"v": bv})
		want, werr := appendScalar(nil, &elem)
		if err != nil {
			if !errors.Is(err, ErrBindVariable) || CodeOf(err) != CodeInvalidArgument || sql != "" {
				t.Fatalf("substitute %v %q: %v (code %v), sql %q", bt, value, err, CodeOf(err), sql)
			}
			if werr == nil {
				t.Fatalf("substitute %v %q failed (%v) but the value alone is accepted as %q", bt, value, err, want)
			}
			return
		}
		if werr != nil {
			t.Fatalf("substitute %v %q = %q, but the value alone is refused: %v", bt, value, sql, werr)
		}

		got, err := BuildPlan(sql)
		if err != nil {
			t.Fatalf("substituted %q: %v", sql, err)
		}
		if !got.Parsed {
			t.Fatalf("substituted %q does not parse: %s", sql, got.ParseError)
		}
		if got.Type != plan.Type || !slices.Equal(got.Tables, plan.Tables) {
			t.Fatalf("substituted %q: %v %v, template %q: %v %v", sql, got.Type, got.Tables, template, plan.Type, plan.Tables)
		}
		if len(got.placeholders) != 0 {
			t.Fatalf("substituted %q still holds bind variable references %v", sql, got.placeholders)
		}
		if got.needsReserved != plan.needsReserved || got.intoFile != plan.intoFile {
			t.Fatalf("substituted %q changes session flags", sql)
		}

		// The same literals in the same places; the reference's become the value.
		_, parseText := scanPlaceholders(template)
		tmplLits := parseLiterals(t, parseText)
		var markers []int
		for i, n := range tmplLits {
			if _, ok := n.(*test_driver.ParamMarkerExpr); ok {
				markers = append(markers, i)
			}
		}
		lits := parseLiterals(t, sql)
		if len(lits) != len(tmplLits) {
			t.Fatalf("substituted %q has %d literals, template %q has %d", sql, len(lits), parseText, len(tmplLits))
		}
		for _, i := range markers {
			ve, ok := lits[i].(*test_driver.ValueExpr)
			if !ok {
				t.Fatalf("substituted %q: literal %d is a %T", sql, i, lits[i])
			}
			checkLiteral(t, sql, &elem, want, ve)
		}
	})
}

// checkLiteral checks that the parsed literal ve holds bv's value, which
// appendScalar wrote as text.
func checkLiteral(t *testing.T, sql string, bv *BindVar, text []byte, ve *test_driver.ValueExpr) {
	t.Helper()
	var parsed []byte
	switch ve.Kind() {
	case test_driver.KindNull:
		if bv.Type != TypeNull {
			t.Fatalf("substituted %q: %v %q became NULL", sql, bv.Type, bv.Value)
		}
		return
	case test_driver.KindString, test_driver.KindBytes:
		parsed = []byte(ve.GetString())
	case test_driver.KindBinaryLiteral:
		parsed = ve.GetBytes()
	}
	switch t2 := bv.Type; {
	case t2.IsIntegral(), t2.IsFloat(), t2 == TypeDecimal, t2 == TypeHexNum, t2 == TypeBitNum:
		if !numericLiteral.Match(text) {
			t.Fatalf("substituted %q: %v value %q written as %q, not a plain number", sql, t2, bv.Value, text)
		}
		if t2.IsIntegral() {
			a, aerr := strconv.ParseInt(string(bv.Value), 10, 64)
			b, berr := strconv.ParseInt(string(text), 10, 64)
			if t2.IsUnsigned() {
				ua, uaerr := strconv.ParseUint(string(bv.Value), 10, 64)
				ub, uberr := strconv.ParseUint(string(text), 10, 64)
				a, b, aerr, berr = int64(ua), int64(ub), uaerr, uberr
			}
			if aerr != nil || berr != nil || a != b {
				t.Fatalf("substituted %q: %v %q became %q", sql, t2, bv.Value, text)
			}
		}
	case t2 == TypeHexVal:
		want, err := hex.DecodeString(string(bv.Value[2 : len(bv.Value)-1]))
		if err != nil || !bytes.Equal(parsed, want) {
			t.Fatalf("substituted %q: HEXVAL %q parsed as %q", sql, bv.Value, parsed)
		}
	default:
		if !bytes.Equal(parsed, bv.Value) {
			t.Fatalf("substituted %q: %v %q parsed as %q (kind %d)", sql, t2, bv.Value, parsed, ve.Kind())
		}
	}
}
