package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/proto/querypb"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/proto/vtrpcpb"
	"github.com/tabletd/tablet/queryserver/client"
)

// grpcAddr is the tablet's gRPC address, from the port its record holds.
func (w *world) grpcAddr(t *testing.T, alias string) string {
	t.Helper()
	port := w.tablet(t, alias).GetPortMap()["grpc"]
	if port == 0 {
		t.Fatalf("record of %s has no grpc port", alias)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))
}

// dial returns a plaintext client of addr, closed when t ends.
func dial(t *testing.T, addr string) *client.Client {
	t.Helper()
	cfg := client.DefaultConfig()
	cfg.Address = addr
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitHealth reads the tablet's health stream until cond holds for a
// message, failing after 30s.
func waitHealth(t *testing.T, c *client.Client, what string, cond func(*querypb.StreamHealthResponse) bool) *querypb.StreamHealthResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got, last *querypb.StreamHealthResponse
	errFound := errors.New("found")
	err := c.StreamHealth(ctx, func(m *querypb.StreamHealthResponse) error {
		last = m
		if cond(m) {
			got = m
			return errFound
		}
		return nil
	})
	if got == nil {
		t.Fatalf("health stream: no message with %s (last %v): %v", what, last, err)
	}
	return got
}

// code is err's vtrpc code.
func code(err error) vtrpcpb.Code { return client.CodeOf(err) }

// TestGRPCEndToEnd drives a real tablet binary over real gRPC through the
// Go client: the tablet starts as a replica of a shard with no primary
// (not serving, which gateways see as CLUSTER_EVENT), changes type, is
// made the primary through TabletControl, and then serves every
// implemented RPC. Results decode to exactly what MySQL sends.
func TestGRPCEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts etcd, mysqld and the tablet binary")
	}
	w := newWorld(t)
	p := startTablet(t, w.args(t, "zone1-100", "commerce", "0", "--tablet_hostname=127.0.0.1",
		"--queryserver-config-schema-reload-time=300ms", "--queryserver-config-stream-buffer-size=32768"))
	p.waitType(t, "REPLICA")
	c := dial(t, w.grpcAddr(t, "zone1-100"))
	ctx := client.WithCaller(context.Background(), client.Caller{Principal: "alice", Component: "e2e", Username: "gateway"})
	replica := &querypb.Target{Keyspace: "commerce", Shard: "0", TabletType: topodatapb.TabletType_REPLICA}
	primary := &querypb.Target{Keyspace: "commerce", Shard: "0", TabletType: topodatapb.TabletType_PRIMARY}

	t.Run("replica without a primary does not serve", func(t *testing.T) {
		h := waitHealth(t, c, "a REPLICA not serving", func(m *querypb.StreamHealthResponse) bool {
			return m.GetTarget().GetTabletType() == topodatapb.TabletType_REPLICA && !m.GetServing()
		})
		if got := h.GetTabletAlias(); got.GetCell() != "zone1" || got.GetUid() != 100 {
			t.Errorf("health alias = %v, want zone1-100 as in the record", got)
		}
		if h.GetRealtimeStats().GetHealthError() == "" {
			t.Errorf("a tablet that does not serve reports no health error: %v", h)
		}
		_, err := c.Execute(ctx, replica, "SELECT 1", nil, 0, 0, nil)
		if code(err) != vtrpcpb.Code_CLUSTER_EVENT || !strings.Contains(err.Error(), "operation not allowed in state NOT_SERVING") {
			t.Errorf("Execute on a tablet not serving = %v, want CLUSTER_EVENT with vttablet's NOT_SERVING text", err)
		}
	})

	t.Run("ChangeType", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := c.ChangeType(cctx, topodatapb.TabletType_RDONLY); err != nil {
			t.Fatalf("ChangeType RDONLY: %v", err)
		}
		if got := w.tablet(t, "zone1-100").GetType(); got != topodatapb.TabletType_RDONLY {
			t.Errorf("record type after ChangeType = %v, want RDONLY", got)
		}
		waitHealth(t, c, "type RDONLY", func(m *querypb.StreamHealthResponse) bool {
			return m.GetTarget().GetTabletType() == topodatapb.TabletType_RDONLY
		})
		if err := c.ChangeType(cctx, topodatapb.TabletType_PRIMARY); code(err) != vtrpcpb.Code_FAILED_PRECONDITION ||
			!strings.Contains(err.Error(), "reparent") {
			t.Errorf("ChangeType PRIMARY = %v, want FAILED_PRECONDITION naming a reparent", err)
		}
		if err := c.ChangeType(cctx, topodatapb.TabletType_REPLICA); err != nil {
			t.Fatalf("ChangeType REPLICA: %v", err)
		}
		p.waitType(t, "REPLICA")
	})

	t.Run("TabletExternallyReparented makes it the primary", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		resp, err := c.TabletExternallyReparented(cctx, "e2e")
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetNewPrimary().GetUid() != 100 || resp.GetOldPrimary() != nil {
			t.Errorf("TabletExternallyReparented = %v, want new primary zone1-100 and no old one", resp)
		}
		rec := w.tablet(t, "zone1-100")
		h := waitHealth(t, c, "a serving PRIMARY", func(m *querypb.StreamHealthResponse) bool {
			return m.GetTarget().GetTabletType() == topodatapb.TabletType_PRIMARY && m.GetServing()
		})
		if want := rec.GetPrimaryTermStartTime().GetSeconds(); want == 0 || h.GetPrimaryTermStartTimestamp() != want {
			t.Errorf("health primary term start = %d, record's = %d", h.GetPrimaryTermStartTimestamp(), want)
		}
		if h.GetRealtimeStats().GetHealthError() != "" || h.GetTarget().GetKeyspace() != "commerce" || h.GetTarget().GetShard() != "0" ||
			h.GetTarget().GetCell() != "zone1" {
			t.Errorf("serving primary health = %v, want an empty health error and target commerce/0 in zone1", h)
		}
		if err := c.ChangeType(cctx, topodatapb.TabletType_RDONLY); code(err) != vtrpcpb.Code_FAILED_PRECONDITION {
			t.Errorf("ChangeType on the primary = %v, want FAILED_PRECONDITION", err)
		}
	})

	t.Run("results decode to what MySQL sends", func(t *testing.T) { testResults(t, w, c, ctx, primary) })
	t.Run("transactions and reserved connections", func(t *testing.T) { testSessions(t, w, c, ctx, primary) })
	t.Run("targets and unimplemented RPCs", func(t *testing.T) { testTargets(t, c, ctx) })
	t.Run("GetSchema and schema changes in StreamHealth", func(t *testing.T) { testSchema(t, w, c, ctx, primary) })
	t.Run("operations", func(t *testing.T) { testOperations(t, w, c, ctx) })
	t.Run("grpc health and reflection", func(t *testing.T) { testStandardServices(t, c) })
	t.Run("CLI", func(t *testing.T) { testCLI(t, w.grpcAddr(t, "zone1-100")) })
	t.Run("stream of a million rows keeps the heap bounded", func(t *testing.T) { testMillionRows(t, p, c, ctx, primary) })
	t.Run("a canceled stream is killed on MySQL", func(t *testing.T) { testCancelKills(t, w, c, ctx, primary) })
}

// typesTable holds one row of every type the acceptance names, and a row
// of NULLs.
const typesTable = `CREATE TABLE vt_commerce.types (
  id INT NOT NULL PRIMARY KEY,
  u BIGINT UNSIGNED,
  d DECIMAL(20,6),
  f DOUBLE,
  s VARCHAR(64) CHARACTER SET utf8mb4,
  vb VARBINARY(16),
  b BLOB,
  dt DATE,
  dtm DATETIME(6),
  ts TIMESTAMP NULL,
  j JSON,
  e ENUM('small','large')
)`

func testResults(t *testing.T, w *world, c *client.Client, ctx context.Context, target *querypb.Target) {
	if _, err := c.Execute(ctx, target, typesTable, nil, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	ins := "INSERT INTO vt_commerce.types VALUES (:id, :u, :d, :f, :s, :vb, :b, :dt, :dtm, :ts, :j, :e)"
	binds := map[string]*querypb.BindVariable{
		"id": client.Int64(-7), "u": client.Uint64(18446744073709551615),
		"d": {Type: querypb.Type_DECIMAL, Value: []byte("-12345678901234.567891")},
		"f": client.Float64(0.1), "s": client.String("naïve 🚀 'quoted'"),
		"vb": client.Bytes([]byte{0, 1, 0, 0xff}), "b": client.Bytes([]byte{0, 0, 'x', 0}),
		"dt": client.String("2024-02-29"), "dtm": client.String("2024-02-29 23:59:59.123456"),
		"ts": client.String("2038-01-19 03:14:07"), "j": client.String(`{"a": [1, 2.5, "é"]}`), "e": client.String("large"),
	}
	res, err := c.Execute(ctx, target, ins, binds, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsAffected != 1 {
		t.Errorf("insert rows affected = %d, want 1", res.RowsAffected)
	}
	if _, err := c.Execute(ctx, target, "INSERT INTO vt_commerce.types (id) VALUES (8)", nil, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	cols := []string{"id", "u", "d", "f", "s", "vb", "b", "dt", "dtm", "ts", "j", "e"}
	// The server's own rendering of each value, for comparison: text via
	// CAST(... AS CHAR) (the server's text protocol form), binary via HEX.
	var check []string
	for _, col := range cols {
		check = append(check, fmt.Sprintf("HEX(CAST(%s AS BINARY))", col))
	}
	q := "SELECT " + strings.Join(cols, ", ") + ", " + strings.Join(check, ", ") + " FROM vt_commerce.types ORDER BY id"
	res, err = c.Execute(ctx, target, q, nil, 0, 0, &querypb.ExecuteOptions{IncludedFields: querypb.ExecuteOptions_ALL})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || len(res.Fields) != 2*len(cols) {
		t.Fatalf("got %d rows of %d fields, want 2 of %d", len(res.Rows), len(res.Fields), 2*len(cols))
	}
	want := []string{"-7", "18446744073709551615", "-12345678901234.567891", "0.1", "naïve 🚀 'quoted'",
		"\x00\x01\x00\xff", "\x00\x00x\x00", "2024-02-29", "2024-02-29 23:59:59.123456", "2038-01-19 03:14:07", `{"a": [1, 2.5, "é"]}`, "large"}
	jsonType := querypb.Type_JSON
	if w.mysql.Flavor().IsMariaDB() {
		jsonType = querypb.Type_TEXT // MariaDB's JSON is LONGTEXT
	}
	wantTypes := []querypb.Type{querypb.Type_INT32, querypb.Type_UINT64, querypb.Type_DECIMAL, querypb.Type_FLOAT64,
		querypb.Type_VARCHAR, querypb.Type_VARBINARY, querypb.Type_BLOB, querypb.Type_DATE, querypb.Type_DATETIME,
		querypb.Type_TIMESTAMP, jsonType, querypb.Type_ENUM}
	for i, col := range cols {
		f := res.Fields[i]
		if f.GetName() != col || f.GetType() != wantTypes[i] {
			t.Errorf("field %d = %s %v, want %s %v", i, f.GetName(), f.GetType(), col, wantTypes[i])
		}
		got := res.Rows[0][i]
		if string(got) != want[i] {
			t.Errorf("%s = %q, want %q", col, got, want[i])
		}
		if server := string(res.Rows[0][len(cols)+i]); !strings.EqualFold(hex.EncodeToString(got), server) {
			t.Errorf("%s = %x, but the server renders it as %s", col, got, server)
		}
		if i > 0 && res.Rows[1][i] != nil {
			t.Errorf("%s of the NULL row = %q, want NULL", col, res.Rows[1][i])
		}
	}
	if f := res.Fields[1]; f.GetFlags()&uint32(querypb.MySqlFlag_UNSIGNED_FLAG) == 0 || f.GetCharset() != 63 {
		t.Errorf("BIGINT UNSIGNED field = %v, want the unsigned flag and charset 63", f)
	}
	if got := res.Rows[1][1]; got != nil {
		t.Errorf("NULL decoded as %q", got)
	}

	// An error keeps MySQL's number and SQLSTATE.
	_, err = c.Execute(ctx, target, "INSERT INTO vt_commerce.types (id) VALUES (8)", nil, 0, 0, nil)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Code != vtrpcpb.Code_ALREADY_EXISTS || ce.Number != 1062 || ce.SQLState != "23000" {
		t.Errorf("duplicate key = %#v, want ALREADY_EXISTS with errno 1062 and sqlstate 23000", err)
	}
	// Insert id.
	if _, err := c.Execute(ctx, target, "CREATE TABLE vt_commerce.auto (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)", nil, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	res, err = c.Execute(ctx, target, "INSERT INTO vt_commerce.auto (v) VALUES (1), (2)", nil, 0, 0, nil)
	if err != nil || res.InsertID != 1 || res.RowsAffected != 2 {
		t.Errorf("auto-increment insert = %+v, %v; want insert id 1, 2 rows affected", res, err)
	}
}

func testSessions(t *testing.T, w *world, c *client.Client, ctx context.Context, target *querypb.Target) {
	if _, err := c.Execute(ctx, target, "CREATE TABLE vt_commerce.acct (id INT PRIMARY KEY, bal INT)", nil, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	// Begin, Execute, Commit.
	id, err := c.Begin(ctx, target, nil)
	if err != nil || id == 0 {
		t.Fatalf("Begin = %d, %v", id, err)
	}
	if _, err := c.Execute(ctx, target, "INSERT INTO vt_commerce.acct VALUES (1, 100)", nil, id, 0, nil); err != nil {
		t.Fatal(err)
	}
	if rid, err := c.Commit(ctx, target, id); err != nil || rid != 0 {
		t.Fatalf("Commit = %d, %v", rid, err)
	}
	// BeginExecute, Rollback: the row is gone.
	id, _, err = c.BeginExecute(ctx, target, nil, "INSERT INTO vt_commerce.acct VALUES (2, 5)", nil, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Rollback(ctx, target, id); err != nil {
		t.Fatal(err)
	}
	// A failing statement in BeginExecute returns the id with the error.
	id, _, err = c.BeginExecute(ctx, target, nil, "INSERT INTO vt_commerce.acct VALUES (1, 1)", nil, 0, nil)
	if id == 0 || code(err) != vtrpcpb.Code_ALREADY_EXISTS {
		t.Errorf("failing BeginExecute = %d, %v; want the transaction id and ALREADY_EXISTS", id, err)
	}
	if id != 0 {
		if _, err := c.Rollback(ctx, target, id); err != nil {
			t.Error(err)
		}
	}
	// A statement in a transaction sees the transaction's writes.
	id, _, err = c.BeginExecute(ctx, target, nil, "UPDATE vt_commerce.acct SET bal = 7 WHERE id = 1", nil, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c.Execute(ctx, target, "SELECT bal FROM vt_commerce.acct WHERE id = 1", nil, id, 0, nil); err != nil || string(res.Rows[0][0]) != "7" {
		t.Errorf("read in the transaction = %v, %v; want 7", res, err)
	}
	if _, err := c.Rollback(ctx, target, id); err != nil {
		t.Fatal(err)
	}
	var streamed []string
	id, err = c.BeginStreamExecute(ctx, target, nil, "SELECT bal FROM vt_commerce.acct", nil, 0, nil, func(r *client.Result) error {
		for _, row := range r.Rows {
			streamed = append(streamed, string(row[0]))
		}
		return nil
	})
	if err != nil || id == 0 || fmt.Sprint(streamed) != "[100]" {
		t.Errorf("BeginStreamExecute = %d, %v, rows %v; want a transaction id and [100]", id, err, streamed)
	}
	if id != 0 {
		if _, err := c.Commit(ctx, target, id); err != nil {
			t.Error(err)
		}
	}
	// Reserved connections keep session state.
	rid, res, err := c.ReserveExecute(ctx, target, []string{"SET @x = 41"}, "SELECT @x + 1", nil, 0, nil)
	if err != nil || rid == 0 || string(res.Rows[0][0]) != "42" {
		t.Fatalf("ReserveExecute = %d, %v, %v; want a reserved id and 42", rid, res, err)
	}
	var got []string
	rid2, err := c.ReserveStreamExecute(ctx, target, []string{"SET @y = 'kept'"}, "SELECT @y", nil, 0, nil, func(r *client.Result) error {
		for _, row := range r.Rows {
			got = append(got, string(row[0]))
		}
		return nil
	})
	if err != nil || rid2 == 0 || fmt.Sprint(got) != "[kept]" {
		t.Errorf("ReserveStreamExecute = %d, %v, %v; want a reserved id and [kept]", rid2, got, err)
	}
	if res, err := c.Execute(ctx, target, "SELECT @y", nil, 0, rid2, nil); err != nil || string(res.Rows[0][0]) != "kept" {
		t.Errorf("Execute on the reserved connection = %v, %v; want kept", res, err)
	}
	for _, r := range []int64{rid, rid2} {
		if err := c.Release(ctx, target, 0, r); err != nil {
			t.Error(err)
		}
	}
	tid, res, err := c.ReserveBeginExecute(ctx, target, []string{"SET @z = 1"}, nil, "SELECT @z", nil, nil)
	if err != nil || tid == 0 || string(res.Rows[0][0]) != "1" {
		t.Fatalf("ReserveBeginExecute = %d, %v, %v", tid, res, err)
	}
	if rid, err := c.Commit(ctx, target, tid); err != nil || rid != tid {
		t.Errorf("Commit of a reserved transaction = %d, %v; want the reserved id %d back", rid, err, tid)
	}
	if err := c.Release(ctx, target, 0, tid); err != nil {
		t.Error(err)
	}
	// A released id is gone.
	if _, err := c.Execute(ctx, target, "SELECT 1", nil, 0, tid, nil); code(err) != vtrpcpb.Code_ABORTED {
		t.Errorf("Execute on a released connection = %v, want ABORTED", err)
	}
}

func testTargets(t *testing.T, c *client.Client, ctx context.Context) {
	tests := []struct {
		name   string
		target *querypb.Target
		code   vtrpcpb.Code
		msg    string
	}{
		{"tablet type", &querypb.Target{Keyspace: "commerce", Shard: "0", TabletType: topodatapb.TabletType_REPLICA},
			vtrpcpb.Code_FAILED_PRECONDITION, "wrong tablet type: REPLICA, want: PRIMARY"},
		{"keyspace", &querypb.Target{Keyspace: "customer", Shard: "0", TabletType: topodatapb.TabletType_PRIMARY},
			vtrpcpb.Code_INVALID_ARGUMENT, "invalid keyspace customer does not match expected commerce"},
		{"shard", &querypb.Target{Keyspace: "commerce", Shard: "-80", TabletType: topodatapb.TabletType_PRIMARY},
			vtrpcpb.Code_INVALID_ARGUMENT, "invalid shard -80 does not match expected 0"},
		{"none", nil, vtrpcpb.Code_INVALID_ARGUMENT, "No target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Execute(ctx, tt.target, "SELECT 1", nil, 0, 0, nil)
			if code(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Execute = %v, want %v %q", err, tt.code, tt.msg)
			}
			_, err = c.Begin(ctx, tt.target, nil)
			if code(err) != tt.code {
				t.Errorf("Begin = %v, want %v", err, tt.code)
			}
		})
	}
	q := c.Query()
	for name, call := range map[string]func() error{
		"Prepare": func() error { _, err := q.Prepare(ctx, &querypb.PrepareRequest{}); return err },
		"MessageAck": func() error {
			_, err := q.MessageAck(ctx, &querypb.MessageAckRequest{})
			return err
		},
		"ReadTransaction": func() error { _, err := q.ReadTransaction(ctx, &querypb.ReadTransactionRequest{}); return err },
	} {
		if err := call(); status.Code(err) != codes.Unimplemented || !strings.Contains(status.Convert(err).Message(), "not implemented by this tablet") {
			t.Errorf("%s = %v, want Unimplemented saying so", name, err)
		}
	}
}

func testSchema(t *testing.T, w *world, c *client.Client, ctx context.Context, target *querypb.Target) {
	defs := map[string]string{}
	collect := func(kind querypb.SchemaTableType, names ...string) map[string]string {
		t.Helper()
		out := map[string]string{}
		err := c.GetSchema(ctx, target, kind, names, func(r *querypb.GetSchemaResponse) error {
			for k, v := range r.GetTableDefinition() {
				out[k] = v
			}
			return nil
		})
		if err != nil {
			t.Fatalf("GetSchema %v: %v", kind, err)
		}
		return out
	}
	if _, err := c.Execute(ctx, target, "CREATE VIEW vt_commerce.rich AS SELECT id FROM vt_commerce.acct WHERE bal > 50", nil, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	defs = collect(querypb.SchemaTableType_TABLES)
	if !strings.HasPrefix(defs["acct"], "CREATE TABLE `acct`") || defs["rich"] != "" {
		t.Errorf("GetSchema TABLES = %v, want acct's CREATE TABLE and no view", keys(defs))
	}
	if v := collect(querypb.SchemaTableType_VIEWS); !strings.Contains(v["rich"], "VIEW `vt_commerce`.`rich` AS select") || len(v) != 1 {
		t.Errorf("GetSchema VIEWS = %v, want the view rich", v)
	}
	if all := collect(querypb.SchemaTableType_ALL, "acct", "rich", "missing"); len(all) != 2 {
		t.Errorf("GetSchema ALL of acct, rich, missing = %v, want the two that exist", keys(all))
	}
	var udfs int
	if err := c.GetSchema(ctx, target, querypb.SchemaTableType_UDFS, nil, func(r *querypb.GetSchemaResponse) error {
		udfs += len(r.GetUdfs())
		return nil
	}); err != nil {
		t.Errorf("GetSchema UDFS: %v", err)
	}

	// A DDL through the query service, and one behind its back (seen by
	// the 300ms reload), both show up in the health stream.
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	changed := map[string]bool{}
	ready := make(chan struct{})
	var once sync.Once
	errc := make(chan error, 1)
	go func() {
		errc <- c.StreamHealth(sctx, func(m *querypb.StreamHealthResponse) error {
			once.Do(func() { close(ready) })
			for _, n := range m.GetRealtimeStats().GetTableSchemaChanged() {
				changed["table "+n] = true
			}
			for _, n := range m.GetRealtimeStats().GetViewSchemaChanged() {
				changed["view "+n] = true
			}
			if changed["table acct"] && changed["table outside"] && changed["view rich"] {
				return errors.New("done")
			}
			return nil
		})
	}()
	<-ready
	if _, err := c.Execute(ctx, target, "ALTER TABLE vt_commerce.acct ADD COLUMN note VARCHAR(10)", nil, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Execute(ctx, target, "CREATE OR REPLACE VIEW vt_commerce.rich AS SELECT id FROM vt_commerce.acct WHERE bal > 60", nil, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	admin := openDB(t, w.mysql, mysqld.RoleAdmin)
	mustExec(t, admin, "CREATE TABLE vt_commerce.outside (id INT PRIMARY KEY)")
	if err := <-errc; err == nil || err.Error() != "done" {
		t.Errorf("health stream ended with %v before naming acct, outside and rich; saw %v", err, changed)
	}
}

func testOperations(t *testing.T, w *world, c *client.Client, ctx context.Context) {
	if got, err := c.Ping(ctx, "hello"); err != nil || got != "hello" {
		t.Errorf("Ping = %q, %v", got, err)
	}
	st, err := c.FullStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.GetTabletType() != topodatapb.TabletType_PRIMARY || st.GetServerId() != w.mysql.ServerID() || st.GetReadOnly() || st.GetVersion() == "" {
		t.Errorf("FullStatus = %v, want a writable PRIMARY with server id %d", st, w.mysql.ServerID())
	}
	if err := c.SetReadOnly(ctx); err != nil {
		t.Fatal(err)
	}
	if !readOnly(t, w.mysql) {
		t.Error("mysqld writable after SetReadOnly")
	}
	if err := c.SetReadWrite(ctx); err != nil {
		t.Fatal(err)
	}
	if readOnly(t, w.mysql) {
		t.Error("mysqld read-only after SetReadWrite")
	}
	err = c.Backup(ctx, nil, nil)
	if code(err) != vtrpcpb.Code_FAILED_PRECONDITION || !strings.Contains(err.Error(), "backups are not configured (--backup_storage_url is empty)") {
		t.Errorf("Backup without storage = %v, want FAILED_PRECONDITION saying backups are not configured", err)
	}
	if _, err := c.ListBackups(ctx, 0); code(err) != vtrpcpb.Code_FAILED_PRECONDITION {
		t.Errorf("ListBackups without storage = %v, want FAILED_PRECONDITION", err)
	}
}

func testStandardServices(t *testing.T, c *client.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, svc := range []string{"", "queryservice.Query"} {
		resp, err := healthpb.NewHealthClient(c.Conn()).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("grpc.health.v1 Check(%q) = %v, %v; want SERVING", svc, resp, err)
		}
	}
	stream, err := grpc_reflection_v1.NewServerReflectionClient(c.Conn()).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&grpc_reflection_v1.ServerReflectionRequest{MessageRequest: &grpc_reflection_v1.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"queryservice.Query", "tabletmanagerservice.TabletManager", "tabletctl.TabletControl", "grpc.health.v1.Health"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}
}

func testCLI(t *testing.T, addr string) {
	run1 := func(args ...string) (int, string, string) {
		var out, errb strings.Builder
		code := run(context.Background(), args, &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, errs := run1("query", "--server="+addr, "--bind", "n=3", "SELECT :n + 1 AS four, NULL AS nothing"); code != 0 ||
		!strings.Contains(out, "| four | nothing |") || !strings.Contains(out, "| 4    | NULL    |") {
		t.Errorf("tablet query = %d\n%s%s", code, out, errs)
	}
	code, out, errs := run1("query", "--server="+addr, "--json", "SELECT 'x' AS a")
	var js struct {
		Rows [][]any `json:"rows"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || fmt.Sprint(js.Rows) != "[[x]]" {
		t.Errorf("tablet query --json = %d %q %s", code, out, errs)
	}
	if code, out, errs := run1("stream", "--server="+addr, "SELECT id FROM vt_commerce.acct"); code != 0 || !strings.Contains(out, "id\n1\n") {
		t.Errorf("tablet stream = %d\n%s%s", code, out, errs)
	}
	file := t.TempDir() + "/tx.sql"
	if err := writeFile(file, "-- move money\nUPDATE vt_commerce.acct SET bal = bal - 1 WHERE id = 1;\nINSERT INTO vt_commerce.acct (id, bal) VALUES (3, 1);\nSELECT COUNT(*) AS n FROM vt_commerce.acct;\n"); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := run1("tx", "--server="+addr, file); code != 0 || !strings.Contains(out, "committed transaction") || !strings.Contains(out, "| 2 |") {
		t.Errorf("tablet tx = %d\n%s%s", code, out, errs)
	}
	if code, out, errs := run1("tx", "--server="+addr, file); code != 1 || !strings.Contains(errs, "rolled back") || !strings.Contains(errs, "1062") {
		t.Errorf("tablet tx again (duplicate key) = %d\n%s%s", code, out, errs)
	}
	if code, out, errs := run1("ping", "--server="+addr); code != 0 || !strings.Contains(out, "answered in") {
		t.Errorf("tablet ping = %d\n%s%s", code, out, errs)
	}
	if code, _, errs := run1("backups", "--server="+addr); code != 1 || !strings.Contains(errs, "backups are not configured") {
		t.Errorf("tablet backups = %d %s", code, errs)
	}
	if code, _, errs := run1("query", "SELECT 1"); code != 2 || !strings.Contains(errs, "--server is required") {
		t.Errorf("tablet query without --server = %d %s", code, errs)
	}
}

// heapInuse reads memstats.HeapInuse from the tablet's /debug/vars.
func heapInuse(p *proc) (uint64, error) {
	code, body := p.get("/debug/vars")
	if code != http.StatusOK {
		return 0, fmt.Errorf("/debug/vars: %d", code)
	}
	var v struct {
		Memstats struct{ HeapInuse uint64 } `json:"memstats"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return 0, err
	}
	return v.Memstats.HeapInuse, nil
}

func testMillionRows(t *testing.T, p *proc, c *client.Client, ctx context.Context, target *querypb.Target) {
	const rows = 1_000_000
	before, err := heapInuse(p)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	peak := before
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if h, err := heapInuse(p); err == nil {
				mu.Lock()
				peak = max(peak, h)
				mu.Unlock()
			}
		}
	}()
	if _, err := c.Execute(ctx, target, "CREATE TABLE vt_commerce.digits (d INT PRIMARY KEY)", nil, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Execute(ctx, target, "INSERT INTO vt_commerce.digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)", nil, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	// Six digits tables joined: a million rows made as they are sent,
	// never materialized on the server.
	sql := "SELECT a.d + 10*b.d + 100*c.d + 1000*d.d + 10000*e.d + 100000*f.d AS n, REPEAT('x', 100) AS pad " +
		"FROM vt_commerce.digits a, vt_commerce.digits b, vt_commerce.digits c, vt_commerce.digits d, vt_commerce.digits e, vt_commerce.digits f"
	var got, bytes, maxN int
	start := time.Now()
	err = c.StreamExecute(ctx, target, sql, nil, 0, 0, nil, func(r *client.Result) error {
		for _, row := range r.Rows {
			got++
			bytes += len(row[0]) + len(row[1])
			n, err := strconv.Atoi(string(row[0]))
			if err != nil {
				return err
			}
			maxN = max(maxN, n)
		}
		return nil
	})
	took := time.Since(start)
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	if got != rows || maxN != rows-1 {
		t.Fatalf("streamed %d rows up to %d, want %d up to %d", got, maxN, rows, rows-1)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("streamed %d rows (%d MB of values) in %v; tablet HeapInuse %.1f MB before, peak %.1f MB during",
		got, bytes>>20, took.Round(time.Millisecond), float64(before)/(1<<20), float64(peak)/(1<<20))
	// The values alone are over 100 MB: a tablet that buffered the result
	// would show it. Bounded streaming stays within a few buffers.
	if growth := int64(peak) - int64(before); growth > 48<<20 {
		t.Errorf("tablet heap grew %d MB while streaming %d MB: not bounded", growth>>20, bytes>>20)
	}
}

func testCancelKills(t *testing.T, w *world, c *client.Client, ctx context.Context, target *querypb.Target) {
	// A query that streams a first row at once and then runs for a minute.
	// The first row is larger than mysqld's network buffer, so it is sent
	// at once; the second sleeps a minute.
	sql := "SELECT n, IF(n = 1, REPEAT('x', 20000), SLEEP(60)) AS canceled_marker FROM (SELECT 1 AS n UNION ALL SELECT 2) AS t"
	sctx, cancel := context.WithCancel(ctx)
	first := make(chan struct{})
	var once sync.Once
	errc := make(chan error, 1)
	go func() {
		errc <- c.StreamExecute(sctx, target, sql, nil, 0, 0, nil, func(r *client.Result) error {
			once.Do(func() { close(first) })
			return nil
		})
	}()
	select {
	case <-first:
	case err := <-errc:
		t.Fatalf("stream ended before its first message: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no first message after 30s")
	}
	dba := openDB(t, w.mysql, mysqld.RoleDBA)
	running := func() bool {
		var n int
		if err := dba.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE CONCAT('%canceled', '_marker%')").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	waitMySQL(t, "the streaming query running on mysqld", running)
	start := time.Now()
	cancel()
	if err := <-errc; code(err) != vtrpcpb.Code_CANCELED || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled stream = %v, want CANCELED matching context.Canceled", err)
	}
	waitMySQL(t, "the canceled query gone from the processlist", func() bool { return !running() })
	took := time.Since(start)
	t.Logf("client cancel -> query gone from mysqld's processlist in %v", took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("query killed %v after the client canceled, want within 5s", took)
	}
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

// certs is a test PKI: a CA with a server certificate for 127.0.0.1 and a
// client certificate, and a second, untrusted CA with its own client
// certificate. Files are PEM in a temporary directory.
type certs struct {
	ca, serverCert, serverKey, clientCert, clientKey, rogueCert, rogueKey string
}

func newCerts(t *testing.T) certs {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, blocks ...*pem.Block) string {
		var b []byte
		for _, blk := range blocks {
			b = append(b, pem.EncodeToMemory(blk)...)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	serial := int64(1)
	issue := func(tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		serial++
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return cert, key
	}
	pemOf := func(c *x509.Certificate, k *ecdsa.PrivateKey) (*pem.Block, *pem.Block) {
		kb, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}
	}
	caTmpl := func(name string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	}
	leaf := func(name string, usage x509.ExtKeyUsage) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: name}, KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
	}
	ca, caKey := issue(caTmpl("test CA"), nil, nil)
	rogueCA, rogueKey := issue(caTmpl("rogue CA"), nil, nil)
	srv, srvKey := issue(leaf("tablet", x509.ExtKeyUsageServerAuth), ca, caKey)
	cli, cliKey := issue(leaf("gateway", x509.ExtKeyUsageClientAuth), ca, caKey)
	rogue, rogueCliKey := issue(leaf("intruder", x509.ExtKeyUsageClientAuth), rogueCA, rogueKey)
	var c certs
	caPEM, _ := pemOf(ca, caKey)
	c.ca = write("ca.pem", caPEM)
	sc, sk := pemOf(srv, srvKey)
	c.serverCert, c.serverKey = write("server.pem", sc), write("server.key", sk)
	cc, ck := pemOf(cli, cliKey)
	c.clientCert, c.clientKey = write("client.pem", cc), write("client.key", ck)
	rc, rk := pemOf(rogue, rogueCliKey)
	c.rogueCert, c.rogueKey = write("rogue.pem", rc), write("rogue.key", rk)
	return c
}

// TestGRPCTLSClientCertificates: with --grpc_cert, --grpc_key and
// --grpc_ca, a plaintext client, a TLS client without a certificate and
// one with a certificate from another CA are refused; a client with a
// certificate the CA signed gets answers.
func TestGRPCTLSClientCertificates(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts etcd, mysqld and the tablet binary")
	}
	w := newWorld(t)
	pki := newCerts(t)

	// A certificate that cannot be read is refused before anything is
	// written.
	before := w.snapshot(t)
	bad := startTablet(t, w.args(t, "zone1-100", "commerce", "0", "--grpc_cert=/nonexistent.pem", "--grpc_key="+pki.serverKey))
	if code := bad.wait(t, 30*time.Second); code != 1 || !strings.Contains(bad.stderr.String(), "--grpc_cert=/nonexistent.pem") {
		t.Errorf("start with a missing certificate: exit %d, stderr:\n%s", code, bad.stderr.String())
	}
	if after := w.snapshot(t); len(after) != len(before) {
		t.Errorf("the refused start wrote to the topology: %v", keys(after))
	}

	p := startTablet(t, w.args(t, "zone1-100", "commerce", "0",
		"--grpc_cert="+pki.serverCert, "--grpc_key="+pki.serverKey, "--grpc_ca="+pki.ca))
	p.waitType(t, "REPLICA")
	addr := w.grpcAddr(t, "zone1-100")

	tests := []struct {
		name string
		cfg  func(*client.Config)
		ok   bool
	}{
		{"plaintext", func(*client.Config) {}, false},
		{"TLS without a client certificate", func(c *client.Config) { c.CAFile = pki.ca }, false},
		{"client certificate from another CA", func(c *client.Config) {
			c.CAFile, c.CertFile, c.KeyFile = pki.ca, pki.rogueCert, pki.rogueKey
		}, false},
		{"trusted client certificate", func(c *client.Config) {
			c.CAFile, c.CertFile, c.KeyFile = pki.ca, pki.clientCert, pki.clientKey
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := client.DefaultConfig()
			cfg.Address = addr
			tt.cfg(&cfg)
			c, err := client.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got, err := c.Ping(ctx, "tls")
			t.Logf("Ping: %q, %v", got, err)
			switch {
			case tt.ok && (err != nil || got != "tls"):
				t.Errorf("Ping = %q, %v; want an answer", got, err)
			case !tt.ok && err == nil:
				t.Errorf("Ping answered %q; want the connection refused", got)
			case !tt.ok && code(err) != vtrpcpb.Code_UNAVAILABLE:
				t.Errorf("Ping = %v, want UNAVAILABLE (handshake refused)", err)
			}
			if tt.ok {
				if _, err := c.Health(ctx); err != nil {
					t.Errorf("StreamHealth over TLS: %v", err)
				}
			}
		})
	}

	var out, errb strings.Builder
	if code := run(context.Background(), []string{"ping", "--server=" + addr, "--tablet_grpc_ca=" + pki.ca,
		"--tablet_grpc_cert=" + pki.clientCert, "--tablet_grpc_key=" + pki.clientKey}, &out, &errb); code != 0 {
		t.Errorf("tablet ping over TLS = %d: %s%s", code, out.String(), errb.String())
	}
}
