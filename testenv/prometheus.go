package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ErrNoPrometheus means no prometheus binary was found.
var ErrNoPrometheus = errors.New("no prometheus binary found (install Debian's prometheus: make deps)")

// Prometheus is a private Prometheus server on a loopback port, with its
// own configuration and storage directory, scraping fixed targets. Methods
// are safe for concurrent use.
type Prometheus struct {
	bin  string
	dir  string
	port int

	mu   sync.Mutex // guards proc
	proc *process
}

// PrometheusConfig describes a private Prometheus server.
type PrometheusConfig struct {
	// Dir holds the configuration, the storage and the log; created if
	// missing.
	Dir string
	// Port is the TCP port on 127.0.0.1; zero picks a free one.
	Port int
	// Targets are the host:port addresses scraped at /metrics, as one job
	// named "tablet".
	Targets []string
	// ScrapeInterval is the time between scrapes of each target; zero
	// means 1s. Prometheus refuses intervals under 1ms.
	ScrapeInterval time.Duration
}

// PromSample is one series of an instant query's result.
type PromSample struct {
	Labels map[string]string // the series' labels, __name__ included when kept
	Time   time.Time
	Value  float64
}

// StartPrometheus starts a private Prometheus for t that scrapes targets
// (host:port, path /metrics) every second, and stops it, removing its
// files, when t ends; if t failed, the tail of its log is logged first.
// It skips t under -short. Prometheus discovers its targets on a timer, so
// the first sample shows in queries only about 6s after the start: wait
// for data with a deadline, not a fixed pause.
func StartPrometheus(t testing.TB, targets ...string) *Prometheus {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: needs a private Prometheus server (run without -short)")
	}
	dir, err := os.MkdirTemp("", "testenv-prom")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := OpenPrometheus(ctx, PrometheusConfig{Dir: dir, Targets: targets})
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("start private prometheus: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("prometheus log (%s), last lines:\n%s", p.LogFile(), tail(p.LogFile(), 20))
		}
		if err := p.Stop(); err != nil {
			t.Errorf("stop private prometheus: %v", err)
		}
		os.RemoveAll(dir)
	})
	return p
}

// OpenPrometheus writes the configuration and starts the server, returning
// once it is ready. The caller stops it with Stop.
func OpenPrometheus(ctx context.Context, cfg PrometheusConfig) (*Prometheus, error) {
	bin, err := PrometheusBinary()
	if err != nil {
		return nil, err
	}
	if cfg.ScrapeInterval == 0 {
		cfg.ScrapeInterval = time.Second
	}
	if cfg.Port == 0 {
		if cfg.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create prometheus dir: %w", err)
	}
	p := &Prometheus{bin: bin, dir: cfg.Dir, port: cfg.Port}
	if err := os.WriteFile(p.configFile(), []byte(prometheusConfig(cfg)), 0o600); err != nil {
		return nil, fmt.Errorf("write prometheus config: %w", err)
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// prometheusConfig renders prometheus.yml: one job scraping the targets.
// Target addresses are quoted as YAML strings.
func prometheusConfig(cfg PrometheusConfig) string {
	quoted := make([]string, len(cfg.Targets))
	for i, t := range cfg.Targets {
		quoted[i] = strconv.Quote(t)
	}
	interval := cfg.ScrapeInterval.String()
	return "global:\n" +
		"  scrape_interval: " + interval + "\n" +
		"  scrape_timeout: " + interval + "\n" +
		"  evaluation_interval: " + interval + "\n" +
		"scrape_configs:\n" +
		"  - job_name: tablet\n" +
		"    static_configs:\n" +
		"      - targets: [" + strings.Join(quoted, ", ") + "]\n"
}

// PrometheusBinary returns the path of the prometheus binary:
// $TESTENV_PROMETHEUS when set, else prometheus on $PATH or in /usr/bin.
func PrometheusBinary() (string, error) {
	if p := os.Getenv("TESTENV_PROMETHEUS"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/prometheus"); err == nil {
		return "/usr/bin/prometheus", nil
	}
	return "", ErrNoPrometheus
}

func (p *Prometheus) configFile() string { return filepath.Join(p.dir, "prometheus.yml") }

// LogFile is the server's log.
func (p *Prometheus) LogFile() string { return filepath.Join(p.dir, "prometheus.log") }

// URL is the server's base URL, http://127.0.0.1:<port>.
func (p *Prometheus) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", p.port) }

// Start starts the server and waits until /-/ready answers 200. Starting
// a running server is an error.
func (p *Prometheus) Start(ctx context.Context) error {
	if cur := p.current(); cur != nil {
		return fmt.Errorf("start prometheus on port %d: already running (pid %d)", p.port, cur.pid)
	}
	log, err := os.OpenFile(p.LogFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open prometheus log: %w", err)
	}
	defer log.Close()
	proc, err := startProcessLogged(log, p.bin,
		"--config.file="+p.configFile(),
		"--storage.tsdb.path="+filepath.Join(p.dir, "data"),
		"--web.listen-address="+fmt.Sprintf("127.0.0.1:%d", p.port),
	)
	if err != nil {
		return fmt.Errorf("start %s: %w", p.bin, err)
	}
	p.mu.Lock()
	p.proc = proc
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	err = waitFor(ctx, 20*time.Millisecond, proc.exited, func() error {
		resp, err := client.Get(p.URL() + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/-/ready: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		proc.kill()
		return fmt.Errorf("start prometheus on port %d: %w; log:\n%s", p.port, err, tail(p.LogFile(), 20))
	}
	return nil
}

// Stop shuts the server down (SIGTERM, then SIGKILL after 10s) and waits
// for it to exit. Stopping a stopped server does nothing.
func (p *Prometheus) Stop() error {
	proc := p.current()
	if proc == nil {
		return nil
	}
	if err := proc.signal(syscall.SIGTERM); err != nil {
		return err
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-proc.exited:
	case <-t.C:
		proc.kill()
	}
	return nil
}

func (p *Prometheus) current() *process {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		return nil
	}
	select {
	case <-p.proc.exited:
		return nil
	default:
		return p.proc
	}
}

// Query evaluates the PromQL expression expr now through the HTTP API
// (/api/v1/query) and returns its result, which must be an instant
// vector (empty while no series matches). An error from Prometheus (a bad
// expression) is returned with its type and message.
func (p *Prometheus) Query(ctx context.Context, expr string) ([]PromSample, error) {
	u := p.URL() + "/api/v1/query?" + url.Values{"query": {expr}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query prometheus: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("query prometheus: %w", err)
	}
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query prometheus: %s: decode %q: %w", resp.Status, body, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query prometheus %q: %s: %s", expr, r.ErrorType, r.Error)
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query prometheus %q: result type %q, want vector", expr, r.Data.ResultType)
	}
	out := make([]PromSample, 0, len(r.Data.Result))
	for _, s := range r.Data.Result {
		ts, ok := s.Value[0].(float64)
		str, ok2 := s.Value[1].(string)
		if !ok || !ok2 {
			return nil, fmt.Errorf("query prometheus %q: malformed sample %v", expr, s.Value)
		}
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, fmt.Errorf("query prometheus %q: sample value %q: %w", expr, str, err)
		}
		sec := int64(ts)
		out = append(out, PromSample{
			Labels: s.Metric,
			Time:   time.Unix(sec, int64((ts-float64(sec))*1e9)),
			Value:  v,
		})
	}
	return out, nil
}
