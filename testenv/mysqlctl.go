package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// StartCommand is a shell command that starts this server on its datadir
// in the background and returns, as a supervisor's start command does: a
// tablet's --mysqld-start-command. The server it starts belongs to no Go
// process; Stop finds it through the pid file.
func (m *MySQL) StartCommand() string {
	return fmt.Sprintf("setsid %s --defaults-file=%s </dev/null >/dev/null 2>&1 &", shellQuote(m.server), shellQuote(m.cnf))
}

// DataDir is the server's datadir.
func (m *MySQL) DataDir() string { return filepath.Join(m.cfg.Dir, "data") }

// EmptyDataDir removes everything in the datadir of a stopped server, as
// on a new host, and leaves the empty directory.
func (m *MySQL) EmptyDataDir() error {
	if m.Running() {
		return fmt.Errorf("empty the datadir of mysqld in %s: it is running", m.cfg.Dir)
	}
	entries, err := os.ReadDir(m.DataDir())
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(m.DataDir(), e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
