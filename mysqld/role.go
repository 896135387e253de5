package mysqld

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
)

// Queries the tablet asks of its local mysqld.
const (
	// VersionQuery selects the server's version string, which ParseFlavor
	// reads.
	VersionQuery = "SELECT VERSION()"
	// PortQuery selects the TCP port the server listens on.
	PortQuery = "SELECT @@GLOBAL.port"
)

// Execer runs statements and queries on the local mysqld. *sql.DB and
// *sql.Conn satisfy it.
type Execer interface {
	Querier
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// DetectFlavor asks the server its version through q and returns its
// flavor.
func DetectFlavor(ctx context.Context, q Querier) (Flavor, error) {
	var version string
	if err := queryRow(ctx, q, VersionQuery, &version); err != nil {
		return nil, err
	}
	return ParseFlavor(version)
}

// queryRow runs query through q and scans its single row into dest.
func queryRow(ctx context.Context, q Querier, query string, dest ...any) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("%s: %w", query, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return fmt.Errorf("%s: %w", query, err)
		}
		return fmt.Errorf("%s: no row", query)
	}
	if err := rows.Scan(dest...); err != nil {
		return fmt.Errorf("%s: %w", query, err)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("%s: %w", query, err)
	}
	return nil
}

// hasSuperReadOnly reports whether the flavor has super_read_only, which
// holds back even users allowed to bypass read_only. MariaDB has none.
func hasSuperReadOnly(f Flavor) bool { return !f.IsMariaDB() }

// readOnlyState is how read-only a server is.
type readOnlyState struct {
	readOnly      bool
	superReadOnly bool // always false where the flavor lacks it
}

// readOnlyQuery selects read_only and, where the flavor has it,
// super_read_only.
func readOnlyQuery(f Flavor) string {
	if hasSuperReadOnly(f) {
		return "SELECT @@GLOBAL.read_only, @@GLOBAL.super_read_only"
	}
	return "SELECT @@GLOBAL.read_only, 0"
}

func readReadOnly(ctx context.Context, q Querier, f Flavor) (readOnlyState, error) {
	var st readOnlyState
	err := queryRow(ctx, q, readOnlyQuery(f), &st.readOnly, &st.superReadOnly)
	return st, err
}

// ReadOnly reports whether the server refuses writes from users without
// the right to bypass read_only.
func ReadOnly(ctx context.Context, q Querier, f Flavor) (bool, error) {
	st, err := readReadOnly(ctx, q, f)
	return st.readOnly, err
}

// execAll runs stmts in order through db. Errors name the statement, with
// any password hidden.
func execAll(ctx context.Context, db Execer, stmts ...string) error {
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", RedactPassword(s), err)
		}
	}
	return nil
}

// RedactPassword hides the password of a CHANGE MASTER / CHANGE
// REPLICATION SOURCE statement, for logs and error messages.
func RedactPassword(stmt string) string {
	i := strings.Index(stmt, "_PASSWORD = ")
	if i < 0 {
		return stmt
	}
	rest := stmt[i+len("_PASSWORD = "):]
	// The value is a quoted literal (QuoteString): skip to its closing quote.
	end := 1
	for end < len(rest) && rest[end] != '\'' {
		if rest[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(rest) {
		return stmt[:i] + "_PASSWORD = <redacted>"
	}
	return stmt[:i] + "_PASSWORD = <redacted>" + rest[end+1:]
}

// MakePrimary turns the server into a writable primary, changing only
// what differs, and returns the changes made as short phrases for a log
// line (none when it already was a writable server that replicates from
// nowhere). If it replicates, it stops fetching from its source, gives the
// applier up to drain to apply what was already fetched (so that a
// promoted replica loses nothing it had received), and forgets the source;
// then it turns read_only (and super_read_only) off. Statements run through
// db as a user allowed to change read_only and replication (the admin
// role).
func MakePrimary(ctx context.Context, db Execer, f Flavor, drain time.Duration) ([]string, error) {
	var done []string
	st, err := ReadReplicationStatus(ctx, db, f)
	switch {
	case errors.Is(err, ErrReplicationNotConfigured):
	case err != nil:
		return done, err
	default:
		if st.IOState != IOStopped {
			if err := execAll(ctx, db, f.StopReplication(IOThread)); err != nil {
				return done, err
			}
			done = append(done, "stopped fetching from "+hostPort(st.SourceHost, st.SourcePort))
		}
		if st.SQLRunning && drain > 0 {
			// Read again: the IO thread may have fetched more before it
			// stopped.
			if st, err = ReadReplicationStatus(ctx, db, f); err != nil {
				return done, err
			}
			if pos := st.RetrievedGTIDs; pos != "" && st.SQLRunning {
				ok, err := waitForPosition(ctx, db, f, pos, drain)
				if err != nil {
					return done, err
				}
				if ok {
					done = append(done, "applied the fetched transactions up to "+pos)
				} else {
					done = append(done, fmt.Sprintf("gave up after %v waiting to apply the fetched transactions up to %s", drain, pos))
				}
			}
		}
		if err := execAll(ctx, db, f.ResetReplication()...); err != nil {
			return done, err
		}
		done = append(done, "reset replication")
	}
	ro, err := readReadOnly(ctx, db, f)
	if err != nil {
		return done, err
	}
	if ro.readOnly || ro.superReadOnly {
		if err := execAll(ctx, db, f.SetReadOnly(false)...); err != nil {
			return done, err
		}
		done = append(done, "turned read_only off")
	}
	return done, nil
}

// waitForPosition waits up to timeout for the server to apply pos and
// reports whether it did.
func waitForPosition(ctx context.Context, db Querier, f Flavor, pos string, timeout time.Duration) (bool, error) {
	var res sql.NullInt64
	if err := queryRow(ctx, db, f.WaitForPositionQuery(pos, timeout), &res); err != nil {
		return false, err
	}
	return res.Valid && res.Int64 == 0, nil
}

// MakeReplica turns the server read-only (super_read_only too where the
// flavor has it) and, when src is not nil, makes it replicate from src
// with GTID auto-positioning, changing only what differs. It returns the
// changes made as short phrases for a log line. With src nil (the shard
// has no primary) replication is left as it is.
//
// Replication that already points at src is left running; if its threads
// are stopped without an error (mysqld restarted with skip-slave-start) it
// is started. Threads stopped by an error are left for the operator: the
// error shows in health until it is fixed.
//
// On MariaDB, a server that wrote transactions of its own (a former
// primary) first gets gtid_slave_pos moved past them, so that it asks its
// new source for what comes after its own last transaction rather than
// for what it last replicated.
func MakeReplica(ctx context.Context, db Execer, f Flavor, src *ReplicationSource) ([]string, error) {
	var done []string
	ro, err := readReadOnly(ctx, db, f)
	if err != nil {
		return done, err
	}
	if !ro.readOnly || (hasSuperReadOnly(f) && !ro.superReadOnly) {
		if err := execAll(ctx, db, f.SetReadOnly(true)...); err != nil {
			return done, err
		}
		done = append(done, "turned read_only on")
	}
	if src == nil {
		return done, nil
	}
	st, err := ReadReplicationStatus(ctx, db, f)
	configured := err == nil
	if err != nil && !errors.Is(err, ErrReplicationNotConfigured) {
		return done, err
	}
	if configured && st.SourceHost == src.Host && st.SourcePort == src.Port && st.SourceUser == src.User && st.UsingGTID {
		stopped := st.IOState == IOStopped || !st.SQLRunning
		if stopped && st.LastIOErrno == 0 && st.LastSQLErrno == 0 {
			if err := execAll(ctx, db, f.StartReplication(AllThreads)); err != nil {
				return done, err
			}
			done = append(done, "started replication from "+hostPort(src.Host, src.Port))
		}
		return done, nil
	}
	if configured {
		if err := execAll(ctx, db, f.StopReplication(AllThreads)); err != nil {
			return done, err
		}
		done = append(done, "stopped replication from "+hostPort(st.SourceHost, st.SourcePort))
	}
	if f.IsMariaDB() {
		var binlogPos, slavePos string
		if err := queryRow(ctx, db, mariaDBPositionsQuery, &binlogPos, &slavePos); err != nil {
			return done, err
		}
		pos, needed, err := MariaDBReplicaStartPosition(binlogPos, slavePos)
		if err != nil {
			return done, err
		}
		if needed {
			if err := execAll(ctx, db, "SET GLOBAL gtid_slave_pos = "+QuoteString(pos)); err != nil {
				return done, err
			}
			done = append(done, fmt.Sprintf("moved gtid_slave_pos from %q to %q past this server's own transactions", slavePos, pos))
		}
	}
	if err := execAll(ctx, db, f.SetReplicationSource(*src), f.StartReplication(AllThreads)); err != nil {
		return done, err
	}
	done = append(done, "replicating from "+hostPort(src.Host, src.Port))
	return done, nil
}

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// mariaDBPositionsQuery selects a MariaDB server's binary log and replica
// GTID positions.
const mariaDBPositionsQuery = "SELECT @@GLOBAL.gtid_binlog_pos, @@GLOBAL.gtid_slave_pos"

// MariaDBReplicaStartPosition returns the gtid_slave_pos a MariaDB server
// must have before it replicates with MASTER_USE_GTID=slave_pos, given its
// gtid_binlog_pos and gtid_slave_pos, and whether that differs from the
// current gtid_slave_pos. Replication resumes after gtid_slave_pos, which
// counts only replicated transactions; a server that wrote transactions
// itself (a former primary) has newer ones in its binary log, and asking
// the new source for the older position would fetch them a second time,
// which gtid_strict_mode refuses. So, per replication domain, the newest
// of the two positions wins. Every GTID names its domain; within a domain
// gtid_strict_mode keeps sequence numbers increasing, so the highest one
// is the newest.
func MariaDBReplicaStartPosition(binlogPos, slavePos string) (string, bool, error) {
	binlog, err := parseMariaDBPosition(binlogPos)
	if err != nil {
		return "", false, fmt.Errorf("gtid_binlog_pos: %w", err)
	}
	slave, err := parseMariaDBPosition(slavePos)
	if err != nil {
		return "", false, fmt.Errorf("gtid_slave_pos: %w", err)
	}
	merged := make(map[uint32]*gomysql.MariadbGTID, len(slave))
	for d, g := range slave {
		merged[d] = g
	}
	needed := false
	for d, g := range binlog {
		if cur, ok := merged[d]; !ok || g.SequenceNumber > cur.SequenceNumber {
			merged[d] = g
			needed = true
		}
	}
	domains := make([]uint32, 0, len(merged))
	for d := range merged {
		domains = append(domains, d)
	}
	sort.Slice(domains, func(i, j int) bool { return domains[i] < domains[j] })
	parts := make([]string, len(domains))
	for i, d := range domains {
		parts[i] = merged[d].String()
	}
	return strings.Join(parts, ","), needed, nil
}

// parseMariaDBPosition reads a GTID position list ("0-100-5,1-100-2"),
// keeping the newest GTID of each domain: gtid_binlog_pos lists one per
// domain and server.
func parseMariaDBPosition(s string) (map[uint32]*gomysql.MariadbGTID, error) {
	out := map[uint32]*gomysql.MariadbGTID{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		g, err := gomysql.ParseMariadbGTID(part)
		if err != nil {
			return nil, fmt.Errorf("parse GTID %q: %w", part, err)
		}
		if cur, ok := out[g.DomainID]; !ok || g.SequenceNumber > cur.SequenceNumber {
			out[g.DomainID] = g
		}
	}
	return out, nil
}
