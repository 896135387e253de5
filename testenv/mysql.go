package testenv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/tabletd/tablet/mysqld"
)

// Role is a MySQL role; see mysqld.Role. Each role's user has the grants
// its job needs; none of the serving roles (app, appdebug, dba, filtered)
// can write while the server is read-only.
type Role = mysqld.Role

// The roles, as testenv creates their users.
const (
	RoleApp      = mysqld.RoleApp
	RoleAppDebug = mysqld.RoleAppDebug
	RoleDBA      = mysqld.RoleDBA
	RoleRepl     = mysqld.RoleRepl
	RoleFiltered = mysqld.RoleFiltered
	RoleAdmin    = mysqld.RoleAdmin // root: all privileges, bypasses read_only
)

// Roles lists every role.
var Roles = mysqld.Roles

// UserOf returns the MySQL user testenv creates for r: the tablet's
// default user names (vt_app, ..., root for admin).
func UserOf(r Role) string { return mysqld.DefaultConfig().Users[r].User }

// PasswordOf returns the password testenv gives r's user. These are test
// credentials for private, loopback-only servers.
func PasswordOf(r Role) string { return "testenv-" + string(r) + "-pw" }

// MySQLConfig describes a private server.
type MySQLConfig struct {
	// Dir holds the datadir, configuration, socket, logs and pid file. It
	// is created if missing; a Dir that already holds a datadir is reused
	// (the sandbox), otherwise a fresh datadir is copied from the template.
	Dir string
	// Port is the TCP port on 127.0.0.1; zero picks a free one.
	Port int
	// ServerID is the unique server_id; zero picks one unique to this
	// process and server.
	ServerID uint32
	// ExtraConfig lines are appended to the [mysqld] section.
	ExtraConfig []string
}

// MySQL is a private mysqld (or mariadbd) with its own datadir, port and
// socket, started read-only with binary logs and GTIDs as a tablet's server
// is. Methods are safe for concurrent use.
type MySQL struct {
	cfg     MySQLConfig
	server  string
	flavor  mysqld.Flavor
	cnf     string
	socket  string
	errLog  string
	pidFile string

	mu   sync.Mutex // guards proc
	proc *process
}

// process is one run of the server binary.
type process struct {
	pid    int
	exited chan struct{} // closed when the process has exited
	err    error         // exit status, set before exited is closed
}

var serverIDs atomic.Uint32

// StartMySQL starts a private server for t and stops it, removing its files,
// when t ends; if t failed, the tail of the server's error log is logged
// first. It skips t under -short. Tests that can run against any server
// (including a Docker mysql:5.7) use StartServer instead.
func StartMySQL(t testing.TB, opts ...func(*MySQLConfig)) *MySQL {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: needs a private mysqld (run without -short)")
	}
	dir, err := shortTempDir()
	if err != nil {
		t.Fatal(err)
	}
	cfg := MySQLConfig{Dir: dir}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := OpenMySQL(ctx, cfg)
	if err != nil {
		t.Fatalf("start private mysqld: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("mysqld error log (%s), last lines:\n%s", m.errLog, m.ErrorLogTail(40))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			t.Errorf("stop private mysqld: %v", err)
		}
		os.RemoveAll(dir)
	})
	return m
}

// shortTempDir makes a private directory under /tmp, not under the deep
// t.TempDir(): unix socket paths are limited to 107 bytes.
func shortTempDir() (string, error) {
	dir, err := os.MkdirTemp("/tmp", "testenv-my")
	if err != nil {
		return "", fmt.Errorf("create mysqld dir: %w", err)
	}
	return dir, nil
}

// OpenMySQL prepares cfg.Dir (copying the shared template datadir if it
// holds none yet) and starts the server, returning once it answers. The
// caller stops it with Stop.
func OpenMySQL(ctx context.Context, cfg MySQLConfig) (*MySQL, error) {
	server, err := mysqld.FindServer()
	if err != nil {
		return nil, err
	}
	flavor, _, err := mysqld.BinaryFlavor(ctx, server)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create mysqld dir: %w", err)
	}
	if cfg.Port == 0 {
		if cfg.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if cfg.ServerID == 0 {
		cfg.ServerID = uint32(os.Getpid()%100000)*1000 + serverIDs.Add(1)%1000
	}
	m := &MySQL{
		cfg:     cfg,
		server:  server,
		flavor:  flavor,
		cnf:     filepath.Join(cfg.Dir, "my.cnf"),
		socket:  filepath.Join(cfg.Dir, "mysql.sock"),
		errLog:  filepath.Join(cfg.Dir, "error.log"),
		pidFile: filepath.Join(cfg.Dir, "mysqld.pid"),
	}
	if len(m.socket) > 107 {
		return nil, fmt.Errorf("socket path %s is %d bytes, over the 107 allowed: choose a shorter dir", m.socket, len(m.socket))
	}
	datadir := filepath.Join(cfg.Dir, "data")
	if _, err := os.Stat(filepath.Join(datadir, "mysql")); errors.Is(err, os.ErrNotExist) {
		tmpl, err := templateDatadir(ctx, server, flavor)
		if err != nil {
			return nil, err
		}
		if err := copyTree(tmpl, datadir); err != nil {
			return nil, fmt.Errorf("copy template datadir: %w", err)
		}
	}
	if err := os.WriteFile(m.cnf, []byte(m.config()), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", m.cnf, err)
	}
	if err := m.Start(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// config renders my.cnf with the settings the reference asks of a tablet's
// server: binary log with GTIDs, strict mode, autocommit, read-only and no
// replication until the tablet decides its role.
func (m *MySQL) config() string {
	lines := []string{
		"[mysqld]",
		"user=root",
		"datadir=" + filepath.Join(m.cfg.Dir, "data"),
		"socket=" + m.socket,
		"pid-file=" + m.pidFile,
		"log-error=" + m.errLog,
		"port=" + fmt.Sprint(m.cfg.Port),
		"bind-address=127.0.0.1",
		"report-host=127.0.0.1",
		"report-port=" + fmt.Sprint(m.cfg.Port),
		"server-id=" + fmt.Sprint(m.cfg.ServerID),
		"log-bin=" + filepath.Join(m.cfg.Dir, "data", "binlog"),
		"relay-log=" + filepath.Join(m.cfg.Dir, "data", "relaylog"),
		"binlog_format=ROW",
		"log_slave_updates=1",
		"skip-slave-start",
		"skip-name-resolve",
		"read_only=1",
		"autocommit=1",
		"sql_mode=STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION",
		"character-set-server=utf8mb4",
		"collation-server=utf8mb4_general_ci",
		"max_connections=500",
		// Small and unsynced: a test server holds little and need not
		// survive power loss, only a process kill.
		"innodb_buffer_pool_size=64M",
		"innodb_log_file_size=16M",
		"innodb_flush_log_at_trx_commit=2",
		"sync_binlog=0",
		"performance_schema=OFF",
	}
	if m.flavor.IsMariaDB() {
		lines = append(lines, "gtid_strict_mode=1")
	} else {
		lines = append(lines, "gtid_mode=ON", "enforce_gtid_consistency=ON", "super_read_only=1")
	}
	lines = append(lines, m.cfg.ExtraConfig...)
	return strings.Join(lines, "\n") + "\n"
}

// Flavor is the server's flavor and version.
func (m *MySQL) Flavor() mysqld.Flavor { return m.flavor }

// Port is the TCP port on 127.0.0.1.
func (m *MySQL) Port() int { return m.cfg.Port }

// Host is the address the server listens on.
func (m *MySQL) Host() string { return "127.0.0.1" }

// Socket is the unix socket path.
func (m *MySQL) Socket() string { return m.socket }

// ServerID is the server_id.
func (m *MySQL) ServerID() uint32 { return m.cfg.ServerID }

// Dir is the directory holding the datadir, configuration and logs.
func (m *MySQL) Dir() string { return m.cfg.Dir }

// DefaultsFile is the my.cnf the server runs with; pass it as the first
// option (--defaults-file) to mariabackup or the mysql client.
func (m *MySQL) DefaultsFile() string { return m.cnf }

// ErrorLog is the path of the server's error log.
func (m *MySQL) ErrorLog() string { return m.errLog }

// DriverConfig returns a go-sql-driver configuration for role over the unix
// socket, with no default database.
func (m *MySQL) DriverConfig(role Role) *mysql.Config {
	c := mysql.NewConfig()
	c.User = UserOf(role)
	c.Passwd = PasswordOf(role)
	c.Net = "unix"
	c.Addr = m.socket
	c.ParseTime = false
	c.Timeout = 5 * time.Second
	return c
}

// DBConfig returns the tablet's view of this server: the unix socket and
// every role's credentials.
func (m *MySQL) DBConfig() mysqld.Config {
	c := mysqld.DefaultConfig()
	c.Socket = m.socket
	c.Port = m.cfg.Port
	for _, r := range Roles {
		c.Users[r] = mysqld.Credentials{User: UserOf(r), Password: PasswordOf(r)}
	}
	return c
}

// DSN returns the go-sql-driver DSN for role over the unix socket.
func (m *MySQL) DSN(role Role) string { return m.DriverConfig(role).FormatDSN() }

// TCPDSN returns the go-sql-driver DSN for role over TCP.
func (m *MySQL) TCPDSN(role Role) string {
	c := m.DriverConfig(role)
	c.Net = "tcp"
	c.Addr = fmt.Sprintf("127.0.0.1:%d", m.cfg.Port)
	return c.FormatDSN()
}

// DB opens a database/sql handle for role; the caller closes it.
func (m *MySQL) DB(role Role) (*sql.DB, error) {
	conn, err := mysql.NewConnector(m.DriverConfig(role))
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}

// Start starts the server on its datadir and waits until it answers on its
// socket. Starting a running server is an error.
func (m *MySQL) Start(ctx context.Context) error {
	m.mu.Lock()
	if m.proc != nil {
		select {
		case <-m.proc.exited:
		default:
			m.mu.Unlock()
			return fmt.Errorf("start mysqld in %s: already running (pid %d)", m.cfg.Dir, m.proc.pid)
		}
	}
	m.mu.Unlock()
	if err := stopStale(ctx, m.pidFile); err != nil {
		return err
	}
	p, err := startProcess(m.server, "--defaults-file="+m.cnf)
	if err != nil {
		return fmt.Errorf("start %s: %w", m.server, err)
	}
	m.mu.Lock()
	m.proc = p
	m.mu.Unlock()
	if err := m.waitReady(ctx, p); err != nil {
		p.kill()
		return fmt.Errorf("start mysqld in %s: %w; error log:\n%s", m.cfg.Dir, err, m.ErrorLogTail(20))
	}
	return nil
}

// waitReady polls the admin connection until it answers, the process
// exits, or ctx ends.
func (m *MySQL) waitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cfg := m.DriverConfig(RoleAdmin)
	cfg.Timeout = time.Second
	return waitFor(ctx, 20*time.Millisecond, p.exited, func() error {
		return ping(ctx, cfg)
	})
}

// Stop shuts the server down cleanly (SIGTERM) and waits for it to exit;
// if it has not exited when ctx ends, it is killed. Stopping a stopped
// server does nothing. A server on this datadir that another process
// started (a tablet restarting it with StartCommand) is stopped through
// its pid file.
func (m *MySQL) Stop(ctx context.Context) error {
	p := m.current()
	if p == nil {
		return stopStale(ctx, m.pidFile)
	}
	if err := p.signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.exited:
		return nil
	case <-ctx.Done():
		p.kill()
		return fmt.Errorf("stop mysqld in %s: not down in time, killed: %w", m.cfg.Dir, context.Cause(ctx))
	}
}

// Kill kills the server with SIGKILL, as a crash would, and waits for the
// process to be gone.
func (m *MySQL) Kill() error {
	if p := m.current(); p != nil {
		p.kill()
	}
	return nil
}

// Restart stops the server cleanly and starts it again on the same datadir,
// port and socket.
func (m *MySQL) Restart(ctx context.Context) error {
	if err := m.Stop(ctx); err != nil {
		return err
	}
	return m.Start(ctx)
}

// Running reports whether the server process is alive.
func (m *MySQL) Running() bool {
	return m.current() != nil
}

// current returns the live process, or nil.
func (m *MySQL) current() *process {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return nil
	}
	select {
	case <-m.proc.exited:
		return nil
	default:
		return m.proc
	}
}

// ErrorLogTail returns the last n lines of the error log.
func (m *MySQL) ErrorLogTail(n int) string {
	return tail(m.errLog, n)
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func ping(ctx context.Context, cfg *mysql.Config) error {
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	return db.PingContext(ctx)
}

// waitFor calls check every interval until it returns nil, abort is closed,
// or ctx ends; the error says which, with check's last error.
func waitFor(ctx context.Context, interval time.Duration, abort <-chan struct{}, check func() error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last error
	for {
		if last = check(); last == nil {
			return nil
		}
		select {
		case <-abort:
			return fmt.Errorf("process exited before it answered (last error: %v)", last)
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last error: %v)", context.Cause(ctx), last)
		case <-t.C:
		}
	}
}
