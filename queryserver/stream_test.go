package queryserver

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
	"testing"
)

func TestStreamExecuteChunks(t *testing.T) {
	const rows, width = 100, 92 // 100 bytes per row with its overhead
	cfg := testConfig()
	cfg.StreamBufferSize = 1000
	cfg.MaxResultRows = 10 // streams are not limited
	db := newFakeDB(func(c *fakeConn, q string) fakeReply {
		r := fakeReply{cols: []string{"v"}, types: []string{"VARBINARY"}}
		for i := range rows {
			r.rows = append(r.rows, []driver.Value{[]byte(strings.Repeat(string(rune('a'+i%26)), width))})
		}
		return r
	})
	h := newHarness(t, cfg, testPoolConfig(), primaryTarget, db)

	var calls, got int
	err := h.eng.StreamExecute(context.Background(), &primaryTarget, "select v from t", nil, 0, 0, nil, func(r *Result) error {
		calls++
		if calls == 1 {
			if len(r.Fields) != 1 || len(r.Rows) != 0 || r.Fields[0].Type != TypeVarBinary {
				t.Errorf("first piece %+v, want the fields only", r)
			}
			return nil
		}
		if size := r.size(); size > 1000 {
			t.Errorf("piece of %d bytes, over the buffer size", size)
		}
		for _, row := range r.Rows {
			if want := byte('a' + got%26); row[0][0] != want || len(row[0]) != width {
				t.Fatalf("row %d = %q", got, row[0][:1])
			}
			got++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != rows || calls != 1+rows/10 {
		t.Errorf("%d rows in %d calls, want %d in %d", got, calls, rows, 1+rows/10)
	}
	if n := h.set.Stream.Metrics().Gets(); n != 1 {
		t.Errorf("stream pool lent %d connections, want 1", n)
	}
}

func TestStreamExecuteReceiverFails(t *testing.T) {
	h := newHarness(t, testConfig(), testPoolConfig(), primaryTarget, newFakeDB(func(*fakeConn, string) fakeReply {
		return rowsReply("a", "b")
	}))
	boom := errors.New("client went away")
	err := h.eng.StreamExecute(context.Background(), &primaryTarget, "select v from t", nil, 0, 0, nil, func(r *Result) error {
		return boom
	})
	if !errors.Is(err, boom) || CodeOf(err) != CodeCanceled {
		t.Fatalf("err = %v (%v), want the receiver's error, CANCELED", err, CodeOf(err))
	}
	if len(h.eng.StreamQueries()) != 0 {
		t.Error("the stream is still listed")
	}
}

func TestStreamExecuteRefusesWrites(t *testing.T) {
	h := newHarness(t, testConfig(), testPoolConfig(), primaryTarget, newFakeDB(okHandler))
	err := h.eng.StreamExecute(context.Background(), &primaryTarget, "update t set a = 1", nil, 0, 0, nil,
		func(*Result) error { return nil })
	wantErr(t, err, CodeInvalidArgument, ErrNotAllowed, "UPDATE")
}

func TestKillStreamQuery(t *testing.T) {
	db := newFakeDB(blockHandler(nil))
	db.started = make(chan string, 1)
	h := newHarness(t, testConfig(), testPoolConfig(), primaryTarget, db)
	ctx := WithCaller(context.Background(), Caller{Username: "bob"})
	done := make(chan error, 1)
	go func() {
		done <- h.eng.StreamExecute(ctx, &primaryTarget, "SELECT SLEEP(100)", nil, 0, 0, nil, func(*Result) error { return nil })
	}()
	<-db.started
	list := h.eng.StreamQueries()
	if len(list) != 1 || list[0].SQL != "SELECT SLEEP(100)" || list[0].Caller.Username != "bob" || list[0].ConnID == 0 {
		t.Fatalf("StreamQueries() = %+v", list)
	}
	if err := h.eng.KillStreamQuery(list[0].ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, <-done, CodeCanceled, ErrQueryKilled, "killed by an operator")
	wantErr(t, h.eng.KillStreamQuery(list[0].ID), CodeNotFound, nil, "no streaming query")
}
