package backup

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Binlog info files: where in its binary log the backed up server was when
// the backup's data was consistent, and the GTID position. Older XtraBackup
// and MariaDB Backup name it xtrabackup_binlog_info; newer MariaDB Backup
// mariadb_backup_binlog_info. The replica info files hold the source's
// position when the backup was taken with --slave-info.
var (
	binlogInfoFiles  = []string{"xtrabackup_binlog_info", "mariadb_backup_binlog_info"}
	replicaInfoFiles = []string{"xtrabackup_slave_info", "mariadb_backup_slave_info"}
)

// binlogInfo is a parsed binlog info file.
type binlogInfo struct {
	File string // binary log file name
	Pos  uint64 // offset in it
	GTID string // GTID position; empty when the server has none
}

// gtidRE matches the characters a GTID position is made of, on either
// flavor: "0-1-42,1-2-7" or "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5".
var gtidRE = regexp.MustCompile(`^[0-9A-Za-z:,\-]*$`)

// parseBinlogInfo reads a binlog info file: the file name, the position
// and the GTID position separated by tabs, the GTID set possibly continued
// on further lines (MySQL writes "uuid:1-5,\nuuid:1-3").
func parseBinlogInfo(b []byte) (binlogInfo, error) {
	text := strings.TrimSpace(string(b))
	first, more, _ := strings.Cut(text, "\n")
	fields := strings.SplitN(first, "\t", 3)
	if len(fields) < 2 || fields[0] == "" {
		return binlogInfo{}, fmt.Errorf("binlog info %q: want file, position and GTID separated by tabs", text)
	}
	pos, err := strconv.ParseUint(strings.TrimSpace(fields[1]), 10, 64)
	if err != nil {
		return binlogInfo{}, fmt.Errorf("binlog info %q: position: %w", text, err)
	}
	info := binlogInfo{File: strings.TrimSpace(fields[0]), Pos: pos}
	if len(fields) == 3 {
		info.GTID = strings.Join(strings.Fields(fields[2]+more), "")
	}
	if !gtidRE.MatchString(info.GTID) {
		return binlogInfo{}, fmt.Errorf("binlog info %q: %q is not a GTID position", text, info.GTID)
	}
	return info, nil
}
