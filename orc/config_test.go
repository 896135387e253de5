package orc

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	if c.Enabled() {
		t.Error("DefaultConfig is enabled; want disabled until --orc_api_url is set")
	}
	// vttablet's defaults.
	if c.Timeout != 30*time.Second || c.DiscoverInterval != 0 {
		t.Errorf("Timeout, DiscoverInterval = %v, %v; want 30s, 0 (vttablet's)", c.Timeout, c.DiscoverInterval)
	}
	if c.MaintenanceExpiry != 10*time.Minute || c.renewAfter() != 5*time.Minute {
		t.Errorf("MaintenanceExpiry, renewAfter = %v, %v; want 10m, 5m", c.MaintenanceExpiry, c.renewAfter())
	}
}

func TestValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.APIURL = "http://orchestrator:3000/api"
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want string // substring of the error; "" for none
	}{
		{"good", func(c *Config) {}, ""},
		{"disabled", func(c *Config) { c.APIURL = "" }, ""},
		{"https", func(c *Config) { c.APIURL = "https://orc.example/api/" }, ""},
		{"no scheme", func(c *Config) { c.APIURL = "orchestrator:3000/api" }, "--orc_api_url"},
		{"ftp", func(c *Config) { c.APIURL = "ftp://orc/api" }, "--orc_api_url"},
		{"no host", func(c *Config) { c.APIURL = "http:///api" }, "no host"},
		{"query", func(c *Config) { c.APIURL = "http://orc/api?x=1" }, "--orc_api_url"},
		{"password without user", func(c *Config) { c.APIPassword = "pw" }, "--orc_api_user"},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, "--orc_timeout must be positive"},
		{"negative interval", func(c *Config) { c.DiscoverInterval = -time.Second }, "--orc_discover_interval"},
		{"jitter 1", func(c *Config) { c.DiscoverJitter = 1 }, "--orc-discover-jitter"},
		{"negative jitter", func(c *Config) { c.DiscoverJitter = -0.1 }, "--orc-discover-jitter"},
		{"zero backoff", func(c *Config) { c.BackoffMin = 0 }, "--orc-backoff-min"},
		{"backoff max below min", func(c *Config) { c.BackoffMax = c.BackoffMin / 2 }, "--orc-backoff-max"},
		{"owner with slash", func(c *Config) { c.MaintenanceOwner = "a/b" }, "--orc-maintenance-owner"},
		{"empty owner", func(c *Config) { c.MaintenanceOwner = "" }, "--orc-maintenance-owner"},
		{"zero expiry", func(c *Config) { c.MaintenanceExpiry = 0 }, "--orc-maintenance-expiry"},
		{"renew at expiry", func(c *Config) { c.MaintenanceRenew = c.MaintenanceExpiry }, "--orc-maintenance-renew"},
		{"negative renew", func(c *Config) { c.MaintenanceRenew = -1 }, "--orc-maintenance-renew"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want != "" && err == nil:
				t.Fatalf("Validate() = nil, want an error containing %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("Validate() = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestAddFlags(t *testing.T) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("tablet", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.AddFlags(fs)
	err := fs.Parse([]string{
		"--orc_api_url=http://orc:3000/api", "--orc_api_user=u", "--orc_api_password=p",
		"--orc_timeout=5", "--orc_discover_interval=1m", "--orc-discover-jitter=0",
		"--orc-backoff-min=500ms", "--orc-backoff-max=20s", "--orc-maintenance-owner=me",
		"--orc-maintenance-expiry=4m", "--orc-maintenance-renew=90s",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		APIURL: "http://orc:3000/api", APIUser: "u", APIPassword: "p",
		Timeout: 5 * time.Second, DiscoverInterval: time.Minute, DiscoverJitter: 0,
		BackoffMin: 500 * time.Millisecond, BackoffMax: 20 * time.Second, MaintenanceOwner: "me",
		MaintenanceExpiry: 4 * time.Minute, MaintenanceRenew: 90 * time.Second,
	}
	if c != want {
		t.Errorf("parsed %+v\nwant   %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	if err := fs.Parse([]string{"--orc_timeout=soon"}); err == nil || !strings.Contains(err.Error(), "orc_timeout") {
		t.Errorf("--orc_timeout=soon: err = %v, want one naming the flag", err)
	}
}

func TestLogValueHidesPassword(t *testing.T) {
	c := DefaultConfig()
	c.APIURL = "http://admin:urlsecret@orc:3000/api"
	c.APIUser, c.APIPassword = "u", "flagsecret"
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "orc", c)
	out := buf.String()
	for _, secret := range []string{"urlsecret", "flagsecret"} {
		if strings.Contains(out, secret) {
			t.Errorf("log line shows %q: %s", secret, out)
		}
	}
	if !strings.Contains(out, "orc:3000") {
		t.Errorf("log line lacks the API host: %s", out)
	}
}

func TestBackoff(t *testing.T) {
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, backoff(time.Second, 8*time.Second, n))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("backoff sequence = %v, want %v", got, want)
		}
	}
	for range 1000 {
		d := jitter(time.Second, 0.25)
		if d < 750*time.Millisecond || d > 1250*time.Millisecond {
			t.Fatalf("jitter(1s, 0.25) = %v, want within [750ms, 1.25s]", d)
		}
	}
	if d := jitter(time.Second, 0); d != time.Second {
		t.Errorf("jitter(1s, 0) = %v, want 1s", d)
	}
}
