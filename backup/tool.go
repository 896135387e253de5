package backup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// stderrTailBytes is how much of a tool's stderr is kept for its
	// error: enough for the lines that say why it failed, bounded so a
	// chatty tool cannot grow memory.
	stderrTailBytes = 16 << 10
	// stderrTailLines is how many of the kept lines an error quotes.
	stderrTailLines = 30
	// toolStopGrace is how long a tool has to exit after SIGTERM (sent
	// when the context ends) before it is killed.
	toolStopGrace = 30 * time.Second
)

// command is one run of a backup tool.
type command struct {
	bin    string
	args   []string
	env    []string  // added to the environment (passwords travel here)
	stdin  io.Reader // nil: /dev/null
	stdout io.Writer // nil: /dev/null
	dir    string
}

// run runs c until it exits or ctx ends (then SIGTERM, and SIGKILL after
// toolStopGrace). Each stderr line is logged at debug level; a failure is a
// *ToolError quoting the end of stderr.
func (c command) run(ctx context.Context, logger *slog.Logger) error {
	stderr := newTailWriter(logger.With("tool", baseName(c.bin)))
	cmd := exec.CommandContext(ctx, c.bin, c.args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.Dir = c.stdin, c.stdout, stderr, c.dir
	if len(c.env) > 0 {
		cmd.Env = append(os.Environ(), c.env...)
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = toolStopGrace
	start := time.Now()
	err := cmd.Run()
	stderr.flush()
	if err != nil {
		if ctx.Err() != nil {
			err = errors.Join(context.Cause(ctx), err)
		}
		return &ToolError{Tool: c.bin, Args: c.args, Err: err, Stderr: stderr.tail()}
	}
	logger.Debug("tool finished", "tool", baseName(c.bin), "args", strings.Join(c.args, " "), "elapsed", time.Since(start))
	return nil
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// tailWriter logs each line written to it and keeps the last
// stderrTailBytes. exec writes to it from one goroutine, but tail may be
// called from another, hence the lock.
type tailWriter struct {
	logger *slog.Logger
	mu     sync.Mutex // guards the fields below
	line   []byte     // an incomplete line
	kept   []byte     // the last lines, at most 2*stderrTailBytes
}

func newTailWriter(logger *slog.Logger) *tailWriter { return &tailWriter{logger: logger} }

// Write logs complete lines and keeps them.
func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			break
		}
		w.keep(w.line[:i+1])
		w.line = w.line[i+1:]
	}
	if len(w.line) > stderrTailBytes { // a line without end: keep it anyway
		w.keep(w.line)
		w.line = nil
	}
	return len(p), nil
}

func (w *tailWriter) keep(line []byte) {
	w.logger.Debug("tool output", "line", string(bytes.TrimRight(line, "\n")))
	w.kept = append(w.kept, line...)
	if len(w.kept) > 2*stderrTailBytes {
		w.kept = append(w.kept[:0], w.kept[len(w.kept)-stderrTailBytes:]...)
	}
}

// flush keeps a last line that has no newline.
func (w *tailWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.line) > 0 {
		w.keep(append(w.line, '\n'))
		w.line = nil
	}
}

// tail returns the last stderrTailLines lines kept.
func (w *tailWriter) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := strings.Split(strings.TrimRight(string(w.kept), "\n"), "\n")
	if len(lines) > stderrTailLines {
		lines = lines[len(lines)-stderrTailLines:]
	}
	return strings.Join(lines, "\n")
}
