package mysqld

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// controlPoll is how often Control looks again while it waits for mysqld
// to go down or to answer: often enough to add little to a restore, rare
// enough to cost nothing.
const controlPoll = 100 * time.Millisecond

// Control stops and starts the local mysqld, for a restore from backup,
// which replaces the datadir while mysqld is down.
//
// The tablet does not own mysqld's process: a supervisor does (systemd,
// an init script, a container runtime, a test harness). So Control asks
// and then checks. Stop runs StopCommand, or, when it is empty, the
// SHUTDOWN statement as the admin user, and returns once the process named
// in mysqld's pid file has exited (a server that no longer answers may
// still be flushing InnoDB into the datadir). Start runs StartCommand, a
// command that launches mysqld and returns (say "systemctl start
// mariadb"), and returns once mysqld answers. A supervisor that restarts
// mysqld by itself whenever it exits must be stopped through it:
// StopCommand "systemctl stop mariadb", never the SHUTDOWN statement.
//
// Commands run with /bin/sh -c; their output is kept and quoted when they
// fail. Control implements backup.Server. Its methods are safe for
// concurrent use, but stopping and starting at once makes no sense.
type Control struct {
	// StartCommand launches mysqld on its datadir and returns
	// (--mysqld-start-command). Empty: Start fails, saying so.
	StartCommand string
	// StopCommand stops mysqld and returns (--mysqld-stop-command).
	// Empty: the SHUTDOWN statement.
	StopCommand string
	// DB reaches mysqld; the admin role's user runs SHUTDOWN.
	DB Config
	// Timeout bounds each Stop and each Start, the wait included
	// (--mysqld-control-timeout); zero leaves only the caller's deadline.
	Timeout time.Duration
	// Logger receives one line per step; nil discards.
	Logger *slog.Logger
}

// Stop shuts mysqld down and returns once its process has exited.
// Stopping a mysqld that is not running (its socket or port refuses
// connections) is not an error.
func (c *Control) Stop(ctx context.Context) error {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	logger := c.logger()
	pidFile, pid, err := c.serverPID(ctx)
	down := isDown(err)
	switch {
	case err != nil && !down:
		return fmt.Errorf("stop mysqld: %w", err)
	case down && c.StopCommand == "":
		logger.Info("mysqld is not running; nothing to stop", "reason", err.Error())
		return nil
	}
	start := time.Now()
	if c.StopCommand != "" {
		if err := runCommand(ctx, "--mysqld-stop-command", c.StopCommand); err != nil {
			return fmt.Errorf("stop mysqld: %w", err)
		}
	} else if err := c.shutdown(ctx); err != nil {
		return fmt.Errorf("stop mysqld: %w", err)
	}
	if pid > 0 {
		err = waitUntil(ctx, func() error {
			if processAlive(pid) {
				return fmt.Errorf("mysqld (pid %d from %s) is still running", pid, pidFile)
			}
			return nil
		})
	} else {
		err = waitUntil(ctx, func() error {
			if perr := c.ping(ctx); !isDown(perr) {
				return errors.New("mysqld still answers")
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("stop mysqld: %w", err)
	}
	by := "--mysqld-stop-command"
	if c.StopCommand == "" {
		by = "SHUTDOWN"
	}
	logger.Info("mysqld stopped", "pid", pid, "by", by, "elapsed", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// Start starts mysqld with StartCommand and returns once it answers.
func (c *Control) Start(ctx context.Context) error {
	if c.StartCommand == "" {
		return errors.New("start mysqld: --mysqld-start-command is not set, so the tablet cannot start mysqld; " +
			"set it to a command that starts mysqld and returns (such as \"systemctl start mariadb\")")
	}
	ctx, cancel := c.bound(ctx)
	defer cancel()
	start := time.Now()
	if err := runCommand(ctx, "--mysqld-start-command", c.StartCommand); err != nil {
		return fmt.Errorf("start mysqld: %w", err)
	}
	var last error
	err := waitUntil(ctx, func() error {
		last = c.ping(ctx)
		return last
	})
	if err != nil {
		return fmt.Errorf("start mysqld: --mysqld-start-command succeeded but mysqld does not answer: %w", err)
	}
	c.logger().Info("mysqld started", "elapsed", time.Since(start).Round(time.Millisecond).String())
	return nil
}

func (c *Control) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.Timeout > 0 {
		return context.WithTimeout(ctx, c.Timeout)
	}
	return context.WithCancel(ctx)
}

func (c *Control) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// open opens one admin connection's worth of *sql.DB.
func (c *Control) open() (*sql.DB, error) {
	cfg := c.DB.DriverConfig(RoleAdmin)
	if cfg.Timeout == 0 || cfg.Timeout > 5*time.Second {
		cfg.Timeout = 5 * time.Second
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	return db, nil
}

// ping checks that mysqld answers.
func (c *Control) ping(ctx context.Context) error {
	db, err := c.open()
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// serverPID asks the running mysqld for its pid file and reads the pid in
// it. A pid file that cannot be read gives pid 0: the wait then falls back
// to mysqld no longer answering.
func (c *Control) serverPID(ctx context.Context) (string, int, error) {
	db, err := c.open()
	if err != nil {
		return "", 0, err
	}
	defer db.Close()
	var pidFile, dataDir string
	if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.pid_file, @@GLOBAL.datadir").Scan(&pidFile, &dataDir); err != nil {
		return "", 0, err
	}
	if !filepath.IsAbs(pidFile) {
		pidFile = filepath.Join(dataDir, pidFile)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		c.logger().Warn("cannot read mysqld's pid file; will wait until mysqld stops answering instead", "pid_file", pidFile, "err", err)
		return pidFile, 0, nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return pidFile, 0, nil
	}
	return pidFile, pid, nil
}

// shutdown sends the SHUTDOWN statement. The server may drop the
// connection before it answers, which is success too.
func (c *Control) shutdown(ctx context.Context) error {
	db, err := c.open()
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "SHUTDOWN")
	if err == nil || errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, io.EOF) || isDown(err) {
		return nil
	}
	return fmt.Errorf("SHUTDOWN: %w", err)
}

// isDown reports whether err says nothing listens on mysqld's socket or
// port (as opposed to mysqld refusing the login, say).
func isDown(err error) bool {
	if err == nil {
		return false
	}
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}

// processAlive reports whether process pid exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// waitUntil calls check every controlPoll until it returns nil or ctx
// ends; the error then quotes check's last answer.
func waitUntil(ctx context.Context, check func() error) error {
	t := time.NewTicker(controlPoll)
	defer t.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%v)", context.Cause(ctx), err)
		case <-t.C:
		}
	}
}

// runCommand runs command with /bin/sh -c until it exits or ctx ends.
// Its output goes to a temporary file rather than a pipe, so that a
// command that leaves a daemon behind (which inherits the output) does not
// keep it waiting; the file's end is quoted on failure.
func runCommand(ctx context.Context, flag, command string) error {
	out, err := os.CreateTemp("", "tablet-mysqld-command")
	if err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		msg := strings.TrimSpace(string(b))
		if len(msg) > 2000 {
			msg = "..." + msg[len(msg)-2000:]
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", context.Cause(ctx), err)
		}
		if msg != "" {
			return fmt.Errorf("%s %q: %w; output ends:\n%s", flag, command, err, msg)
		}
		return fmt.Errorf("%s %q: %w", flag, command, err)
	}
	return nil
}
