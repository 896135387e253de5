package pools

import "time"

// Stats is a snapshot of one pool: gauges taken together under the pool's
// lock, counters read just after.
type Stats struct {
	Capacity    int64 // current capacity
	MaxCapacity int64 // ceiling for SetCapacity
	Active      int64 // connections open or being opened
	InUse       int64 // connections lent out
	Idle        int64 // connections idle in the pool
	Available   int64 // Capacity - InUse
	Waiters     int64 // Gets queued now

	IdleTimeout time.Duration // PoolConfig.IdleTimeout
	WaitTimeout time.Duration // PoolConfig.WaitTimeout
	MaxLifetime time.Duration // PoolConfig.MaxLifetime

	Gets              int64         // calls to Get
	WaitCount         int64         // Gets that queued
	WaitTime          time.Duration // total time queued
	WaitTimeouts      int64         // queued Gets that hit the wait timeout
	Exhausted         int64         // Gets that found no idle connection and no free slot
	WaiterQueueFull   int64         // Gets refused at MaxWaiters
	IdleClosed        int64         // closed after IdleTimeout
	MaxLifetimeClosed int64         // closed at MaxLifetime
	BrokenClosed      int64         // found broken on return or reuse, closed and replaced
	ConnectErrors     int64         // failures to open a connection
	StallsRepaired    int64         // stalls the watchdog found and repaired
}

// VarKind says how a variable behaves over time.
type VarKind uint8

const (
	// Gauge is a value that goes up and down.
	Gauge VarKind = iota
	// Counter only grows while the pool lives.
	Counter
)

// String returns "gauge" or "counter".
func (k VarKind) String() string {
	if k == Counter {
		return "counter"
	}
	return "gauge"
}

// Var is one named pool variable: the pool's prefix and a suffix from the
// table below ("TransactionPool" + "WaitCount"). Durations are in
// nanoseconds, as vttablet shows them in /debug/vars; Duration marks them so
// a Prometheus exporter can convert to seconds.
type Var struct {
	Name     string  // prefix + suffix, as /debug/vars shows it
	Kind     VarKind // gauge or counter
	Duration bool    // Value is in nanoseconds
	Help     string  // one sentence
	Value    int64
}

// VarFunc is Var with a function in place of the value, for registries that
// read variables when scraped.
type VarFunc struct {
	Name     string       // prefix + suffix, as /debug/vars shows it
	Kind     VarKind      // gauge or counter
	Duration bool         // Value returns nanoseconds
	Help     string       // one sentence
	Value    func() int64 // safe for concurrent use
}

// statVar is one row of the table every pool variable comes from.
type statVar struct {
	suffix   string
	kind     VarKind
	duration bool
	help     string
	value    func(*Stats) int64
}

// statVars is the one table of pool variable suffixes. The first nine are
// vttablet's names for its ConnPool, StreamConnPool and TransactionPool
// (Available, Capacity, IdleTimeout, MaxCap, Timeout, WaitCount, WaitTime
// from its /debug/vars documentation; Active, InUse, IdleClosed, Exhausted,
// WaiterQueueFull, Get and MaxLifetimeClosed from its pool code); the rest
// are ours. Renaming a row renames a published variable: don't.
var statVars = [...]statVar{
	{"Available", Gauge, false, "Connections the pool could lend now without waiting (capacity minus in use).", func(s *Stats) int64 { return s.Available }},
	{"Capacity", Gauge, false, "Most connections the pool keeps open at once.", func(s *Stats) int64 { return s.Capacity }},
	{"IdleTimeout", Gauge, true, "Idle time after which a pooled connection is closed, in nanoseconds.", func(s *Stats) int64 { return int64(s.IdleTimeout) }},
	{"MaxCap", Gauge, false, "Ceiling to which the capacity can be raised.", func(s *Stats) int64 { return s.MaxCapacity }},
	{"Timeout", Gauge, true, "Longest a request waits for a connection, in nanoseconds; zero means until its deadline.", func(s *Stats) int64 { return int64(s.WaitTimeout) }},
	{"WaitCount", Counter, false, "Requests that had to wait because every connection was in use.", func(s *Stats) int64 { return s.WaitCount }},
	{"WaitTime", Counter, true, "Total time requests waited for a connection, in nanoseconds.", func(s *Stats) int64 { return int64(s.WaitTime) }},
	{"Active", Gauge, false, "Connections open or being opened, idle and in use.", func(s *Stats) int64 { return s.Active }},
	{"InUse", Gauge, false, "Connections lent out.", func(s *Stats) int64 { return s.InUse }},
	{"IdleClosed", Counter, false, "Connections closed after sitting idle for the idle timeout.", func(s *Stats) int64 { return s.IdleClosed }},
	{"Exhausted", Counter, false, "Requests that found no idle connection and no free slot.", func(s *Stats) int64 { return s.Exhausted }},
	{"WaiterQueueFull", Counter, false, "Requests refused because the wait queue was at its cap.", func(s *Stats) int64 { return s.WaiterQueueFull }},
	{"Get", Counter, false, "Requests for a connection.", func(s *Stats) int64 { return s.Gets }},
	{"MaxLifetimeClosed", Counter, false, "Connections closed for reaching their maximum lifetime.", func(s *Stats) int64 { return s.MaxLifetimeClosed }},
	{"Idle", Gauge, false, "Connections idle in the pool.", func(s *Stats) int64 { return s.Idle }},
	{"Waiters", Gauge, false, "Requests waiting for a connection now.", func(s *Stats) int64 { return s.Waiters }},
	{"MaxLifetime", Gauge, true, "Maximum lifetime of a pooled connection, in nanoseconds; zero means none.", func(s *Stats) int64 { return int64(s.MaxLifetime) }},
	{"WaitTimeouts", Counter, false, "Requests that gave up at the pool's wait timeout.", func(s *Stats) int64 { return s.WaitTimeouts }},
	{"BrokenClosed", Counter, false, "Connections found broken when returned or reused, closed and replaced.", func(s *Stats) int64 { return s.BrokenClosed }},
	{"ConnectErrors", Counter, false, "Failures to open a connection.", func(s *Stats) int64 { return s.ConnectErrors }},
	{"StallsRepaired", Counter, false, "Times requests were found waiting beside idle connections or free capacity, and served.", func(s *Stats) int64 { return s.StallsRepaired }},
}

// Vars returns every variable of the snapshot, named prefix+suffix, in the
// table's order.
func (s Stats) Vars(prefix string) []Var {
	out := make([]Var, len(statVars))
	for i := range statVars {
		v := &statVars[i]
		out[i] = Var{Name: prefix + v.suffix, Kind: v.kind, Duration: v.duration, Help: v.help, Value: v.value(&s)}
	}
	return out
}

// VarFuncs returns every variable of a pool as a function of a fresh
// snapshot, named prefix+suffix, in the table's order. Each call of a Value
// takes one snapshot with stats.
func VarFuncs(prefix string, stats func() Stats) []VarFunc {
	out := make([]VarFunc, len(statVars))
	for i := range statVars {
		v := &statVars[i]
		out[i] = VarFunc{
			Name: prefix + v.suffix, Kind: v.kind, Duration: v.duration, Help: v.help,
			Value: func() int64 { s := stats(); return v.value(&s) },
		}
	}
	return out
}
