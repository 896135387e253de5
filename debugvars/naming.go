package debugvars

import (
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// promKind is the Prometheus type a variable is exported as.
type promKind int

const (
	promCounter promKind = iota
	promGauge
	promHistogram
)

// promSpec is what a variable declares about its Prometheus side.
type promSpec struct {
	name    string   // metric name; empty means /debug/vars only
	help    string   // HELP text, a sentence
	kind    promKind // exported type
	seconds bool     // the value is a duration, exported in seconds
	labels  []string // label names, one per dimension
}

// desc checks spec against the conventions for variable varName and returns
// its descriptor, or nil when the variable is not exported to Prometheus.
// It panics with a message naming the variable on any violation.
func (s promSpec) desc(varName string) *prometheus.Desc {
	if err := s.check(); err != nil {
		panic(fmt.Sprintf("debugvars: variable %q: %v", varName, err))
	}
	if s.name == "" {
		return nil
	}
	return prometheus.NewDesc(s.name, s.help, s.labels, nil)
}

// check reports the first convention spec breaks.
func (s promSpec) check() error {
	seen := make(map[string]bool, len(s.labels))
	for _, l := range s.labels {
		switch {
		case !isSnakeCase(l) || strings.HasPrefix(l, "__"):
			return fmt.Errorf("label name %q is not snake_case", l)
		case l == "le" || l == "quantile":
			return fmt.Errorf("label name %q is reserved by prometheus", l)
		case seen[l]:
			return fmt.Errorf("label name %q repeated", l)
		}
		seen[l] = true
	}
	if s.name == "" {
		return nil
	}
	if !isSnakeCase(s.name) {
		return fmt.Errorf("prometheus name %q is not snake_case", s.name)
	}
	for _, suffix := range []string{"_count", "_sum", "_bucket"} {
		if strings.HasSuffix(s.name, suffix) {
			return fmt.Errorf("prometheus name %q ends in %q, which histograms reserve", s.name, suffix)
		}
	}
	total := strings.HasSuffix(s.name, "_total")
	switch {
	case s.kind == promCounter && !total:
		return fmt.Errorf("prometheus counter name %q must end in _total", s.name)
	case s.kind != promCounter && total:
		return fmt.Errorf("prometheus name %q ends in _total but is not a counter", s.name)
	case s.seconds && !strings.HasSuffix(strings.TrimSuffix(s.name, "_total"), "_seconds"):
		return fmt.Errorf("prometheus name %q of a duration must carry the unit _seconds", s.name)
	}
	if !strings.HasSuffix(s.help, ".") || strings.TrimSpace(s.help) == "." {
		return fmt.Errorf("help %q must be a sentence ending in a period", s.help)
	}
	return nil
}

// isSnakeCase reports whether s is lowercase letters, digits and
// underscores, not starting with a digit.
func isSnakeCase(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
