package grpcserver

import (
	"fmt"
	"testing"

	"github.com/tabletd/tablet/proto/querypb"
	"github.com/tabletd/tablet/queryserver"
	"github.com/tabletd/tablet/queryserver/client"
)

func tenRows() *queryserver.Result {
	r := &queryserver.Result{Fields: []queryserver.Field{
		{Name: "id", Type: queryserver.TypeInt64, ColumnType: "BIGINT", Flags: queryserver.FlagNum},
		{Name: "name", Type: queryserver.TypeVarChar, ColumnType: "VARCHAR"},
		{Name: "balance", Type: queryserver.TypeDecimal, ColumnType: "DECIMAL", Flags: queryserver.FlagNum},
		{Name: "note", Type: queryserver.TypeText, ColumnType: "TEXT", Flags: queryserver.FlagBlob},
	}}
	for i := range 10 {
		var note []byte
		if i%3 != 0 {
			note = []byte(fmt.Sprintf("note number %d for the customer", i))
		}
		r.Rows = append(r.Rows, queryserver.Row{
			[]byte(fmt.Sprint(1000 + i)), []byte(fmt.Sprintf("customer-%d", i)), []byte("12345.67"), note,
		})
	}
	return r
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		res  *queryserver.Result
	}{
		{"ten rows", tenRows()},
		{"no rows", &queryserver.Result{Fields: []queryserver.Field{{Name: "a", Type: queryserver.TypeInt32}}}},
		{"dml", &queryserver.Result{RowsAffected: 4, InsertID: 77}},
		{"nulls and empties", &queryserver.Result{Fields: []queryserver.Field{{Name: "a"}, {Name: "b"}},
			Rows: []queryserver.Row{{nil, {}}, {{}, nil}, {nil, nil}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qr := encodeResult(tt.res, &querypb.ExecuteOptions{IncludedFields: querypb.ExecuteOptions_ALL})
			got, err := client.DecodeResult(qr)
			if err != nil {
				t.Fatal(err)
			}
			if got.RowsAffected != tt.res.RowsAffected || got.InsertID != tt.res.InsertID || len(got.Rows) != len(tt.res.Rows) ||
				len(got.Fields) != len(tt.res.Fields) {
				t.Fatalf("decoded %+v, want %+v", got, tt.res)
			}
			for i, row := range tt.res.Rows {
				for j, v := range row {
					g := got.Rows[i][j]
					if (v == nil) != (g == nil) || string(v) != string(g) {
						t.Errorf("row %d value %d = %q (nil %t), want %q (nil %t)", i, j, g, g == nil, v, v == nil)
					}
				}
			}
		})
	}
}

// naiveEncode is the straightforward conversion, one allocation per row
// and per value: the baseline for BenchmarkEncodeResult10Rows.
func naiveEncode(r *queryserver.Result) *querypb.QueryResult {
	qr := &querypb.QueryResult{RowsAffected: r.RowsAffected, InsertId: r.InsertID}
	for _, f := range r.Fields {
		qr.Fields = append(qr.Fields, &querypb.Field{Name: f.Name, Type: querypb.Type(f.Type)})
	}
	for _, row := range r.Rows {
		pr := &querypb.Row{}
		for _, v := range row {
			if v == nil {
				pr.Lengths = append(pr.Lengths, -1)
				continue
			}
			pr.Lengths = append(pr.Lengths, int64(len(v)))
			pr.Values = append(pr.Values, v...)
		}
		qr.Rows = append(qr.Rows, pr)
	}
	return qr
}

// BenchmarkEncodeResult10Rows converts a 10-row, 4-column result: the
// encoder (a fixed handful of allocations), the same encoder reused as
// StreamExecute reuses it (none), and the naive conversion as a baseline.
func BenchmarkEncodeResult10Rows(b *testing.B) {
	r := tenRows()
	b.Run("encoder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = encodeResult(r, nil)
		}
	})
	b.Run("encoder-reused", func(b *testing.B) {
		b.ReportAllocs()
		var e encoder
		var qr querypb.QueryResult
		rows := &queryserver.Result{Rows: r.Rows}
		for b.Loop() {
			e.encode(&qr, rows)
		}
	})
	b.Run("naive-baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = naiveEncode(r)
		}
	})
}
