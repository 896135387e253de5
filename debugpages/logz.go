package debugpages

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tabletd/tablet/queryserver"
)

// defaultLogLimit is how many records /querylogz and /txlogz show without
// ?limit=, as vttablet's pages.
const defaultLogLimit = 300

// streamBatch is how many records a log stream writes before it flushes,
// when records arrive faster than it writes them.
const streamBatch = 256

// logRow is one record on /querylogz or /txlogz, with its highlight.
type logRow[T any] struct {
	Entry T
	Class string // "", "slow", "slower" or "failed"
}

// logzPage is the data of /querylogz and /txlogz.
type logzPage[T any] struct {
	Limit int
	Rows  []logRow[T] // newest first
}

// parseLimit reads ?limit=, a positive number of records.
func parseLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return defaultLogLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("limit=%q: want a positive number of records", v)
	}
	return n, nil
}

// durationClass highlights a slow request, as /queryz does.
func durationClass(d time.Duration) string {
	switch {
	case d >= slowerQuery:
		return "slower"
	case d >= slowQuery:
		return "slow"
	}
	return ""
}

// serveQuerylogz serves /querylogz: the last ?limit= requests the engine
// kept, newest first.
func (s *server) serveQuerylogz(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	recent := s.queryLog.Recent(limit)
	rows := make([]logRow[*queryserver.QueryLogEntry], 0, len(recent))
	for _, e := range slices.Backward(recent) {
		class := durationClass(e.Duration())
		if e.Error != "" {
			class = "failed"
		}
		rows = append(rows, logRow[*queryserver.QueryLogEntry]{e, class})
	}
	s.render(w, "querylogz", "Query log", logzPage[*queryserver.QueryLogEntry]{Limit: limit, Rows: rows})
}

// serveTxlogz serves /txlogz: the last ?limit= ended transactions and
// reserved connections the engine kept, newest first.
func (s *server) serveTxlogz(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	recent := s.txLog.Recent(limit)
	rows := make([]logRow[*queryserver.TxLogEntry], 0, len(recent))
	for _, e := range slices.Backward(recent) {
		class := ""
		if e.Conclusion == "kill" || e.Conclusion == "fail" {
			class = "failed" // killed by a timeout, or COMMIT/ROLLBACK failed
		}
		rows = append(rows, logRow[*queryserver.TxLogEntry]{e, class})
	}
	s.render(w, "txlogz", "Transaction log", logzPage[*queryserver.TxLogEntry]{Limit: limit, Rows: rows})
}

// queryLogJSON is one line of /debug/querylog. Times are in seconds, as
// vttablet's query log prints them; SQL carries bind variable references,
// never values.
type queryLogJSON struct {
	Method        string
	Username      string // immediate caller
	Principal     string `json:",omitempty"` // effective caller
	Component     string `json:",omitempty"`
	Subcomponent  string `json:",omitempty"`
	Start         time.Time
	End           time.Time
	TotalTime     float64
	MysqlTime     float64
	ConnWaitTime  float64
	PlanType      string
	SQL           string
	Tables        []string
	TransactionID int64
	ReservedID    int64
	ConnID        int64
	Consolidated  bool
	RowsReturned  int
	RowsAffected  uint64
	Code          string
	Error         string
}

func appendQueryLogJSON(b []byte, e *queryserver.QueryLogEntry) ([]byte, error) {
	v, err := json.Marshal(queryLogJSON{
		Method: e.Method, Username: e.Caller.Username, Principal: e.Caller.Principal,
		Component: e.Caller.Component, Subcomponent: e.Caller.Subcomponent,
		Start: e.Start, End: e.End, TotalTime: e.Duration().Seconds(), MysqlTime: e.MysqlTime.Seconds(),
		ConnWaitTime: e.WaitTime.Seconds(), PlanType: e.PlanType, SQL: e.SQL, Tables: orEmpty(e.Tables),
		TransactionID: e.TransactionID, ReservedID: e.ReservedID, ConnID: e.ConnID,
		Consolidated: e.Consolidated, RowsReturned: e.RowsReturned, RowsAffected: e.RowsAffected,
		Code: e.Code.String(), Error: e.Error,
	})
	return append(append(b, v...), '\n'), err
}

// appendQueryLogText is one line of /debug/querylog?format=text: fields
// separated by tabs, the statement and error quoted so that a line holds
// one record.
func appendQueryLogText(b []byte, e *queryserver.QueryLogEntry) ([]byte, error) {
	b = fmt.Appendf(b, "%s\t%s\t%s\t%s\t%.6f\t%.6f\t%.6f\t%s\t%s\t%s\t%d\t%d\t%d\t%t\t%d\t%d\t%s\t%s\n",
		e.Method, callerName(e.Caller), e.Start.Format(time.RFC3339Nano), e.End.Format(time.RFC3339Nano),
		e.Duration().Seconds(), e.MysqlTime.Seconds(), e.WaitTime.Seconds(), e.PlanType,
		strconv.Quote(e.SQL), strings.Join(e.Tables, ","), e.TransactionID, e.ReservedID, e.ConnID,
		e.Consolidated, e.RowsReturned, e.RowsAffected, e.Code, strconv.Quote(e.Error))
	return b, nil
}

// txLogJSON is one line of /debug/txlog. Duration is in seconds.
type txLogJSON struct {
	ID         int64
	Username   string
	Principal  string `json:",omitempty"`
	ConnID     int64
	Start      time.Time
	End        time.Time
	Duration   float64
	Conclusion string
	Reason     string
	Reserved   bool
	Queries    []string
}

func appendTxLogJSON(b []byte, e *queryserver.TxLogEntry) ([]byte, error) {
	v, err := json.Marshal(txLogJSON{
		ID: e.ID, Username: e.Caller.Username, Principal: e.Caller.Principal, ConnID: e.ConnID,
		Start: e.Start, End: e.End, Duration: e.Duration().Seconds(), Conclusion: e.Conclusion,
		Reason: e.Reason, Reserved: e.Reserved, Queries: orEmpty(e.Queries),
	})
	return append(append(b, v...), '\n'), err
}

// serveQueryLogStream serves /debug/querylog: every request from now on,
// one JSON object a line (?format=text: tab-separated), until the client
// goes away or the engine closes.
func (s *server) serveQueryLogStream(w http.ResponseWriter, r *http.Request) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		streamFeed(s, w, r, s.queryLog, "application/x-ndjson", appendQueryLogJSON)
	case "text":
		streamFeed(s, w, r, s.queryLog, "text/plain; charset=utf-8", appendQueryLogText)
	default:
		http.Error(w, fmt.Sprintf("format=%q: want json or text", f), http.StatusBadRequest)
	}
}

// serveTxLogStream serves /debug/txlog: every transaction or reserved
// connection that ends from now on, one JSON object a line.
func (s *server) serveTxLogStream(w http.ResponseWriter, r *http.Request) {
	streamFeed(s, w, r, s.txLog, "application/x-ndjson", appendTxLogJSON)
}

// streamFeed subscribes to f and writes each record with encode, flushing
// after each burst, until the client goes away, a write fails, or the
// feed ends. A client that reads slower than records come misses some:
// the engine never waits for it.
func streamFeed[T any](s *server, w http.ResponseWriter, r *http.Request, f feed[T], contentType string,
	encode func([]byte, T) ([]byte, error)) {
	rc := http.NewResponseController(w)
	// A stream outlives any write timeout the server sets for pages.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", contentType)
	setNoCache(h)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return // the headers are the whole answer
	}
	// Subscribe before the headers go out: a client that has them gets
	// every record published after.
	records, stop := f.Subscribe()
	defer stop()
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	ctx := r.Context()
	var buf []byte
	for {
		var rec T
		var ok bool
		select {
		case <-ctx.Done():
			return
		case rec, ok = <-records:
			if !ok {
				return
			}
		}
		buf = buf[:0]
		for n := 0; ; n++ {
			var err error
			if buf, err = encode(buf, rec); err != nil {
				s.logger.Error("encode log record failed", "path", r.URL.Path, "error", err)
				return
			}
			if n+1 == streamBatch {
				break
			}
			select {
			case rec, ok = <-records:
			default:
				ok = false
			}
			if !ok {
				break
			}
		}
		if _, err := w.Write(buf); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// orEmpty returns s, or an empty slice for nil, so that JSON shows [].
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
