// Package orctest has a test double for Orchestrator's HTTP API: Server
// answers discover, begin-maintenance, end-maintenance, in-maintenance,
// maintenance, instance and status under /api with the real API's JSON
// shapes and statuses ({"Code":"OK"|"ERROR","Message":...,"Details":...},
// 500 on ERROR), keeps a maintenance table that refuses a second
// maintenance on a server and expires entries after a configurable time
// (Orchestrator: 10 minutes), records every call with its arrival time,
// injects faults (HTTP500, CodeError, Hang) per endpoint, and can stop
// and start again on the same address to play an outage. It fails the test
// for calls the real API would not take as meant (unknown paths, bad
// ports, missing arguments).
//
// With WithUpstream it is a recording proxy in front of a real
// Orchestrator instead, so that one test body can run against both and
// read the same call log.
//
//	srv := orctest.Start(t, orctest.WithMaintenanceExpiry(time.Second))
//	cfg.APIURL = srv.URL()
//	...
//	srv.WaitFor(t, 5*time.Second, "two discoveries", func(calls []orctest.Call) bool {
//		return len(orctest.OKCalls(calls, "discover")) >= 2
//	})
//
// It is for tests only.
package orctest
