package orc

import (
	"errors"
	"fmt"
)

// ErrDisabled is returned by NewClient when Config.APIURL is empty.
var ErrDisabled = errors.New("orc: Orchestrator integration is disabled (--orc_api_url is empty)")

// ErrTimeout is the cause of a call that ran out of Config.Timeout
// (--orc_timeout) before the caller's own deadline. Test with errors.Is.
var ErrTimeout = errors.New("orc: call timed out (--orc_timeout)")

// APIError is an answer from Orchestrator that reports failure: a JSON
// answer with Code "ERROR" (Orchestrator sends these with HTTP status 500),
// or any other status than 200 (a proxy in the way, an authentication
// failure, a path this Orchestrator does not serve). Test with errors.As.
type APIError struct {
	// Op is the API call, such as "discover" or "begin-maintenance".
	Op string
	// Instance is the server the call was about, "host:port"; empty for
	// calls about no single server.
	Instance string
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the answer's Code ("ERROR"), or empty when the body was not
	// Orchestrator's JSON answer.
	Code string
	// Message is the answer's Message, or the start of the body when it
	// was not Orchestrator's JSON answer.
	Message string
}

// Error implements error.
func (e *APIError) Error() string {
	target := e.Op
	if e.Instance != "" {
		target += " " + e.Instance
	}
	if e.Code != "" {
		return fmt.Sprintf("orchestrator %s: %s (HTTP %d): %s", target, e.Code, e.StatusCode, e.Message)
	}
	return fmt.Sprintf("orchestrator %s: HTTP %d: %s", target, e.StatusCode, e.Message)
}

// ErrRunning is returned by Registrar.Run when another Run of the same
// Registrar has not returned yet.
var ErrRunning = errors.New("orc: the registrar is already running")
