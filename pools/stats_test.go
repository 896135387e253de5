package pools

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode"
)

// TestVarNamesKeepVttabletNames guards the published names: vttablet's
// /debug/vars shows these for its pools, and dashboards depend on them.
func TestVarNamesKeepVttabletNames(t *testing.T) {
	vars := Stats{}.Vars("TransactionPool")
	have := map[string]Var{}
	for _, v := range vars {
		if _, dup := have[v.Name]; dup {
			t.Errorf("duplicate variable %s", v.Name)
		}
		have[v.Name] = v
	}
	for _, name := range []string{
		// From the reference's TransactionPool* listing.
		"TransactionPoolAvailable", "TransactionPoolCapacity", "TransactionPoolIdleTimeout",
		"TransactionPoolMaxCap", "TransactionPoolTimeout", "TransactionPoolWaitCount", "TransactionPoolWaitTime",
		// From vttablet's pool code and ours.
		"TransactionPoolActive", "TransactionPoolInUse", "TransactionPoolIdleClosed", "TransactionPoolExhausted",
		"TransactionPoolWaiterQueueFull", "TransactionPoolGet", "TransactionPoolMaxLifetimeClosed",
		"TransactionPoolBrokenClosed", "TransactionPoolStallsRepaired", "TransactionPoolWaiters",
	} {
		if _, ok := have[name]; !ok {
			t.Errorf("missing variable %s", name)
		}
	}
	for _, v := range vars {
		if v.Help == "" || !unicode.IsUpper(rune(v.Help[0])) || !strings.HasSuffix(v.Help, ".") {
			t.Errorf("%s: help %q should be a sentence", v.Name, v.Help)
		}
		isDuration := strings.HasSuffix(v.Name, "Timeout") || strings.HasSuffix(v.Name, "Time") || strings.HasSuffix(v.Name, "Lifetime")
		if v.Duration != isDuration {
			t.Errorf("%s: Duration = %v", v.Name, v.Duration)
		}
	}
}

func TestStatsVarsValues(t *testing.T) {
	p, _ := newTestPool(t, PoolConfig{Name: "ConnPool", Capacity: 3, IdleTimeout: time.Hour, WaitTimeout: time.Second})
	pc, err := p.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Release()

	tests := []struct {
		name string
		want int64
		kind VarKind
	}{
		{"ConnPoolCapacity", 3, Gauge},
		{"ConnPoolAvailable", 2, Gauge},
		{"ConnPoolInUse", 1, Gauge},
		{"ConnPoolActive", 1, Gauge},
		{"ConnPoolMaxCap", 3, Gauge},
		{"ConnPoolIdleTimeout", int64(time.Hour), Gauge},
		{"ConnPoolTimeout", int64(time.Second), Gauge},
		{"ConnPoolGet", 1, Counter},
		{"ConnPoolWaitCount", 0, Counter},
	}
	snapshot := map[string]Var{}
	for _, v := range p.Stats().Vars(p.Name()) {
		snapshot[v.Name] = v
	}
	funcs := map[string]VarFunc{}
	for _, v := range VarFuncs(p.Name(), p.Stats) {
		funcs[v.Name] = v
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := snapshot[tt.name]
			if !ok || v.Value != tt.want || v.Kind != tt.kind {
				t.Errorf("snapshot %s = %+v, want %d (%v)", tt.name, v, tt.want, tt.kind)
			}
			f, ok := funcs[tt.name]
			if !ok || f.Value() != tt.want || f.Kind != tt.kind || f.Help != v.Help {
				t.Errorf("func %s = %+v, want %d (%v)", tt.name, f, tt.want, tt.kind)
			}
		})
	}
}
