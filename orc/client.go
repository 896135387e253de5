package orc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxBody caps how much of an answer the client reads: a discovery answer
// carries one instance, a few kilobytes; a maintenance list, one line per
// server in maintenance.
const maxBody = 4 << 20

// Client calls Orchestrator's HTTP API. Every call takes a context and is
// bounded by Config.Timeout as well; the caller's deadline wins when it is
// earlier. A Client is safe for concurrent use and holds no goroutine of
// its own; CloseIdleConnections releases its idle connections.
type Client struct {
	base     *url.URL
	user     string
	password string
	timeout  time.Duration
	hc       *http.Client
}

// NewClient builds a client for cfg.APIURL. It returns ErrDisabled when the
// URL is empty and an error naming the flag when cfg is invalid. It makes no
// call.
func NewClient(cfg Config) (*Client, error) {
	if !cfg.Enabled() {
		return nil, ErrDisabled
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, err := parseAPIURL(cfg.APIURL)
	if err != nil {
		return nil, fmt.Errorf("--orc_api_url: %w", err)
	}
	user, password := cfg.APIUser, cfg.APIPassword
	if base.User != nil && user == "" {
		user = base.User.Username()
		password, _ = base.User.Password()
	}
	base.User = nil
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   2, // one loop discovers, one keeps maintenance
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 0, // the per-call context bounds the whole call
	}
	return &Client{
		base:     base,
		user:     user,
		password: password,
		timeout:  cfg.Timeout,
		hc:       &http.Client{Transport: tr},
	}, nil
}

// CloseIdleConnections closes connections kept alive between calls. The
// client stays usable.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Discover asks Orchestrator to read the server at host:port now and to
// keep polling it (GET /discover/{host}/{port}). Orchestrator connects to
// the server before it answers, so this fails while the server is down or
// Orchestrator's topology user cannot log in. It returns Orchestrator's
// view of the server.
func (c *Client) Discover(ctx context.Context, host string, port int) (*Instance, error) {
	key := InstanceKey{host, port}
	var inst Instance
	if err := c.call(ctx, "discover", key, &inst, "discover", host, strconv.Itoa(port)); err != nil {
		return nil, err
	}
	return &inst, nil
}

// BeginMaintenance puts the server at host:port in maintenance, recording
// owner and reason (GET /begin-maintenance/{host}/{port}/{owner}/{reason}):
// Orchestrator will not move or promote it until EndMaintenance, or until
// the maintenance expires (10 minutes). It fails with an *APIError when the
// server is already in maintenance, whoever began it. A '/' in owner or
// reason, which the API's paths cannot carry, is sent as '.'; an empty
// owner or reason is sent as "tablet" or "maintenance".
func (c *Client) BeginMaintenance(ctx context.Context, host string, port int, owner, reason string) error {
	if strings.TrimSpace(reason) == "" {
		reason = "maintenance" // an empty path segment would not match the route
	}
	if strings.TrimSpace(owner) == "" {
		owner = "tablet"
	}
	return c.call(ctx, "begin-maintenance", InstanceKey{host, port}, nil,
		"begin-maintenance", host, strconv.Itoa(port), pathSafe(owner), pathSafe(reason))
}

// EndMaintenance ends the server's active maintenance, whoever began it
// (GET /end-maintenance/{host}/{port}). It succeeds when there was none.
func (c *Client) EndMaintenance(ctx context.Context, host string, port int) error {
	return c.call(ctx, "end-maintenance", InstanceKey{host, port}, nil, "end-maintenance", host, strconv.Itoa(port))
}

// Instance returns Orchestrator's view of the server at host:port
// (GET /instance/{host}/{port}). It fails with an *APIError when
// Orchestrator does not know the server.
func (c *Client) Instance(ctx context.Context, host string, port int) (*Instance, error) {
	var inst Instance
	if err := c.call(ctx, "instance", InstanceKey{host, port}, &inst, "instance", host, strconv.Itoa(port)); err != nil {
		return nil, err
	}
	return &inst, nil
}

// ActiveMaintenance lists every active maintenance entry (GET /maintenance).
func (c *Client) ActiveMaintenance(ctx context.Context) ([]Maintenance, error) {
	var list []Maintenance
	if err := c.call(ctx, "maintenance", InstanceKey{}, &list, "maintenance"); err != nil {
		return nil, err
	}
	return list, nil
}

// envelope is Orchestrator's answer to calls that change something:
// {"Code": "OK"|"ERROR", "Message": ..., "Details": ...}. Calls that read
// (instance, maintenance) answer with the object itself on success and with
// an envelope on failure; Code is nil when the body is not an envelope.
type envelope struct {
	Code    *string
	Message string
	Details json.RawMessage
}

// call GETs the API path made of parts and decodes the answer into out
// (nil: ignore it). Answers with an envelope have their Details decoded.
func (c *Client) call(ctx context.Context, op string, key InstanceKey, out any, parts ...string) error {
	instance := ""
	if key != (InstanceKey{}) {
		instance = key.String()
	}
	wrap := func(err error) error {
		if instance != "" {
			return fmt.Errorf("orchestrator %s %s: %w", op, instance, err)
		}
		return fmt.Errorf("orchestrator %s: %w", op, err)
	}
	if instance != "" && !key.IsValid() {
		return wrap(errors.New("invalid instance: want a host and a port in 1..65535"))
	}
	escaped := make([]string, len(parts))
	for i, p := range parts {
		escaped[i] = url.PathEscape(p)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout, ErrTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.JoinPath(escaped...).String(), nil)
	if err != nil {
		return wrap(err)
	}
	req.Header.Set("Accept", "application/json")
	if c.user != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return wrap(context.Cause(ctx))
		}
		return wrap(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		if ctx.Err() != nil {
			return wrap(context.Cause(ctx))
		}
		return wrap(fmt.Errorf("read answer: %w", err))
	}
	var env envelope
	if json.Unmarshal(body, &env) != nil {
		env = envelope{} // an array, or not JSON at all
	}
	switch {
	case env.Code != nil && *env.Code != "OK":
		return &APIError{Op: op, Instance: instance, StatusCode: resp.StatusCode, Code: *env.Code, Message: env.Message}
	case resp.StatusCode != http.StatusOK:
		return &APIError{Op: op, Instance: instance, StatusCode: resp.StatusCode, Message: snippet(body)}
	case env.Code != nil: // OK
		if out == nil || len(env.Details) == 0 || string(env.Details) == "null" {
			return nil
		}
		if err := json.Unmarshal(env.Details, out); err != nil {
			return wrap(fmt.Errorf("decode answer details: %w", err))
		}
		return nil
	case out == nil:
		return wrap(fmt.Errorf("unexpected answer (not Orchestrator's JSON): %s", snippet(body)))
	default:
		if err := json.Unmarshal(body, out); err != nil {
			return wrap(fmt.Errorf("decode answer: %w: %s", err, snippet(body)))
		}
		return nil
	}
}

// snippet is the start of body, on one line, for error messages.
func snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}

// pathSafe replaces '/' (which would split the path segment) with '.'.
func pathSafe(s string) string { return strings.ReplaceAll(s, "/", ".") }
