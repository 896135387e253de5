package debugpages

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tabletd/tablet/queryserver"
)

// serveConsolidations serves /consolidations: the queries most recently
// served by sharing another caller's execution, with how many callers
// each saved, most recent first.
func (s *server) serveConsolidations(w http.ResponseWriter, _ *http.Request) {
	s.render(w, "consolidations", "Consolidations", s.engine.Consolidations())
}

// streamRow is one running streaming query on /streamqueryz.
type streamRow struct {
	queryserver.StreamQueryInfo
	Running time.Duration
}

// serveStreamqueryz serves /streamqueryz: the running streaming queries,
// oldest first, each with a Kill button.
func (s *server) serveStreamqueryz(w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	qs := s.engine.StreamQueries()
	rows := make([]streamRow, len(qs))
	for i, q := range qs {
		rows[i] = streamRow{StreamQueryInfo: q, Running: now.Sub(q.Start)}
	}
	s.render(w, "streamqueryz", "Streaming queries", rows)
}

// serveTerminate kills the streaming query whose id the form field "id"
// names, then sends the browser back to /streamqueryz. An unknown id is
// 404 (the query may just have ended), a malformed one 400.
func (s *server) serveTerminate(w http.ResponseWriter, r *http.Request) {
	v := r.PostFormValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		http.Error(w, fmt.Sprintf("id=%q: want the positive id of a running streaming query", v), http.StatusBadRequest)
		return
	}
	if err := s.engine.KillStreamQuery(id); err != nil {
		code := http.StatusInternalServerError
		if queryserver.CodeOf(err) == queryserver.CodeNotFound {
			code = http.StatusNotFound
		}
		http.Error(w, fmt.Sprintf("kill streaming query %d: %v", id, err), code)
		return
	}
	s.logger.Info("killed streaming query on operator request", "id", id, "remote_addr", r.RemoteAddr)
	http.Redirect(w, r, "/streamqueryz", http.StatusSeeOther)
}
