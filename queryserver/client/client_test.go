package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tabletd/tablet/proto/querypb"
	"github.com/tabletd/tablet/proto/vtrpcpb"
)

func TestDecodeResult(t *testing.T) {
	tests := []struct {
		name    string
		rows    []*querypb.Row
		want    string
		wantErr string
	}{
		{name: "values, NULL and empty",
			rows: []*querypb.Row{{Lengths: []int64{2, -1, 0, 3}, Values: []byte("abxyz")}},
			want: `[["ab" NULL "" "xyz"]]`},
		{name: "two rows", rows: []*querypb.Row{{Lengths: []int64{1}, Values: []byte("a")}, {Lengths: []int64{-1}}},
			want: `[["a"] [NULL]]`},
		{name: "overrun", rows: []*querypb.Row{{Lengths: []int64{4}, Values: []byte("abc")}}, wantErr: "overruns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeResult(&querypb.QueryResult{Rows: tt.rows})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DecodeResult = %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var rows []string
			for _, row := range r.Rows {
				var vals []string
				for _, v := range row {
					if v == nil {
						vals = append(vals, "NULL")
					} else {
						vals = append(vals, fmt.Sprintf("%q", v))
					}
				}
				rows = append(rows, "["+strings.Join(vals, " ")+"]")
			}
			if got := "[" + strings.Join(rows, " ") + "]"; got != tt.want {
				t.Errorf("rows = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		err    error
		code   vtrpcpb.Code
		number uint16
		state  string
		isCtx  bool
	}{
		{name: "mysql", err: status.Error(codes.AlreadyExists, "Duplicate entry '1' (errno 1062) (sqlstate 23000)"),
			code: vtrpcpb.Code_ALREADY_EXISTS, number: 1062, state: "23000"},
		{name: "cluster event", err: status.Error(codes.Code(17), "operation not allowed in state NOT_SERVING"), code: vtrpcpb.Code_CLUSTER_EVENT},
		{name: "canceled", err: status.Error(codes.Canceled, "context canceled"), code: vtrpcpb.Code_CANCELED, isCtx: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := fromGRPC(ctx, tt.err)
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code || e.Number != tt.number || e.SQLState != tt.state {
				t.Errorf("fromGRPC = %#v, want code %v number %d state %q", err, tt.code, tt.number, tt.state)
			}
			if CodeOf(err) != tt.code {
				t.Errorf("CodeOf = %v, want %v", CodeOf(err), tt.code)
			}
			if tt.isCtx && !errors.Is(err, context.Canceled) {
				t.Errorf("%v does not match context.Canceled", err)
			}
		})
	}
	if CodeOf(nil) != vtrpcpb.Code_OK || CodeOf(errors.New("x")) != vtrpcpb.Code_UNKNOWN {
		t.Error("CodeOf of nil or a plain error")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		errHas string
	}{
		{"ok", Config{Address: "h:1"}, ""},
		{"no address", Config{}, "--server is required"},
		{"cert without key", Config{Address: "h:1", CertFile: "c"}, "--tablet_grpc_cert and --tablet_grpc_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (tt.errHas == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.errHas)) {
				t.Errorf("Validate() = %v, want %q", err, tt.errHas)
			}
		})
	}
	if _, err := New(Config{Address: "h:1", CAFile: "/nonexistent/ca.pem"}); err == nil || !strings.Contains(err.Error(), "--tablet_grpc_ca") {
		t.Errorf("New with a missing CA file = %v", err)
	}
}
