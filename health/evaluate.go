package health

import (
	"fmt"
	"strings"
	"time"

	"github.com/tabletd/tablet/mysqld"
)

// lagFigure is a replica's lag and where it came from; source is
// LagUnknownSource when there is no figure.
type lagFigure struct {
	lag    time.Duration
	source string
}

// known reports whether there is a lag figure.
func (l lagFigure) known() bool { return l.source != LagUnknownSource }

// lagTracker turns observations into lag figures. It remembers the last
// measured lag so that, while neither a heartbeat nor the server gives one
// (a stopped thread, a disconnected IO thread with heartbeats off), the
// lag is estimated as that figure plus the time since. The checker's loop
// owns it.
type lagTracker struct {
	known bool
	lag   time.Duration
	at    time.Time
}

// figure returns the lag obs shows, at obs.At. A heartbeat wins over the
// server's Seconds_Behind_Master: it has sub-second resolution and keeps
// growing while the IO thread is stuck. A heartbeat from the future (clock
// skew between primary and replica hosts) counts as no lag.
func (t *lagTracker) figure(obs Observation) lagFigure {
	switch {
	case !obs.Heartbeat.IsZero():
		t.known, t.lag, t.at = true, max(obs.At.Sub(obs.Heartbeat), 0), obs.At
		return lagFigure{t.lag, LagFromHeartbeat}
	case obs.Replication != nil && obs.Replication.SecondsBehind != nil:
		t.known, t.lag, t.at = true, time.Duration(max(*obs.Replication.SecondsBehind, 0))*time.Second, obs.At
		return lagFigure{t.lag, LagFromServer}
	case t.known:
		return lagFigure{t.lag + max(obs.At.Sub(t.at), 0), LagEstimated}
	}
	return lagFigure{}
}

// reset forgets the last lag, as when the tablet's role changes.
func (t *lagTracker) reset() { *t = lagTracker{} }

// evaluate turns one observation into a verdict for a tablet that is the
// primary or not. It is a pure function of its inputs.
func evaluate(cfg Config, primary bool, obs Observation, lag lagFigure) verdict {
	if obs.Unreachable != nil {
		return verdict{NotServing, ReasonMySQLUnreachable, fmt.Sprintf("mysqld is unreachable: %v", obs.Unreachable)}
	}
	if primary {
		return verdict{state: Healthy}
	}
	if obs.ReplicationErr != nil {
		return verdict{Unhealthy, ReasonCheckFailed, fmt.Sprintf("cannot read replication status: %v", obs.ReplicationErr)}
	}
	st := obs.Replication
	if st == nil {
		return verdict{NotServing, ReasonNotConfigured,
			"replication is not configured: this tablet is not the primary, but its mysqld replicates from nowhere"}
	}
	switch {
	case !st.SQLRunning && st.IOState == mysqld.IOStopped:
		return verdict{Unhealthy, ReasonReplicationStopped,
			"replication is stopped (both IO and SQL threads)" + threadErrors(st)}
	case !st.SQLRunning:
		return verdict{Unhealthy, ReasonReplicationSQLStopped, "the replication SQL thread is stopped" + threadErrors(st)}
	case st.IOState == mysqld.IOStopped:
		return verdict{Unhealthy, ReasonReplicationIOStopped, "the replication IO thread is stopped" + threadErrors(st)}
	case lag.known() && lag.lag > cfg.UnhealthyThreshold:
		return verdict{Unhealthy, ReasonLagOverThreshold, fmt.Sprintf("replication lag %v (%s) is over the unhealthy threshold %v",
			lag.lag.Round(time.Millisecond), lag.source, cfg.UnhealthyThreshold)}
	case lag.known() && lag.lag > cfg.DegradedThreshold:
		return verdict{Degraded, ReasonLagOverThreshold, fmt.Sprintf("replication lag %v (%s) is over the degraded threshold %v",
			lag.lag.Round(time.Millisecond), lag.source, cfg.DegradedThreshold)}
	case st.IOState == mysqld.IOConnecting:
		return verdict{Degraded, ReasonReplicationIOConnecting, fmt.Sprintf("the replica is not connected to its primary %s:%d",
			st.SourceHost, st.SourcePort) + threadErrors(st)}
	case !lag.known():
		return verdict{Degraded, ReasonLagUnknown,
			"replication runs but its lag is unknown: no heartbeat, and the server reports no Seconds_Behind_Master"}
	}
	return verdict{state: Healthy}
}

// threadErrors formats the replication threads' last errors, if any, as a
// suffix to a sentence.
func threadErrors(st *mysqld.ReplicationStatus) string {
	var parts []string
	if st.LastSQLError != "" {
		parts = append(parts, fmt.Sprintf("last SQL error %d: %s", st.LastSQLErrno, st.LastSQLError))
	}
	if st.LastIOError != "" {
		parts = append(parts, fmt.Sprintf("last IO error %d: %s", st.LastIOErrno, st.LastIOError))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, "; ")
}
