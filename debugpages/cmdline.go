package debugpages

import (
	"net/http"
	"os"
	"strings"

	"github.com/tabletd/tablet/debugvars"
)

// serveCmdline serves /debug/pprof/cmdline as net/http/pprof's Cmdline
// does, the arguments separated by NUL bytes, but with secrets given by
// flag redacted (debugvars.RedactArgs).
func serveCmdline(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	setNoCache(h)
	_, _ = w.Write([]byte(strings.Join(debugvars.RedactArgs(os.Args), "\x00")))
}
