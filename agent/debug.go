package agent

import (
	"net/http"
	"time"

	"github.com/tabletd/tablet/debugpages"
	"github.com/tabletd/tablet/topo"
)

// The tablet's HTTP port serves package debugpages' pages (/debug/status,
// /debug/vars, /metrics, /debug/health, /queryz and the rest) over the
// agent's own sources; the agent contains no page bodies.

// tableStatsDefaultInterval is how often table sizes are read when
// --queryserver-config-schema-reload-time is 0 (schema reloads only after
// DDL): sizes change with every write, not only with DDL, so they are
// still read, as often as vttablet's default reload time.
const tableStatsDefaultInterval = 30 * time.Minute

// tableStatsConfig is the configuration of the table statistics: the
// tablet's database, read as often as the schema is reloaded
// (--queryserver-config-schema-reload-time) and bounded like one reload
// (--queryserver-schema-reload-timeout), as vttablet's schema engine reads
// both together.
func (c Config) tableStatsConfig() debugpages.Config {
	cfg := debugpages.DefaultConfig()
	cfg.DBName = c.DBName()
	if c.Schema.ReloadInterval > 0 {
		cfg.SchemaReloadInterval = c.Schema.ReloadInterval
	} else {
		cfg.SchemaReloadInterval = tableStatsDefaultInterval
	}
	cfg.RefreshTimeout = c.Schema.ReloadTimeout
	return cfg
}

// newTableStats builds the table statistics over q (the dba connections)
// and registers their variables (DataFree, DataLength, IndexLength,
// TableRows). Run runs them.
func (a *Agent) newTableStats(q debugpages.Querier) *debugpages.TableStats {
	return debugpages.NewTableStats(a.cfg.tableStatsConfig(), q, a.vars, a.logger)
}

// debugHandler is the HTTP port's handler: every page whose source the
// agent has. local is nil when the query service was given with
// WithQueryService; the engine's pages and the pools are then left out.
func (a *Agent) debugHandler(local *localQueries, tables *debugpages.TableStats) http.Handler {
	src := debugpages.Sources{
		Vars:        a.vars,
		Health:      a.checker,
		Schema:      tables,
		Status:      a.statusInfo,
		EnablePprof: a.cfg.EnablePprof,
		Logger:      a.logger,
	}
	if local != nil {
		src.Engine = local.eng
		src.Pools = local.set
	}
	mux := http.NewServeMux()
	debugpages.Register(mux, src)
	return mux
}

// statusInfo is the tablet's identity and role for /debug/status, from
// the record as last written. It reads only atomics and the Orchestrator
// status, so it is fast.
func (a *Agent) statusInfo() debugpages.StatusInfo {
	info := debugpages.StatusInfo{DBName: a.cfg.DBName(), Started: a.started}
	if addr := a.HTTPAddr(); addr != nil {
		info.HTTPPort = addr.Port
	}
	if addr := a.GRPCAddr(); addr != nil {
		info.GRPCPort = addr.Port
	}
	rec := a.record.Load()
	if rec == nil {
		info.Alias, info.Keyspace, info.Shard = a.cfg.TabletPath, a.cfg.InitKeyspace, a.cfg.InitShard
		return info
	}
	info.Alias = topo.TabletAliasString(rec.GetAlias())
	info.Keyspace, info.Shard = rec.GetKeyspace(), rec.GetShard()
	info.TabletType = rec.GetType().String()
	info.Hostname = rec.GetHostname()
	info.MySQLPort = int(rec.GetMysqlPort())
	if host := rec.GetMysqlHostname(); host != "" && host != rec.GetHostname() {
		info.Extra = append(info.Extra, debugpages.StatusField{Name: "MySQL host", Value: host})
	}
	info.Extra = append(info.Extra, a.orchestratorStatus()...)
	return info
}
