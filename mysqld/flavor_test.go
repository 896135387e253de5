package mysqld

import (
	"slices"
	"testing"
)

func TestParseFlavor(t *testing.T) {
	tests := []struct {
		name, in, flavor, version string
		readOnly                  []string
		wantErr                   bool
	}{
		{name: "mariadb select version", in: "10.11.19-MariaDB-0+deb12u1", flavor: "mariadb", version: "10.11.19",
			readOnly: []string{"SET GLOBAL read_only = 1"}},
		{name: "mariadbd --version", in: "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)",
			flavor: "mariadb", version: "10.11.19", readOnly: []string{"SET GLOBAL read_only = 1"}},
		{name: "mysql 5.7", in: "5.7.44-log", flavor: "mysql57", version: "5.7.44",
			readOnly: []string{"SET GLOBAL read_only = 1", "SET GLOBAL super_read_only = 1"}},
		{name: "mysql 8.0 --version", in: "/usr/sbin/mysqld  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)",
			flavor: "mysql80", version: "8.0.36", readOnly: []string{"SET GLOBAL read_only = 1", "SET GLOBAL super_read_only = 1"}},
		{name: "mysql 5.6 refused", in: "5.6.51", wantErr: true},
		{name: "old mariadb refused", in: "10.1.48-MariaDB", wantErr: true},
		{name: "garbage", in: "not a version", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFlavor(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseFlavor(%q) = %v, want an error", tt.in, f.Name())
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFlavor(%q): %v", tt.in, err)
			}
			if f.Name() != tt.flavor || f.Version().String() != tt.version {
				t.Errorf("ParseFlavor(%q) = %s %s, want %s %s", tt.in, f.Name(), f.Version(), tt.flavor, tt.version)
			}
			if got := f.SetReadOnly(true); !slices.Equal(got, tt.readOnly) {
				t.Errorf("SetReadOnly(true) = %q, want %q", got, tt.readOnly)
			}
		})
	}
}

func TestMySQL80ReplicationStatus(t *testing.T) {
	for in, want := range map[string]string{
		"8.0.21": "SHOW SLAVE STATUS",
		"8.0.22": "SHOW REPLICA STATUS",
		"8.4.0":  "SHOW REPLICA STATUS",
	} {
		f, err := ParseFlavor(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.ReplicationStatusQuery(); got != want {
			t.Errorf("%s: ReplicationStatusQuery() = %q, want %q", in, got, want)
		}
	}
}
