package mysqld

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		errHas string
	}{
		{name: "defaults", mutate: func(*Config) {}},
		{name: "socket only", mutate: func(c *Config) { c.Host, c.Port, c.Socket = "", 0, "/tmp/m.sock" }},
		{name: "no address", mutate: func(c *Config) { c.Host = "" }, errHas: "--db_socket or --db_host"},
		{name: "bad port", mutate: func(c *Config) { c.Port = 70000 }, errHas: "--db_port=70000"},
		{name: "no user", mutate: func(c *Config) { c.Users[RoleDBA] = Credentials{} }, errHas: "--db_dba_user"},
		{name: "no timeout", mutate: func(c *Config) { c.ConnectTimeout = 0 }, errHas: "--db_connect_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.errHas == "" && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.errHas)
			}
		})
	}
}

func TestLoadCredentials(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"vt_app": ["s3cret", "old"], "vt_dba": ["dbapw"]}`), 0o600)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`["not", "a map"]`), 0o600)

	c := DefaultConfig()
	c.Users[RoleDBA] = Credentials{User: "vt_dba", Password: "from-flag"}
	c.CredentialsFile = good
	if err := c.LoadCredentials(); err != nil {
		t.Fatal(err)
	}
	if got := c.Users[RoleApp].Password; got != "s3cret" {
		t.Errorf("app password = %q, want the file's first, s3cret", got)
	}
	if got := c.Users[RoleDBA].Password; got != "from-flag" {
		t.Errorf("dba password = %q, want the flag's value kept", got)
	}
	if s := c.Users[RoleApp].String(); strings.Contains(s, "s3cret") {
		t.Errorf("Credentials.String() = %q shows the password", s)
	}

	for _, f := range []string{bad, filepath.Join(dir, "missing.json")} {
		c := DefaultConfig()
		c.CredentialsFile = f
		if err := c.LoadCredentials(); err == nil || !strings.Contains(err.Error(), "--db-credentials-file") {
			t.Errorf("LoadCredentials(%s) = %v, want an error naming the flag", f, err)
		}
	}
}

func TestDriverConfigPrefersSocket(t *testing.T) {
	c := DefaultConfig()
	c.Socket = "/tmp/x.sock"
	if d := c.DriverConfig(RoleApp); d.Net != "unix" || d.Addr != "/tmp/x.sock" || d.User != "vt_app" {
		t.Errorf("DriverConfig = %s %s %s, want unix /tmp/x.sock vt_app", d.Net, d.Addr, d.User)
	}
	c.Socket = ""
	if d := c.DriverConfig(RoleRepl); d.Net != "tcp" || d.Addr != "127.0.0.1:3306" {
		t.Errorf("DriverConfig = %s %s, want tcp 127.0.0.1:3306", d.Net, d.Addr)
	}
}

func TestDriverConfigCharset(t *testing.T) {
	c := DefaultConfig()
	if dsn := c.DriverConfig(RoleApp).FormatDSN(); !strings.Contains(dsn, "charset=utf8mb4") {
		t.Errorf("DSN %q lacks charset=utf8mb4", dsn)
	}
}
