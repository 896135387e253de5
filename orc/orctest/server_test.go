package orctest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/orc/orctest"
	"github.com/tabletd/tablet/testenv"
)

func TestMain(m *testing.M) {
	testenv.LeakCheckMain(m, "tabletd/tablet/orc/orctest.")
}

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// envelope decodes Orchestrator's answer.
func envelope(t *testing.T, body string) (code, message string, details json.RawMessage) {
	t.Helper()
	var e struct {
		Code    string
		Message string
		Details json.RawMessage
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("not an envelope: %v: %s", err, body)
	}
	return e.Code, e.Message, e.Details
}

// TestAnswersLikeOrchestrator checks the answers' shapes and statuses.
func TestAnswersLikeOrchestrator(t *testing.T) {
	srv := orctest.Start(t)
	u := srv.URL()
	status, body := get(t, u+"/discover/db1/3306")
	code, msg, details := envelope(t, body)
	if status != 200 || code != "OK" || msg != "Instance discovered: db1:3306" || !strings.Contains(string(details), `"Key":{"Hostname":"db1","Port":3306}`) {
		t.Errorf("discover: %d %s", status, body)
	}
	status, body = get(t, u+"/begin-maintenance/db1/3306/tablet/backup")
	if code, msg, _ := envelope(t, body); status != 200 || code != "OK" || msg != "Maintenance begun: db1:3306" {
		t.Errorf("begin-maintenance: %d %s", status, body)
	}
	status, body = get(t, u+"/begin-maintenance/db1/3306/operator/other")
	if code, msg, _ := envelope(t, body); status != 500 || code != "ERROR" ||
		msg != "Cannot begin maintenance for instance: db1:3306; maintenance reason: other" {
		t.Errorf("second begin-maintenance: %d %s", status, body)
	}
	status, body = get(t, u+"/in-maintenance/db1/3306")
	if code, msg, _ := envelope(t, body); status != 200 || code != "OK" || msg != "true" {
		t.Errorf("in-maintenance: %d %s", status, body)
	}
	status, body = get(t, u+"/maintenance")
	if status != 200 || !strings.HasPrefix(body, `[{"MaintenanceId":1,"Key":{"Hostname":"db1","Port":3306}`) ||
		!strings.Contains(body, `"Owner":"tablet","Reason":"backup"`) {
		t.Errorf("maintenance: %d %s", status, body)
	}
	status, body = get(t, u+"/end-maintenance/db1/3306")
	if code, msg, _ := envelope(t, body); status != 200 || code != "OK" || msg != "Maintenance ended: db1:3306" {
		t.Errorf("end-maintenance: %d %s", status, body)
	}
	if status, body = get(t, u+"/maintenance"); status != 200 || body != "[]" {
		t.Errorf("maintenance after end: %d %s", status, body)
	}
	status, body = get(t, u+"/instance/db2/3306")
	if code, _, _ := envelope(t, body); status != 500 || code != "ERROR" {
		t.Errorf("instance of an unknown server: %d %s", status, body)
	}
	if status, body = get(t, u+"/instance/db1/3306"); status != 200 || !strings.HasPrefix(body, `{"Key":`) {
		t.Errorf("instance: %d %s", status, body)
	}
	if n := len(srv.Calls()); n != 9 {
		t.Errorf("recorded %d calls, want 9:\n%s", n, orctest.FormatCalls(srv.Calls()))
	}
}

// TestMaintenanceExpires: entries expire after the configured time and
// are reported as lapsed.
func TestMaintenanceExpires(t *testing.T) {
	srv := orctest.Start(t, orctest.WithMaintenanceExpiry(50*time.Millisecond))
	if err := srv.BeginMaintenance("db1", 3306, "tablet", "backup"); err != nil {
		t.Fatal(err)
	}
	if _, ok := srv.Maintenance("db1", 3306); !ok {
		t.Fatal("not in maintenance right after begin")
	}
	// Expiry is driven by the clock alone: poll it, with a deadline.
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, ok := srv.Maintenance("db1", 3306); !ok {
			break
		}
		select {
		case <-deadline.C:
			t.Fatal("maintenance did not expire within 10s")
		case <-tick.C:
		}
	}
	lapsed := srv.Lapsed()
	if len(lapsed) != 1 || !lapsed[0].Expired || lapsed[0].Owner != "tablet" {
		t.Errorf("Lapsed = %+v", lapsed)
	}
}

// TestStopStartSameAddress: a stopped server refuses connections and
// comes back on the same address.
func TestStopStartSameAddress(t *testing.T) {
	srv := orctest.Start(t)
	addr := srv.Addr()
	srv.Stop()
	if _, err := http.Get(srv.URL() + "/status"); err == nil {
		t.Fatal("stopped server answered")
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != addr {
		t.Errorf("address changed: %s -> %s", addr, srv.Addr())
	}
	if status, _ := get(t, srv.URL()+"/status"); status != 200 {
		t.Errorf("status after Start = %d", status)
	}
}

// TestFaults: each fault answers as documented and is recorded.
func TestFaults(t *testing.T) {
	srv := orctest.Start(t)
	srv.SetFault("discover", orctest.HTTP500)
	if status, body := get(t, srv.URL()+"/discover/db1/3306"); status != 500 || strings.HasPrefix(body, "{") {
		t.Errorf("HTTP500: %d %s", status, body)
	}
	srv.SetFault("", orctest.CodeError)
	status, body := get(t, srv.URL()+"/maintenance")
	if code, _, _ := envelope(t, body); status != 500 || code != "ERROR" {
		t.Errorf("CodeError: %d %s", status, body)
	}
	srv.SetFault("", orctest.Hang)
	srv.SetFault("discover", orctest.NoFault)
	done := make(chan error, 1)
	go func() {
		// No keep-alive: a reused connection closed without an answer
		// would make the transport retry the GET.
		hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := hc.Get(srv.URL() + "/maintenance")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// The hung request is recorded only when it ends; wait for it to
	// arrive.
	for {
		changed := srv.Changed() // before the check, so no arrival is missed
		if srv.Hanging() > 0 {
			break
		}
		select {
		case <-changed:
		case <-time.After(10 * time.Second):
			t.Fatal("the request did not arrive")
		}
	}
	srv.ClearFaults()
	select {
	case err := <-done:
		if err == nil {
			t.Error("released hung request got an answer, want the connection closed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hung request not released by ClearFaults")
	}
	calls := srv.Calls()
	if len(calls) != 3 || calls[0].Fault != orctest.HTTP500 || calls[1].Code != "ERROR" || calls[2].Fault != orctest.Hang || calls[2].Status != 0 {
		t.Errorf("calls:\n%s", orctest.FormatCalls(calls))
	}
}

// TestBadCallsFlagged: calls the real API would not take are marked.
func TestBadCallsFlagged(t *testing.T) {
	srv := orctest.Start(t, orctest.AllowBadCalls())
	for _, path := range []string{"/api/discover/db1", "/api/discover/db1/port", "/api/nope", "/other"} {
		get(t, "http://"+srv.Addr()+path)
	}
	for _, c := range srv.Calls() {
		if c.Bad == "" {
			t.Errorf("call %s not marked bad", c.Path)
		}
	}
}

// TestUpstreamProxy: in front of another Orchestrator API, the Server
// relays answers and records them like its own.
func TestUpstreamProxy(t *testing.T) {
	upstream := orctest.Start(t)
	front := orctest.Start(t, orctest.WithUpstream(upstream.URL()))
	status, body := get(t, front.URL()+"/discover/db1/3306")
	if code, msg, _ := envelope(t, body); status != 200 || code != "OK" || msg != "Instance discovered: db1:3306" {
		t.Errorf("discover through the proxy: %d %s", status, body)
	}
	if upstream.Discovered("db1", 3306) != 1 {
		t.Error("upstream did not see the discovery")
	}
	front.SetFault("discover", orctest.CodeError)
	get(t, front.URL()+"/discover/db1/3306")
	calls := front.Calls()
	if len(calls) != 2 || calls[0].Code != "OK" || calls[0].Endpoint != "discover" || calls[1].Code != "ERROR" {
		t.Errorf("front calls:\n%s", orctest.FormatCalls(calls))
	}
	if n := len(upstream.Calls()); n != 1 {
		t.Errorf("upstream got %d calls, want 1 (the fault is the front's)", n)
	}
}
