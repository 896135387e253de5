package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// startProcess starts a server binary in its own process group, so that a
// Ctrl-C meant for the test runner or the sandbox reaches the server only
// through its owner's shutdown. If the owner dies without stopping it, the
// kernel sends the server SIGTERM (Pdeathsig), so no server outlives the
// test process that started it.
func startProcess(bin string, args ...string) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout = io.Discard
	cmd.Stderr = io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{pid: cmd.Process.Pid, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *process) signal(sig syscall.Signal) error {
	if err := syscall.Kill(p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal pid %d: %w", p.pid, err)
	}
	return nil
}

// kill sends SIGKILL and waits for the process to be reaped.
func (p *process) kill() {
	_ = p.signal(syscall.SIGKILL)
	<-p.exited
}

// stopStale stops a server left running on this datadir by an owner that
// died without stopping it (its pid file names a live mysqld), so that a
// restarted sandbox can take the datadir over.
func stopStale(ctx context.Context, pidFile string) error {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return nil
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !(strings.Contains(string(cmdline), "mysqld") || strings.Contains(string(cmdline), "mariadbd")) {
		return nil // gone, or the pid was reused by something else
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = waitFor(ctx, 50*time.Millisecond, nil, func() error {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			return fmt.Errorf("pid %d still running", pid)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("stop stale mysqld (pid file %s): %w", pidFile, err)
	}
	return nil
}
