package health

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// ServeHTTP answers /debug/health from the published status, without
// touching mysqld:
//
//   - serving and healthy: 200, "ok";
//   - serving but degraded: 200, "ok" and a second line
//     "degraded: REASON: sentence";
//   - not serving: 503, "not ok: REASON: sentence".
//
// With ?format=json the body is the Status as JSON, with the same status
// codes (?format=text is the default). Any other format is 400. A load
// balancer or operator only needs the first line (or the code).
func (c *Checker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "text" && format != "json" {
		http.Error(w, fmt.Sprintf("format=%q: want text or json", format), http.StatusBadRequest)
		return
	}
	st := c.Status()
	code := http.StatusOK
	if !st.Serving {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	if format == "json" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st) // the client went away; nothing to do
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	switch {
	case !st.Serving:
		fmt.Fprintf(w, "not ok: %s: %s\n", st.Reason, st.Message)
	case st.State == Degraded:
		fmt.Fprintf(w, "ok\ndegraded: %s: %s\n", st.Reason, st.Message)
	default:
		fmt.Fprintln(w, "ok")
	}
}
