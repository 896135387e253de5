package debugpages

import (
	"net/http"
	"time"

	"github.com/tabletd/tablet/mysqld"
)

// serveSchemaz serves /schemaz: the tablet's tables with their sizes and
// columns, as last read.
func (s *server) serveSchemaz(w http.ResponseWriter, _ *http.Request) {
	s.render(w, "schemaz", "Schema", s.schema.Schema())
}

// schemaJSON is /debug/schema.
type schemaJSON struct {
	Database    string
	RefreshedAt *time.Time `json:",omitempty"` // absent before the first read
	Error       string     `json:",omitempty"` // the last read's error
	Tables      []tableJSON
}

// tableJSON is one table of /debug/schema. Sizes are in bytes.
type tableJSON struct {
	Name        string
	Type        string
	Engine      string
	TableRows   int64
	DataLength  int64
	IndexLength int64
	DataFree    int64
	Columns     []mysqld.ColumnInfo
}

// serveSchemaJSON serves /debug/schema: /schemaz as JSON.
func (s *server) serveSchemaJSON(w http.ResponseWriter, _ *http.Request) {
	snap := s.schema.Schema()
	out := schemaJSON{Database: snap.Database, Tables: make([]tableJSON, len(snap.Tables))}
	if !snap.RefreshedAt.IsZero() {
		out.RefreshedAt = &snap.RefreshedAt
	}
	if snap.Err != nil {
		out.Error = snap.Err.Error()
	}
	for i, t := range snap.Tables {
		out.Tables[i] = tableJSON{
			Name: t.Name, Type: t.Type, Engine: t.Engine, TableRows: t.Rows,
			DataLength: t.DataLength, IndexLength: t.IndexLength, DataFree: t.DataFree,
			Columns: orEmpty(t.Columns),
		}
	}
	s.writeJSON(w, out)
}
