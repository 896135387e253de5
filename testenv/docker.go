package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/mysqld"
)

// DockerImageDefault is the image StartServer runs in Docker mode unless
// TESTENV_MYSQL_IMAGE names another.
const DockerImageDefault = "mysql:5.7"

// Server is what tests need of a MySQL server, whichever way it runs: a
// private local mysqld (*MySQL) or a Docker container (*DockerMySQL).
type Server interface {
	Flavor() mysqld.Flavor
	Host() string
	Port() int
	TCPDSN(role Role) string
	DB(role Role) (*sql.DB, error)
	Kill() error
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Restart(ctx context.Context) error
}

var (
	_ Server = (*MySQL)(nil)
	_ Server = (*DockerMySQL)(nil)
)

// StartServer starts a server for t: a private local mysqld, or, with
// TESTENV_MYSQL=docker, a container of TESTENV_MYSQL_IMAGE (default
// mysql:5.7). In Docker mode it skips t with a clear message when no Docker
// engine answers. It skips under -short.
func StartServer(t testing.TB) Server {
	t.Helper()
	if os.Getenv("TESTENV_MYSQL") != "docker" {
		return StartMySQL(t)
	}
	if testing.Short() {
		t.Skip("skipping: needs a MySQL container (run without -short)")
	}
	image := os.Getenv("TESTENV_MYSQL_IMAGE")
	if image == "" {
		image = DockerImageDefault
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("skipping: TESTENV_MYSQL=docker but no Docker engine answers (docker info: %v: %s)",
			err, strings.TrimSpace(string(out)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d, err := StartDockerMySQL(ctx, image)
	if err != nil {
		t.Fatalf("start %s container: %v", image, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("docker", "logs", "--tail", "40", d.name).CombinedOutput()
			t.Logf("container %s log, last lines:\n%s", d.name, out)
		}
		d.Remove()
	})
	return d
}

// DockerMySQL is a MySQL server in a Docker container, published on a
// loopback port, with the same role users as a private mysqld. It is
// started read-only, and every Start makes it read-only again (the image
// gives no way to start that way without breaking its first-run setup).
type DockerMySQL struct {
	name   string
	port   int
	flavor mysqld.Flavor
}

// StartDockerMySQL runs image as a fresh container with binary logs and
// GTIDs on, creates the role users and the _vt database, and turns the
// server read-only.
func StartDockerMySQL(ctx context.Context, image string) (*DockerMySQL, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	d := &DockerMySQL{name: fmt.Sprintf("testenv-mysql-%d-%d", os.Getpid(), serverIDs.Add(1)), port: port}
	serverID := uint32(os.Getpid()%100000)*1000 + serverIDs.Add(1)%1000
	args := []string{"run", "-d", "--name", d.name,
		"-e", "MYSQL_ROOT_PASSWORD=" + PasswordOf(RoleAdmin),
		"-e", "MYSQL_ROOT_HOST=%",
		"-p", fmt.Sprintf("127.0.0.1:%d:3306", port),
		image,
		fmt.Sprintf("--server-id=%d", serverID), "--log-bin=binlog", "--relay-log=relaylog",
		"--binlog-format=ROW", "--log-slave-updates=ON", "--gtid-mode=ON", "--enforce-gtid-consistency=ON",
		"--skip-slave-start", "--skip-name-resolve", "--sql-mode=STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION",
		"--character-set-server=utf8mb4", "--report-host=127.0.0.1", fmt.Sprintf("--report-port=%d", port),
	}
	if out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("docker run: %w: %s", err, out)
	}
	db, err := d.waitReady(ctx)
	if err != nil {
		d.Remove()
		return nil, err
	}
	defer db.Close()
	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		d.Remove()
		return nil, err
	}
	if d.flavor, err = mysqld.ParseFlavor(version); err != nil {
		d.Remove()
		return nil, err
	}
	stmts := setupStatements(ctx, db, d.flavor)
	stmts = append(stmts, d.flavor.SetReadOnly(true)...)
	for _, stmt := range stmts {
		if strings.Contains(stmt, "'root'@") {
			continue // the image made root for us
		}
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			d.Remove()
			return nil, fmt.Errorf("container setup %q: %w", redact(stmt), err)
		}
	}
	return d, nil
}

// waitReady waits until root can connect over TCP; the image's first-run
// setup listens on no TCP port, so an answer means the real server is up.
func (d *DockerMySQL) waitReady(ctx context.Context) (*sql.DB, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	err := waitFor(ctx, 250*time.Millisecond, nil, func() error {
		db, err := d.DB(RoleAdmin)
		if err != nil {
			return err
		}
		defer db.Close()
		return db.PingContext(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", d.name, err)
	}
	return d.DB(RoleAdmin)
}

// Flavor is the server's flavor and version.
func (d *DockerMySQL) Flavor() mysqld.Flavor { return d.flavor }

// Host is the published address.
func (d *DockerMySQL) Host() string { return "127.0.0.1" }

// Port is the published port on 127.0.0.1.
func (d *DockerMySQL) Port() int { return d.port }

// TCPDSN returns the go-sql-driver DSN for role.
func (d *DockerMySQL) TCPDSN(role Role) string {
	return fmt.Sprintf("%s:%s@tcp(127.0.0.1:%d)/?timeout=5s", UserOf(role), PasswordOf(role), d.port)
}

// DB opens a database/sql handle for role; the caller closes it.
func (d *DockerMySQL) DB(role Role) (*sql.DB, error) { return sql.Open("mysql", d.TCPDSN(role)) }

// Kill kills the container's server, as a crash would.
func (d *DockerMySQL) Kill() error { return d.docker(context.Background(), "kill", d.name) }

// Stop stops the container cleanly.
func (d *DockerMySQL) Stop(ctx context.Context) error { return d.docker(ctx, "stop", d.name) }

// Start starts the stopped container on its data and makes it read-only.
func (d *DockerMySQL) Start(ctx context.Context) error {
	if err := d.docker(ctx, "start", d.name); err != nil {
		return err
	}
	db, err := d.waitReady(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, stmt := range d.flavor.SetReadOnly(true) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("container %s: %s: %w", d.name, stmt, err)
		}
	}
	return nil
}

// Restart stops and starts the container.
func (d *DockerMySQL) Restart(ctx context.Context) error {
	if err := d.Stop(ctx); err != nil {
		return err
	}
	return d.Start(ctx)
}

// Remove deletes the container and its data.
func (d *DockerMySQL) Remove() { _ = d.docker(context.Background(), "rm", "-f", "-v", d.name) }

func (d *DockerMySQL) docker(ctx context.Context, args ...string) error {
	if out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}
