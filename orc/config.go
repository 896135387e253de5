package orc

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config says where Orchestrator's HTTP API is and how the tablet talks to
// it. Field comments give the flag that sets each field (vttablet's name
// where vttablet has the flag, ours with dashes otherwise), its default and
// what zero means. AddFlags binds them all.
type Config struct {
	// APIURL is the root of Orchestrator's HTTP API, "/api" included, for
	// example "http://orchestrator:3000/api" (--orc_api_url). Empty, the
	// default, disables the integration: no discovery and no maintenance
	// calls.
	APIURL string

	// APIUser and APIPassword are HTTP basic-auth credentials for the API
	// (--orc_api_user, --orc_api_password); an empty APIUser sends none.
	// The password is never logged (see LogValue).
	APIUser     string
	APIPassword string

	// Timeout bounds one call to the API, connection included
	// (--orc_timeout, default 30s as in vttablet). A caller's earlier
	// deadline wins. Must be positive.
	Timeout time.Duration

	// DiscoverInterval is the time between two discovery requests that
	// tell Orchestrator the tablet's MySQL exists (--orc_discover_interval,
	// Go duration or whole seconds). Zero, vttablet's default, means never:
	// the tablet does not self-register, although maintenance calls still
	// work. Deployments usually set about 60s.
	DiscoverInterval time.Duration

	// DiscoverJitter spreads requests from many tablets: each wait between
	// two discoveries (and each backoff) is drawn uniformly within this
	// fraction either side of its nominal value (--orc-discover-jitter,
	// default 0.25, the ±25% vttablet applies). Zero disables it; it must
	// be below 1.
	DiscoverJitter float64

	// BackoffMin and BackoffMax bound the wait before retrying a failed
	// call: it starts at BackoffMin and doubles on each further failure up
	// to BackoffMax (--orc-backoff-min, default 1s; --orc-backoff-max,
	// default 1m, so a tablet notices a recovered Orchestrator within a
	// minute without hammering one that is down). Both must be positive,
	// BackoffMax at least BackoffMin.
	BackoffMin time.Duration
	BackoffMax time.Duration

	// MaintenanceOwner is the owner recorded with maintenance the tablet
	// begins (--orc-maintenance-owner, default "tablet"). The tablet ends
	// only maintenance of this owner left on its instance by an earlier
	// run; maintenance begun by anyone else is left alone. Must be
	// non-empty, without '/'.
	MaintenanceOwner string

	// MaintenanceExpiry is how long Orchestrator keeps maintenance begun
	// through its API before expiring it (--orc-maintenance-expiry,
	// default 10m: Orchestrator's MaintenanceExpireMinutes, a constant in
	// current releases). The tablet renews its maintenance before that.
	// Must be positive.
	MaintenanceExpiry time.Duration

	// MaintenanceRenew is how long after beginning maintenance the tablet
	// renews it, by ending and beginning it again (Orchestrator has no call
	// to extend it) (--orc-maintenance-renew). Zero, the default, means half
	// of MaintenanceExpiry, which leaves the other half for retries when
	// Orchestrator is briefly unreachable. Must be below MaintenanceExpiry.
	MaintenanceRenew time.Duration
}

// DefaultConfig returns the defaults given with each field: the
// integration is disabled until APIURL is set.
func DefaultConfig() Config {
	return Config{
		Timeout:           30 * time.Second,
		DiscoverJitter:    0.25,
		BackoffMin:        time.Second,
		BackoffMax:        time.Minute,
		MaintenanceOwner:  "tablet",
		MaintenanceExpiry: 10 * time.Minute,
	}
}

// Enabled reports whether APIURL is set.
func (c Config) Enabled() bool { return c.APIURL != "" }

// Validate reports every bad value in c, each naming its flag and the
// value. It has no side effects.
func (c Config) Validate() error {
	var errs []error
	if c.APIURL != "" {
		if _, err := parseAPIURL(c.APIURL); err != nil {
			errs = append(errs, fmt.Errorf("--orc_api_url=%q: %w", redactURL(c.APIURL), err))
		}
	}
	if c.APIUser == "" && c.APIPassword != "" {
		errs = append(errs, errors.New("--orc_api_password is set but --orc_api_user is empty"))
	}
	positive := func(flag string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("--%s must be positive, got %v", flag, d))
		}
	}
	positive("orc_timeout", c.Timeout)
	if c.DiscoverInterval < 0 {
		errs = append(errs, fmt.Errorf("--orc_discover_interval must not be negative (0 means never), got %v", c.DiscoverInterval))
	}
	if c.DiscoverJitter < 0 || c.DiscoverJitter >= 1 {
		errs = append(errs, fmt.Errorf("--orc-discover-jitter must be in [0, 1), got %v", c.DiscoverJitter))
	}
	positive("orc-backoff-min", c.BackoffMin)
	positive("orc-backoff-max", c.BackoffMax)
	if c.BackoffMin > 0 && c.BackoffMax > 0 && c.BackoffMax < c.BackoffMin {
		errs = append(errs, fmt.Errorf("--orc-backoff-max=%v must be at least --orc-backoff-min=%v", c.BackoffMax, c.BackoffMin))
	}
	if c.MaintenanceOwner == "" || strings.Contains(c.MaintenanceOwner, "/") {
		errs = append(errs, fmt.Errorf("--orc-maintenance-owner must be non-empty and contain no '/', got %q", c.MaintenanceOwner))
	}
	positive("orc-maintenance-expiry", c.MaintenanceExpiry)
	if c.MaintenanceRenew < 0 {
		errs = append(errs, fmt.Errorf("--orc-maintenance-renew must not be negative (0 means half the expiry), got %v", c.MaintenanceRenew))
	} else if c.MaintenanceExpiry > 0 && c.MaintenanceRenew >= c.MaintenanceExpiry {
		errs = append(errs, fmt.Errorf("--orc-maintenance-renew=%v must be below --orc-maintenance-expiry=%v, or maintenance lapses before it is renewed",
			c.MaintenanceRenew, c.MaintenanceExpiry))
	}
	return errors.Join(errs...)
}

// renewAfter is MaintenanceRenew, or half of MaintenanceExpiry when zero.
func (c Config) renewAfter() time.Duration {
	if c.MaintenanceRenew > 0 {
		return c.MaintenanceRenew
	}
	return c.MaintenanceExpiry / 2
}

// LogValue implements slog.LogValuer: the configuration without the
// password, and without any password written into the URL.
func (c Config) LogValue() slog.Value {
	pw := ""
	if c.APIPassword != "" {
		pw = "<redacted>"
	}
	return slog.GroupValue(
		slog.String("api_url", redactURL(c.APIURL)),
		slog.String("api_user", c.APIUser),
		slog.String("api_password", pw),
		slog.Duration("timeout", c.Timeout),
		slog.Duration("discover_interval", c.DiscoverInterval),
		slog.Float64("discover_jitter", c.DiscoverJitter),
		slog.Duration("backoff_min", c.BackoffMin),
		slog.Duration("backoff_max", c.BackoffMax),
		slog.String("maintenance_owner", c.MaintenanceOwner),
		slog.Duration("maintenance_expiry", c.MaintenanceExpiry),
		slog.Duration("maintenance_renew", c.renewAfter()),
	)
}

// AddFlags binds c's fields on fs, a FlagSet the caller owns, with c's
// current values as defaults:
//
//	--orc_api_url             APIURL
//	--orc_api_user            APIUser
//	--orc_api_password        APIPassword
//	--orc_timeout             Timeout ("30s", or bare seconds "30")
//	--orc_discover_interval   DiscoverInterval ("60s" or "60"; 0 never)
//	--orc-discover-jitter     DiscoverJitter
//	--orc-backoff-min         BackoffMin
//	--orc-backoff-max         BackoffMax
//	--orc-maintenance-owner   MaintenanceOwner
//	--orc-maintenance-expiry  MaintenanceExpiry
//	--orc-maintenance-renew   MaintenanceRenew (0: half the expiry)
//
// Validate the Config after parsing.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.APIURL, "orc_api_url", c.APIURL,
		"Orchestrator's HTTP API, e.g. http://orchestrator:3000/api; empty disables the integration")
	fs.StringVar(&c.APIUser, "orc_api_user", c.APIUser, "basic-auth user for Orchestrator's API; empty sends none")
	fs.StringVar(&c.APIPassword, "orc_api_password", c.APIPassword, "basic-auth password for Orchestrator's API")
	fs.Var((*secondsOrDuration)(&c.Timeout), "orc_timeout", "deadline of one call to Orchestrator's API")
	fs.Var((*secondsOrDuration)(&c.DiscoverInterval), "orc_discover_interval",
		"how often to ask Orchestrator to discover this tablet's MySQL; 0 means never")
	fs.Float64Var(&c.DiscoverJitter, "orc-discover-jitter", c.DiscoverJitter,
		"fraction by which each wait between Orchestrator calls varies at random, in [0, 1)")
	fs.Var((*secondsOrDuration)(&c.BackoffMin), "orc-backoff-min", "first wait before retrying a failed Orchestrator call")
	fs.Var((*secondsOrDuration)(&c.BackoffMax), "orc-backoff-max", "longest wait between retries of a failed Orchestrator call")
	fs.StringVar(&c.MaintenanceOwner, "orc-maintenance-owner", c.MaintenanceOwner,
		"owner recorded with the maintenance this tablet begins in Orchestrator")
	fs.Var((*secondsOrDuration)(&c.MaintenanceExpiry), "orc-maintenance-expiry",
		"how long Orchestrator keeps maintenance before expiring it (its MaintenanceExpireMinutes)")
	fs.Var((*secondsOrDuration)(&c.MaintenanceRenew), "orc-maintenance-renew",
		"renew maintenance this long after beginning it; 0 means half of --orc-maintenance-expiry")
}

// secondsOrDuration is a flag.Value for a duration given in Go syntax
// ("30s") or, as vttablet once took it, in bare seconds ("30").
type secondsOrDuration time.Duration

// String implements flag.Value.
func (d *secondsOrDuration) String() string { return time.Duration(*d).String() }

// Set implements flag.Value.
func (d *secondsOrDuration) Set(s string) error {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		*d = secondsOrDuration(time.Duration(n * float64(time.Second)))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is neither a duration (30s) nor a number of seconds", s)
	}
	*d = secondsOrDuration(v)
	return nil
}

// parseAPIURL checks that s is an absolute http or https URL with a host.
func parseAPIURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("want an http:// or https:// URL, got scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("no host")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("want no query or fragment: calls are paths under the URL")
	}
	return u, nil
}

// redactURL hides a password written into a URL's user information.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}
