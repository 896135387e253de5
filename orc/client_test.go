package orc_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/orc"
	"github.com/tabletd/tablet/orc/orctest"
)

func TestNewClientDisabled(t *testing.T) {
	if _, err := orc.NewClient(orc.DefaultConfig()); !errors.Is(err, orc.ErrDisabled) {
		t.Fatalf("NewClient(no URL) = %v, want ErrDisabled", err)
	}
	cfg := orc.DefaultConfig()
	cfg.APIURL = "orchestrator:3000"
	if _, err := orc.NewClient(cfg); err == nil {
		t.Fatal("NewClient(bad URL) = nil error")
	}
}

// TestClientDiscover discovers the tablet's MySQL and reads it back: the
// alias comes from the detection queries (the fake's SetDetected, or
// _vt.local_metadata read by the sample configuration's queries).
func TestClientDiscover(t *testing.T) {
	eachEnv(t, func(t *testing.T, newEnv func(envOptions) *env) {
		e := newEnv(envOptions{})
		c := e.client(t)
		ctx := context.Background()
		inst, err := c.Discover(ctx, e.tablet.Host, e.tablet.Port)
		if err != nil {
			t.Fatal(err)
		}
		if inst.Key != (orc.InstanceKey{Hostname: e.tablet.Host, Port: e.tablet.Port}) {
			t.Errorf("Discover: Key = %+v, want %s:%d", inst.Key, e.tablet.Host, e.tablet.Port)
		}
		if inst.InstanceAlias != testAlias {
			t.Errorf("Discover: InstanceAlias = %q, want %q (DetectInstanceAliasQuery)", inst.InstanceAlias, testAlias)
		}
		if inst.PromotionRule != mysqld.PromotionNeutral {
			t.Errorf("Discover: PromotionRule = %q, want %q", inst.PromotionRule, mysqld.PromotionNeutral)
		}
		if !inst.IsLastCheckValid {
			t.Error("Discover: IsLastCheckValid = false")
		}
		got, err := c.Instance(ctx, e.tablet.Host, e.tablet.Port)
		if err != nil {
			t.Fatal(err)
		}
		if got.Key != inst.Key || got.InstanceAlias != testAlias {
			t.Errorf("Instance = %+v, want key %+v alias %q", got, inst.Key, testAlias)
		}
		calls := e.srv.CallsTo("discover")
		if len(calls) != 1 || !calls[0].OK() || calls[0].Host() != e.tablet.Host || calls[0].Port() != e.tablet.Port {
			t.Errorf("discover calls:\n%s", orctest.FormatCalls(calls))
		}
	})
}

// TestClientMaintenance begins, lists, refuses a second begin, and ends
// maintenance, with the real API's answers.
func TestClientMaintenance(t *testing.T) {
	eachEnv(t, func(t *testing.T, newEnv func(envOptions) *env) {
		e := newEnv(envOptions{})
		c := e.client(t)
		ctx := context.Background()
		h, p := e.tablet.Host, e.tablet.Port
		reason := "backup of commerce/0 running" // '/' cannot travel in a path segment
		if err := c.BeginMaintenance(ctx, h, p, "tablet", reason); err != nil {
			t.Fatal(err)
		}
		list, err := c.ActiveMaintenance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m, ok := find(list, h, p)
		if !ok || m.Owner != "tablet" || m.Reason != "backup of commerce.0 running" || !m.IsActive {
			t.Fatalf("ActiveMaintenance = %+v, want tablet's entry on %s:%d with the reason, '/' as '.'", list, h, p)
		}
		err = c.BeginMaintenance(ctx, h, p, "operator", "again")
		var ae *orc.APIError
		if !errors.As(err, &ae) || ae.Code != "ERROR" || ae.StatusCode != http.StatusInternalServerError || ae.Op != "begin-maintenance" {
			t.Fatalf("second BeginMaintenance = %v, want an *APIError with Code ERROR and status 500", err)
		}
		if err := c.EndMaintenance(ctx, h, p); err != nil {
			t.Fatal(err)
		}
		if list, err = c.ActiveMaintenance(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := find(list, h, p); ok {
			t.Fatalf("ActiveMaintenance after end = %+v", list)
		}
		if err := c.EndMaintenance(ctx, h, p); err != nil {
			t.Errorf("EndMaintenance with none active = %v, want nil (Orchestrator answers OK)", err)
		}
		begins := e.srv.CallsTo("begin-maintenance")
		if len(begins) != 2 || begins[0].Args[2] != "tablet" || begins[0].Args[3] != "backup of commerce.0 running" {
			t.Errorf("begin-maintenance calls:\n%s", orctest.FormatCalls(begins))
		}
	})
}

// TestClientErrors checks how each kind of failure reaches the caller.
func TestClientErrors(t *testing.T) {
	srv := orctest.Start(t)
	cfg := orc.DefaultConfig()
	cfg.APIURL = srv.URL()
	cfg.Timeout = 200 * time.Millisecond
	c, err := orc.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	ctx := context.Background()
	var ae *orc.APIError

	srv.SetFault("discover", orctest.HTTP500)
	_, err = c.Discover(ctx, "db1", 3306)
	if !errors.As(err, &ae) || ae.StatusCode != 500 || ae.Code != "" {
		t.Errorf("HTTP500: err = %v, want an *APIError with status 500 and no Code", err)
	}

	srv.SetFault("discover", orctest.CodeError)
	_, err = c.Discover(ctx, "db1", 3306)
	if !errors.As(err, &ae) || ae.Code != "ERROR" || ae.Message == "" || ae.Instance != "db1:3306" {
		t.Errorf("CodeError: err = %v, want an *APIError with Code ERROR, a message and the instance", err)
	}

	srv.SetFault("discover", orctest.Hang)
	_, err = c.Discover(ctx, "db1", 3306)
	if !errors.Is(err, orc.ErrTimeout) {
		t.Errorf("Hang: err = %v, want ErrTimeout", err)
	}
	// The caller's own, earlier deadline wins over Config.Timeout, and
	// its verdict is kept.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	srv.SetFault("", orctest.Hang)
	_, err = c.ActiveMaintenance(cctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, orc.ErrTimeout) {
		t.Errorf("Hang, caller's deadline: err = %v, want context.DeadlineExceeded, not ErrTimeout", err)
	}
	srv.ClearFaults()

	srv.Stop()
	_, err = c.Discover(ctx, "db1", 3306)
	if err == nil || errors.As(err, &ae) {
		t.Errorf("stopped: err = %v, want a connection error, not an *APIError", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Discover(ctx, "db1", 3306); err != nil {
		t.Errorf("after Start: %v", err)
	}

	if _, err := c.Discover(ctx, "db1", 0); err == nil {
		t.Error("Discover with port 0 = nil error")
	}
}

// TestClientBasicAuth sends credentials from the Config, or from the URL.
func TestClientBasicAuth(t *testing.T) {
	srv := orctest.Start(t, orctest.WithBasicAuth("orc", "s3cret"))
	ctx := context.Background()
	for _, tc := range []struct {
		name, url, user, password string
		ok                        bool
	}{
		{"none", srv.URL(), "", "", false},
		{"wrong", srv.URL(), "orc", "nope", false},
		{"flags", srv.URL(), "orc", "s3cret", true},
		{"in URL", "http://orc:s3cret@" + srv.Addr() + "/api", "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := orc.DefaultConfig()
			cfg.APIURL, cfg.APIUser, cfg.APIPassword = tc.url, tc.user, tc.password
			c, err := orc.NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseIdleConnections()
			_, err = c.Discover(ctx, "db1", 3306)
			var ae *orc.APIError
			switch {
			case tc.ok && err != nil:
				t.Fatalf("Discover = %v", err)
			case !tc.ok && (!errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized):
				t.Fatalf("Discover = %v, want an *APIError with status 401", err)
			}
		})
	}
}

// find returns the active maintenance entry on host:port.
func find(list []orc.Maintenance, host string, port int) (orc.Maintenance, bool) {
	for _, m := range list {
		if m.Key.Hostname == host && m.Key.Port == port && m.IsActive {
			return m, true
		}
	}
	return orc.Maintenance{}, false
}
