package health

import (
	"fmt"
	"strings"
	"time"
)

// State is the tablet's health, from best to worst. Healthy and Degraded
// serve queries; Unhealthy and NotServing do not.
type State int

// The states, ordered from best to worst.
const (
	// Healthy: serving, nothing to report.
	Healthy State = iota
	// Degraded: serving, with a reason worth reporting (lag over
	// --degraded_threshold, replica not connected to its primary).
	Degraded
	// Unhealthy: not serving because replication is broken or too far
	// behind (lag over --unhealthy_threshold, a thread stopped).
	Unhealthy
	// NotServing: not serving because the tablet cannot or must not serve
	// (mysqld unreachable, replication not configured, restoring, a tablet
	// type that does not serve, shutting down, no check yet).
	NotServing
)

var stateNames = [...]string{"HEALTHY", "DEGRADED", "UNHEALTHY", "NOT_SERVING"}

// String returns HEALTHY, DEGRADED, UNHEALTHY or NOT_SERVING.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// MarshalText encodes s as its name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a name MarshalText produced.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if string(b) == n {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("unknown health state %q", b)
}

// Serving reports whether a tablet in state s serves queries.
func (s State) Serving() bool { return s == Healthy || s == Degraded }

// Reason says why a tablet is not healthy. The set is closed (the constants
// below), so it is safe as a metric label; ReasonNone goes with Healthy.
type Reason string

// The reasons, each with the state it goes with.
const (
	ReasonNone Reason = "" // Healthy

	// ReasonStarting: no check has completed yet, or the agent has not
	// set the tablet type yet (NotServing).
	ReasonStarting Reason = "STARTING"
	// ReasonMySQLUnreachable: mysqld did not answer a query in time, or
	// refused the connection (NotServing).
	ReasonMySQLUnreachable Reason = "MYSQL_UNREACHABLE"
	// ReasonNotConfigured: a non-primary tablet whose mysqld is not a
	// replica (NotServing).
	ReasonNotConfigured Reason = "NOT_CONFIGURED"
	// ReasonRestoring: the tablet type is RESTORE (NotServing).
	ReasonRestoring Reason = "RESTORING"
	// ReasonRestoreFailed: the tablet type is RESTORE and the restore
	// from backup failed; the message says why (NotServing).
	ReasonRestoreFailed Reason = "RESTORE_FAILED"
	// ReasonNotServingType: the tablet type does not serve queries
	// (SPARE, DRAINED, BACKUP, EXPERIMENTAL or unknown) (NotServing).
	ReasonNotServingType Reason = "NOT_SERVING_TYPE"
	// ReasonShuttingDown: the tablet is shutting down, or the checker is
	// closed (NotServing).
	ReasonShuttingDown Reason = "SHUTTING_DOWN"
	// ReasonCheckFailed: mysqld answered but its replication status could
	// not be read (Unhealthy).
	ReasonCheckFailed Reason = "CHECK_FAILED"
	// ReasonReplicationStopped: both replication threads are stopped
	// (Unhealthy).
	ReasonReplicationStopped Reason = "REPLICATION_STOPPED"
	// ReasonReplicationSQLStopped: the SQL (applier) thread is stopped
	// (Unhealthy).
	ReasonReplicationSQLStopped Reason = "REPLICATION_SQL_STOPPED"
	// ReasonReplicationIOStopped: the IO (receiver) thread is stopped
	// (Unhealthy).
	ReasonReplicationIOStopped Reason = "REPLICATION_IO_STOPPED"
	// ReasonReplicationIOConnecting: the IO thread runs but is not
	// connected to the primary (Degraded, or worse by lag).
	ReasonReplicationIOConnecting Reason = "REPLICATION_IO_CONNECTING"
	// ReasonLagOverThreshold: replication lag is over
	// --degraded_threshold (Degraded) or --unhealthy_threshold (Unhealthy).
	ReasonLagOverThreshold Reason = "LAG_OVER_THRESHOLD"
	// ReasonLagUnknown: replication runs but neither a heartbeat nor the
	// server gives its lag (Degraded).
	ReasonLagUnknown Reason = "LAG_UNKNOWN"
)

// Reasons lists every reason but ReasonNone.
var Reasons = []Reason{
	ReasonStarting, ReasonMySQLUnreachable, ReasonNotConfigured, ReasonRestoring, ReasonRestoreFailed, ReasonNotServingType,
	ReasonShuttingDown, ReasonCheckFailed, ReasonReplicationStopped, ReasonReplicationSQLStopped,
	ReasonReplicationIOStopped, ReasonReplicationIOConnecting, ReasonLagOverThreshold, ReasonLagUnknown,
}

// label is r as a metric label value: "NONE" for ReasonNone.
func (r Reason) label() string {
	if r == ReasonNone {
		return "NONE"
	}
	return string(r)
}

// The tablet types, as Vitess's topodata.TabletType names them.
const (
	TypePrimary      = "PRIMARY"
	TypeReplica      = "REPLICA"
	TypeRdonly       = "RDONLY"
	TypeBatch        = "BATCH"
	TypeSpare        = "SPARE"
	TypeExperimental = "EXPERIMENTAL"
	TypeBackup       = "BACKUP"
	TypeRestore      = "RESTORE"
	TypeDrained      = "DRAINED"
)

// Tablet is what the agent tells the checker about its tablet with
// SetTablet. The zero value is a tablet with no type yet, which does not
// serve (ReasonStarting).
type Tablet struct {
	// Type is the tablet type, a topodata.TabletType name: PRIMARY,
	// REPLICA, RDONLY (BATCH), SPARE, EXPERIMENTAL, BACKUP, RESTORE or
	// DRAINED. Case does not matter, and MASTER means PRIMARY. Only
	// PRIMARY, REPLICA and RDONLY serve.
	Type string
	// PrimaryTermStart is when this tablet became primary; it is reported
	// only while Type is PRIMARY.
	PrimaryTermStart time.Time
	// RestoreError is, while Type is RESTORE, why the restore from backup
	// failed (ReasonRestoreFailed); empty while it runs.
	RestoreError string
}

// normalize upper-cases the type and maps old names to new.
func (t Tablet) normalize() Tablet {
	t.Type = strings.ToUpper(strings.TrimSpace(t.Type))
	switch t.Type {
	case "MASTER":
		t.Type = TypePrimary
	case TypeBatch:
		t.Type = TypeRdonly
	}
	if t.Type != TypePrimary {
		t.PrimaryTermStart = time.Time{}
	}
	if t.Type != TypeRestore {
		t.RestoreError = ""
	}
	return t
}

// IsPrimary reports whether the tablet is its shard's primary.
func (t Tablet) IsPrimary() bool { return t.normalize().Type == TypePrimary }

// typeVerdict is the verdict the tablet type imposes whatever the checks
// say, if any: types that do not serve are NotServing.
func (t Tablet) typeVerdict() (verdict, bool) {
	switch t.Type {
	case TypePrimary, TypeReplica, TypeRdonly:
		return verdict{}, false
	case TypeRestore:
		if t.RestoreError != "" {
			return verdict{NotServing, ReasonRestoreFailed, "the restore from backup failed: " + t.RestoreError}, true
		}
		return verdict{NotServing, ReasonRestoring, "the tablet is restoring a backup"}, true
	case "":
		return verdict{NotServing, ReasonStarting, "the tablet has no type yet"}, true
	case TypeSpare, TypeExperimental, TypeBackup, TypeDrained:
		return verdict{NotServing, ReasonNotServingType, fmt.Sprintf("tablet type %s does not serve queries", t.Type)}, true
	}
	return verdict{NotServing, ReasonNotServingType, fmt.Sprintf("unknown tablet type %q does not serve queries", t.Type)}, true
}

// Lag sources, for Status.LagSource.
const (
	LagFromHeartbeat = "heartbeat"             // now minus the newest _vt.heartbeat row
	LagFromServer    = "seconds_behind_master" // the server's Seconds_Behind_Master
	LagEstimated     = "estimated"             // last known lag plus the time since it was known
	LagUnknownSource = ""                      // no lag figure: primary, or unknown
)

// RealtimeStats are the figures StreamHealth reports with each update, as
// Vitess's query.RealtimeStats.
type RealtimeStats struct {
	// HealthError is empty while the tablet serves (Healthy or Degraded),
	// and "REASON: sentence" when it does not. Degraded leaves it empty on
	// purpose: Vitess gateways treat any health error as not serving, and
	// a degraded tablet still serves; its reason is in Status.Reason.
	HealthError string `json:"health_error"`
	// ReplicationLag is the replica's lag, zero on a primary or when
	// unknown (see Status.LagSource). ReplicationLagSeconds is the same in
	// whole seconds, rounded down, as query.RealtimeStats carries it.
	ReplicationLag        time.Duration `json:"replication_lag_ns"`
	ReplicationLagSeconds uint32        `json:"replication_lag_seconds"`
	// QPS and CPUUsage come from the function given to SetLoad, read at
	// each update; zero when none was given.
	QPS      float64 `json:"qps"`
	CPUUsage float64 `json:"cpu_usage"`
}

// Status is the tablet's health as published: by Checker.Status, to
// subscribers and on /debug/health?format=json.
type Status struct {
	// State, Serving, Reason and Message are the verdict: Serving is
	// State.Serving(); Reason is ReasonNone and Message empty when Healthy,
	// otherwise Message is one sentence for a human.
	State   State  `json:"state"`
	Serving bool   `json:"serving"`
	Reason  Reason `json:"reason"`
	Message string `json:"message"`
	// Since is when State or Reason last changed.
	Since time.Time `json:"since"`

	// TabletType, IsPrimary and PrimaryTermStart echo the last SetTablet
	// (normalized); PrimaryTermStart is zero unless IsPrimary.
	TabletType       string    `json:"tablet_type"`
	IsPrimary        bool      `json:"is_primary"`
	PrimaryTermStart time.Time `json:"primary_term_start"`

	// Realtime are the figures Vitess's StreamHealth carries.
	Realtime RealtimeStats `json:"realtime_stats"`
	// LagSource says where Realtime.ReplicationLag came from: one of the
	// Lag* constants; empty when there is no lag figure.
	LagSource string `json:"lag_source"`
	// CheckedAt is when the last check of mysqld completed; zero before
	// the first.
	CheckedAt time.Time `json:"checked_at"`
}

// verdict is a state with its reason and sentence.
type verdict struct {
	state   State
	reason  Reason
	message string
}

// same reports whether v and o have the same state and reason.
func (v verdict) same(o verdict) bool { return v.state == o.state && v.reason == o.reason }
