// Package mysqld knows the local MySQL server: which flavor and version it
// is, and the statements and tools that differ between MySQL 5.7, MySQL 8.0
// and MariaDB. It is the one home for controlling the local mysqld shared by
// agent, health, backup and testenv; it imports nothing of ours.
//
// Flavors differ in GTID syntax, the replication statements and status
// columns, the read-only variables and the backup binaries. Code that must
// work on every flavor asks a Flavor instead of branching on version
// strings. ReadReplicationStatus reads either spelling of SHOW SLAVE/REPLICA
// STATUS into a ReplicationStatus, and the heartbeat helpers hold the SQL of
// the _vt.heartbeat table through which replicas measure their lag.
package mysqld

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Version is a server version, such as 10.11.19 or 8.0.36.
type Version struct {
	Major, Minor, Patch int
}

// String formats v as "major.minor.patch".
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// Flavor is what differs between MySQL and MariaDB servers. Implementations
// are immutable values, safe for concurrent use.
type Flavor interface {
	// Name is "mysql57", "mysql80" or "mariadb".
	Name() string
	// Version is the server's version.
	Version() Version
	// IsMariaDB reports whether this is a MariaDB server.
	IsMariaDB() bool
	// SetReadOnly returns the statements that make the server read-only
	// (with super_read_only where the flavor has it) or writable.
	SetReadOnly(readOnly bool) []string
	// ReplicationStatusQuery is the statement that shows replication status.
	ReplicationStatusQuery() string
	// BackupTool and StreamTool name the hot-backup binary and its stream
	// extractor (xtrabackup/xbstream or mariabackup/mbstream).
	BackupTool() string
	StreamTool() string

	// StartReplication and StopReplication start or stop the replication
	// threads named by which (START SLAVE, STOP REPLICA SQL_THREAD, ...).
	StartReplication(which ReplicationThreads) string
	StopReplication(which ReplicationThreads) string
	// ResetReplication stops replication and forgets the source, so that
	// the server is no longer a replica.
	ResetReplication() []string
	// SetReplicationSource points replication at s with GTID
	// auto-positioning (MASTER_USE_GTID=slave_pos on MariaDB,
	// SOURCE_AUTO_POSITION=1 on MySQL). Replication must be stopped.
	SetReplicationSource(s ReplicationSource) string
	// SetReplicationDelay makes the SQL thread apply each event no sooner
	// than d (rounded up to whole seconds) after the source committed it;
	// zero turns delayed replication off. Replication must be stopped
	// (MySQL needs only the SQL thread stopped; MariaDB needs both).
	SetReplicationDelay(d time.Duration) string
	// PrimaryPositionQuery selects, as one string, the GTID position of
	// everything the server has written to its binary log: the position a
	// replica must reach to have caught up with it.
	PrimaryPositionQuery() string
	// WaitForPositionQuery selects 0 once this replica has applied the
	// GTID position pos, or a nonzero number when timeout (rounded to the
	// millisecond, at least 1ms) passes first.
	WaitForPositionQuery(pos string, timeout time.Duration) string
}

// versionRE finds "X.Y.Z" in a version string such as
// "10.11.19-MariaDB-0+deb12u1" or "mariadbd  Ver 10.11.19-MariaDB ...".
var versionRE = regexp.MustCompile(`(\d+)\.(\d+)\.(\d+)`)

// ParseFlavor reads a server version string, as SELECT VERSION() or
// `mysqld --version` print it, and returns the matching Flavor. MySQL older
// than 5.7 and MariaDB older than 10.3 are refused: they lack the GTID and
// privilege features the tablet relies on.
func ParseFlavor(version string) (Flavor, error) {
	m := versionRE.FindStringSubmatch(version)
	if m == nil {
		return nil, fmt.Errorf("parse server version %q: no major.minor.patch in it", version)
	}
	var v Version
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	v.Patch, _ = strconv.Atoi(m[3])
	if strings.Contains(strings.ToLower(version), "mariadb") {
		if !v.AtLeast(10, 3) {
			return nil, fmt.Errorf("server version %q: MariaDB %s is older than the supported 10.3", version, v)
		}
		return mariaDB{v}, nil
	}
	switch {
	case v.AtLeast(8, 0):
		return mysql80{mysql57{v}}, nil
	case v.AtLeast(5, 7):
		return mysql57{v}, nil
	}
	return nil, fmt.Errorf("server version %q: MySQL %s is older than the supported 5.7", version, v)
}

type mysql57 struct{ v Version }

func (f mysql57) Name() string                   { return "mysql57" }
func (f mysql57) Version() Version               { return f.v }
func (f mysql57) IsMariaDB() bool                { return false }
func (f mysql57) ReplicationStatusQuery() string { return "SHOW SLAVE STATUS" }
func (f mysql57) BackupTool() string             { return "xtrabackup" }
func (f mysql57) StreamTool() string             { return "xbstream" }

func (f mysql57) SetReadOnly(readOnly bool) []string {
	if readOnly {
		// read_only first: super_read_only=1 implies it, but the order keeps
		// the server consistent if the second statement fails.
		return []string{"SET GLOBAL read_only = 1", "SET GLOBAL super_read_only = 1"}
	}
	// super_read_only must go first: turning read_only off while it is on
	// is refused.
	return []string{"SET GLOBAL super_read_only = 0", "SET GLOBAL read_only = 0"}
}

type mysql80 struct{ mysql57 }

func (f mysql80) Name() string { return "mysql80" }

// ReplicationStatusQuery uses the 8.0.22+ spelling where it exists.
func (f mysql80) ReplicationStatusQuery() string {
	if f.v.Major > 8 || f.v.Minor > 0 || f.v.Patch >= 22 {
		return "SHOW REPLICA STATUS"
	}
	return "SHOW SLAVE STATUS"
}

type mariaDB struct{ v Version }

func (f mariaDB) Name() string                   { return "mariadb" }
func (f mariaDB) Version() Version               { return f.v }
func (f mariaDB) IsMariaDB() bool                { return true }
func (f mariaDB) ReplicationStatusQuery() string { return "SHOW SLAVE STATUS" }
func (f mariaDB) BackupTool() string             { return "mariabackup" }
func (f mariaDB) StreamTool() string             { return "mbstream" }

// SetReadOnly has no super_read_only to set: MariaDB lacks it, and users
// holding READ_ONLY ADMIN bypass read_only, so serving users must not hold it.
func (f mariaDB) SetReadOnly(readOnly bool) []string {
	if readOnly {
		return []string{"SET GLOBAL read_only = 1"}
	}
	return []string{"SET GLOBAL read_only = 0"}
}
