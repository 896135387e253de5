package debugpages

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/tabletd/tablet/queryserver"
)

//go:embed templates/*.html
var templateFS embed.FS

// templateFuncs returns the helpers the templates format values with.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"dur":     formatDuration,
		"seconds": func(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) },
		"ts":      func(t time.Time) string { return formatTime(t, "15:04:05.000") },
		"date":    func(t time.Time) string { return formatTime(t, "2006-01-02 15:04:05 MST") },
		"bytes":   formatBytes,
		"join":    strings.Join,
		"caller":  callerName,
	}
}

// parseTemplates parses every page, each the layout plus its content. A
// parse error is a programmer's mistake, caught by any test that mounts
// the pages, so it panics.
func parseTemplates() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(templateFuncs()).ParseFS(templateFS, "templates/layout.html"))
	pages := []string{
		"status", "queryz", "querylogz", "txlogz", "consolidations", "schemaz", "streamqueryz",
	}
	out := make(map[string]*template.Template, len(pages))
	for _, p := range pages {
		t := template.Must(layout.Clone())
		out[p] = template.Must(t.ParseFS(templateFS, "templates/"+p+".html"))
	}
	return out
}

// contentSecurityPolicy forbids scripts, external assets and framing: the
// pages need inline styles and same-origin forms, nothing else. If a
// value ever escaped html/template's escaping, a browser still would not
// run it.
const contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pageData is what the layout renders around a page's content.
type pageData struct {
	Title  string // the page's heading
	Tablet string // the tablet alias, or empty
	Nav    []link // the pages mounted
	Now    time.Time
	Body   any // the page's own data
}

// render executes page's template with body into a buffer and writes it,
// so that a template failure answers 500 rather than half a page.
func (s *server) render(w http.ResponseWriter, page, title string, body any) {
	data := pageData{Title: title, Nav: s.links(), Now: time.Now(), Body: body}
	if s.status != nil {
		data.Tablet = s.status().Alias
	}
	var buf bytes.Buffer
	if err := s.templates[page].ExecuteTemplate(&buf, "layout.html", data); err != nil {
		s.logger.Error("render debug page failed", "page", page, "error", err)
		http.Error(w, "render page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	setNoCache(h)
	_, _ = w.Write(buf.Bytes()) // the client went away; nothing to do
}

// writeJSON writes v as indented JSON.
func (s *server) writeJSON(w http.ResponseWriter, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		s.logger.Error("encode debug page failed", "error", err)
		http.Error(w, "encode page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	setNoCache(h)
	_, _ = w.Write(append(b, '\n'))
}

// setNoCache marks a response as live data that must not be cached or
// sniffed into another type.
func setNoCache(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// formatDuration prints d with a precision that suits its size: "850µs",
// "12.35ms", "3.201s".
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// formatTime prints t with layout, or "-" for the zero time.
func formatTime(t time.Time, layout string) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(layout)
}

// formatBytes prints n bytes in binary units: "512 B", "16.0 KiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// callerName is who sent a request: the immediate caller's user name,
// else the effective caller's principal, as the engine counts users.
func callerName(c queryserver.Caller) string {
	if c.Username != "" {
		return c.Username
	}
	return c.Principal
}
