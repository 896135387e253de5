package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// ErrNoChromium means no headless-capable Chromium was found.
var ErrNoChromium = errors.New("no chromium binary found (Debian: apt-get install -y chromium)")

// Chromium returns the path of a Chromium binary: $TESTENV_CHROMIUM when
// set, else the first of chromium, chromium-browser, google-chrome on
// $PATH; ErrNoChromium if none. Tests that need it skip on that error.
func Chromium() (string, error) {
	if p := os.Getenv("TESTENV_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// Screenshot loads url in a fresh headless Chromium (its own temporary
// profile, no network beyond what the page asks for, no sandbox, as root
// requires) and saves what a width x height window shows as a PNG file.
// It returns when Chromium has written the file and exited, or when ctx
// ends, in which case Chromium and its helper processes are killed.
func Screenshot(ctx context.Context, url, file string, width, height int) error {
	bin, err := Chromium()
	if err != nil {
		return err
	}
	profile, err := os.MkdirTemp("", "testenv-chromium")
	if err != nil {
		return fmt.Errorf("create chromium profile dir: %w", err)
	}
	defer os.RemoveAll(profile)
	if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove old screenshot: %w", err)
	}
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars",
		"--user-data-dir="+profile,
		"--screenshot="+file,
		fmt.Sprintf("--window-size=%d,%d", width, height),
		url)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "HOME="+profile) // keep its caches out of the real home
	// Chromium forks helpers (zygote, renderer): run it as a process group
	// and kill the group if ctx ends first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	// Helpers that outlive the browser process must not outlive the call.
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		return fmt.Errorf("chromium screenshot of %s: %w; output:\n%s", url, err, lastBytes(out.Bytes(), 2000))
	}
	if st, err := os.Stat(file); err != nil || st.Size() == 0 {
		return fmt.Errorf("chromium screenshot of %s: no image written; output:\n%s", url, lastBytes(out.Bytes(), 2000))
	}
	return nil
}

// lastBytes returns the end of b, at most n bytes, as text.
func lastBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
