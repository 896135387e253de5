package debugpages

import (
	"net/http"
	"slices"
	"time"

	"github.com/tabletd/tablet/health"
	"github.com/tabletd/tablet/pools"
	"github.com/tabletd/tablet/queryserver"
)

// StatusInfo is what the agent knows about the tablet for /debug/status:
// its identity and role. Empty fields are left out of the page.
type StatusInfo struct {
	Alias      string // tablet alias, "<cell>-<uid>"
	Keyspace   string // the keyspace it serves
	Shard      string // its shard, such as "0" or "-80"
	TabletType string // PRIMARY, REPLICA, RDONLY, ... as in the topology record
	Hostname   string // the host name in the tablet record
	HTTPPort   int    // the port of these pages
	GRPCPort   int    // the query service's port
	MySQLPort  int    // the local mysqld's port, as recorded
	DBName     string // the tablet's database
	// MySQLVersion is the local server's flavor and version, such as
	// "mariadb 10.11.19".
	MySQLVersion string
	// ReplicationSource is what this tablet replicates from (the primary's
	// alias or host:port); empty on a primary.
	ReplicationSource string
	Version           string    // the tablet binary's version
	Started           time.Time // when the process started
	// Extra are more facts to show under the identity, in order, such as
	// the Orchestrator registration.
	Extra []StatusField
}

// StatusField is one named fact on the status page.
type StatusField struct {
	Name, Value string
}

// StatusFunc returns the tablet's current identity and role. It is called
// on every view of /debug/status and of the other pages' titles, so it
// must be fast and safe for concurrent use.
type StatusFunc func() StatusInfo

// recentErrorsShown is how many failed requests /debug/status lists.
const recentErrorsShown = 20

// statusPage is the data of /debug/status.
type statusPage struct {
	Info    *StatusInfo
	Uptime  time.Duration
	Serving *servingView
	Health  *healthView
	Pools   []poolRow
	// Errors are the most recent failed requests, newest first, found
	// among the Scanned most recent requests.
	Errors  []*queryserver.QueryLogEntry
	Scanned int
	Links   []link
}

type servingView struct {
	State  string
	Class  string
	Target string
}

type healthView struct {
	health.Status
	Class string
}

// poolRow is one pool on the status page.
type poolRow struct {
	Name string
	pools.Stats
}

func (s *server) serveStatus(w http.ResponseWriter, r *http.Request) {
	p := statusPage{Links: s.links()}
	if s.status != nil {
		info := s.status()
		p.Info = &info
		if !info.Started.IsZero() {
			p.Uptime = time.Since(info.Started).Round(time.Second)
		}
	}
	if s.engine != nil {
		state, target := s.engine.ServingState()
		p.Serving = &servingView{State: state.String(), Class: servingClass(state), Target: target.String()}
		recent := s.queryLog.Recent(0)
		p.Scanned = len(recent)
		for _, e := range slices.Backward(recent) {
			if e.Error == "" {
				continue
			}
			p.Errors = append(p.Errors, e)
			if len(p.Errors) == recentErrorsShown {
				break
			}
		}
	}
	if s.health != nil {
		st := s.health.Status()
		p.Health = &healthView{Status: st, Class: healthClass(st.State)}
	}
	if s.pools != nil {
		for _, pl := range s.pools() {
			p.Pools = append(p.Pools, poolRow{Name: pl.Name(), Stats: pl.Stats()})
		}
	}
	s.render(w, "status", "Tablet status", p)
}

// servingClass is the colour of a serving state.
func servingClass(s queryserver.ServingState) string {
	switch s {
	case queryserver.StateServing:
		return "good"
	case queryserver.StateShuttingDown:
		return "warn"
	}
	return "bad"
}

// healthClass is the colour of a health state.
func healthClass(s health.State) string {
	switch s {
	case health.Healthy:
		return "good"
	case health.Degraded:
		return "warn"
	}
	return "bad"
}
