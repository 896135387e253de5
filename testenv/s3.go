package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// versityGWModule is the S3 server testenv builds: versitygw, a real S3
// protocol server over a POSIX directory, pinned so every run tests
// against the same server.
const versityGWModule = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// S3 is a private S3-compatible server (versitygw) on a loopback port,
// storing objects in its own directory, with one bucket. Stop and Start
// simulate an outage; the port and the data survive both. Methods are
// safe for concurrent use.
type S3 struct {
	bin    string
	dir    string
	port   int
	bucket string
	access string
	secret string
	logDir string

	mu   sync.Mutex // guards proc
	proc *process
}

// S3Config describes a private S3 server.
type S3Config struct {
	// Dir holds the objects (Dir/<bucket>/<key>) and the server's log;
	// created if missing.
	Dir string
	// Port is the TCP port on 127.0.0.1; zero picks a free one.
	Port int
	// Bucket is the bucket to create; empty means "backups".
	Bucket string
}

// StartS3 starts a private S3 server for t and stops it, removing its
// files, when t ends. The first call on a machine builds versitygw into the
// module's .tools directory, which takes a few minutes; later calls reuse
// it. It skips t under -short.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: needs a private S3 server (run without -short)")
	}
	dir, err := os.MkdirTemp("", "testenv-s3")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := OpenS3(ctx, S3Config{Dir: dir})
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("start private S3 server: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("S3 server log (%s), last lines:\n%s", s.LogFile(), tail(s.LogFile(), 20))
		}
		if err := s.Stop(); err != nil {
			t.Errorf("stop private S3 server: %v", err)
		}
		os.RemoveAll(dir)
	})
	return s
}

// OpenS3 builds versitygw if needed, creates the bucket and starts the
// server, returning once it answers. The caller stops it with Stop.
func OpenS3(ctx context.Context, cfg S3Config) (*S3, error) {
	bin, err := VersityGW(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.Bucket == "" {
		cfg.Bucket = "backups"
	}
	if cfg.Port == 0 {
		if cfg.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	s := &S3{
		bin:    bin,
		dir:    filepath.Join(cfg.Dir, "data"),
		logDir: cfg.Dir,
		port:   cfg.Port,
		bucket: cfg.Bucket,
		access: "testenv-access",
		secret: "testenv-secret-key",
	}
	// The posix backend serves every top-level directory as a bucket.
	if err := os.MkdirAll(filepath.Join(s.dir, s.bucket), 0o700); err != nil {
		return nil, fmt.Errorf("create S3 bucket directory: %w", err)
	}
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// VersityGW returns the path of the versitygw binary: $TESTENV_VERSITYGW
// when set, else the module's .tools/versitygw, built there with `go
// install` on first use under a file lock, so that parallel test binaries
// build it once.
func VersityGW(ctx context.Context) (string, error) {
	if p := os.Getenv("TESTENV_VERSITYGW"); p != "" {
		return p, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	tools := filepath.Join(root, ".tools")
	bin := filepath.Join(tools, "versitygw")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(tools, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", tools, err)
	}
	lock, err := os.OpenFile(filepath.Join(tools, ".versitygw.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", fmt.Errorf("open build lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", tools, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // another test binary built it while we waited
	}
	cmd := exec.CommandContext(ctx, "go", "install", versityGWModule)
	cmd.Dir = os.TempDir() // outside the module: install the pinned version, touch no go.mod
	cmd.Env = append(os.Environ(), "GOBIN="+tools, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build versitygw (go install %s): %w\n%s", versityGWModule, err, out)
	}
	return bin, nil
}

// moduleRoot finds the directory of this module's go.mod, above the
// working directory (a test's package directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: set TESTENV_VERSITYGW to a versitygw binary")
		}
		dir = parent
	}
}

// Start starts the server on its directory and port and waits until it
// answers. Starting a running server is an error.
func (s *S3) Start(ctx context.Context) error {
	if p := s.current(); p != nil {
		return fmt.Errorf("start S3 server on port %d: already running (pid %d)", s.port, p.pid)
	}
	log, err := os.OpenFile(s.LogFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open S3 server log: %w", err)
	}
	defer log.Close()
	p, err := startProcessLogged(log, s.bin, "--access", s.access, "--secret", s.secret,
		"--port", fmt.Sprintf("127.0.0.1:%d", s.port), "posix", s.dir)
	if err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	err = waitFor(ctx, 20*time.Millisecond, p.exited, func() error {
		resp, err := client.Get(s.Endpoint() + "/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil // any answer, even 403, means it serves
	})
	if err != nil {
		p.kill()
		return fmt.Errorf("start S3 server on port %d: %w; log:\n%s", s.port, err, tail(s.LogFile(), 20))
	}
	return nil
}

// Stop shuts the server down (SIGTERM, then SIGKILL after 10s) and waits
// for it to exit. Stopping a stopped server does nothing. Requests in
// flight fail, as with a store that went away.
func (s *S3) Stop() error {
	p := s.current()
	if p == nil {
		return nil
	}
	if err := p.signal(syscall.SIGTERM); err != nil {
		return err
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		p.kill()
	}
	return nil
}

// Kill kills the server with SIGKILL, as a crash or a lost host would, and
// waits for it to be gone: connections drop at once.
func (s *S3) Kill() {
	if p := s.current(); p != nil {
		p.kill()
	}
}

// Restart stops the server and starts it again on the same port and data.
func (s *S3) Restart(ctx context.Context) error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Start(ctx)
}

func (s *S3) current() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	select {
	case <-s.proc.exited:
		return nil
	default:
		return s.proc
	}
}

// Endpoint is the server's base URL, http://127.0.0.1:<port>.
func (s *S3) Endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", s.port) }

// Port is the server's TCP port.
func (s *S3) Port() int { return s.port }

// Bucket is the bucket testenv created.
func (s *S3) Bucket() string { return s.bucket }

// Dir is the directory holding the buckets: the object at key in the
// bucket is the file Dir()/<bucket>/<key>.
func (s *S3) Dir() string { return s.dir }

// LogFile is the server's log.
func (s *S3) LogFile() string { return filepath.Join(s.logDir, "versitygw.log") }

// Credentials are the access key and secret the server accepts. They are
// test credentials for a private, loopback-only server.
func (s *S3) Credentials() (accessKey, secretKey string) { return s.access, s.secret }

// URL is a gocloud.dev s3 URL for the bucket, keys under prefix (which may
// be empty, or end in "/"): path-style requests over plain HTTP to the
// server. Credentials travel in the environment; see SetEnv.
func (s *S3) URL(prefix string) string {
	u := fmt.Sprintf("s3://%s?endpoint=%s&region=us-east-1&use_path_style=true&disable_https=true", s.bucket, s.Endpoint())
	if prefix != "" {
		u += "&prefix=" + prefix
	}
	return u
}

// SetEnv points the AWS SDK's standard credential chain at this server's
// credentials for the rest of t (t.Setenv: the test must not be parallel).
func (s *S3) SetEnv(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", s.access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.secret)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true") // no instance metadata lookups
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
}

// startProcessLogged is startProcess with the process's output appended to
// log (a server whose log is its only account of a failure).
func startProcessLogged(log *os.File, bin string, args ...string) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout = log
	cmd.Stderr = log
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
