package mysqld

import (
	"strings"
	"testing"
)

func TestMariaDBReplicaStartPosition(t *testing.T) {
	tests := []struct {
		name          string
		binlog, slave string
		want          string
		needed        bool
	}{
		{name: "fresh server", binlog: "", slave: "", want: "", needed: false},
		{name: "replica with log_slave_updates", binlog: "0-100-12", slave: "0-100-12", want: "0-100-12", needed: false},
		{name: "former primary", binlog: "0-101-20", slave: "0-100-12", want: "0-101-20", needed: true},
		{name: "former primary that never replicated", binlog: "0-101-7", slave: "", want: "0-101-7", needed: true},
		{name: "binlog lists every server of a domain", binlog: "0-100-12,0-101-20", slave: "0-100-12", want: "0-101-20", needed: true},
		{name: "replica ahead of its own binlog", binlog: "0-100-5", slave: "0-100-12", want: "0-100-12", needed: false},
		{name: "domains kept apart", binlog: "0-101-20,1-101-3", slave: "0-100-20,2-100-9", want: "0-100-20,1-101-3,2-100-9", needed: true},
		{name: "spaces", binlog: " 0-101-4 ", slave: "0-100-3", want: "0-101-4", needed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, needed, err := MariaDBReplicaStartPosition(tt.binlog, tt.slave)
			if err != nil || got != tt.want || needed != tt.needed {
				t.Errorf("MariaDBReplicaStartPosition(%q, %q) = %q, %t, %v; want %q, %t", tt.binlog, tt.slave, got, needed, err, tt.want, tt.needed)
			}
		})
	}
	for _, bad := range [][2]string{{"0-100", ""}, {"", "x-1-2"}} {
		if _, _, err := MariaDBReplicaStartPosition(bad[0], bad[1]); err == nil {
			t.Errorf("MariaDBReplicaStartPosition(%q, %q) accepted a bad position", bad[0], bad[1])
		}
	}
}

func TestLocalMetadataWrite(t *testing.T) {
	md := LocalMetadata{Alias: "zone1-0000000100", ClusterAlias: "commerce.0", DataCenter: "zone1", PromotionRule: PromotionNeutral}
	got := LocalMetadataWrite(md, "vt_commerce")
	want := []string{
		"DELETE FROM _vt.local_metadata WHERE name IN ('Alias', 'ClusterAlias', 'DataCenter', 'PromotionRule') AND db_name <> 'vt_commerce'",
		"INSERT INTO _vt.local_metadata (name, value, db_name) VALUES ('Alias', 'zone1-0000000100', 'vt_commerce'), " +
			"('ClusterAlias', 'commerce.0', 'vt_commerce'), ('DataCenter', 'zone1', 'vt_commerce'), " +
			"('PromotionRule', 'neutral', 'vt_commerce') ON DUPLICATE KEY UPDATE value = VALUES(value)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("LocalMetadataWrite =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := LocalMetadataWrite(LocalMetadata{Alias: "it's"}, "db")[1]; !strings.Contains(s, `'it\'s'`) {
		t.Errorf("value not quoted: %s", s)
	}
}

func TestRedactPassword(t *testing.T) {
	f, _ := ParseFlavor("10.11.19-MariaDB")
	stmt := f.SetReplicationSource(ReplicationSource{Host: "h", Port: 1, User: "u", Password: `se'cr\et`})
	got := RedactPassword(stmt)
	if strings.Contains(got, "se") || !strings.Contains(got, "MASTER_PASSWORD = <redacted>, MASTER_USE_GTID = slave_pos") {
		t.Errorf("RedactPassword(%q) = %q", stmt, got)
	}
	if got := RedactPassword("SET GLOBAL read_only = 1"); got != "SET GLOBAL read_only = 1" {
		t.Errorf("RedactPassword changed a statement without password: %q", got)
	}
}
