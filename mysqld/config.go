package mysqld

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Role names one of the MySQL users a tablet connects as.
type Role string

// The roles vttablet defines, each with its own credentials.
const (
	RoleApp      Role = "app"      // application queries
	RoleAppDebug Role = "appdebug" // debugging queries
	RoleDBA      Role = "dba"      // kills, schema, housekeeping
	RoleRepl     Role = "repl"     // replication from the primary
	RoleFiltered Role = "filtered" // resharding streams
	RoleAdmin    Role = "admin"    // read_only and replication changes
)

// Roles lists every role.
var Roles = []Role{RoleApp, RoleAppDebug, RoleDBA, RoleRepl, RoleFiltered, RoleAdmin}

// Credentials are one role's user and password.
type Credentials struct {
	User     string
	Password string // never logged; String redacts it
}

// String shows the user and hides the password.
func (c Credentials) String() string {
	if c.Password == "" {
		return c.User
	}
	return c.User + ":<redacted>"
}

// Config says how the tablet reaches its local mysqld. A socket, when set,
// wins over host and port: it is faster and needs no network.
type Config struct {
	// Socket is the unix socket path (--db_socket).
	Socket string
	// Host and Port are used when Socket is empty (--db_host, --db_port).
	Host string
	Port int
	// Charset is the connection character set (--db_charset).
	Charset string
	// ConnectTimeout bounds one connection attempt (--db_connect_timeout).
	ConnectTimeout time.Duration
	// Users holds each role's credentials (--db_<role>_user,
	// --db_<role>_password).
	Users map[Role]Credentials
	// CredentialsFile is a JSON file mapping user names to a list of
	// passwords, the first of which is used (--db-credentials-file): the
	// format vttablet's file credentials server reads. Passwords found
	// there fill in roles whose password flag is empty.
	CredentialsFile string
}

// DefaultConfig returns vttablet's defaults: users vt_app, vt_appdebug,
// vt_dba, vt_repl, vt_filtered and root for admin, charset utf8mb4,
// localhost:3306.
func DefaultConfig() Config {
	users := make(map[Role]Credentials, len(Roles))
	for _, r := range Roles {
		users[r] = Credentials{User: "vt_" + string(r)}
	}
	users[RoleAdmin] = Credentials{User: "root"}
	return Config{Host: "127.0.0.1", Port: 3306, Charset: "utf8mb4", ConnectTimeout: 5 * time.Second, Users: users}
}

// Validate checks the configuration without touching the server.
func (c Config) Validate() error {
	if c.Socket == "" && c.Host == "" {
		return fmt.Errorf("--db_socket or --db_host must be set")
	}
	if c.Socket == "" && (c.Port <= 0 || c.Port > 65535) {
		return fmt.Errorf("--db_port=%d: must be between 1 and 65535", c.Port)
	}
	if c.ConnectTimeout <= 0 {
		return fmt.Errorf("--db_connect_timeout=%s: must be positive", c.ConnectTimeout)
	}
	for _, r := range Roles {
		if c.Users[r].User == "" {
			return fmt.Errorf("--db_%s_user is empty", r)
		}
	}
	return nil
}

// LoadCredentials fills empty passwords from CredentialsFile. It returns
// an error naming the file when it cannot be read or parsed.
func (c *Config) LoadCredentials() error {
	if c.CredentialsFile == "" {
		return nil
	}
	b, err := os.ReadFile(c.CredentialsFile)
	if err != nil {
		return fmt.Errorf("--db-credentials-file: %w", err)
	}
	var byUser map[string][]string
	if err := json.Unmarshal(b, &byUser); err != nil {
		return fmt.Errorf("--db-credentials-file %s: want a JSON object of user -> [passwords]: %w", c.CredentialsFile, err)
	}
	for r, cred := range c.Users {
		if pw := byUser[cred.User]; cred.Password == "" && len(pw) > 0 {
			cred.Password = pw[0]
			c.Users[r] = cred
		}
	}
	return nil
}

// DriverConfig returns the go-sql-driver configuration for role.
func (c Config) DriverConfig(role Role) *mysql.Config {
	d := mysql.NewConfig()
	cred := c.Users[role]
	d.User, d.Passwd = cred.User, cred.Password
	if c.Socket != "" {
		d.Net, d.Addr = "unix", c.Socket
	} else {
		d.Net, d.Addr = "tcp", fmt.Sprintf("%s:%d", c.Host, c.Port)
	}
	if c.Charset != "" {
		// SET NAMES at connect; Charset only fails on an empty name.
		_ = d.Apply(mysql.Charset(c.Charset, ""))
	}
	d.Timeout = c.ConnectTimeout
	return d
}
