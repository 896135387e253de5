package mysqld

import (
	"slices"
	"testing"
)

func TestRestorePositionStatements(t *testing.T) {
	tests := []struct {
		version, pos string
		want         []string
	}{
		{"10.11.19-MariaDB", "0-1-42,1-2-7", []string{"SET GLOBAL gtid_slave_pos = '0-1-42,1-2-7'"}},
		{"10.11.19-MariaDB", "", []string{"SET GLOBAL gtid_slave_pos = ''"}},
		{"5.7.44", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5",
			[]string{"RESET MASTER", "SET GLOBAL gtid_purged = '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5'"}},
		{"8.0.36", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5",
			[]string{"RESET MASTER", "SET GLOBAL gtid_purged = '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5'"}},
		{"8.4.2", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5",
			[]string{"RESET BINARY LOGS AND GTIDS", "SET GLOBAL gtid_purged = '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5'"}},
		{"10.11.19-MariaDB", "x' OR 1", []string{`SET GLOBAL gtid_slave_pos = 'x\' OR 1'`}},
	}
	for _, tt := range tests {
		f, err := ParseFlavor(tt.version)
		if err != nil {
			t.Fatal(err)
		}
		if got := RestorePositionStatements(f, tt.pos); !slices.Equal(got, tt.want) {
			t.Errorf("%s %q: got %q, want %q", tt.version, tt.pos, got, tt.want)
		}
	}
}
