package deploy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// promqlWords are the PromQL words that are not metric names: aggregation
// operators, binary set operators, keywords and modifiers.
var promqlWords = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
	"and": true, "or": true, "unless": true, "atan2": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "offset": true, "start": true, "end": true,
	"inf": true, "nan": true,
}

// labelListWords are followed by a parenthesized list of label names.
var labelListWords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// metricNames returns the metric names an expression selects, in order of
// appearance, without repeats. It is a tokenizer, not a parser: it skips
// strings, label matchers ({...}), ranges ([...]), numbers and durations,
// Grafana variables ($x, ${x}), function names (an identifier followed by
// "("), PromQL keywords, and the label lists after by, without, on,
// ignoring, group_left and group_right. Unbalanced brackets or an
// unterminated string are errors.
func metricNames(expr string) ([]string, error) {
	var names []string
	i, n := 0, len(expr)
	skipSpace := func(j int) int {
		for j < n && (expr[j] == ' ' || expr[j] == '\t' || expr[j] == '\n' || expr[j] == '\r') {
			j++
		}
		return j
	}
	// skipTo returns the index after the bracket that closes the one at
	// expr[j], skipping strings inside.
	skipTo := func(j int, open, close byte) (int, error) {
		depth := 0
		for k := j; k < n; k++ {
			switch c := expr[k]; c {
			case '"', '\'', '`':
				end, err := skipString(expr, k)
				if err != nil {
					return 0, err
				}
				k = end - 1
			case open:
				depth++
			case close:
				depth--
				if depth == 0 {
					return k + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("unclosed %q at offset %d in %q", open, j, expr)
	}
	for i < n {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < n && expr[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(expr, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '{':
			end, err := skipTo(i, '{', '}')
			if err != nil {
				return nil, err
			}
			i = end
		case c == '[':
			end, err := skipTo(i, '[', ']')
			if err != nil {
				return nil, err
			}
			i = end
		case c == '$':
			i++
			if i < n && expr[i] == '{' {
				end, err := skipTo(i, '{', '}')
				if err != nil {
					return nil, err
				}
				i = end
				continue
			}
			for i < n && isIdentChar(expr[i]) {
				i++
			}
		case c >= '0' && c <= '9' || c == '.':
			for i < n && (isIdentChar(expr[i]) || expr[i] == '.') {
				i++
			}
		case isIdentStart(c):
			start := i
			for i < n && isIdentChar(expr[i]) {
				i++
			}
			word := expr[start:i]
			next := skipSpace(i)
			lower := strings.ToLower(word)
			switch {
			case labelListWords[lower]:
				if next < n && expr[next] == '(' {
					end, err := skipTo(next, '(', ')')
					if err != nil {
						return nil, err
					}
					i = end
				}
			case promqlWords[lower]:
			case next < n && expr[next] == '(':
				// A function call: its arguments are scanned in turn.
			default:
				if !slices.Contains(names, word) {
					names = append(names, word)
				}
			}
		default:
			i++ // operators, parentheses, commas
		}
	}
	return names, nil
}

// skipString returns the index after the string literal that starts at
// expr[i].
func skipString(expr string, i int) (int, error) {
	quote := expr[i]
	for k := i + 1; k < len(expr); k++ {
		switch expr[k] {
		case '\\':
			if quote != '`' {
				k++
			}
		case quote:
			return k + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at offset %d in %q", i, expr)
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func TestMetricNames(t *testing.T) {
	tests := []struct {
		name, expr string
		want       []string
	}{
		{"bare", `up`, []string{"up"}},
		{"selector and range", `rate(tablet_errors_total{code=~"INTERNAL|UNKNOWN", job="tablet"}[5m])`, []string{"tablet_errors_total"}},
		{"aggregation by before", `sum by (plan, le) (rate(tablet_queries_duration_seconds_bucket[5m]))`, []string{"tablet_queries_duration_seconds_bucket"}},
		{"aggregation by after", `sum(rate(a_total[1m])) by (instance) / count(b) without (x)`, []string{"a_total", "b"}},
		{"matching", `a / on (job, instance) group_left (keyspace) b and ignoring (x) c unless d`, []string{"a", "b", "c", "d"}},
		{"group_left without labels", `x:y:rate5m / on (job) group_left go_sched_gomaxprocs_threads`, []string{"x:y:rate5m", "go_sched_gomaxprocs_threads"}},
		{"bool and numbers", `rate(h_total[5m]) > bool 0 and m > 3 * 1024 * 1e3 or n offset 5m`, []string{"h_total", "m", "n"}},
		{"grafana variables", `increase(t_total{instance=~"$instance"}[$__rate_interval]) + s{a="${x}"} * $scale`, []string{"t_total", "s"}},
		{"strings with braces", `label_replace(v, "dst", "$1}", "src", "(.*)")`, []string{"v"}},
		{"topk and quantile", `topk(10, sum by (table) (q_total)) + histogram_quantile(0.99, r_bucket)`, []string{"q_total", "r_bucket"}},
		{"repeats once", `a + a`, []string{"a"}},
		{"comment", "a # b c\n+ d", []string{"a", "d"}},
		{"inf", `x > +Inf`, []string{"x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := metricNames(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("metricNames(%q) = %q, want %q", tt.expr, got, tt.want)
			}
		})
	}
	for _, bad := range []string{`a{b="c"`, `rate(a[5m)`, `a{b="c}`} {
		if got, err := metricNames(bad); err == nil {
			t.Errorf("metricNames(%q) = %q, want an error", bad, got)
		}
	}
}
