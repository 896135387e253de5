package mysqld

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// readStatusFixture reads a testdata file of "column<TAB>value" lines, in
// which \N is NULL (the column is left out) and \n is a newline.
func readStatusFixture(t *testing.T, name string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	row := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		col, val, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("%s: line %q has no tab", name, line)
		}
		if val == `\N` {
			continue
		}
		row[col] = strings.ReplaceAll(val, `\n`, "\n")
	}
	return row
}

func int64p(n int64) *int64 { return &n }

func TestParseReplicationStatusFixtures(t *testing.T) {
	tests := []struct {
		file string
		want ReplicationStatus
	}{
		{file: "status-mariadb-10.11-running.tsv", want: ReplicationStatus{
			IOState: IORunning, SQLRunning: true, SecondsBehind: int64p(0),
			SourceHost: "127.0.0.1", SourcePort: 34261, SourceUser: "vt_repl", SourceServerID: 789001,
			UsingGTID: true, RetrievedGTIDs: "0-789001-12",
		}},
		{file: "status-mysql-8.0-sql-stopped.tsv", want: ReplicationStatus{
			IOState: IORunning, SQLRunning: false, SQLDelay: time.Hour,
			SourceHost: "10.0.0.5", SourcePort: 3306, SourceUser: "vt_repl", SourceServerID: 101,
			LastSQLErrno: 1062,
			LastSQLError: "Could not execute Write_rows event on table app.t; Duplicate entry '1' for key 't.PRIMARY'",
			UsingGTID:    true, RetrievedGTIDs: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-50",
			ExecutedGTIDs: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-41,4a6f2a67-5d1b-11e5-b39b-0242ac110002:1-3",
		}},
		{file: "status-mysql-5.7-io-connecting.tsv", want: ReplicationStatus{
			IOState: IOConnecting, SQLRunning: true,
			SourceHost: "db-primary.example", SourcePort: 3307, SourceUser: "vt_repl",
			LastIOErrno: 2003,
			LastIOError: "error connecting to master 'vt_repl@db-primary.example:3307' - retry-time: 10  retries: 3",
			UsingGTID:   true, ExecutedGTIDs: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-7",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseReplicationStatus(readStatusFixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseReplicationStatus(t *testing.T) {
	base := map[string]string{"Slave_IO_Running": "Yes", "Slave_SQL_Running": "Yes", "Master_Host": "h"}
	with := func(kv ...string) map[string]string {
		row := map[string]string{}
		for k, v := range base {
			row[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<null>" {
				delete(row, kv[i])
			} else {
				row[kv[i]] = kv[i+1]
			}
		}
		return row
	}
	tests := []struct {
		name    string
		row     map[string]string
		check   func(ReplicationStatus) bool
		wantErr error // nil: no error; errAny: some error
	}{
		{name: "io no", row: with("Slave_IO_Running", "No"),
			check: func(s ReplicationStatus) bool { return s.IOState == IOStopped && !s.Running() }},
		{name: "io preparing counts as connecting", row: with("Slave_IO_Running", "Preparing"),
			check: func(s ReplicationStatus) bool { return s.IOState == IOConnecting }},
		{name: "sql no", row: with("Slave_SQL_Running", "No"),
			check: func(s ReplicationStatus) bool { return !s.SQLRunning && s.IOState == IORunning }},
		{name: "running", row: with("Seconds_Behind_Master", "12"),
			check: func(s ReplicationStatus) bool { return s.Running() && s.SecondsBehind != nil && *s.SecondsBehind == 12 }},
		{name: "null lag", row: with(),
			check: func(s ReplicationStatus) bool { return s.SecondsBehind == nil }},
		{name: "replica spelling", row: map[string]string{"Replica_IO_Running": "Yes", "Replica_SQL_Running": "Yes",
			"Source_Host": "h", "Seconds_Behind_Source": "3", "Source_Port": "3306"},
			check: func(s ReplicationStatus) bool {
				return s.Running() && *s.SecondsBehind == 3 && s.SourceHost == "h" && s.SourcePort == 3306
			}},
		{name: "mariadb using_gtid no", row: with("Using_Gtid", "No"),
			check: func(s ReplicationStatus) bool { return !s.UsingGTID }},
		{name: "mariadb using_gtid current_pos", row: with("Using_Gtid", "Current_Pos"),
			check: func(s ReplicationStatus) bool { return s.UsingGTID }},
		{name: "no source host", row: with("Master_Host", ""), wantErr: ErrReplicationNotConfigured},
		{name: "no io column", row: with("Slave_IO_Running", "<null>"), wantErr: errAny},
		{name: "no sql column", row: with("Slave_SQL_Running", "<null>"), wantErr: errAny},
		{name: "bad lag", row: with("Seconds_Behind_Master", "soon"), wantErr: errAny},
		{name: "bad port", row: with("Master_Port", "-x"), wantErr: errAny},
		{name: "bad server id", row: with("Master_Server_Id", "-1"), wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReplicationStatus(tt.row)
			switch {
			case tt.wantErr == errAny:
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case !tt.check(got):
				t.Errorf("unexpected status %+v", got)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestReplicationStatements(t *testing.T) {
	src := ReplicationSource{Host: "10.0.0.1", Port: 3306, User: "vt_repl", Password: "p'w\\",
		ConnectRetry: 1500 * time.Millisecond, HeartbeatPeriod: 500 * time.Millisecond}
	tests := []struct {
		version                 string
		start, stopSQL, source  string
		delay, position, wait   string
		reset                   []string
		statusQuery, positionOf string
	}{
		{
			version: "10.11.19-MariaDB",
			start:   "START SLAVE", stopSQL: "STOP SLAVE SQL_THREAD",
			source: `CHANGE MASTER TO MASTER_HOST = '10.0.0.1', MASTER_PORT = 3306, MASTER_USER = 'vt_repl', ` +
				`MASTER_PASSWORD = 'p\'w\\', MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 2, MASTER_HEARTBEAT_PERIOD = 0.500`,
			delay:    "CHANGE MASTER TO MASTER_DELAY = 5",
			position: "SELECT @@GLOBAL.gtid_binlog_pos",
			wait:     "SELECT MASTER_GTID_WAIT('0-1-5', 2.500)",
			reset:    []string{"STOP SLAVE", "RESET SLAVE ALL"},
		},
		{
			version: "5.7.44-log",
			start:   "START SLAVE", stopSQL: "STOP SLAVE SQL_THREAD",
			source: `CHANGE MASTER TO MASTER_HOST = '10.0.0.1', MASTER_PORT = 3306, MASTER_USER = 'vt_repl', ` +
				`MASTER_PASSWORD = 'p\'w\\', MASTER_AUTO_POSITION = 1, MASTER_CONNECT_RETRY = 2, MASTER_HEARTBEAT_PERIOD = 0.500`,
			delay:    "CHANGE MASTER TO MASTER_DELAY = 5",
			position: "SELECT @@GLOBAL.gtid_executed",
			wait:     "SELECT WAIT_FOR_EXECUTED_GTID_SET('0-1-5', 2.500)",
			reset:    []string{"STOP SLAVE", "RESET SLAVE ALL"},
		},
		{
			version: "8.0.21",
			start:   "START SLAVE", stopSQL: "STOP SLAVE SQL_THREAD",
			source: `CHANGE MASTER TO MASTER_HOST = '10.0.0.1', MASTER_PORT = 3306, MASTER_USER = 'vt_repl', ` +
				`MASTER_PASSWORD = 'p\'w\\', MASTER_AUTO_POSITION = 1, MASTER_CONNECT_RETRY = 2, MASTER_HEARTBEAT_PERIOD = 0.500, ` +
				`GET_MASTER_PUBLIC_KEY = 1`,
			delay:    "CHANGE MASTER TO MASTER_DELAY = 5",
			position: "SELECT @@GLOBAL.gtid_executed",
			wait:     "SELECT WAIT_FOR_EXECUTED_GTID_SET('0-1-5', 2.500)",
			reset:    []string{"STOP SLAVE", "RESET SLAVE ALL"},
		},
		{
			version: "8.0.22",
			start:   "START REPLICA", stopSQL: "STOP REPLICA SQL_THREAD",
			source: `CHANGE MASTER TO MASTER_HOST = '10.0.0.1', MASTER_PORT = 3306, MASTER_USER = 'vt_repl', ` +
				`MASTER_PASSWORD = 'p\'w\\', MASTER_AUTO_POSITION = 1, MASTER_CONNECT_RETRY = 2, MASTER_HEARTBEAT_PERIOD = 0.500, ` +
				`GET_MASTER_PUBLIC_KEY = 1`,
			delay:    "CHANGE MASTER TO MASTER_DELAY = 5",
			position: "SELECT @@GLOBAL.gtid_executed",
			wait:     "SELECT WAIT_FOR_EXECUTED_GTID_SET('0-1-5', 2.500)",
			reset:    []string{"STOP REPLICA", "RESET REPLICA ALL"},
		},
		{
			version: "8.4.3",
			start:   "START REPLICA", stopSQL: "STOP REPLICA SQL_THREAD",
			source: `CHANGE REPLICATION SOURCE TO SOURCE_HOST = '10.0.0.1', SOURCE_PORT = 3306, SOURCE_USER = 'vt_repl', ` +
				`SOURCE_PASSWORD = 'p\'w\\', SOURCE_AUTO_POSITION = 1, SOURCE_CONNECT_RETRY = 2, SOURCE_HEARTBEAT_PERIOD = 0.500, ` +
				`GET_SOURCE_PUBLIC_KEY = 1`,
			delay:    "CHANGE REPLICATION SOURCE TO SOURCE_DELAY = 5",
			position: "SELECT @@GLOBAL.gtid_executed",
			wait:     "SELECT WAIT_FOR_EXECUTED_GTID_SET('0-1-5', 2.500)",
			reset:    []string{"STOP REPLICA", "RESET REPLICA ALL"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			f, err := ParseFlavor(tt.version)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what, got, want string) {
				t.Helper()
				if got != want {
					t.Errorf("%s:\n got %s\nwant %s", what, got, want)
				}
			}
			check("start", f.StartReplication(AllThreads), tt.start)
			check("stop sql", f.StopReplication(SQLThread), tt.stopSQL)
			check("start io", f.StartReplication(IOThread), tt.start+" IO_THREAD")
			check("source", f.SetReplicationSource(src), tt.source)
			check("delay", f.SetReplicationDelay(4100*time.Millisecond), tt.delay)
			check("position", f.PrimaryPositionQuery(), tt.position)
			check("wait", f.WaitForPositionQuery("0-1-5", 2500*time.Millisecond), tt.wait)
			if got := f.ResetReplication(); !slices.Equal(got, tt.reset) {
				t.Errorf("reset = %q, want %q", got, tt.reset)
			}
		})
	}
}

func TestQuoteString(t *testing.T) {
	for in, want := range map[string]string{
		"":             `''`,
		"plain":        `'plain'`,
		`it's`:         `'it\'s'`,
		`back\slash`:   `'back\\slash'`,
		"nl\nnul\x00z": `'nl\nnul\0z'`,
		`"dq"`:         `'\"dq\"'`,
	} {
		if got := QuoteString(in); got != want {
			t.Errorf("QuoteString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestWaitTimeoutNeverZero(t *testing.T) {
	f, _ := ParseFlavor("8.0.36")
	// WAIT_FOR_EXECUTED_GTID_SET with a zero timeout waits forever.
	if got, want := f.WaitForPositionQuery("x", 0), "SELECT WAIT_FOR_EXECUTED_GTID_SET('x', 0.001)"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestHeartbeatWrite(t *testing.T) {
	got := HeartbeatWrite(42, time.Unix(1700000000, 123456789))
	want := "INSERT INTO _vt.heartbeat (server_id, ts) VALUES (42, 1700000000123456789) ON DUPLICATE KEY UPDATE ts = VALUES(ts)"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
