package agent

// Maintainer tells the system that manages replication and failovers
// (Orchestrator) that the tablet's MySQL must not be promoted for a while:
// while it is backed up, restored, drained or spare. Hold begins (or
// keeps) maintenance with the reason and returns the function that ends
// this hold; maintenance lasts while any hold does. Hold never blocks on
// the remote system: failures to reach it are the Maintainer's to retry
// and report.
type Maintainer interface {
	Hold(reason string) (release func())
}

// WithMaintainer gives the agent its Maintainer. Without it, holds do
// nothing.
func WithMaintainer(m Maintainer) Option {
	return func(a *Agent) { a.maintainer = m }
}

// holdMaintenance begins a hold for an operation (a backup, a restore)
// and, when the Maintainer can confirm holds (see confirmer), waits until
// the maintenance is in force, within the Maintainer's own bound, so that
// the operation starts in maintenance; without confirmation in time it
// logs and goes on, since a backup must not depend on Orchestrator. Call
// the result to end the hold.
func (a *Agent) holdMaintenance(reason string) (release func()) {
	if a.maintainer == nil {
		return func() {}
	}
	release = a.maintainer.Hold(reason)
	a.confirmMaintenance(reason)
	return release
}
