package queryserver

import (
	"database/sql/driver"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// The DOUBLE cases are MariaDB 10.11's own text for CAST(x AS DOUBLE).
func TestAppendMySQLFloat(t *testing.T) {
	tests := []struct {
		f    float64
		bits int
		want string
	}{
		{1e15, 64, "1e15"},
		{1e14, 64, "100000000000000"},
		{123456789012345678, 64, "1.2345678901234568e17"},
		{123456789012345, 64, "123456789012345"},
		{1234567890123456, 64, "1.234567890123456e15"},
		{1234567890123456.7, 64, "1234567890123456.8"},
		{0.0001, 64, "0.0001"},
		{0.00001, 64, "0.00001"},
		{1.5e-5, 64, "0.000015"},
		{1e16, 64, "1e16"},
		{12345678901234567890, 64, "1.2345678901234567e19"},
		{100, 64, "100"},
		{1e-10, 64, "0.0000000001"},
		{1e-15, 64, "0.000000000000001"},
		{1e-16, 64, "1e-16"},
		{123.456, 64, "123.456"},
		{0.1, 64, "0.1"},
		{1e20, 64, "1e20"},
		{math.MaxFloat64, 64, "1.7976931348623157e308"},
		{5e-324, 64, "5e-324"},
		{-0.0001234, 64, "-0.0001234"},
		{3, 64, "3"},
		{math.Copysign(0, -1), 64, "0"},
		{1.2e-310, 64, "1.2e-310"},
		{float64(float32(0.1)), 32, "0.1"},
		{float64(float32(1.23457e17)), 32, "1.23457e17"},
		{float64(float32(3.40282e38)), 32, "3.40282e38"},
	}
	for _, tt := range tests {
		if got := string(appendMySQLFloat(nil, tt.f, tt.bits)); got != tt.want {
			t.Errorf("%v (%d bits): %q, want %q", tt.f, tt.bits, got, tt.want)
		}
	}
}

func TestFieldFromTypeName(t *testing.T) {
	tests := []struct {
		dbType string
		typ    Type
		flags  uint32
	}{
		{"INT", TypeInt32, FlagNum},
		{"UNSIGNED BIGINT", TypeUint64, FlagNum | FlagUnsigned},
		{"VARCHAR", TypeVarChar, 0},
		{"VARBINARY", TypeVarBinary, FlagBinary},
		{"TEXT", TypeText, FlagBlob},
		{"LONGBLOB", TypeBlob, FlagBlob | FlagBinary},
		{"DOUBLE", TypeFloat64, FlagNum},
		{"DECIMAL", TypeDecimal, FlagNum},
		{"DATETIME", TypeDatetime, FlagBinary},
		{"ENUM", TypeEnum, FlagEnum},
		{"JSON", TypeJSON, FlagBlob | FlagBinary},
		{"VECTOR", TypeVarBinary, FlagBinary},
	}
	for _, tt := range tests {
		f := fieldFromTypeName("c", tt.dbType)
		if f.Type != tt.typ || f.Flags != tt.flags || f.ColumnType != tt.dbType {
			t.Errorf("%s: %v flags %d, want %v flags %d", tt.dbType, f.Type, f.Flags, tt.typ, tt.flags)
		}
	}
}

func TestConvertRow(t *testing.T) {
	var a arena
	fields := makeFields([]string{"a", "b", "c", "d", "e", "f", "g"}, []string{"BIGINT", "VARBINARY", "VARCHAR", "UNSIGNED BIGINT", "DOUBLE", "DATE", "DATETIME"})
	bin := []byte{0, 1, 2, 0xff}
	row := a.convertRow([]driver.Value{int64(-7), bin, []byte{}, uint64(math.MaxUint64), 2.5,
		time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), nil}, fields)
	want := Row{[]byte("-7"), bin, {}, []byte("18446744073709551615"), []byte("2.5"), []byte("2024-01-02"), nil}
	if !reflect.DeepEqual(row, want) {
		t.Fatalf("row %q, want %q", row, want)
	}
	if row[2] == nil {
		t.Error("an empty value must not read as NULL")
	}
	if row[6] != nil {
		t.Error("NULL must be a nil slice")
	}
	bin[0] = 9 // the driver reuses its buffer
	if row[1][0] != 0 {
		t.Error("values must be copies")
	}
	if cap(row[0]) != len(row[0]) {
		t.Error("values must have their capacity capped")
	}
}

func TestCopyResultIsIndependent(t *testing.T) {
	orig := &Result{
		Fields:       []Field{{Name: "a"}},
		Rows:         []Row{{[]byte("x"), nil, {}}, {[]byte("yz"), []byte("w"), nil}},
		RowsAffected: 2,
	}
	cp := copyResult(orig)
	if !reflect.DeepEqual(cp, orig) {
		t.Fatalf("copy %+v differs from %+v", cp, orig)
	}
	if cp.Rows[0][2] == nil || cp.Rows[0][1] != nil {
		t.Error("copy lost the difference between NULL and empty")
	}
	cp.Rows[0][0][0] = 'Q'
	cp.Rows[1] = append(cp.Rows[1], []byte("more"))
	cp.Rows[1][0] = append(cp.Rows[1][0], '!')
	cp.Fields[0].Name = "changed"
	if string(orig.Rows[0][0]) != "x" || len(orig.Rows[1]) != 3 || string(orig.Rows[1][1]) != "w" || orig.Fields[0].Name != "a" {
		t.Errorf("changing the copy changed the original: %+v", orig)
	}
}

func TestEventLog(t *testing.T) {
	l := newEventLog[int](3, 2)
	sub := l.Subscribe()
	for i := 1; i <= 5; i++ {
		l.publish(i)
	}
	if got := l.Recent(0); !reflect.DeepEqual(got, []int{3, 4, 5}) {
		t.Errorf("Recent(0) = %v", got)
	}
	if got := l.Recent(2); !reflect.DeepEqual(got, []int{4, 5}) {
		t.Errorf("Recent(2) = %v", got)
	}
	if a, b := <-sub.C, <-sub.C; a != 1 || b != 2 {
		t.Errorf("subscriber got %d %d", a, b)
	}
	if sub.Dropped() != 3 {
		t.Errorf("dropped %d, want 3 (buffer of 2)", sub.Dropped())
	}
	sub.Close()
	sub.Close()
	if _, ok := <-sub.C; ok {
		t.Error("channel open after Close")
	}
	other := l.Subscribe()
	l.close()
	if _, ok := <-other.C; ok {
		t.Error("channel open after the log closed")
	}
	l.publish(6) // ignored, no panic
	if late := l.Subscribe(); late != nil {
		if _, ok := <-late.C; ok {
			t.Error("subscription to a closed log is open")
		}
	}
	empty := newEventLog[int](0, 1)
	if empty.wanted() {
		t.Error("a log keeping nothing with no subscriber is not wanted")
	}
	empty.publish(1)
	if got := empty.Recent(0); len(got) != 0 {
		t.Errorf("a log keeping nothing returned %v", got)
	}
}

func TestErrorCodes(t *testing.T) {
	dup := &mysql.MySQLError{Number: 1062, SQLState: [5]byte{'2', '3', '0', '0', '0'}, Message: "Duplicate entry '1' for key 'PRIMARY'"}
	e := mysqlError("mysql connection 5", dup)
	if e.Code != CodeAlreadyExists || e.Number != 1062 || e.SQLState != "23000" {
		t.Errorf("got %+v", e)
	}
	if want := "(errno 1062) (sqlstate 23000)"; !strings.Contains(e.Error(), want) {
		t.Errorf("message %q lacks %q", e.Error(), want)
	}
	if !errors.Is(e, dup) {
		t.Error("the MySQL error is not wrapped")
	}
	for _, tt := range []struct {
		n    uint16
		code Code
	}{
		{1213, CodeAborted}, {1205, CodeDeadlineExceeded}, {1064, CodeInvalidArgument},
		{1290, CodeFailedPrecondition}, {1040, CodeResourceExhausted}, {1045, CodePermissionDenied},
		{2013, CodeUnavailable}, {1317, CodeCanceled}, {9999, CodeUnknown},
	} {
		if got := CodeOf(&mysql.MySQLError{Number: tt.n}); got != tt.code {
			t.Errorf("errno %d: %v, want %v", tt.n, got, tt.code)
		}
	}
	if CodeOf(nil) != CodeOK || CodeOf(errors.New("x")) != CodeUnknown {
		t.Error("nil or plain errors misclassified")
	}
	if CodeResourceExhausted.String() != "RESOURCE_EXHAUSTED" || Code(99).String() != "Code(99)" {
		t.Error("code names")
	}
}

func TestWaitEstimator(t *testing.T) {
	var w waitEstimator
	now := time.Now()
	if _, ok := w.expected(now); ok {
		t.Fatal("estimate without samples")
	}
	w.observe(100*time.Millisecond, now)
	w.observe(200*time.Millisecond, now)
	if got, _ := w.expected(now); got != 125*time.Millisecond {
		t.Errorf("expected %v, want 125ms", got)
	}
	if _, ok := w.expected(now.Add(estimateTTL + time.Second)); ok {
		t.Error("a stale estimate is still used")
	}
}

func TestMRUCounts(t *testing.T) {
	m := newMRUCounts(2)
	for _, k := range []string{"a", "b", "a", "c"} {
		m.add(k)
	}
	want := []ConsolidationStat{{"c", 1}, {"a", 2}}
	if got := m.list(); !reflect.DeepEqual(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
}
