package queryserver

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"time"
)

// arena hands out the byte slices of a result's values and the slices of
// its rows from a few large blocks instead of one allocation per value.
// Every slice it returns has its capacity capped at its length, so a
// caller appending to one value can never overwrite its neighbour. Blocks
// start small and double, so a one-row result stays small.
type arena struct {
	buf      []byte   // current block; values are carved from its spare capacity
	vals     [][]byte // current block of row value headers
	next     int      // size of the next byte block
	nextRows int      // rows in the next header block
}

const (
	arenaFirstBlock = 256
	arenaMaxBlock   = 64 << 10
)

// bytes returns a slice of length n, uninitialized.
func (a *arena) bytes(n int) []byte {
	// A nil block would hand out nil for an empty value, which reads as
	// NULL: allocate even for n == 0.
	if a.buf == nil || n > cap(a.buf)-len(a.buf) {
		if a.next == 0 {
			a.next = arenaFirstBlock
		}
		size := a.next
		if a.next < arenaMaxBlock {
			a.next *= 2
		}
		if n > size {
			// A big value gets a block of its own; the current block
			// keeps serving small ones.
			return make([]byte, n)
		}
		a.buf = make([]byte, 0, size)
	}
	start := len(a.buf)
	a.buf = a.buf[:start+n]
	return a.buf[start : start+n : start+n]
}

// row returns an empty row of n values.
func (a *arena) row(n int) Row {
	if n > cap(a.vals)-len(a.vals) {
		if a.nextRows == 0 {
			a.nextRows = 4
		}
		a.vals = make([][]byte, 0, max(a.nextRows*n, 1))
		if a.nextRows < 256 {
			a.nextRows *= 2
		}
	}
	start := len(a.vals)
	a.vals = a.vals[:start+n]
	return a.vals[start : start+n : start+n]
}

// reset makes the arena reuse its current blocks from the start. Slices
// handed out before are overwritten: only for StreamExecute, whose callback
// may not keep them.
func (a *arena) reset() {
	a.buf = a.buf[:0]
	clear(a.vals)
	a.vals = a.vals[:0]
}

// convertRow copies the driver's values for one row into the arena as
// text protocol bytes.
func (a *arena) convertRow(dest []driver.Value, fields []Field) Row {
	row := a.row(len(dest))
	var tmp [32]byte
	for i, v := range dest {
		var b []byte
		switch x := v.(type) {
		case nil:
			continue // NULL: a nil slice
		case []byte:
			b = x
		case int64:
			b = strconv.AppendInt(tmp[:0], x, 10)
		case uint64:
			b = strconv.AppendUint(tmp[:0], x, 10)
		case float64:
			b = appendMySQLFloat(tmp[:0], x, 64)
		case float32:
			b = appendMySQLFloat(tmp[:0], float64(x), 32)
		case string:
			out := a.bytes(len(x))
			copy(out, x)
			row[i] = out
			continue
		case time.Time:
			b = appendTime(tmp[:0], x, fields[i].Type)
		case bool:
			if x {
				b = append(tmp[:0], '1')
			} else {
				b = append(tmp[:0], '0')
			}
		default:
			b = fmt.Append(tmp[:0], x)
		}
		out := a.bytes(len(b))
		copy(out, b)
		row[i] = out
	}
	return row
}

// appendTime formats a time the driver parsed (only when the connection
// was configured with parseTime, which the tablet's are not) as MySQL
// prints it, with microseconds when there are any.
func appendTime(dst []byte, t time.Time, typ Type) []byte {
	if typ == TypeDate {
		return t.AppendFormat(dst, "2006-01-02")
	}
	if t.Nanosecond() != 0 {
		return t.AppendFormat(dst, "2006-01-02 15:04:05.999999")
	}
	return t.AppendFormat(dst, "2006-01-02 15:04:05")
}

// appendMySQLFloat appends f in MySQL's text format for FLOAT (bits 32)
// and DOUBLE (bits 64) values. The driver parses those columns into Go
// floats; this writes them back as the server wrote them: the shortest
// digits that read back as the same value, laid out by the rule of
// MySQL's my_gcvt (strings/dtoa.c): fixed notation when the decimal point
// position is between -14 and 15 (or the digits already reach past it),
// else "d.ddde[-]x" with no "+" and no exponent padding. Examples: 100,
// 0.0000000001, 123456789012345, 1e15, 1.2345678901234568e17, 1.2e-310.
func appendMySQLFloat(dst []byte, f float64, bits int) []byte {
	if f == 0 {
		return append(dst, '0') // also -0, as MySQL prints it
	}
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, bits) // [-]d[.ddd]e±xx
	if s[0] == '-' {
		dst = append(dst, '-')
		s = s[1:]
	}
	epos := 0
	for epos < len(s) && s[epos] != 'e' {
		epos++
	}
	var digits [24]byte
	n := 0
	for _, c := range s[:epos] {
		if c != '.' {
			digits[n] = c
			n++
		}
	}
	exp, _ := strconv.Atoi(string(s[epos+1:]))
	decpt := exp + 1 // value = 0.digits * 10^decpt, as dtoa reports it
	const maxDecptForFixed = 15
	if decpt >= -maxDecptForFixed+1 && (decpt <= maxDecptForFixed || n > decpt) {
		switch {
		case decpt <= 0:
			dst = append(dst, '0', '.')
			for range -decpt {
				dst = append(dst, '0')
			}
			dst = append(dst, digits[:n]...)
		case decpt >= n:
			dst = append(dst, digits[:n]...)
			for range decpt - n {
				dst = append(dst, '0')
			}
		default:
			dst = append(dst, digits[:decpt]...)
			dst = append(dst, '.')
			dst = append(dst, digits[decpt:n]...)
		}
		return dst
	}
	dst = append(dst, digits[0])
	if n > 1 {
		dst = append(dst, '.')
		dst = append(dst, digits[1:n]...)
	}
	dst = append(dst, 'e')
	return strconv.AppendInt(dst, int64(exp), 10)
}

// makeFields builds the fields of a result from the driver's column names
// and database type names.
func makeFields(names, types []string) []Field {
	fields := make([]Field, len(names))
	for i, n := range names {
		t := ""
		if i < len(types) {
			t = types[i]
		}
		fields[i] = fieldFromTypeName(n, t)
	}
	return fields
}

// copyResult returns a deep copy of r whose values share no memory with
// r's: two allocations for all values and row headers.
func copyResult(r *Result) *Result {
	out := &Result{RowsAffected: r.RowsAffected, InsertID: r.InsertID}
	if r.Fields != nil {
		out.Fields = append([]Field(nil), r.Fields...)
	}
	if r.Rows == nil {
		return out
	}
	var total, nvals int
	for _, row := range r.Rows {
		nvals += len(row)
		for _, v := range row {
			total += len(v)
		}
	}
	data := make([]byte, 0, total)
	vals := make([][]byte, nvals)
	out.Rows = make([]Row, len(r.Rows))
	k := 0
	for i, row := range r.Rows {
		nr := vals[k : k+len(row) : k+len(row)]
		k += len(row)
		for j, v := range row {
			if v == nil {
				continue
			}
			start := len(data)
			data = append(data, v...)
			nr[j] = data[start:len(data):len(data)]
		}
		out.Rows[i] = nr
	}
	return out
}
