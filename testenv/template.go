package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/tabletd/tablet/mysqld"
)

// templateVersion changes whenever the users, grants or layout the template
// holds change, so that a stale cached template is not reused.
const templateVersion = "1"

// templateDatadir returns a datadir initialized once for this server binary,
// with the per-role users and the _vt database, made without binary logs so
// that servers copied from it start with no GTIDs of their own. It is cached
// across test processes (under the user's cache directory, or
// $TESTENV_CACHE) and built under a file lock, so parallel test binaries
// build it once.
func templateDatadir(ctx context.Context, server string, flavor mysqld.Flavor) (string, error) {
	root := os.Getenv("TESTENV_CACHE")
	if root == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		root = filepath.Join(cache, "tablet-testenv")
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", fmt.Errorf("create template cache %s: %w", root, err)
	}
	lock, err := os.OpenFile(filepath.Join(root, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", fmt.Errorf("open template lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock template cache: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	dir := filepath.Join(root, fmt.Sprintf("%s-%s-v%s", flavor.Name(), flavor.Version(), templateVersion))
	data := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(data, "mysql")); err == nil {
		return data, nil
	}
	os.RemoveAll(dir)
	build, err := shortTempDir()
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(build)
	if err := buildTemplate(ctx, server, flavor, build); err != nil {
		return "", fmt.Errorf("build template datadir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := copyTree(filepath.Join(build, "data"), data); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("store template datadir: %w", err)
	}
	return data, nil
}

func buildTemplate(ctx context.Context, server string, flavor mysqld.Flavor, dir string) error {
	data := filepath.Join(dir, "data")
	sock := filepath.Join(dir, "mysql.sock")
	errLog := filepath.Join(dir, "error.log")
	cnf := filepath.Join(dir, "my.cnf")
	lines := []string{
		"[mysqld]",
		"user=root",
		"datadir=" + data,
		"socket=" + sock,
		"pid-file=" + filepath.Join(dir, "mysqld.pid"),
		"log-error=" + errLog,
		"skip-networking",
		"skip-name-resolve",
		"innodb_buffer_pool_size=64M",
		"innodb_log_file_size=16M",
		"innodb_flush_log_at_trx_commit=2",
		"performance_schema=OFF",
	}
	if flavor.IsMariaDB() {
		lines = append(lines, "skip-log-bin")
	} else if flavor.Version().AtLeast(8, 0) {
		lines = append(lines, "disable-log-bin")
	}
	if err := os.WriteFile(cnf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}

	var initCmd *exec.Cmd
	if flavor.IsMariaDB() {
		installDB, err := mysqld.FindTool("mariadb-install-db", "mysql_install_db")
		if err != nil {
			return err
		}
		initCmd = exec.CommandContext(ctx, installDB, "--defaults-file="+cnf,
			"--auth-root-authentication-method=normal", "--skip-test-db")
	} else {
		initCmd = exec.CommandContext(ctx, server, "--defaults-file="+cnf, "--initialize-insecure")
	}
	if out, err := initCmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s\n%s", initCmd, err, out, tail(errLog, 20))
	}

	p, err := startProcess(server, "--defaults-file="+cnf)
	if err != nil {
		return err
	}
	defer p.kill()
	root := mysql.NewConfig()
	root.User = "root"
	root.Net = "unix"
	root.Addr = sock
	root.Timeout = time.Second
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := waitFor(waitCtx, 20*time.Millisecond, p.exited, func() error { return ping(waitCtx, root) }); err != nil {
		return fmt.Errorf("template server: %w\n%s", err, tail(errLog, 20))
	}
	conn, err := mysql.NewConnector(root)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, stmt := range setupStatements(ctx, db, flavor) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("template setup %q: %w", redact(stmt), err)
		}
	}
	db.Close()
	if err := p.signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.exited:
	case <-waitCtx.Done():
		return fmt.Errorf("template server did not shut down: %w", context.Cause(waitCtx))
	}
	return nil
}

// rolePrivileges are the global grants of each role, by flavor family.
// None of the serving roles holds READ_ONLY ADMIN (MariaDB) or may write
// under super_read_only (MySQL), so a read-only server refuses their writes.
func rolePrivileges(flavor mysqld.Flavor) map[Role]string {
	app := "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, FILE, REFERENCES, INDEX, ALTER, " +
		"SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, " +
		"CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER"
	if flavor.IsMariaDB() {
		return map[Role]string{
			RoleApp:      app,
			RoleAppDebug: "SELECT, SHOW DATABASES, PROCESS",
			RoleDBA: app + ", CREATE USER, REPLICATION SLAVE, CONNECTION ADMIN, REPLICATION SLAVE ADMIN, " +
				"REPLICATION MASTER ADMIN, SLAVE MONITOR, BINLOG MONITOR, BINLOG ADMIN",
			RoleRepl:     "REPLICATION SLAVE, SLAVE MONITOR, BINLOG MONITOR",
			RoleFiltered: "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, LOCK TABLES, REPLICATION SLAVE, BINLOG MONITOR",
		}
	}
	return map[Role]string{
		RoleApp:      app,
		RoleAppDebug: "SELECT, SHOW DATABASES, PROCESS",
		RoleDBA:      app + ", CREATE USER, SUPER, REPLICATION SLAVE, REPLICATION CLIENT",
		RoleRepl:     "REPLICATION SLAVE, REPLICATION CLIENT",
		RoleFiltered: "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, LOCK TABLES, REPLICATION SLAVE, REPLICATION CLIENT",
	}
}

// setupStatements creates the role users, drops anonymous ones (they would
// shadow the role users on the socket), sets root's password and creates
// the _vt database.
func setupStatements(ctx context.Context, db *sql.DB, flavor mysqld.Flavor) []string {
	var stmts []string
	if rows, err := db.QueryContext(ctx, "SELECT Host FROM mysql.user WHERE User = ''"); err == nil {
		for rows.Next() {
			var host string
			if rows.Scan(&host) == nil {
				stmts = append(stmts, fmt.Sprintf("DROP USER ''@'%s'", host))
			}
		}
		rows.Close()
	}
	privs := rolePrivileges(flavor)
	for _, r := range Roles {
		if r == RoleAdmin {
			continue
		}
		stmts = append(stmts,
			fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", UserOf(r), PasswordOf(r)),
			fmt.Sprintf("GRANT %s ON *.* TO '%s'@'%%'", privs[r], UserOf(r)))
	}
	stmts = append(stmts,
		"CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'",
		fmt.Sprintf("ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '%s'", PasswordOf(RoleAdmin)),
		"GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
		fmt.Sprintf("ALTER USER 'root'@'localhost' IDENTIFIED BY '%s'", PasswordOf(RoleAdmin)),
		"CREATE DATABASE IF NOT EXISTS _vt",
	)
	return stmts
}

// redact hides the password in a statement for an error message.
func redact(stmt string) string {
	if i := strings.Index(stmt, "IDENTIFIED BY"); i >= 0 {
		return stmt[:i] + "IDENTIFIED BY <redacted>"
	}
	return stmt
}

// copyTree copies the regular files and directories under src to dst.
func copyTree(src, dst string) error {
	return filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case info.IsDir():
			return os.MkdirAll(target, 0o700)
		case info.Mode().IsRegular():
			return copyFile(path, target, info.Mode().Perm())
		}
		return nil // sockets, links: not part of a datadir template
	})
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
