package orctest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is a failure the Server injects instead of answering.
type Fault int

// The faults.
const (
	// NoFault answers normally.
	NoFault Fault = iota
	// HTTP500 answers 500 with a plain-text body, as a proxy in front of
	// a dead Orchestrator does.
	HTTP500
	// CodeError answers as Orchestrator does when a call fails:
	// {"Code":"ERROR","Message":...} with status 500.
	CodeError
	// Hang never answers: the request waits until the client gives up,
	// the fault is cleared, or the Server stops.
	Hang
)

// String names the fault.
func (f Fault) String() string {
	switch f {
	case NoFault:
		return "none"
	case HTTP500:
		return "http-500"
	case CodeError:
		return "code-error"
	case Hang:
		return "hang"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Call is one request the Server received.
type Call struct {
	// Time is when the request arrived.
	Time time.Time
	// Method and Path are the request's, Path decoded
	// ("/api/begin-maintenance/db1/3306/tablet/backup running").
	Method string
	Path   string
	// Endpoint is the API call ("discover", "begin-maintenance", ...);
	// empty when the path is not under /api/.
	Endpoint string
	// Args are the decoded path segments after the endpoint.
	Args []string
	// User is the basic-auth user sent, if any.
	User string
	// Fault is the fault injected, NoFault when the call was answered.
	Fault Fault
	// Status is the HTTP status answered; 0 when the request hung until
	// the client left or the Server stopped.
	Status int
	// Code and Message are the answer's Orchestrator envelope, when it had
	// one.
	Code    string
	Message string
	// Bad says what was wrong with a call the real API would not accept
	// as meant (unknown path, bad port, wrong method); empty otherwise.
	Bad string
}

// Host and Port return the first two arguments of a call about one server
// (discover, begin-maintenance, end-maintenance, instance).
func (c Call) Host() string {
	if len(c.Args) < 1 {
		return ""
	}
	return c.Args[0]
}

// Port is the call's second argument as a number; 0 if absent or bad.
func (c Call) Port() int {
	if len(c.Args) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(c.Args[1])
	return p
}

// OK reports whether the call was answered with success: status 200 and,
// for calls answered with an envelope, Code "OK".
func (c Call) OK() bool { return c.Status == http.StatusOK && (c.Code == "" || c.Code == "OK") }

// Option configures a Server.
type Option func(*Server)

// WithUpstream makes the Server a recording proxy in front of a real
// Orchestrator whose API root is apiURL ("http://127.0.0.1:3000/api"):
// calls are recorded, faults and Stop/Start work as with the built-in API,
// but answers come from upstream, and the inspection methods (Maintenance,
// Lapsed, Instance, SetDetected, BeginMaintenance) report nothing.
func WithUpstream(apiURL string) Option {
	return func(s *Server) {
		u, err := url.Parse(apiURL)
		if err != nil {
			panic(fmt.Sprintf("orctest.WithUpstream(%q): %v", apiURL, err))
		}
		s.upstream = u
	}
}

// WithMaintenanceExpiry sets how long maintenance begun through the API
// lasts before it expires (Orchestrator: 10 minutes, the default here too).
func WithMaintenanceExpiry(d time.Duration) Option {
	return func(s *Server) { s.expiry = d }
}

// WithBasicAuth makes the built-in API require these credentials, as
// Orchestrator does with AuthenticationMethod "basic": other requests get
// 401 with a plain-text body.
func WithBasicAuth(user, password string) Option {
	return func(s *Server) { s.authUser, s.authPassword = user, password }
}

// AllowBadCalls keeps the Server from failing the test for calls the real
// API would not accept as meant (see Call.Bad); for tests that send them
// on purpose.
func AllowBadCalls() Option {
	return func(s *Server) { s.allowBad = true }
}

// Server answers like Orchestrator's HTTP API under /api on a loopback
// port that it keeps across Stop and Start, records every call, injects
// faults on demand, and keeps a maintenance table that expires entries as
// Orchestrator does. It is a test double: the built-in API discovers any
// server it is asked about (it does not connect to MySQL) and reports what
// SetDetected says the detection queries would return.
//
// When the test ends the Server stops and fails the test if any call was
// one the real API would not accept as meant (Call.Bad), unless
// AllowBadCalls was given. Methods are safe for concurrent use.
type Server struct {
	t            testing.TB
	addr         string   // 127.0.0.1:port, kept for the Server's life
	upstream     *url.URL // nil: the built-in API
	proxy        *httputil.ReverseProxy
	expiry       time.Duration
	authUser     string
	authPassword string
	allowBad     bool
	inflight     sync.WaitGroup // handlers running; Add under mu while srv is current

	mu        sync.Mutex    // guards the fields below, and inflight.Add
	srv       *http.Server  // nil while stopped
	serveDone chan struct{} // closed when srv's Serve has returned
	closed    bool
	calls     []Call
	hanging   int           // requests held by a Hang fault right now
	changed   chan struct{} // closed and replaced when calls or state change
	faults    map[string]Fault
	release   chan struct{} // closed to release hung requests
	nextID    uint
	maint     []*maintenanceEntry // every entry, oldest first
	lapsed    []MaintenanceEntry
	instances map[Key]*instanceEntry
	detected  map[Key]Detected
}

// Key names a server as Orchestrator does.
type Key struct {
	Hostname string
	Port     int
}

// String returns "host:port", Orchestrator's form.
func (k Key) String() string { return fmt.Sprintf("%s:%d", k.Hostname, k.Port) }

// MaintenanceEntry is a row of the Server's maintenance table.
type MaintenanceEntry struct {
	ID     uint
	Key    Key
	Owner  string
	Reason string
	Begin  time.Time
	// End is when it ended: by end-maintenance, or at its expiry.
	End time.Time
	// Active reports whether it is still in force.
	Active bool
	// Expired reports whether it ended by expiring rather than by
	// end-maintenance.
	Expired bool
}

type maintenanceEntry struct{ MaintenanceEntry }

// Detected is what Orchestrator's detection queries return for a server;
// with the sample configuration they read _vt.local_metadata.
type Detected struct {
	InstanceAlias string // DetectInstanceAliasQuery
	ClusterAlias  string // DetectClusterAliasQuery
	DataCenter    string // DetectDataCenterQuery
	PromotionRule string // DetectPromotionRuleQuery; "neutral" when empty
}

// instanceEntry is a discovered server.
type instanceEntry struct {
	key        Key
	firstSeen  time.Time
	lastSeen   time.Time
	discovered int
}

// Start starts a Server on a free loopback port and stops it when t ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t:         t,
		expiry:    10 * time.Minute,
		changed:   make(chan struct{}),
		faults:    make(map[string]Fault),
		release:   make(chan struct{}),
		instances: make(map[Key]*instanceEntry),
		detected:  make(map[Key]Detected),
	}
	for _, o := range opts {
		o(s)
	}
	if s.upstream != nil {
		s.proxy = &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				rest := strings.TrimPrefix(pr.In.URL.Path, "/api")
				pr.Out.URL.Scheme = s.upstream.Scheme
				pr.Out.URL.Host = s.upstream.Host
				pr.Out.URL.Path = strings.TrimSuffix(s.upstream.Path, "/") + rest
				pr.Out.URL.RawPath = ""
				pr.Out.Host = s.upstream.Host
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				http.Error(w, "orctest proxy: upstream: "+err.Error(), http.StatusBadGateway)
			},
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("orctest: listen: %v", err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(func() {
		s.Close()
		if s.allowBad {
			return
		}
		for _, c := range s.Calls() {
			if c.Bad != "" {
				t.Errorf("orctest: unexpected call %s %s: %s", c.Method, c.Path, c.Bad)
			}
		}
	})
	return s
}

// URL is the API root, "http://127.0.0.1:PORT/api", what --orc_api_url
// takes. It stays the same across Stop and Start.
func (s *Server) URL() string { return "http://" + s.addr + "/api" }

// Addr is the listening address, "127.0.0.1:PORT".
func (s *Server) Addr() string { return s.addr }

// serve starts an http.Server on ln.
func (s *Server) serve(ln net.Listener) {
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.handle(srv, w, r) })
	done := make(chan struct{})
	s.mu.Lock()
	s.srv, s.serveDone = srv, done
	s.mu.Unlock()
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // returns when Stop closes srv
	}()
}

// Stop closes the listener and every connection, as an Orchestrator that
// went down: clients get connection errors until Start. Hung requests end
// without an answer. Stop waits for every handler to return. Stopping a
// stopped Server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, done := s.srv, s.serveDone
	s.srv = nil // handlers of srv that have not started refuse from now on
	if srv != nil {
		close(s.release)
		s.release = make(chan struct{})
	}
	s.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	<-done
	s.inflight.Wait()
	s.notify()
}

// Start listens again on the same address after Stop. It fails when the
// port was taken in between, or the Server is closed.
func (s *Server) Start() error {
	s.mu.Lock()
	running, closed := s.srv != nil, s.closed
	s.mu.Unlock()
	if closed {
		return errors.New("orctest: server closed")
	}
	if running {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("orctest: listen again on %s: %w", s.addr, err)
	}
	s.serve(ln)
	return nil
}

// Close stops the Server for good. Start's cleanup calls it.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.Stop()
}

// SetFault makes calls to endpoint ("discover", "begin-maintenance", ...;
// "" for every endpoint) fail with f; NoFault removes it. A fault set for
// one endpoint wins over the one for every endpoint. Requests hanging
// under a Hang that is replaced or removed end without an answer (the
// connection closes).
func (s *Server) SetFault(endpoint string, f Fault) {
	s.mu.Lock()
	old := s.faults[endpoint]
	if f == NoFault {
		delete(s.faults, endpoint)
	} else {
		s.faults[endpoint] = f
	}
	if old == Hang && f != Hang {
		close(s.release)
		s.release = make(chan struct{})
	}
	s.mu.Unlock()
}

// ClearFaults removes every fault and releases hung requests.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = make(map[string]Fault)
	close(s.release)
	s.release = make(chan struct{})
	s.mu.Unlock()
}

// SetDetected sets what the detection queries return for host:port, shown
// in the instance after its next discovery.
func (s *Server) SetDetected(host string, port int, d Detected) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.detected[Key{host, port}] = d
}

// BeginMaintenance puts host:port in maintenance directly, as another
// owner (an operator) would. It fails if the server is in maintenance.
func (s *Server) BeginMaintenance(host string, port int, owner, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.beginLocked(Key{host, port}, owner, reason); err != nil {
		return err
	}
	s.notifyLocked()
	return nil
}

// Maintenance returns the active maintenance on host:port.
func (s *Server) Maintenance(host string, port int) (MaintenanceEntry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	if e := s.activeLocked(Key{host, port}); e != nil {
		return e.MaintenanceEntry, true
	}
	return MaintenanceEntry{}, false
}

// MaintenanceHistory returns every maintenance entry, oldest first.
func (s *Server) MaintenanceHistory() []MaintenanceEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	out := make([]MaintenanceEntry, len(s.maint))
	for i, e := range s.maint {
		out[i] = e.MaintenanceEntry
	}
	return out
}

// Lapsed returns the maintenance entries that expired while active: a
// client that meant to keep maintenance failed to renew it in time.
func (s *Server) Lapsed() []MaintenanceEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	return append([]MaintenanceEntry(nil), s.lapsed...)
}

// Discovered reports how many times host:port was discovered.
func (s *Server) Discovered(host string, port int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.instances[Key{host, port}]; e != nil {
		return e.discovered
	}
	return 0
}

// Calls returns every call received so far, in order of arrival.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsTo returns the calls to endpoint, in order of arrival.
func (s *Server) CallsTo(endpoint string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Endpoint == endpoint {
			out = append(out, c)
		}
	}
	return out
}

// WaitFor waits until cond holds for the calls received so far, and
// returns them; it fails t with msg if timeout passes first. cond is
// checked at once and after every call and change of state.
func (s *Server) WaitFor(t testing.TB, timeout time.Duration, msg string, cond func(calls []Call) bool) []Call {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		calls := append([]Call(nil), s.calls...)
		ch := s.changed
		s.mu.Unlock()
		if cond(calls) {
			return calls
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("orctest: %s: not after %v; %d calls:\n%s", msg, timeout, len(calls), FormatCalls(calls))
			return nil
		}
	}
}

// Hanging returns how many requests a Hang fault holds right now; each
// arrival wakes Changed's waiters.
func (s *Server) Hanging() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hanging
}

// Changed returns a channel closed at the next call or change of state;
// for waits on conditions that are not about calls.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// FormatCalls renders calls one per line, for failure messages.
func FormatCalls(calls []Call) string {
	var b strings.Builder
	var t0 time.Time
	for i, c := range calls {
		if i == 0 {
			t0 = c.Time
		}
		fmt.Fprintf(&b, "  +%-8v %s %s -> %d %s %s", c.Time.Sub(t0).Round(time.Millisecond), c.Method, c.Path,
			c.Status, c.Code, c.Message)
		if c.Fault != NoFault {
			fmt.Fprintf(&b, " [fault %v]", c.Fault)
		}
		if c.Bad != "" {
			fmt.Fprintf(&b, " [bad: %s]", c.Bad)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// notify wakes waiters.
func (s *Server) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifyLocked()
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// recorder captures what a handler answers.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.body.Len() < 1<<16 {
		r.body.Write(b)
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// handle records the call, injects any fault, and answers. Handlers of a
// stopped srv drop the connection without answering.
func (s *Server) handle(srv *http.Server, w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	if s.srv != srv {
		s.mu.Unlock()
		panic(http.ErrAbortHandler)
	}
	s.inflight.Add(1)
	fault, ok := Fault(0), false
	c := Call{Time: time.Now(), Method: req.Method, Path: req.URL.Path}
	if rest, cut := strings.CutPrefix(req.URL.Path, "/api/"); cut {
		parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
		c.Endpoint, c.Args = parts[0], parts[1:]
	}
	if fault, ok = s.faults[c.Endpoint]; !ok {
		fault = s.faults[""]
	}
	release := s.release
	s.mu.Unlock()
	defer s.inflight.Done()

	c.User, _, _ = req.BasicAuth()
	c.Fault = fault
	rec := &recorder{ResponseWriter: w}
	switch fault {
	case Hang:
		s.mu.Lock()
		s.hanging++
		s.notifyLocked()
		s.mu.Unlock()
		select {
		case <-req.Context().Done():
		case <-release:
		}
		s.mu.Lock()
		s.hanging--
		s.mu.Unlock()
		s.record(c, rec)
		panic(http.ErrAbortHandler) // close the connection, answer nothing
	case HTTP500:
		http.Error(rec, "502 Bad Gateway: orchestrator unavailable", http.StatusInternalServerError)
	case CodeError:
		writeEnvelope(rec, "ERROR", "injected failure: orchestrator backend unavailable", nil)
	default:
		if s.proxy != nil {
			c.Bad = s.check(c, req)
			s.proxy.ServeHTTP(rec, req)
		} else {
			c.Bad = s.serveAPI(rec, req, c)
		}
	}
	s.record(c, rec)
}

// record completes c from what rec captured and appends it.
func (s *Server) record(c Call, rec *recorder) {
	c.Status = rec.status
	var env struct {
		Code    *string
		Message string
	}
	if json.Unmarshal(rec.body.Bytes(), &env) == nil && env.Code != nil {
		c.Code, c.Message = *env.Code, env.Message
	}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.notifyLocked()
	s.mu.Unlock()
}

// route is one endpoint of the API: how many path arguments it takes.
var routes = map[string][]int{
	"discover":          {2},
	"begin-maintenance": {4},
	"end-maintenance":   {1, 2},
	"in-maintenance":    {2},
	"maintenance":       {0},
	"instance":          {2},
	"status":            {0},
}

// check returns what is wrong with a call, by the API's routes.
func (s *Server) check(c Call, req *http.Request) string {
	if c.Endpoint == "" {
		return "path not under /api/"
	}
	counts, ok := routes[c.Endpoint]
	if !ok {
		return fmt.Sprintf("no such endpoint %q", c.Endpoint)
	}
	if req.Method != http.MethodGet {
		return fmt.Sprintf("method %s: the API's calls are GET", req.Method)
	}
	okCount := false
	for _, n := range counts {
		okCount = okCount || len(c.Args) == n
	}
	if !okCount {
		return fmt.Sprintf("%s takes %v path arguments, got %d (%q)", c.Endpoint, counts, len(c.Args), c.Args)
	}
	for _, a := range c.Args {
		if a == "" {
			return "empty path argument"
		}
	}
	if len(c.Args) >= 2 { // host and port first, except end-maintenance/{maintenanceKey}
		if p, err := strconv.Atoi(c.Args[1]); err != nil || p <= 0 || p > 65535 {
			return fmt.Sprintf("bad port %q", c.Args[1])
		}
	}
	return ""
}

// serveAPI answers as Orchestrator's API does and returns what was wrong
// with the call, if anything.
func (s *Server) serveAPI(w http.ResponseWriter, req *http.Request, c Call) string {
	if s.authUser != "" {
		u, p, ok := req.BasicAuth()
		if !ok || u != s.authUser || p != s.authPassword {
			w.Header().Set("WWW-Authenticate", `Basic realm="Authorization Required"`)
			http.Error(w, "Not Authorized", http.StatusUnauthorized)
			return "" // a refusal the client must handle, not a bad call
		}
	}
	if bad := s.check(c, req); bad != "" {
		if c.Endpoint != "" && routes[c.Endpoint] != nil && strings.HasPrefix(bad, "bad port") {
			writeEnvelope(w, "ERROR", "Invalid port: "+c.Args[1], nil)
		} else {
			http.NotFound(w, req)
		}
		return bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	now := time.Now()
	var key Key
	if len(c.Args) >= 2 {
		port, _ := strconv.Atoi(c.Args[1])
		key = Key{c.Args[0], port}
	}
	switch c.Endpoint {
	case "discover":
		e := s.instances[key]
		if e == nil {
			e = &instanceEntry{key: key, firstSeen: now}
			s.instances[key] = e
		}
		e.lastSeen = now
		e.discovered++
		writeEnvelope(w, "OK", "Instance discovered: "+key.String(), s.instanceJSONLocked(e))
	case "instance":
		e := s.instances[key]
		if e == nil {
			writeEnvelope(w, "ERROR", fmt.Sprintf("Cannot read instance: %v", key), nil)
			return ""
		}
		writeJSON(w, http.StatusOK, s.instanceJSONLocked(e))
	case "begin-maintenance":
		if _, err := s.beginLocked(key, c.Args[2], c.Args[3]); err != nil {
			writeEnvelope(w, "ERROR", err.Error(), 0)
			return ""
		}
		writeEnvelope(w, "OK", "Maintenance begun: "+key.String(), keyJSON(key))
	case "end-maintenance":
		if len(c.Args) == 1 {
			id, err := strconv.ParseUint(c.Args[0], 10, 0)
			if err != nil {
				writeEnvelope(w, "ERROR", err.Error(), nil)
				return fmt.Sprintf("bad maintenance key %q", c.Args[0])
			}
			for _, e := range s.maint {
				if e.ID == uint(id) && e.Active {
					e.Active, e.End = false, now
				}
			}
			writeEnvelope(w, "OK", fmt.Sprintf("Maintenance ended: %d", id), id)
			return ""
		}
		if e := s.activeLocked(key); e != nil {
			e.Active, e.End = false, now
		}
		writeEnvelope(w, "OK", "Maintenance ended: "+key.String(), keyJSON(key))
	case "in-maintenance":
		details := ""
		if s.activeLocked(key) != nil {
			details = key.String()
		}
		writeEnvelope(w, "OK", strconv.FormatBool(details != ""), details)
	case "maintenance":
		list := []maintenanceJSON{}
		for _, e := range s.maint {
			if e.Active {
				list = append(list, maintenanceJSON{
					MaintenanceId:  e.ID,
					Key:            keyJSON(e.Key),
					BeginTimestamp: e.Begin.Format(time.DateTime),
					SecondsElapsed: uint(now.Sub(e.Begin) / time.Second),
					IsActive:       true,
					Owner:          e.Owner,
					Reason:         e.Reason,
				})
			}
		}
		writeJSON(w, http.StatusOK, list)
	case "status":
		writeEnvelope(w, "OK", "Application node is healthy", map[string]any{"Healthy": true})
	}
	return ""
}

// beginLocked adds an active entry, refusing as Orchestrator does when the
// server is in maintenance already.
func (s *Server) beginLocked(key Key, owner, reason string) (*maintenanceEntry, error) {
	s.expireLocked()
	if s.activeLocked(key) != nil {
		return nil, fmt.Errorf("Cannot begin maintenance for instance: %v; maintenance reason: %s", key, reason)
	}
	s.nextID++
	now := time.Now()
	e := &maintenanceEntry{MaintenanceEntry{ID: s.nextID, Key: key, Owner: owner, Reason: reason,
		Begin: now, End: now.Add(s.expiry), Active: true}}
	s.maint = append(s.maint, e)
	return e, nil
}

// activeLocked returns the active entry on key, or nil.
func (s *Server) activeLocked(key Key) *maintenanceEntry {
	for _, e := range s.maint {
		if e.Active && e.Key == key {
			return e
		}
	}
	return nil
}

// expireLocked ends entries past their expiry and records them as lapsed.
func (s *Server) expireLocked() {
	now := time.Now()
	for _, e := range s.maint {
		if e.Active && !now.Before(e.End) {
			e.Active, e.Expired = false, true
			s.lapsed = append(s.lapsed, e.MaintenanceEntry)
		}
	}
}

// keyJSON is an instance key as Orchestrator marshals it.
func keyJSON(k Key) map[string]any { return map[string]any{"Hostname": k.Hostname, "Port": k.Port} }

// nullInt64 is sql.NullInt64 as encoding/json renders it.
type nullInt64 struct {
	Int64 int64
	Valid bool
}

// instanceJSON mirrors the fields of Orchestrator's Instance that matter
// to clients, with Orchestrator's names and shapes.
type instanceJSON struct {
	Key                    map[string]any
	InstanceAlias          string
	Uptime                 uint
	ServerID               uint
	ServerUUID             string
	Version                string
	VersionComment         string
	FlavorName             string
	ReadOnly               bool
	Binlog_format          string
	LogBinEnabled          bool
	LogSlaveUpdatesEnabled bool
	MasterKey              map[string]any
	IsDetachedMaster       bool
	Slave_SQL_Running      bool
	Slave_IO_Running       bool
	UsingMariaDBGTID       bool
	SecondsBehindMaster    nullInt64
	SlaveLagSeconds        nullInt64
	ClusterName            string
	SuggestedClusterAlias  string
	DataCenter             string
	Region                 string
	PhysicalEnvironment    string
	ReplicationDepth       uint
	IsCoMaster             bool
	LastSeenTimestamp      string
	IsLastCheckValid       bool
	IsUpToDate             bool
	IsRecentlyChecked      bool
	SecondsSinceLastSeen   nullInt64
	IsCandidate            bool
	PromotionRule          string
	IsDowntimed            bool
	DowntimeReason         string
	DowntimeOwner          string
	DowntimeEndTimestamp   string
	UnresolvedHostname     string
	AllowTLS               bool
}

// instanceJSONLocked renders a discovered server.
func (s *Server) instanceJSONLocked(e *instanceEntry) instanceJSON {
	d := s.detected[e.key]
	rule := d.PromotionRule
	if rule == "" {
		rule = "neutral"
	}
	return instanceJSON{
		Key:                   keyJSON(e.key),
		InstanceAlias:         d.InstanceAlias,
		Uptime:                uint(time.Since(e.firstSeen) / time.Second),
		ServerID:              uint(e.key.Port),
		Version:               "10.11.0-MariaDB-log",
		VersionComment:        "orctest",
		FlavorName:            "MariaDB",
		ReadOnly:              true,
		Binlog_format:         "ROW",
		LogBinEnabled:         true,
		MasterKey:             keyJSON(Key{}),
		ClusterName:           e.key.String(),
		SuggestedClusterAlias: d.ClusterAlias,
		DataCenter:            d.DataCenter,
		LastSeenTimestamp:     e.lastSeen.Format(time.DateTime),
		IsLastCheckValid:      true,
		IsUpToDate:            true,
		IsRecentlyChecked:     true,
		SecondsSinceLastSeen:  nullInt64{0, true},
		PromotionRule:         rule,
	}
}

// maintenanceJSON is one entry of GET /api/maintenance.
type maintenanceJSON struct {
	MaintenanceId  uint
	Key            map[string]any
	BeginTimestamp string
	SecondsElapsed uint
	IsActive       bool
	Owner          string
	Reason         string
}

// writeEnvelope answers with Orchestrator's envelope: status 200 for OK,
// 500 for ERROR.
func writeEnvelope(w http.ResponseWriter, code, message string, details any) {
	status := http.StatusOK
	if code != "OK" {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, struct {
		Code    string
		Message string
		Details any
	}{code, message, details})
}

// writeJSON answers with v as JSON, as Orchestrator's renderer does.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// OKCalls returns the calls to endpoint that were answered with success.
func OKCalls(calls []Call, endpoint string) []Call {
	var out []Call
	for _, c := range calls {
		if c.Endpoint == endpoint && c.OK() {
			out = append(out, c)
		}
	}
	return out
}

// Failed returns the calls to endpoint that were not answered with
// success (faults, errors, hung requests).
func Failed(calls []Call, endpoint string) []Call {
	var out []Call
	for _, c := range calls {
		if c.Endpoint == endpoint && !c.OK() {
			out = append(out, c)
		}
	}
	return out
}
