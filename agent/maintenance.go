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

// holdMaintenance begins a hold for reason; call the result to end it.
func (a *Agent) holdMaintenance(reason string) (release func()) {
	if a.maintainer == nil {
		return func() {}
	}
	return a.maintainer.Hold(reason)
}
