package mysqld

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrReplicationNotConfigured means the server is not a replica: its
// replication status is empty, or names no source host.
var ErrReplicationNotConfigured = errors.New("mysqld: replication is not configured")

// Querier runs a query and returns its rows. *sql.DB, *sql.Conn and *sql.Tx
// satisfy it.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// IOState is the state of a replica's IO (receiver) thread.
type IOState int

// The IO thread states SHOW SLAVE STATUS reports as No, Connecting and Yes.
const (
	IOStopped    IOState = iota // "No": not running
	IOConnecting                // "Connecting" (or any other value): running, not connected to the source
	IORunning                   // "Yes": connected and receiving
)

// String returns "stopped", "connecting" or "running".
func (s IOState) String() string {
	switch s {
	case IOStopped:
		return "stopped"
	case IORunning:
		return "running"
	}
	return "connecting"
}

// ReplicationStatus is one replica's replication status, read from SHOW
// SLAVE STATUS (MySQL 5.7, MariaDB) or SHOW REPLICA STATUS (MySQL 8.0.22+),
// whichever spelling of the columns the server uses.
type ReplicationStatus struct {
	// IOState is the IO thread's state (Slave_IO_Running / Replica_IO_Running).
	IOState IOState
	// SQLRunning reports whether the SQL (applier) thread runs
	// (Slave_SQL_Running / Replica_SQL_Running is "Yes").
	SQLRunning bool
	// SecondsBehind is the server's own lag figure (Seconds_Behind_Master /
	// Seconds_Behind_Source); nil when the server reports NULL, as it does
	// while either thread is stopped or not connected.
	SecondsBehind *int64
	// SQLDelay is the configured delayed-replication interval (SQL_Delay).
	SQLDelay time.Duration

	// SourceHost, SourcePort, SourceUser and SourceServerID describe the
	// source (Master_* / Source_* columns); SourceServerID is zero until
	// the IO thread has connected once.
	SourceHost     string
	SourcePort     int
	SourceUser     string
	SourceServerID uint32

	// LastIOErrno, LastIOError, LastSQLErrno and LastSQLError are the
	// threads' last errors; zero and empty when none.
	LastIOErrno  int
	LastIOError  string
	LastSQLErrno int
	LastSQLError string

	// UsingGTID reports GTID auto-positioning: MySQL's Auto_Position=1, or
	// MariaDB's Using_Gtid other than "No".
	UsingGTID bool
	// RetrievedGTIDs is what the IO thread has received: MySQL's
	// Retrieved_Gtid_Set, MariaDB's Gtid_IO_Pos.
	RetrievedGTIDs string
	// ExecutedGTIDs is MySQL's Executed_Gtid_Set. MariaDB's status has no
	// such column (the applied position is @@gtid_slave_pos), so it is
	// empty there.
	ExecutedGTIDs string
}

// Running reports whether both threads run and the IO thread is connected.
func (s ReplicationStatus) Running() bool {
	return s.IOState == IORunning && s.SQLRunning
}

// ReadReplicationStatus runs flavor's replication status statement through
// q and parses the result by column name. It returns an error wrapping
// ErrReplicationNotConfigured when the server is not a replica.
func ReadReplicationStatus(ctx context.Context, q Querier, flavor Flavor) (ReplicationStatus, error) {
	query := flavor.ReplicationStatusQuery()
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return ReplicationStatus{}, fmt.Errorf("%s: %w", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return ReplicationStatus{}, fmt.Errorf("%s: columns: %w", query, err)
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return ReplicationStatus{}, fmt.Errorf("%s: %w", query, err)
		}
		return ReplicationStatus{}, fmt.Errorf("%s returned no row: %w", query, ErrReplicationNotConfigured)
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return ReplicationStatus{}, fmt.Errorf("%s: scan: %w", query, err)
	}
	row := make(map[string]string, len(cols))
	for i, c := range cols {
		if vals[i].Valid {
			row[c] = vals[i].String
		}
	}
	if err := rows.Close(); err != nil {
		return ReplicationStatus{}, fmt.Errorf("%s: %w", query, err)
	}
	st, err := ParseReplicationStatus(row)
	if err != nil {
		return ReplicationStatus{}, fmt.Errorf("%s: %w", query, err)
	}
	return st, nil
}

// ParseReplicationStatus reads one row of SHOW SLAVE STATUS or SHOW REPLICA
// STATUS. row maps column names to values; NULL columns are absent. Both
// spellings are accepted: Slave_IO_Running, Master_Host,
// Seconds_Behind_Master (MySQL 5.7, MariaDB) and Replica_IO_Running,
// Source_Host, Seconds_Behind_Source (MySQL 8.0.22+). A row that names no
// source host gives ErrReplicationNotConfigured; a row without the thread
// columns, or with a malformed number, gives an error naming the column.
func ParseReplicationStatus(row map[string]string) (ReplicationStatus, error) {
	var st ReplicationStatus
	get := func(names ...string) (string, bool) {
		for _, n := range names {
			if v, ok := row[n]; ok {
				return v, true
			}
		}
		return "", false
	}
	io, ok := get("Replica_IO_Running", "Slave_IO_Running")
	if !ok {
		return st, errors.New("replication status has neither Replica_IO_Running nor Slave_IO_Running")
	}
	sqlRunning, ok := get("Replica_SQL_Running", "Slave_SQL_Running")
	if !ok {
		return st, errors.New("replication status has neither Replica_SQL_Running nor Slave_SQL_Running")
	}
	switch io {
	case "Yes":
		st.IOState = IORunning
	case "No":
		st.IOState = IOStopped
	default:
		st.IOState = IOConnecting
	}
	st.SQLRunning = sqlRunning == "Yes"
	st.SourceHost, _ = get("Source_Host", "Master_Host")
	if st.SourceHost == "" {
		return st, ErrReplicationNotConfigured
	}
	st.SourceUser, _ = get("Source_User", "Master_User")
	st.LastIOError, _ = get("Last_IO_Error")
	st.LastSQLError, _ = get("Last_SQL_Error")

	var errs []error
	number := func(bits int, names ...string) int64 {
		v, ok := get(names...)
		if !ok || v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, bits)
		if err != nil {
			errs = append(errs, fmt.Errorf("column %s: %w", names[0], err))
		}
		return n
	}
	st.SourcePort = int(number(32, "Source_Port", "Master_Port"))
	st.LastIOErrno = int(number(32, "Last_IO_Errno"))
	st.LastSQLErrno = int(number(32, "Last_SQL_Errno"))
	st.SQLDelay = time.Duration(number(64, "SQL_Delay")) * time.Second
	if id, ok := get("Source_Server_Id", "Master_Server_Id"); ok && id != "" {
		n, err := strconv.ParseUint(id, 10, 32)
		if err != nil {
			errs = append(errs, fmt.Errorf("column Source_Server_Id: %w", err))
		}
		st.SourceServerID = uint32(n)
	}
	if v, ok := get("Seconds_Behind_Source", "Seconds_Behind_Master"); ok && v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("column Seconds_Behind_Source: %w", err))
		} else {
			st.SecondsBehind = &n
		}
	}
	if err := errors.Join(errs...); err != nil {
		return ReplicationStatus{}, err
	}

	if v, ok := get("Auto_Position"); ok {
		st.UsingGTID = v == "1"
	}
	if v, ok := get("Using_Gtid"); ok {
		st.UsingGTID = v != "" && !strings.EqualFold(v, "No")
	}
	st.RetrievedGTIDs, _ = get("Retrieved_Gtid_Set", "Gtid_IO_Pos")
	st.ExecutedGTIDs, _ = get("Executed_Gtid_Set")
	// MySQL breaks long GTID sets over lines.
	st.RetrievedGTIDs = strings.ReplaceAll(st.RetrievedGTIDs, "\n", "")
	st.ExecutedGTIDs = strings.ReplaceAll(st.ExecutedGTIDs, "\n", "")
	return st, nil
}

// ReplicationThreads names which replication threads a start or stop
// statement acts on.
type ReplicationThreads int

// The thread selections of START/STOP SLAVE (REPLICA).
const (
	AllThreads ReplicationThreads = iota // both threads
	IOThread                             // the IO (receiver) thread only
	SQLThread                            // the SQL (applier) thread only
)

// ReplicationSource is where a replica replicates from, for
// Flavor.SetReplicationSource.
type ReplicationSource struct {
	Host     string
	Port     int
	User     string
	Password string // never logged
	// ConnectRetry is the wait between connection attempts, rounded up to
	// whole seconds; zero keeps the server's default (60s).
	ConnectRetry time.Duration
	// HeartbeatPeriod is how often the source sends a heartbeat event when
	// idle, so the replica notices a dead source; zero keeps the server's
	// default (half of slave_net_timeout).
	HeartbeatPeriod time.Duration
}

// replicationWords is the vocabulary of one flavor's replication
// statements.
type replicationWords struct {
	replica   string // "SLAVE" or "REPLICA"
	change    string // "CHANGE MASTER TO" or "CHANGE REPLICATION SOURCE TO"
	source    string // option prefix: "MASTER" or "SOURCE"
	gtidAuto  string // the auto-positioning option
	publicKey string // the option that fetches the source's RSA key, or ""
}

func (w replicationWords) start(which ReplicationThreads) string {
	return "START " + w.replica + threadsSuffix(which)
}

func (w replicationWords) stop(which ReplicationThreads) string {
	return "STOP " + w.replica + threadsSuffix(which)
}

func threadsSuffix(which ReplicationThreads) string {
	switch which {
	case IOThread:
		return " IO_THREAD"
	case SQLThread:
		return " SQL_THREAD"
	}
	return ""
}

func (w replicationWords) setSource(s ReplicationSource) string {
	opts := []string{
		fmt.Sprintf("%s_HOST = %s", w.source, QuoteString(s.Host)),
		fmt.Sprintf("%s_PORT = %d", w.source, s.Port),
		fmt.Sprintf("%s_USER = %s", w.source, QuoteString(s.User)),
		fmt.Sprintf("%s_PASSWORD = %s", w.source, QuoteString(s.Password)),
		w.gtidAuto,
	}
	if s.ConnectRetry > 0 {
		opts = append(opts, fmt.Sprintf("%s_CONNECT_RETRY = %d", w.source, ceilSeconds(s.ConnectRetry)))
	}
	if s.HeartbeatPeriod > 0 {
		opts = append(opts, fmt.Sprintf("%s_HEARTBEAT_PERIOD = %.3f", w.source, s.HeartbeatPeriod.Seconds()))
	}
	if w.publicKey != "" {
		opts = append(opts, w.publicKey)
	}
	return w.change + " " + strings.Join(opts, ", ")
}

func (w replicationWords) setDelay(d time.Duration) string {
	return fmt.Sprintf("%s %s_DELAY = %d", w.change, w.source, ceilSeconds(d))
}

// ceilSeconds rounds d up to whole seconds, never below zero.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(d.Seconds()))
}

// waitTimeout formats a positive timeout in seconds for the wait functions;
// zero or less would mean "forever" to MySQL, so it becomes one millisecond.
func waitTimeout(d time.Duration) string {
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// QuoteString returns s as a single-quoted SQL string literal, escaped as
// the server reads it when NO_BACKSLASH_ESCAPES is off (the default, and the
// tablet's sql_mode).
func QuoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\x1a':
			b.WriteString(`\Z`)
		case '\'':
			b.WriteString(`\'`)
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// atLeast reports whether v is major.minor.patch or newer.
func atLeast(v Version, major, minor, patch int) bool {
	if v.Major != major {
		return v.Major > major
	}
	if v.Minor != minor {
		return v.Minor > minor
	}
	return v.Patch >= patch
}

// MySQL 5.7 and 8.0 before 8.0.22 use the SLAVE/MASTER words; 8.0.22 added
// START/STOP REPLICA and 8.0.23 CHANGE REPLICATION SOURCE TO. 8.4 removed
// the old spellings, so newer servers must get the new ones.
func (f mysql57) words() replicationWords {
	return replicationWords{replica: "SLAVE", change: "CHANGE MASTER TO", source: "MASTER", gtidAuto: "MASTER_AUTO_POSITION = 1"}
}

func (f mysql80) words() replicationWords {
	w := replicationWords{replica: "SLAVE", change: "CHANGE MASTER TO", source: "MASTER",
		gtidAuto: "MASTER_AUTO_POSITION = 1", publicKey: "GET_MASTER_PUBLIC_KEY = 1"}
	if atLeast(f.v, 8, 0, 22) {
		w.replica = "REPLICA"
	}
	if atLeast(f.v, 8, 0, 23) {
		w.change, w.source = "CHANGE REPLICATION SOURCE TO", "SOURCE"
		w.gtidAuto, w.publicKey = "SOURCE_AUTO_POSITION = 1", "GET_SOURCE_PUBLIC_KEY = 1"
	}
	return w
}

// MariaDB 10.3+ takes the SLAVE/MASTER words (REPLICA is only an alias from
// 10.5, and CHANGE REPLICATION SOURCE is a syntax error) and positions by
// GTID with MASTER_USE_GTID.
func (f mariaDB) words() replicationWords {
	return replicationWords{replica: "SLAVE", change: "CHANGE MASTER TO", source: "MASTER", gtidAuto: "MASTER_USE_GTID = slave_pos"}
}

func (f mysql57) StartReplication(which ReplicationThreads) string { return f.words().start(which) }
func (f mysql57) StopReplication(which ReplicationThreads) string  { return f.words().stop(which) }
func (f mysql57) ResetReplication() []string {
	w := f.words()
	return []string{w.stop(AllThreads), "RESET " + w.replica + " ALL"}
}
func (f mysql57) SetReplicationSource(s ReplicationSource) string { return f.words().setSource(s) }
func (f mysql57) SetReplicationDelay(d time.Duration) string      { return f.words().setDelay(d) }
func (f mysql57) PrimaryPositionQuery() string                    { return "SELECT @@GLOBAL.gtid_executed" }
func (f mysql57) WaitForPositionQuery(pos string, timeout time.Duration) string {
	return fmt.Sprintf("SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, %s)", QuoteString(pos), waitTimeout(timeout))
}

func (f mysql80) StartReplication(which ReplicationThreads) string { return f.words().start(which) }
func (f mysql80) StopReplication(which ReplicationThreads) string  { return f.words().stop(which) }
func (f mysql80) ResetReplication() []string {
	w := f.words()
	return []string{w.stop(AllThreads), "RESET " + w.replica + " ALL"}
}
func (f mysql80) SetReplicationSource(s ReplicationSource) string { return f.words().setSource(s) }
func (f mysql80) SetReplicationDelay(d time.Duration) string      { return f.words().setDelay(d) }

func (f mariaDB) StartReplication(which ReplicationThreads) string { return f.words().start(which) }
func (f mariaDB) StopReplication(which ReplicationThreads) string  { return f.words().stop(which) }
func (f mariaDB) ResetReplication() []string {
	w := f.words()
	return []string{w.stop(AllThreads), "RESET " + w.replica + " ALL"}
}
func (f mariaDB) SetReplicationSource(s ReplicationSource) string { return f.words().setSource(s) }
func (f mariaDB) SetReplicationDelay(d time.Duration) string      { return f.words().setDelay(d) }
func (f mariaDB) PrimaryPositionQuery() string                    { return "SELECT @@GLOBAL.gtid_binlog_pos" }

// WaitForPositionQuery uses MASTER_GTID_WAIT, which answers 0 once
// @@gtid_slave_pos has reached pos and -1 on timeout.
func (f mariaDB) WaitForPositionQuery(pos string, timeout time.Duration) string {
	return fmt.Sprintf("SELECT MASTER_GTID_WAIT(%s, %s)", QuoteString(pos), waitTimeout(timeout))
}
