package grpcserver_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tabletd/tablet/proto/querypb"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/proto/vtrpcpb"
	"github.com/tabletd/tablet/queryserver"
	"github.com/tabletd/tablet/queryserver/client"
	"github.com/tabletd/tablet/queryserver/grpcserver"
	"github.com/tabletd/tablet/queryserver/schema"
	"github.com/tabletd/tablet/testenv"
)

func TestMain(m *testing.M) {
	testenv.LeakCheckMain(m, "tabletd/tablet/queryserver/grpcserver.", "tabletd/tablet/queryserver/client.")
}

// fakeEngine is a grpcserver.Engine that records its calls and answers
// with its knobs.
type fakeEngine struct {
	mu     sync.Mutex // guards the fields below
	state  queryserver.ServingState
	target queryserver.Target
	calls  []string
	caller queryserver.Caller
	binds  map[string]*queryserver.BindVar
	result *queryserver.Result
	stream []*queryserver.Result
	id     int64  // returned by the calls that open sessions
	err    error  // returned by the statement
	after  func() // called after each stream callback, as the engine reuses its memory
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{state: queryserver.StateServing,
		target: queryserver.Target{Keyspace: "ks", Shard: "-80", TabletType: queryserver.TabletPrimary},
		result: &queryserver.Result{}, id: 7}
}

func (f *fakeEngine) record(ctx context.Context, call string, binds map[string]*queryserver.BindVar) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	f.caller = queryserver.CallerFromContext(ctx)
	f.binds = binds
}

func (f *fakeEngine) lastCall() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeEngine) set(fn func(*fakeEngine)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeEngine) knobs() (*queryserver.Result, []*queryserver.Result, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.result, f.stream, f.id, f.err
}

func (f *fakeEngine) ServingState() (queryserver.ServingState, queryserver.Target) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state, f.target
}

func (f *fakeEngine) Execute(ctx context.Context, _ *queryserver.Target, sql string, bv map[string]*queryserver.BindVar,
	tx, rs int64, _ *queryserver.ExecuteOptions) (*queryserver.Result, error) {
	f.record(ctx, fmt.Sprintf("Execute %s %d %d", sql, tx, rs), bv)
	res, _, _, err := f.knobs()
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (f *fakeEngine) StreamExecute(ctx context.Context, _ *queryserver.Target, sql string, bv map[string]*queryserver.BindVar,
	tx, rs int64, _ *queryserver.ExecuteOptions, cb func(*queryserver.Result) error) error {
	f.record(ctx, fmt.Sprintf("StreamExecute %s %d %d", sql, tx, rs), bv)
	_, stream, _, err := f.knobs()
	for _, r := range stream {
		if err := cb(r); err != nil {
			return err
		}
		if f.after != nil {
			f.after()
		}
	}
	return err
}

func (f *fakeEngine) Begin(ctx context.Context, _ *queryserver.Target, _ *queryserver.ExecuteOptions) (int64, error) {
	f.record(ctx, "Begin", nil)
	_, _, id, _ := f.knobs()
	return id, nil
}

func (f *fakeEngine) BeginSession(ctx context.Context, _ *queryserver.Target, pre []string, rs int64) (int64, error) {
	f.record(ctx, fmt.Sprintf("BeginSession %v %d", pre, rs), nil)
	_, _, id, _ := f.knobs()
	return id, nil
}

func (f *fakeEngine) Commit(ctx context.Context, _ *queryserver.Target, tx int64) (int64, error) {
	f.record(ctx, fmt.Sprintf("Commit %d", tx), nil)
	return 0, nil
}

func (f *fakeEngine) Rollback(ctx context.Context, _ *queryserver.Target, tx int64) (int64, error) {
	f.record(ctx, fmt.Sprintf("Rollback %d", tx), nil)
	return 0, nil
}

func (f *fakeEngine) BeginExecute(ctx context.Context, _ *queryserver.Target, pre []string, sql string,
	bv map[string]*queryserver.BindVar, rs int64, _ *queryserver.ExecuteOptions) (int64, *queryserver.Result, error) {
	f.record(ctx, fmt.Sprintf("BeginExecute %s %d", sql, rs), bv)
	res, _, id, err := f.knobs()
	if err != nil {
		return id, nil, err
	}
	return id, res, nil
}

func (f *fakeEngine) Reserve(ctx context.Context, _ *queryserver.Target, pre []string, tx int64) (int64, error) {
	f.record(ctx, fmt.Sprintf("Reserve %v %d", pre, tx), nil)
	_, _, id, _ := f.knobs()
	return id, nil
}

func (f *fakeEngine) ReserveExecute(ctx context.Context, _ *queryserver.Target, pre []string, sql string,
	bv map[string]*queryserver.BindVar, tx int64, _ *queryserver.ExecuteOptions) (int64, *queryserver.Result, error) {
	f.record(ctx, fmt.Sprintf("ReserveExecute %v %s %d", pre, sql, tx), bv)
	res, _, id, err := f.knobs()
	if err != nil {
		return id, nil, err
	}
	return id, res, nil
}

func (f *fakeEngine) ReserveBeginExecute(ctx context.Context, _ *queryserver.Target, pre, post []string, sql string,
	bv map[string]*queryserver.BindVar, _ *queryserver.ExecuteOptions) (int64, *queryserver.Result, error) {
	f.record(ctx, fmt.Sprintf("ReserveBeginExecute %v %v %s", pre, post, sql), bv)
	res, _, id, err := f.knobs()
	if err != nil {
		return id, nil, err
	}
	return id, res, nil
}

func (f *fakeEngine) Release(ctx context.Context, _ *queryserver.Target, tx, rs int64) error {
	f.record(ctx, fmt.Sprintf("Release %d %d", tx, rs), nil)
	return nil
}

// serve runs a Query service over d on a loopback port and returns a
// client of it; both stop when t ends.
func serve(t *testing.T, d grpcserver.Deps) *client.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	d.Logger = logger
	opts, err := grpcserver.DefaultConfig().ServerOptions(logger)
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(opts...)
	grpcserver.New(d).Register(gs)
	served := make(chan error, 1)
	go func() { served <- gs.Serve(ln) }()
	cfg := client.DefaultConfig()
	cfg.Address = ln.Addr().String()
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		gs.Stop()
		<-served
	})
	return c
}

var alias = &topodatapb.TabletAlias{Cell: "zone1", Uid: 100}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestTargetAndServingState(t *testing.T) {
	primary := &querypb.Target{Keyspace: "ks", Shard: "-80", TabletType: topodatapb.TabletType_PRIMARY}
	tests := []struct {
		name   string
		state  queryserver.ServingState
		target *querypb.Target
		call   func(context.Context, *client.Client, *querypb.Target) error
		code   vtrpcpb.Code
		msg    string
		engine string // the engine call expected; "" for none
	}{
		{name: "serving", state: queryserver.StateServing, target: primary, call: execute, engine: "Execute SELECT 1 0 0"},
		{name: "not serving", state: queryserver.StateNotServing, target: primary, call: execute,
			code: vtrpcpb.Code_CLUSTER_EVENT, msg: "operation not allowed in state NOT_SERVING"},
		{name: "shutting down refuses new work", state: queryserver.StateShuttingDown, target: primary, call: execute,
			code: vtrpcpb.Code_CLUSTER_EVENT, msg: "operation not allowed in state SHUTTING_DOWN"},
		{name: "shutting down runs work in a transaction", state: queryserver.StateShuttingDown, target: primary, call: executeInTx,
			engine: "Execute SELECT 1 5 0"},
		{name: "not serving refuses work in a transaction", state: queryserver.StateNotServing, target: primary, call: executeInTx,
			code: vtrpcpb.Code_CLUSTER_EVENT, msg: "NOT_SERVING"},
		{name: "commit in any state", state: queryserver.StateNotServing, target: primary, call: commit, engine: "Commit 5"},
		{name: "begin while shutting down", state: queryserver.StateShuttingDown, target: primary, call: begin,
			code: vtrpcpb.Code_CLUSTER_EVENT, msg: "SHUTTING_DOWN"},
		{name: "wrong tablet type", state: queryserver.StateServing, call: execute,
			target: &querypb.Target{Keyspace: "ks", Shard: "-80", TabletType: topodatapb.TabletType_REPLICA},
			code:   vtrpcpb.Code_FAILED_PRECONDITION, msg: "wrong tablet type: REPLICA, want: PRIMARY"},
		{name: "wrong keyspace", state: queryserver.StateServing, call: execute,
			target: &querypb.Target{Keyspace: "other", Shard: "-80", TabletType: topodatapb.TabletType_PRIMARY},
			code:   vtrpcpb.Code_INVALID_ARGUMENT, msg: "invalid keyspace other does not match expected ks"},
		{name: "wrong shard", state: queryserver.StateServing, call: commit,
			target: &querypb.Target{Keyspace: "ks", Shard: "80-", TabletType: topodatapb.TabletType_PRIMARY},
			code:   vtrpcpb.Code_INVALID_ARGUMENT, msg: "invalid shard 80- does not match expected -80"},
		{name: "no target", state: queryserver.StateServing, call: execute, code: vtrpcpb.Code_INVALID_ARGUMENT, msg: "No target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newFakeEngine()
			eng.state = tt.state
			c := serve(t, grpcserver.Deps{Engine: eng, Alias: alias})
			err := tt.call(ctxT(t), c, tt.target)
			if client.CodeOf(err) != tt.code || (tt.msg != "" && !strings.Contains(fmt.Sprint(err), tt.msg)) {
				t.Errorf("call = %v, want code %v and %q", err, tt.code, tt.msg)
			}
			if got := eng.lastCall(); got != tt.engine {
				t.Errorf("engine saw %q, want %q", got, tt.engine)
			}
		})
	}
}

func execute(ctx context.Context, c *client.Client, t *querypb.Target) error {
	_, err := c.Execute(ctx, t, "SELECT 1", nil, 0, 0, nil)
	return err
}

func executeInTx(ctx context.Context, c *client.Client, t *querypb.Target) error {
	_, err := c.Execute(ctx, t, "SELECT 1", nil, 5, 0, nil)
	return err
}

func commit(ctx context.Context, c *client.Client, t *querypb.Target) error {
	_, err := c.Commit(ctx, t, 5)
	return err
}

func begin(ctx context.Context, c *client.Client, t *querypb.Target) error {
	_, err := c.Begin(ctx, t, nil)
	return err
}

var primary = &querypb.Target{Keyspace: "ks", Shard: "-80", TabletType: topodatapb.TabletType_PRIMARY}

func TestResultsCallersAndBindVariables(t *testing.T) {
	eng := newFakeEngine()
	eng.result = &queryserver.Result{
		Fields: []queryserver.Field{
			{Name: "id", Type: queryserver.TypeUint64, ColumnType: "UNSIGNED BIGINT", Flags: queryserver.FlagUnsigned | queryserver.FlagNum},
			{Name: "name", Type: queryserver.TypeVarChar, ColumnType: "VARCHAR"},
			{Name: "data", Type: queryserver.TypeVarBinary, ColumnType: "VARBINARY", Flags: queryserver.FlagBinary},
		},
		Rows: []queryserver.Row{
			{[]byte("18446744073709551615"), []byte("🚀 émoji"), {0, 1, 0}},
			{[]byte("1"), nil, {}},
		},
		RowsAffected: 3, InsertID: 9,
	}
	c := serve(t, grpcserver.Deps{Engine: eng, Alias: alias})
	ctx := client.WithCaller(ctxT(t), client.Caller{Principal: "alice", Component: "app", Subcomponent: "cart", Username: "gateway"})
	binds := map[string]*querypb.BindVariable{
		"a": client.Int64(-1), "b": client.Bytes([]byte{0}),
		"l": {Type: querypb.Type_TUPLE, Values: []*querypb.Value{{Type: querypb.Type_INT64, Value: []byte("1")}, {Type: querypb.Type_INT64, Value: []byte("2")}}},
	}
	res, err := c.Execute(ctx, primary, "SELECT :a, :b, ::l", binds, 0, 0, &querypb.ExecuteOptions{IncludedFields: querypb.ExecuteOptions_ALL})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"18446744073709551615", "🚀 émoji", "\x00\x01\x00"}, {"1", "NULL", ""}}
	for i, row := range res.Rows {
		for j, v := range row {
			got := string(v)
			if v == nil {
				got = "NULL"
			}
			if got != want[i][j] {
				t.Errorf("row %d value %d = %q, want %q", i, j, got, want[i][j])
			}
		}
	}
	if res.Rows[1][2] == nil {
		t.Error("empty value decoded as NULL")
	}
	f := res.Fields[0]
	if f.GetName() != "id" || f.GetType() != querypb.Type_UINT64 || f.GetColumnType() != "UNSIGNED BIGINT" || f.GetCharset() != 63 ||
		f.GetFlags() != uint32(querypb.MySqlFlag_UNSIGNED_FLAG|querypb.MySqlFlag_NUM_FLAG) {
		t.Errorf("field = %v", f)
	}
	if res.RowsAffected != 3 || res.InsertID != 9 {
		t.Errorf("rows affected %d insert id %d, want 3 and 9", res.RowsAffected, res.InsertID)
	}
	eng.mu.Lock()
	if eng.caller != (queryserver.Caller{Principal: "alice", Component: "app", Subcomponent: "cart", Username: "gateway"}) {
		t.Errorf("engine got caller %+v", eng.caller)
	}
	if a, l := eng.binds["a"], eng.binds["l"]; a == nil || a.Type != queryserver.TypeInt64 || string(a.Value) != "-1" ||
		l == nil || l.Type != queryserver.TypeTuple || len(l.Values) != 2 || string(l.Values[1].Value) != "2" {
		t.Errorf("engine got bind variables %+v", eng.binds)
	}
	eng.mu.Unlock()

	// The default, TYPE_AND_NAME, strips the rest.
	res, err = c.Execute(ctx, primary, "SELECT 1", nil, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Fields[0]; f.GetName() != "id" || f.GetType() != querypb.Type_UINT64 || f.GetColumnType() != "" || f.GetFlags() != 0 {
		t.Errorf("field with default options = %v, want name and type only", f)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		code   vtrpcpb.Code
		number uint16
		state  string
		msg    string
	}{
		{name: "mysql", err: &queryserver.Error{Code: queryserver.CodeAlreadyExists,
			Message: "mysql connection 4: Duplicate entry '1' for key 'PRIMARY' (errno 1062) (sqlstate 23000)"},
			code: vtrpcpb.Code_ALREADY_EXISTS, number: 1062, state: "23000", msg: "Duplicate entry"},
		{name: "engine refuses while shutting down", err: fmt.Errorf("refused: %w", queryserver.ErrNotServing),
			code: vtrpcpb.Code_CLUSTER_EVENT, msg: "operation not allowed in state NOT_SERVING"},
		{name: "plain", err: errors.New("boom"), code: vtrpcpb.Code_UNKNOWN, msg: "boom"},
		{name: "long", err: errors.New(strings.Repeat("x", 10000)), code: vtrpcpb.Code_UNKNOWN, msg: "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newFakeEngine()
			eng.err = tt.err
			c := serve(t, grpcserver.Deps{Engine: eng, Alias: alias})
			_, err := c.Execute(ctxT(t), primary, "SELECT 1", nil, 0, 0, nil)
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Code != tt.code || ce.Number != tt.number || ce.SQLState != tt.state || !strings.Contains(ce.Message, tt.msg) {
				t.Errorf("error = %#v, want code %v number %d sqlstate %q message with %q", err, tt.code, tt.number, tt.state, tt.msg)
			}
		})
	}
}

func TestErrorsInsideResponses(t *testing.T) {
	eng := newFakeEngine()
	eng.err = &queryserver.Error{Code: queryserver.CodeInvalidArgument, Message: "syntax (errno 1064) (sqlstate 42000)"}
	eng.id = 42
	c := serve(t, grpcserver.Deps{Engine: eng, Alias: alias})
	ctx := ctxT(t)
	id, _, err := c.BeginExecute(ctx, primary, nil, "bad", nil, 0, nil)
	if id != 42 || client.CodeOf(err) != vtrpcpb.Code_INVALID_ARGUMENT {
		t.Errorf("BeginExecute = %d, %v; want the transaction id with the error", id, err)
	}
	id, _, err = c.ReserveExecute(ctx, primary, []string{"SET @a = 1"}, "bad", nil, 0, nil)
	if id != 42 || client.CodeOf(err) != vtrpcpb.Code_INVALID_ARGUMENT {
		t.Errorf("ReserveExecute = %d, %v; want the reserved id with the error", id, err)
	}
	id, _, err = c.ReserveBeginExecute(ctx, primary, nil, nil, "bad", nil, nil)
	if id != 42 || client.CodeOf(err) != vtrpcpb.Code_INVALID_ARGUMENT {
		t.Errorf("ReserveBeginExecute = %d, %v", id, err)
	}
	id, err = c.BeginStreamExecute(ctx, primary, nil, "bad", nil, 0, nil, func(*client.Result) error { return nil })
	if id != 42 || client.CodeOf(err) != vtrpcpb.Code_INVALID_ARGUMENT {
		t.Errorf("BeginStreamExecute = %d, %v", id, err)
	}
	if got := eng.lastCall(); got != "StreamExecute bad 42 0" {
		t.Errorf("BeginStreamExecute ran %q, want the statement in transaction 42", got)
	}
	id, err = c.ReserveStreamExecute(ctx, primary, []string{"SET @a = 1"}, "bad", nil, 0, nil, func(*client.Result) error { return nil })
	if id != 42 || client.CodeOf(err) != vtrpcpb.Code_INVALID_ARGUMENT {
		t.Errorf("ReserveStreamExecute = %d, %v", id, err)
	}
	if got := eng.lastCall(); got != "StreamExecute bad 0 42" {
		t.Errorf("ReserveStreamExecute ran %q, want the statement on reserved connection 42", got)
	}
	// Without an id the error is the call's.
	eng.set(func(f *fakeEngine) { f.id = 0 })
	if id, _, err := c.BeginExecute(ctx, primary, nil, "bad", nil, 0, nil); id != 0 || client.CodeOf(err) != vtrpcpb.Code_INVALID_ARGUMENT {
		t.Errorf("BeginExecute without a transaction = %d, %v", id, err)
	}
}

func TestStreamExecuteReusesNothingItSent(t *testing.T) {
	eng := newFakeEngine()
	fields := &queryserver.Result{Fields: []queryserver.Field{{Name: "v", Type: queryserver.TypeVarBinary}}}
	// The engine reuses its row memory between callbacks; the stream must
	// not send stale bytes.
	buf := []byte("aaaa")
	chunk := &queryserver.Result{Rows: []queryserver.Row{{buf}, {nil}}}
	eng.stream = []*queryserver.Result{fields, chunk, chunk}
	calls := 0
	eng.after = func() { // what the engine does with its row memory once the first chunk went
		if calls++; calls == 2 {
			copy(buf, "bbbb")
		}
	}
	c := serve(t, grpcserver.Deps{Engine: eng, Alias: alias})
	var got []string
	var sawFields int
	err := c.StreamExecute(ctxT(t), primary, "SELECT v", nil, 0, 0, nil, func(r *client.Result) error {
		if len(r.Fields) > 0 {
			sawFields++
		}
		for _, row := range r.Rows {
			if row[0] == nil {
				got = append(got, "NULL")
			} else {
				got = append(got, string(row[0]))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[aaaa NULL bbbb NULL]" || sawFields != 1 {
		t.Errorf("streamed %v with fields %d times, want [aaaa NULL bbbb NULL] and fields once", got, sawFields)
	}
}

func TestUnimplemented(t *testing.T) {
	c := serve(t, grpcserver.Deps{Engine: newFakeEngine(), Alias: alias})
	q, ctx := c.Query(), ctxT(t)
	calls := map[string]func() error{
		"Prepare":             func() error { _, err := q.Prepare(ctx, &querypb.PrepareRequest{}); return err },
		"CommitPrepared":      func() error { _, err := q.CommitPrepared(ctx, &querypb.CommitPreparedRequest{}); return err },
		"RollbackPrepared":    func() error { _, err := q.RollbackPrepared(ctx, &querypb.RollbackPreparedRequest{}); return err },
		"CreateTransaction":   func() error { _, err := q.CreateTransaction(ctx, &querypb.CreateTransactionRequest{}); return err },
		"StartCommit":         func() error { _, err := q.StartCommit(ctx, &querypb.StartCommitRequest{}); return err },
		"SetRollback":         func() error { _, err := q.SetRollback(ctx, &querypb.SetRollbackRequest{}); return err },
		"ConcludeTransaction": func() error { _, err := q.ConcludeTransaction(ctx, &querypb.ConcludeTransactionRequest{}); return err },
		"ReadTransaction":     func() error { _, err := q.ReadTransaction(ctx, &querypb.ReadTransactionRequest{}); return err },
		"UnresolvedTransactions": func() error {
			_, err := q.UnresolvedTransactions(ctx, &querypb.UnresolvedTransactionsRequest{})
			return err
		},
		"MessageAck": func() error { _, err := q.MessageAck(ctx, &querypb.MessageAckRequest{}); return err },
		"MessageStream": func() error {
			s, err := q.MessageStream(ctx, &querypb.MessageStreamRequest{})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		},
		"ReserveBeginStreamExecute": func() error {
			s, err := q.ReserveBeginStreamExecute(ctx, &querypb.ReserveBeginStreamExecuteRequest{})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		},
		"GetSchema without a tracker": func() error {
			return c.GetSchema(ctx, primary, querypb.SchemaTableType_ALL, nil, func(*querypb.GetSchemaResponse) error { return nil })
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			if status.Code(err) != codes.Unimplemented && client.CodeOf(err) != vtrpcpb.Code_UNIMPLEMENTED {
				t.Fatalf("%s = %v, want Unimplemented", name, err)
			}
			if !strings.Contains(err.Error(), "not implemented by this tablet") {
				t.Errorf("%s: message %q does not say the tablet lacks it", name, err)
			}
		})
	}
}

// fakeHealth is a HealthSource whose watches deliver what the test sends.
type fakeHealth struct {
	updates chan grpcserver.HealthStatus
	fail    chan error
	closed  chan struct{} // closed when the watch is closed
}

func (h *fakeHealth) WatchHealth() grpcserver.HealthWatch { return h }

func (h *fakeHealth) Next(ctx context.Context) (grpcserver.HealthStatus, error) {
	select {
	case st := <-h.updates: // updates first, then the end
		return st, nil
	default:
	}
	select {
	case st := <-h.updates:
		return st, nil
	case err := <-h.fail:
		return grpcserver.HealthStatus{}, err
	case <-ctx.Done():
		return grpcserver.HealthStatus{}, ctx.Err()
	}
}

func (h *fakeHealth) Close() { close(h.closed) }

func TestStreamHealth(t *testing.T) {
	tests := []struct {
		name string
		end  error
		code codes.Code
	}{
		{"slow subscriber", fmt.Errorf("%w: 20 unread", grpcserver.ErrSlowSubscriber), codes.ResourceExhausted},
		{"shutting down", grpcserver.ErrHealthClosed, codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHealth{updates: make(chan grpcserver.HealthStatus, 2), fail: make(chan error, 1), closed: make(chan struct{})}
			c := serve(t, grpcserver.Deps{Engine: newFakeEngine(), Health: h, Alias: alias})
			term := time.Unix(1700000000, 5)
			h.updates <- grpcserver.HealthStatus{Keyspace: "ks", Shard: "-80", Cell: "zone1", TabletType: topodatapb.TabletType_PRIMARY,
				Serving: true, PrimaryTermStart: term, ReplicationLag: 1500 * time.Millisecond, QPS: 2.5, TablesChanged: []string{"t1"}}
			h.updates <- grpcserver.HealthStatus{Keyspace: "ks", Shard: "-80", TabletType: topodatapb.TabletType_REPLICA,
				PrimaryTermStart: term, HealthError: "REPLICATION_STOPPED: both threads stopped", ViewsChanged: []string{"v1"}}
			h.fail <- tt.end
			var got []*querypb.StreamHealthResponse
			err := c.StreamHealth(ctxT(t), func(m *querypb.StreamHealthResponse) error {
				got = append(got, m)
				return nil
			})
			if client.CodeOf(err) != vtrpcpb.Code(tt.code) {
				t.Errorf("stream ended with %v, want %v", err, tt.code)
			}
			if len(got) != 2 {
				t.Fatalf("got %d messages, want 2", len(got))
			}
			p, r := got[0], got[1]
			if p.GetTabletAlias().GetUid() != 100 || !p.GetServing() || p.GetPrimaryTermStartTimestamp() != 1700000000 ||
				p.GetTarget().GetCell() != "zone1" || p.GetRealtimeStats().GetReplicationLagSeconds() != 1 ||
				fmt.Sprint(p.GetRealtimeStats().GetTableSchemaChanged()) != "[t1]" || p.GetRealtimeStats().GetQps() != 2.5 {
				t.Errorf("primary's update = %v", p)
			}
			if r.GetServing() || r.GetPrimaryTermStartTimestamp() != 0 || r.GetRealtimeStats().GetHealthError() == "" ||
				fmt.Sprint(r.GetRealtimeStats().GetViewSchemaChanged()) != "[v1]" {
				t.Errorf("replica's update = %v, want no term and a health error", r)
			}
			select {
			case <-h.closed:
			case <-time.After(10 * time.Second):
				t.Error("the watch was not closed")
			}
		})
	}
}

// fakeSchema is a grpcserver.Schema over a fixed set of definitions.
type fakeSchema struct {
	defs map[string]string
	udfs []schema.UDF
}

func (s fakeSchema) Definitions(_ context.Context, kind schema.Kind, names []string, emit func(name, create string) error) error {
	for _, n := range []string{"a", "b", "c"} {
		if len(names) > 0 && !strings.Contains(strings.Join(names, ","), n) {
			continue
		}
		if err := emit(n, s.defs[n]); err != nil {
			return err
		}
	}
	return nil
}

func (s fakeSchema) UDFs(context.Context) ([]schema.UDF, error) { return s.udfs, nil }

func TestGetSchema(t *testing.T) {
	big := strings.Repeat("x", 700<<10)
	sc := fakeSchema{
		defs: map[string]string{"a": "CREATE TABLE a" + big, "b": "CREATE TABLE b" + big, "c": "CREATE VIEW c"},
		udfs: []schema.UDF{{Name: "f", Return: "integer"}, {Name: "g", Aggregating: true, Return: "string"}},
	}
	c := serve(t, grpcserver.Deps{Engine: newFakeEngine(), Schema: sc, Alias: alias})
	ctx := ctxT(t)
	var msgs int
	got := map[string]int{}
	err := c.GetSchema(ctx, primary, querypb.SchemaTableType_ALL, nil, func(r *querypb.GetSchemaResponse) error {
		msgs++
		for k, v := range r.GetTableDefinition() {
			got[k] = len(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || msgs != 2 {
		t.Errorf("GetSchema ALL: %d definitions in %d messages, want 3 in 2 (1 MiB each at most)", len(got), msgs)
	}
	var udfs []string
	if err := c.GetSchema(ctx, primary, querypb.SchemaTableType_UDFS, nil, func(r *querypb.GetSchemaResponse) error {
		for _, u := range r.GetUdfs() {
			udfs = append(udfs, fmt.Sprintf("%s %v %t", u.GetName(), u.GetReturnType(), u.GetAggregating()))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(udfs) != "[f INT64 false g VARCHAR true]" {
		t.Errorf("UDFs = %v", udfs)
	}
	// Wrong target: refused like every call.
	err = c.GetSchema(ctx, &querypb.Target{Keyspace: "x", Shard: "-80", TabletType: topodatapb.TabletType_PRIMARY},
		querypb.SchemaTableType_TABLES, nil, func(*querypb.GetSchemaResponse) error { return nil })
	if client.CodeOf(err) != vtrpcpb.Code_INVALID_ARGUMENT {
		t.Errorf("GetSchema for another keyspace = %v, want INVALID_ARGUMENT", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*grpcserver.Config)
		errHas string
	}{
		{name: "defaults", mutate: func(*grpcserver.Config) {}},
		{name: "cert without key", mutate: func(c *grpcserver.Config) { c.CertFile = "c.pem" }, errHas: "--grpc_cert and --grpc_key go together"},
		{name: "ca without cert", mutate: func(c *grpcserver.Config) { c.CAFile = "ca.pem" }, errHas: "--grpc_ca=ca.pem"},
		{name: "tiny messages", mutate: func(c *grpcserver.Config) { c.MaxMessageSize = 10 }, errHas: "--grpc_max_message_size"},
		{name: "negative keepalive", mutate: func(c *grpcserver.Config) { c.KeepaliveTime = -1 }, errHas: "--grpc_server_keepalive_time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := grpcserver.DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if (tt.errHas == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.errHas)) {
				t.Errorf("Validate() = %v, want %q", err, tt.errHas)
			}
		})
	}
	c := grpcserver.DefaultConfig()
	c.CertFile, c.KeyFile = "/nonexistent/cert.pem", "/nonexistent/key.pem"
	if _, err := c.ServerOptions(slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "--grpc_cert=/nonexistent/cert.pem") {
		t.Errorf("ServerOptions with missing files = %v, want an error naming --grpc_cert", err)
	}
}
