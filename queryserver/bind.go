package queryserver

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// BindVar is the value of one bind variable, as Vitess's
// query.BindVariable: a Type and the value in MySQL's text form (decimal
// digits for numbers, the raw bytes for strings), or for TypeTuple a list
// of Values, each of a scalar type.
//
// Values are substituted into the statement as SQL literals that no value
// can escape: numbers are parsed and written back canonically (a value
// that is not a number of its type is refused), binary strings are written
// in hexadecimal, text strings are quoted with quotes doubled, or in
// hexadecimal with the utf8mb4 introducer when they hold a backslash, NUL
// or Ctrl-Z, so they read the same with or without NO_BACKSLASH_ESCAPES.
// Text values assume the connection character set is utf8mb4, as the
// tablet's connections are.
type BindVar struct {
	Type   Type      // the value's type; TypeTuple for a list
	Value  []byte    // the value in MySQL's text form; unused for TypeNull and TypeTuple
	Values []BindVar // elements of a TypeTuple
}

// Int64Var returns a bind variable holding v as a BIGINT.
func Int64Var(v int64) BindVar {
	return BindVar{Type: TypeInt64, Value: strconv.AppendInt(nil, v, 10)}
}

// Uint64Var returns a bind variable holding v as a BIGINT UNSIGNED.
func Uint64Var(v uint64) BindVar {
	return BindVar{Type: TypeUint64, Value: strconv.AppendUint(nil, v, 10)}
}

// Float64Var returns a bind variable holding v as a DOUBLE.
func Float64Var(v float64) BindVar {
	return BindVar{Type: TypeFloat64, Value: strconv.AppendFloat(nil, v, 'g', -1, 64)}
}

// StringVar returns a bind variable holding s as a VARCHAR.
func StringVar(s string) BindVar {
	return BindVar{Type: TypeVarChar, Value: []byte(s)}
}

// BytesVar returns a bind variable holding b as a VARBINARY, byte for byte.
func BytesVar(b []byte) BindVar {
	return BindVar{Type: TypeVarBinary, Value: b}
}

// NullVar returns a bind variable holding NULL.
func NullVar() BindVar { return BindVar{Type: TypeNull} }

// TupleVar returns a bind variable holding a list, for "IN ::name".
func TupleVar(values ...BindVar) BindVar { return BindVar{Type: TypeTuple, Values: values} }

// appendBindVar appends bv to dst as a SQL literal (a parenthesized list
// for a tuple). It fails, naming the variable, on a value that is not valid
// for its type.
func appendBindVar(dst []byte, name string, bv *BindVar) ([]byte, error) {
	if bv.Type == TypeTuple {
		if len(bv.Values) == 0 {
			return dst, fmt.Errorf("bind variable :%s: empty tuple", name)
		}
		dst = append(dst, '(')
		for i := range bv.Values {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			v := &bv.Values[i]
			if v.Type == TypeTuple {
				return dst, fmt.Errorf("bind variable :%s: element %d is a tuple; tuples do not nest", name, i)
			}
			var err error
			if dst, err = appendScalar(dst, v); err != nil {
				return dst, fmt.Errorf("bind variable :%s: element %d: %w", name, i, err)
			}
		}
		return append(dst, ')'), nil
	}
	out, err := appendScalar(dst, bv)
	if err != nil {
		return dst, fmt.Errorf("bind variable :%s: %w", name, err)
	}
	return out, nil
}

// appendScalar appends one non-tuple value as a SQL literal.
func appendScalar(dst []byte, v *BindVar) ([]byte, error) {
	t := v.Type
	if _, known := typeNames[t]; !known {
		return dst, fmt.Errorf("unsupported type %v", t)
	}
	switch {
	case t == TypeNull:
		return append(dst, "NULL"...), nil
	case t.IsIntegral() && t.IsUnsigned():
		n, err := strconv.ParseUint(string(v.Value), 10, 64)
		if err != nil {
			return dst, fmt.Errorf("%v value %q is not an unsigned integer", t, v.Value)
		}
		return strconv.AppendUint(dst, n, 10), nil
	case t.IsIntegral():
		n, err := strconv.ParseInt(string(v.Value), 10, 64)
		if err != nil {
			return dst, fmt.Errorf("%v value %q is not an integer", t, v.Value)
		}
		return strconv.AppendInt(dst, n, 10), nil
	case t.IsFloat():
		f, err := strconv.ParseFloat(string(v.Value), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return dst, fmt.Errorf("%v value %q is not a finite number", t, v.Value)
		}
		return strconv.AppendFloat(dst, f, 'g', -1, 64), nil
	case t == TypeDecimal:
		if !isDecimalText(v.Value) {
			return dst, fmt.Errorf("DECIMAL value %q is not a decimal number", v.Value)
		}
		// "5." and "1.e5" are numbers to MySQL, but other parsers (the
		// plan layer's among them) read "5. from" as a qualified name:
		// write "5.0" and "1.0e5".
		if i := bytes.IndexByte(v.Value, '.'); i >= 0 && (i+1 == len(v.Value) || v.Value[i+1] < '0' || v.Value[i+1] > '9') {
			dst = append(append(dst, v.Value[:i+1]...), '0')
			return append(dst, v.Value[i+1:]...), nil
		}
		return append(dst, v.Value...), nil
	case t == TypeHexNum:
		if len(v.Value) < 3 || v.Value[0] != '0' || (v.Value[1] != 'x' && v.Value[1] != 'X') || !allHex(v.Value[2:]) {
			return dst, fmt.Errorf("HEXNUM value %q is not 0x followed by hex digits", v.Value)
		}
		// Written "0x" whatever the value's case: MySQL reads "0X1A" as an
		// identifier, not a number.
		return append(append(dst, "0x"...), v.Value[2:]...), nil
	case t == TypeHexVal:
		n := len(v.Value)
		if n < 3 || (v.Value[0] != 'x' && v.Value[0] != 'X') || v.Value[1] != '\'' || v.Value[n-1] != '\'' ||
			!allHex(v.Value[2:n-1]) || (n-3)%2 != 0 {
			return dst, fmt.Errorf("HEXVAL value %q is not X'...' with an even number of hex digits", v.Value)
		}
		return append(dst, v.Value...), nil
	case t == TypeBitNum:
		if len(v.Value) < 3 || v.Value[0] != '0' || v.Value[1] != 'b' || !allBits(v.Value[2:]) {
			return dst, fmt.Errorf("BITNUM value %q is not 0b followed by binary digits", v.Value)
		}
		return append(dst, v.Value...), nil
	case t == TypeExpression:
		return dst, fmt.Errorf("type EXPRESSION cannot be bound")
	case t.IsBinary() || t == TypeBit || t == TypeGeometry:
		return appendHex(append(dst, "_binary X'"...), v.Value), nil
	case t.IsQuoted() || t.IsText():
		return appendText(dst, v.Value), nil
	}
	return dst, fmt.Errorf("unsupported type %v", t)
}

// appendText appends a text value: quoted with quotes doubled, or, if it
// holds a byte that a backslash-escaping sql_mode would read differently
// (backslash) or that is unsafe in a literal (NUL, Ctrl-Z), as hexadecimal
// with the utf8mb4 introducer.
func appendText(dst, s []byte) []byte {
	for _, c := range s {
		if c == '\\' || c == 0 || c == 0x1a {
			return appendHex(append(dst, "_utf8mb4 X'"...), s)
		}
	}
	dst = append(dst, '\'')
	for _, c := range s {
		if c == '\'' {
			dst = append(dst, '\'')
		}
		dst = append(dst, c)
	}
	return append(dst, '\'')
}

const hexDigits = "0123456789ABCDEF"

// appendHex appends the hex digits of b and the closing quote.
func appendHex(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
	}
	return append(dst, '\'')
}

func allHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func allBits(b []byte) bool {
	for _, c := range b {
		if c != '0' && c != '1' {
			return false
		}
	}
	return true
}

// isDecimalText reports whether b is [+-]digits[.digits][e[+-]digits] with
// at least one digit before the exponent.
func isDecimalText(b []byte) bool {
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	digits := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
		digits++
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		exp := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(b)
}

// substitute returns the statement of plan with each placeholder replaced
// by its bind variable's literal. A missing variable, a list reference
// bound to a scalar, or an invalid value fails with an error wrapping
// ErrBindVariable. Variables the statement does not use are ignored.
func substitute(p *Plan, vars map[string]*BindVar) (string, error) {
	if len(p.placeholders) == 0 {
		return p.SQL, nil
	}
	buf := make([]byte, 0, len(p.SQL)+16*len(p.placeholders))
	last := 0
	for _, ph := range p.placeholders {
		bv, ok := vars[ph.name]
		if !ok || bv == nil {
			return "", errorf(CodeInvalidArgument, ErrBindVariable, "missing bind variable :%s", ph.name)
		}
		if ph.list && bv.Type != TypeTuple {
			return "", errorf(CodeInvalidArgument, ErrBindVariable, "bind variable ::%s is a list reference but holds %v, not TUPLE", ph.name, bv.Type)
		}
		buf = append(buf, p.SQL[last:ph.start]...)
		var err error
		if buf, err = appendBindVar(buf, ph.name, bv); err != nil {
			return "", errorf(CodeInvalidArgument, ErrBindVariable, "%v", err)
		}
		last = ph.end
	}
	buf = append(buf, p.SQL[last:]...)
	return string(buf), nil
}
