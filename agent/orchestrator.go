package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tabletd/tablet/debugpages"
	"github.com/tabletd/tablet/orc"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/topo"
)

// The Orchestrator integration: the agent runs an orc.Registrar for the
// tablet's lifetime, tells it the tablet's alias, type and MySQL address
// from every record it writes (so that registration names the address the
// record has, and a type change triggers a discovery that makes
// Orchestrator re-read _vt.local_metadata's PromotionRule), and holds
// maintenance while the tablet's type must not be promoted.

// orchestrator is the Orchestrator integration as the agent drives it;
// *orc.Registrar satisfies it.
type orchestrator interface {
	// Run talks to Orchestrator until ctx ends.
	Run(ctx context.Context) error
	// SetTablet tells it the tablet's alias, type and MySQL address; it
	// never waits for Orchestrator.
	SetTablet(t orc.Tablet)
	// Hold takes a maintenance hold; it never waits for Orchestrator.
	Hold(reason string) *orc.Hold
	// Status is the registration and maintenance state, for the status
	// page.
	Status() orc.Status
}

var _ orchestrator = (*orc.Registrar)(nil)

// WithOrchestrator has the agent run r from the moment its record is
// published until shutdown, and keep r told of the tablet's alias, type
// and MySQL address (mysql_hostname and mysql_port of the record). r is
// also the agent's Maintainer: holds become maintenance in Orchestrator.
// r must not be running already; the agent runs it.
func WithOrchestrator(r *orc.Registrar) Option {
	return func(a *Agent) {
		a.orc = r
		a.maintainer = registrarMaintainer{r}
	}
}

// registrarMaintainer is the Maintainer over an orc.Registrar: each hold
// is a Registrar hold, and maintenance lasts while any is outstanding.
type registrarMaintainer struct{ r *orc.Registrar }

// Hold implements Maintainer.
func (m registrarMaintainer) Hold(reason string) (release func()) { return m.r.Hold(reason).Release }

// Confirm implements confirmer: it waits at most --orc_timeout.
func (m registrarMaintainer) Confirm(ctx context.Context) error { return m.r.Confirm(ctx) }

// confirmer is a Maintainer that can wait until the holds taken so far are
// in force in the remote system, within a bound of its own.
type confirmer interface {
	Confirm(ctx context.Context) error
}

// confirmMaintenance waits until the Maintainer confirms the holds taken
// so far, when it can; a miss is logged (the Maintainer counts it) and the
// operation for reason goes on.
func (a *Agent) confirmMaintenance(reason string) {
	c, ok := a.maintainer.(confirmer)
	if !ok {
		return
	}
	start := time.Now()
	if err := c.Confirm(context.Background()); err != nil {
		a.logger.Warn("orchestrator did not confirm maintenance in time; going on without it",
			"reason", reason, "waited", time.Since(start).Round(time.Millisecond).String(), "err", err)
		return
	}
	a.logger.Info("in orchestrator maintenance", "reason", reason, "waited", time.Since(start).Round(time.Millisecond).String())
}

// maintenanceTypes are the tablet types during which Orchestrator must
// neither promote the tablet's MySQL nor move it: types an operator or a
// tool sets to take the tablet out of service (DRAINED, SPARE) or that an
// operation on its data holds (BACKUP, RESTORE). _vt.local_metadata says
// must_not for them too (see roleManager.metadata); maintenance also
// keeps Orchestrator from moving its replication.
var maintenanceTypes = map[topodatapb.TabletType]bool{
	topodatapb.TabletType_DRAINED: true,
	topodatapb.TabletType_SPARE:   true,
	topodatapb.TabletType_BACKUP:  true,
	topodatapb.TabletType_RESTORE: true,
}

// typeHold is the maintenance hold the tablet's type asks for.
type typeHold struct {
	mu      sync.Mutex // guards the fields below
	typ     topodatapb.TabletType
	release func() // nil when the type holds nothing
}

// tabletUpdated is called with each record the agent writes (at start and
// from recordWritten): the Orchestrator integration learns the tablet's
// alias, type and MySQL address, and maintenance is held while the type is
// one of maintenanceTypes. It never waits for Orchestrator.
func (a *Agent) tabletUpdated(t *topodatapb.Tablet) {
	alias := topo.TabletAliasString(t.GetAlias())
	if a.orc != nil {
		a.orc.SetTablet(orc.Tablet{Alias: alias, Host: t.GetMysqlHostname(), Port: int(t.GetMysqlPort()), Type: t.GetType()})
	}
	h := &a.typeHold
	h.mu.Lock()
	defer h.mu.Unlock()
	typ := t.GetType()
	if h.release != nil && h.typ == typ {
		return
	}
	// The old hold goes first: Orchestrator's maintenance carries one
	// reason, so a new reason means ending and beginning it again anyway
	// (orc.Registrar does both in one go when they come together).
	if h.release != nil {
		h.release()
		h.release = nil
		if !maintenanceTypes[typ] {
			a.logger.Info("tablet type no longer holds orchestrator maintenance", "alias", alias, "from", h.typ.String(), "to", typ.String())
		}
	}
	h.typ = typ
	if maintenanceTypes[typ] && a.maintainer != nil {
		// Not holdMaintenance: this runs on the role manager's goroutine,
		// which must not wait for Orchestrator.
		h.release = a.maintainer.Hold(fmt.Sprintf("tablet %s is %s", alias, typ))
		a.logger.Info("tablet type holds orchestrator maintenance", "alias", alias, "type", typ.String())
	}
}

// runOrchestrator starts the Orchestrator integration, when the agent has
// one, and returns a channel closed when it has stopped: after ctx ends.
func (a *Agent) runOrchestrator(ctx context.Context) <-chan struct{} {
	if a.orc == nil {
		return goDone(func() {})
	}
	return goDone(func() {
		if err := a.orc.Run(ctx); err != nil {
			a.logger.Error("orchestrator integration", "err", err)
		}
	})
}

// orchestratorStatus is the Orchestrator line of /debug/status; none
// without the integration.
func (a *Agent) orchestratorStatus() []debugpages.StatusField {
	if a.orc == nil {
		return nil
	}
	st := a.orc.Status()
	var reg string
	switch {
	case !st.Enabled:
		reg = "disabled"
	case st.Registered:
		reg = "registered " + st.LastRegistered.UTC().Format(time.RFC3339)
	case st.LastError != nil:
		reg = fmt.Sprintf("not registered: %d failures, last: %v", st.DiscoveryFailures, st.LastError)
		if !st.NextDiscovery.IsZero() {
			reg += "; next attempt " + st.NextDiscovery.UTC().Format(time.RFC3339)
		}
	default:
		reg = "not registered yet"
	}
	maint := "none"
	switch {
	case st.InMaintenance:
		maint = fmt.Sprintf("%q since %s", st.MaintenanceReason, st.MaintenanceSince.UTC().Format(time.RFC3339))
	case st.MaintenanceBy != "":
		maint = "held by " + st.MaintenanceBy
	case st.MaintenanceWanted:
		maint = "wanted, not yet confirmed"
	}
	return []debugpages.StatusField{
		{Name: "Orchestrator", Value: reg},
		{Name: "Orchestrator maintenance", Value: maint},
	}
}
