package mysqld

// RestorePositionStatements returns the statements that make a server just
// restored from a backup taken at GTID position pos count those
// transactions as applied, so that replication with GTID auto-positioning
// (SetReplicationSource) resumes right after them. Run them with
// replication stopped, before pointing it at the primary.
//
// MariaDB sets gtid_slave_pos. MySQL sets gtid_purged, which must be empty
// first: the statements reset the binary logs and GTID state, which a
// freshly restored server has no use for (RESET MASTER before 8.4, RESET
// BINARY LOGS AND GTIDS from 8.4, where the old name is gone).
func RestorePositionStatements(f Flavor, pos string) []string {
	if f.IsMariaDB() {
		return []string{"SET GLOBAL gtid_slave_pos = " + QuoteString(pos)}
	}
	reset := "RESET MASTER"
	if f.Version().AtLeast(8, 4) {
		reset = "RESET BINARY LOGS AND GTIDS"
	}
	return []string{reset, "SET GLOBAL gtid_purged = " + QuoteString(pos)}
}
