package debugvars

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// index maps the keys of a labelled variable to their cells.
//
// A lookup of a key that has been published reads an immutable map through
// an atomic pointer: no lock, no allocation and no write to shared memory,
// so concurrent recorders never contend on the index itself. Other lookups
// take mu, create the cell if needed, and count as a miss. Once the misses
// since the last publication reach the size of the published map, a copy of
// every key is published. A copy costs at most twice the misses that
// preceded it (new keys are themselves misses), so its cost is amortized
// over them and a fixed set of keys soon stops missing at all.
type index[V any] struct {
	read atomic.Pointer[map[string]*V] // published map, never modified
	newV func() *V                     // builds a cell; immutable

	mu     sync.Mutex
	all    map[string]*V // guarded by mu; every key, a superset of *read
	misses int           // guarded by mu; slow lookups since the last publication
}

func newIndex[V any](newV func() *V) *index[V] {
	return &index[V]{newV: newV, all: make(map[string]*V)}
}

// get returns the cell for key, creating it if needed.
func (x *index[V]) get(key string) *V {
	if m := x.read.Load(); m != nil {
		if v, ok := (*m)[key]; ok {
			return v
		}
	}
	return x.slow(key)
}

// getBytes is get for a key being built in a buffer; it does not retain key.
func (x *index[V]) getBytes(key []byte) *V {
	if m := x.read.Load(); m != nil {
		// The compiler looks up string(key) without allocating.
		if v, ok := (*m)[string(key)]; ok {
			return v
		}
	}
	return x.slow(string(key))
}

func (x *index[V]) slow(key string) *V {
	x.mu.Lock()
	defer x.mu.Unlock()
	v, ok := x.all[key]
	if !ok {
		v = x.newV()
		x.all[key] = v
	}
	x.misses++
	if m := x.read.Load(); m == nil || x.misses >= len(*m) {
		m := maps.Clone(x.all)
		x.read.Store(&m)
		x.misses = 0
	}
	return v
}

// entry is one key of an index and its cell.
type entry[V any] struct {
	key  string
	cell *V
}

// entries returns every key and its cell, sorted by key.
func (x *index[V]) entries() []entry[V] {
	x.mu.Lock()
	es := make([]entry[V], 0, len(x.all))
	for k, v := range x.all {
		es = append(es, entry[V]{k, v})
	}
	x.mu.Unlock()
	slices.SortFunc(es, func(a, b entry[V]) int { return strings.Compare(a.key, b.key) })
	return es
}

// keyBufSize is the stack buffer for building multi-label keys; longer keys
// still work but allocate. Table and plan names fit well within it.
const keyBufSize = 128

// lookup returns v's cell for the label values, creating it if needed.
// With one label the key is the value itself; with several it is the values
// joined by "." (see appendKey). It panics if the number of values is not
// the number of labels; varName names the variable in that message.
func lookup[V any](x *index[V], varName string, labels, values []string) *V {
	if len(values) != len(labels) {
		panicLabelCount(varName, labels, values)
	}
	if len(values) == 1 {
		return x.get(values[0])
	}
	var buf [keyBufSize]byte
	return x.getBytes(appendKey(buf[:0], values))
}

// appendKey appends the /debug/vars key for several label values: the
// values joined with ".", each "." inside a value replaced by "_" so that
// the key splits back into the same number of values, as Vitess does.
func appendKey(b []byte, values []string) []byte {
	for i, v := range values {
		if i > 0 {
			b = append(b, '.')
		}
		n := len(b)
		b = append(b, v...)
		if strings.IndexByte(v, '.') >= 0 {
			for j := n; j < len(b); j++ {
				if b[j] == '.' {
					b[j] = '_'
				}
			}
		}
	}
	return b
}

// splitKey splits a key into at most n label values: the inverse of
// appendKey, or the key itself when n is 1.
func splitKey(key string, n int) []string {
	if n == 1 {
		return []string{key}
	}
	return strings.SplitN(key, ".", n)
}

//go:noinline
func panicLabelCount(varName string, labels, values []string) {
	// Join copies, so values does not escape and callers' variadic
	// slices can stay on their stacks.
	panic(fmt.Sprintf("debugvars: variable %q has labels [%s], got %d values [%s]",
		varName, strings.Join(labels, " "), len(values), strings.Join(values, " ")))
}

// checkLabels panics unless a labelled variable has at least one label.
func checkLabels(varName string, labels []string) {
	if len(labels) == 0 {
		panic(fmt.Sprintf("debugvars: variable %q: labelled variable needs at least one label", varName))
	}
}
