package queryserver

import (
	"context"
	"database/sql/driver"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tabletd/tablet/debugvars"
)

const benchSQL = "select id, name, email from users where id = :id and status in ::states and name = :name"

// BenchmarkPlanCache compares a plan cache hit with building the plan
// (what a miss costs) and with a bare map lookup under a mutex (the floor).
func BenchmarkPlanCache(b *testing.B) {
	c := newPlanCache(5000)
	p, err := BuildPlan(benchSQL)
	if err != nil {
		b.Fatal(err)
	}
	c.put(p)
	b.Run("hit", func(b *testing.B) {
		for b.Loop() {
			if _, ok := c.get(benchSQL); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("hit-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.get(benchSQL)
			}
		})
	})
	b.Run("build", func(b *testing.B) {
		for b.Loop() {
			if _, err := BuildPlan(benchSQL); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-map", func(b *testing.B) {
		var mu sync.Mutex
		m := map[string]*Plan{benchSQL: p}
		for b.Loop() {
			mu.Lock()
			_ = m[benchSQL]
			mu.Unlock()
		}
	})
}

// BenchmarkSubstitute compares bind variable substitution (validation and
// quoting included) with concatenating the same, already rendered,
// literals.
func BenchmarkSubstitute(b *testing.B) {
	p, err := BuildPlan(benchSQL)
	if err != nil {
		b.Fatal(err)
	}
	vars := map[string]*BindVar{
		"id":     ptr(Int64Var(123456789)),
		"states": ptr(TupleVar(StringVar("active"), StringVar("pending"), StringVar("o'brien"))),
		"name":   ptr(StringVar("x' OR '1'='1")),
	}
	b.Run("bind", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := substitute(p, vars); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-concat", func(b *testing.B) {
		b.ReportAllocs()
		parts := []string{"select id, name, email from users where id = ", "123456789",
			" and status in ", "('active', 'pending', 'o''brien')", " and name = ", "'x'' OR ''1''=''1'"}
		for b.Loop() {
			var sb strings.Builder
			sb.Grow(len(benchSQL) + 64)
			for _, s := range parts {
				sb.WriteString(s)
			}
			_ = sb.String()
		}
	})
}

// BenchmarkRecordQuery measures the statistics one query costs (every
// view: by plan, by table and plan, by user, table and plan, and the
// plan's own counters) beside a single atomic add.
func BenchmarkRecordQuery(b *testing.B) {
	s := newStats(debugvars.New(), 1000)
	p, _ := BuildPlan("select a from t where id = :id")
	p.statsTables = []string{"t"}
	rec := &queryRecord{plan: p, user: "app", elapsed: time.Millisecond, mysqlTime: 900 * time.Microsecond, rowsReturned: 3}
	b.Run("record", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.recordQuery(rec)
		}
	})
	b.Run("record-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.recordQuery(rec)
			}
		})
	})
	b.Run("baseline-atomic", func(b *testing.B) {
		var n atomic.Int64
		for b.Loop() {
			n.Add(1)
		}
	})
}

// BenchmarkExecute measures a whole Execute (plan cache, bind variables,
// budget and kill watch, pool, statistics, query log) over the fake
// driver, beside the same statement sent straight through the pool.
func BenchmarkExecute(b *testing.B) {
	db := newFakeDB(func(*fakeConn, string) fakeReply {
		return fakeReply{cols: []string{"id", "name"}, types: []string{"BIGINT", "VARCHAR"},
			rows: [][]driver.Value{{int64(1), []byte("alice")}}}
	})
	h := newBenchHarness(b, db)
	ctx := context.Background()
	vars := map[string]*BindVar{"id": ptr(Int64Var(1))}
	b.Run("engine", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h.eng.Execute(ctx, &primaryTarget, "select id, name from users where id = :id", vars, 0, 0, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-pool", func(b *testing.B) {
		b.ReportAllocs()
		dest := make([]driver.Value, 2)
		for b.Loop() {
			pc, err := h.set.Conn.Get(ctx)
			if err != nil {
				b.Fatal(err)
			}
			rows, err := pc.Conn.Query(ctx, "select id, name from users where id = 1")
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next(dest) != io.EOF {
			}
			rows.Close()
			pc.Release()
		}
	})
}

// newBenchHarness is newHarness for benchmarks.
func newBenchHarness(b *testing.B, db *fakeDB) *harness {
	b.Helper()
	cfg := testConfig()
	cfg.Consolidator = ConsolidatorDisable
	pc := testPoolConfig()
	return newHarnessTB(b, cfg, pc, primaryTarget, db)
}
