package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSandboxRestartReusesState runs the sandbox with the real tablet
// binary twice on one state directory: each run comes up, prints its
// addresses, answers health, and stops cleanly when cancelled.
func TestSandboxRestartReusesState(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts mysqld, etcd and the tablet binary")
	}
	bin := filepath.Join(t.TempDir(), "tablet")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/tablet").CombinedOutput(); err != nil {
		t.Fatalf("build tablet: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "sb")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	var firstMySQL string
	for i, want := range []string{"Creating a new sandbox", "Reusing the sandbox state"} {
		ctx, cancel := context.WithCancel(context.Background())
		out := &syncBuffer{}
		done := make(chan error, 1)
		go func() { done <- run(ctx, dir, bin, out, logger) }()

		deadline := time.NewTimer(2 * time.Minute)
		tick := time.NewTicker(20 * time.Millisecond)
		for !strings.Contains(out.String(), "Sandbox is up") {
			select {
			case err := <-done:
				t.Fatalf("run %d ended before it was up: %v\n%s", i, err, out)
			case <-deadline.C:
				t.Fatalf("run %d not up in 2m:\n%s", i, out)
			case <-tick.C:
			}
		}
		tick.Stop()
		deadline.Stop()
		text := out.String()
		if !strings.Contains(text, want) {
			t.Errorf("run %d output lacks %q:\n%s", i, want, text)
		}
		st, _, err := loadState(mustAbs(t, dir))
		if err != nil {
			t.Fatal(err)
		}
		mysqlLine := "tcp         127.0.0.1:"
		if !strings.Contains(text, mysqlLine) || !strings.Contains(text, "etcd          http://127.0.0.1:") {
			t.Errorf("run %d output lacks the addresses:\n%s", i, text)
		}
		if !strings.Contains(text, "role        primary of commerce/0, serving") {
			t.Errorf("run %d: the tablet is not reported as the serving primary:\n%s", i, text)
		}
		if i == 0 {
			firstMySQL = text[strings.Index(text, mysqlLine):][:30]
		} else if !strings.Contains(text, firstMySQL) {
			t.Errorf("second run moved MySQL off %q:\n%s", firstMySQL, text)
		}
		resp, err := http.Get("http://127.0.0.1:" + itoa(st.TabletHTTPPort) + "/debug/health")
		if err != nil {
			t.Fatalf("tablet health: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "ok" {
			t.Errorf("run %d: health %d %q, want 200 ok", i, resp.StatusCode, body)
		}

		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run %d stopped with %v", i, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("run %d did not stop within a minute of cancel", i)
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func itoa(n int) string { return strconv.Itoa(n) }
