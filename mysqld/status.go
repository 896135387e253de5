package mysqld

import (
	"context"
	"errors"
)

// ServerStatus is what a tablet reports about its mysqld to an operator
// (Vitess's FullStatus): identity, version, read-only state, binary log
// settings and, when the server replicates, its replication status.
type ServerStatus struct {
	ServerID          uint32
	ServerUUID        string // empty on MariaDB, which has none
	Version           string
	VersionComment    string
	ReadOnly          bool
	SuperReadOnly     bool   // always false on MariaDB, which lacks it
	GTIDMode          string // MySQL's gtid_mode; "ON" on MariaDB, where GTIDs are always on
	GTIDPurged        string // MySQL's gtid_purged; empty on MariaDB
	BinlogFormat      string
	BinlogRowImage    string
	LogBin            bool
	LogReplicaUpdates bool
	// Position is the GTID position of everything in the binary log
	// (Flavor.PrimaryPositionQuery).
	Position string
	// Replication is the replication status, nil when the server is not a
	// replica.
	Replication *ReplicationStatus
}

// serverStatusQuery selects the fields of ServerStatus that are server
// variables, in its order, for flavor f.
func serverStatusQuery(f Flavor) string {
	if f.IsMariaDB() {
		return "SELECT @@GLOBAL.server_id, '', @@GLOBAL.version, @@GLOBAL.version_comment, @@GLOBAL.read_only, 0, " +
			"'ON', '', @@GLOBAL.binlog_format, @@GLOBAL.binlog_row_image, @@GLOBAL.log_bin, @@GLOBAL.log_slave_updates"
	}
	return "SELECT @@GLOBAL.server_id, @@GLOBAL.server_uuid, @@GLOBAL.version, @@GLOBAL.version_comment, @@GLOBAL.read_only, " +
		"@@GLOBAL.super_read_only, @@GLOBAL.gtid_mode, @@GLOBAL.gtid_purged, @@GLOBAL.binlog_format, @@GLOBAL.binlog_row_image, " +
		"@@GLOBAL.log_bin, @@GLOBAL.log_slave_updates"
}

// ReadServerStatus reads the server's status through q, as a user allowed
// to read replication status (the dba role).
func ReadServerStatus(ctx context.Context, q Querier, f Flavor) (ServerStatus, error) {
	var st ServerStatus
	if err := queryRow(ctx, q, serverStatusQuery(f), &st.ServerID, &st.ServerUUID, &st.Version, &st.VersionComment,
		&st.ReadOnly, &st.SuperReadOnly, &st.GTIDMode, &st.GTIDPurged, &st.BinlogFormat, &st.BinlogRowImage,
		&st.LogBin, &st.LogReplicaUpdates); err != nil {
		return st, err
	}
	if err := queryRow(ctx, q, f.PrimaryPositionQuery(), &st.Position); err != nil {
		return st, err
	}
	rs, err := ReadReplicationStatus(ctx, q, f)
	switch {
	case errors.Is(err, ErrReplicationNotConfigured):
	case err != nil:
		return st, err
	default:
		st.Replication = &rs
	}
	return st, nil
}
