package queryserver

import "strings"

// placeholder is one bind variable reference in a statement's text: ":name"
// for a value (a tuple value expands to a parenthesized list) or "::name"
// for a list, which must be bound to a tuple.
type placeholder struct {
	start, end int // byte offsets of the reference in the statement
	name       string
	list       bool
}

// scanPlaceholders finds the bind variable references in sql, skipping
// string literals, quoted identifiers and comments, and returns them in
// order with the text the SQL parser should see: each ":name" replaced by
// "?" and each "::name" by "(?, ?)". The assignment operator ":=" is not a
// reference. It is a hand-written scanner, not a regular expression, and
// runs once per distinct statement (the plan cache keeps its result).
func scanPlaceholders(sql string) (phs []placeholder, parseText string) {
	var b strings.Builder
	last := 0
	i := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(sql, i)
		case c == '#':
			i = skipLine(sql, i)
		case c == '-' && isDashComment(sql, i):
			i = skipLine(sql, i)
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				i = len(sql)
			} else {
				i += 2 + end + 2
			}
		case c == ':':
			list := i+1 < len(sql) && sql[i+1] == ':'
			nameStart := i + 1
			if list {
				nameStart++
			}
			j := nameStart
			for j < len(sql) && isNameByte(sql[j]) {
				j++
			}
			if j == nameStart {
				// ":=" or a stray colon: the server will judge it.
				i = nameStart
				continue
			}
			if b.Len() == 0 {
				b.Grow(len(sql))
			}
			b.WriteString(sql[last:i])
			if list {
				// Two markers, so that the normalized form reads as a
				// list, "( ... )", like a literal list's.
				b.WriteString("(?, ?)")
			} else {
				b.WriteByte('?')
			}
			phs = append(phs, placeholder{start: i, end: j, name: sql[nameStart:j], list: list})
			last = j
			i = j
		default:
			i++
		}
	}
	if len(phs) == 0 {
		return nil, sql
	}
	b.WriteString(sql[last:])
	return phs, b.String()
}

// isNameByte reports whether c may appear in a bind variable name.
func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// skipQuoted returns the offset just past the quoted string or identifier
// opening at i. Inside, a backslash escapes the next byte (except in
// backquoted identifiers) and a doubled quote stands for itself. An
// unterminated quote runs to the end.
func skipQuoted(sql string, i int) int {
	q := sql[i]
	i++
	for i < len(sql) {
		switch c := sql[i]; {
		case c == '\\' && q != '`':
			i += 2
		case c == q:
			if i+1 < len(sql) && sql[i+1] == q {
				i += 2
				continue
			}
			return i + 1
		default:
			i++
		}
	}
	return len(sql)
}

// isDashComment reports whether the "-" at i opens a "-- " comment: MySQL
// needs whitespace or a control character (or the end) after the dashes.
func isDashComment(sql string, i int) bool {
	if i+1 >= len(sql) || sql[i+1] != '-' {
		return false
	}
	return i+2 >= len(sql) || sql[i+2] <= ' '
}

// skipLine returns the offset just past the end of the line holding i.
func skipLine(sql string, i int) int {
	if j := strings.IndexByte(sql[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(sql)
}

// leadingKeywords returns up to n leading words of sql, upper-cased,
// skipping whitespace, comments and opening parentheses: the statement's
// kind when the SQL parser cannot parse it. Executable comments ("/*!")
// are skipped like others.
func leadingKeywords(sql string, n int) []string {
	var out []string
	i := 0
	for i < len(sql) && len(out) < n {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == '\f' || c == '\v':
			i++
		case c == '#':
			i = skipLine(sql, i)
		case c == '-' && isDashComment(sql, i):
			i = skipLine(sql, i)
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return out
			}
			i += 2 + end + 2
		case isNameByte(c):
			j := i
			for j < len(sql) && isNameByte(sql[j]) {
				j++
			}
			out = append(out, strings.ToUpper(sql[i:j]))
			i = j
		default:
			return out
		}
	}
	return out
}

// splitMarginComments splits sql into the comments and blanks before the
// statement, the statement, and the comments and blanks after it.
// Applications often tag statements with comments (a trace id, the
// calling route); the engine plans, consolidates and counts the statement
// without them, and sends them on to MySQL. Executable comments ("/*!")
// are code, not margin.
func splitMarginComments(sql string) (lead, body, trail string) {
	start, end := -1, 0 // the statement spans [start, end)
	i := 0
	for i < len(sql) {
		c := sql[i]
		next := i + 1
		code := true
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			code = false
		case c == '#' || c == '-' && isDashComment(sql, i):
			next, code = skipLine(sql, i), false
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				next = len(sql)
			} else {
				next = i + 2 + j + 2
			}
			code = i+2 < len(sql) && sql[i+2] == '!'
		case c == '\'' || c == '"' || c == '`':
			next = skipQuoted(sql, i)
		}
		if code {
			if start < 0 {
				start = i
			}
			end = next
		}
		i = next
	}
	if start < 0 {
		return sql, "", ""
	}
	return sql[:start], sql[start:end], sql[end:]
}
