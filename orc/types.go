package orc

import "fmt"

// InstanceKey names a MySQL server as Orchestrator does: host name and
// port. Its JSON form is Orchestrator's ({"Hostname": ..., "Port": ...}).
type InstanceKey struct {
	Hostname string
	Port     int
}

// String returns "host:port", as Orchestrator writes keys in its messages.
func (k InstanceKey) String() string { return fmt.Sprintf("%s:%d", k.Hostname, k.Port) }

// IsValid reports whether k names a server: a host and a port in 1..65535.
func (k InstanceKey) IsValid() bool { return k.Hostname != "" && k.Port > 0 && k.Port <= 65535 }

// Instance is the part of Orchestrator's view of a server that the tablet
// reads; the API sends many more fields, which are ignored. Field names are
// Orchestrator's.
type Instance struct {
	// Key is the server's identity.
	Key InstanceKey
	// InstanceAlias is what DetectInstanceAliasQuery returned: the tablet
	// alias with the sample configuration. Orchestrator hands it to
	// failover hooks as {successorAlias}.
	InstanceAlias string
	// ClusterName is Orchestrator's name for the replication cluster (the
	// primary's host:port); SuggestedClusterAlias is what
	// DetectClusterAliasQuery returned ("keyspace.shard").
	ClusterName           string
	SuggestedClusterAlias string
	// DataCenter is what DetectDataCenterQuery returned (the cell).
	DataCenter string
	// PromotionRule is what DetectPromotionRuleQuery returned ("neutral",
	// "must_not", ...).
	PromotionRule string
	// ServerID and Version are the server's server_id and version.
	ServerID uint
	Version  string
	// ReadOnly is the server's read_only.
	ReadOnly bool
	// IsLastCheckValid reports whether Orchestrator's last probe of the
	// server succeeded.
	IsLastCheckValid bool
	// IsDowntimed reports whether the server is downtimed (recoveries on it
	// are silenced); maintenance is a separate flag, see Maintenance.
	IsDowntimed bool
}

// Maintenance is one active maintenance entry as GET /api/maintenance
// lists it.
type Maintenance struct {
	// MaintenanceId is Orchestrator's id of the entry.
	MaintenanceId uint
	// Key is the server in maintenance.
	Key InstanceKey
	// BeginTimestamp is when it began, in Orchestrator's format
	// ("2006-01-02 15:04:05").
	BeginTimestamp string
	// SecondsElapsed is how long ago it began.
	SecondsElapsed uint
	// IsActive is true for every listed entry.
	IsActive bool
	// Owner and Reason are what begin-maintenance was given.
	Owner  string
	Reason string
}
