package orc

import (
	"fmt"

	"github.com/tabletd/tablet/proto/topodatapb"
)

// Rows of _vt.local_metadata (columns name, value, db_name) that the
// detection queries of the sample Orchestrator configuration read. The
// table is never replicated: write it with sql_log_bin=0.
const (
	// MetadataAlias holds the tablet alias, "<cell>-<uid>" zero-padded as
	// in topology paths ("zone1-0000000100"). DetectInstanceAliasQuery
	// reads it; Orchestrator passes it to failover hooks as
	// {successorAlias}, which "tablet topo TabletExternallyReparented"
	// takes as is.
	MetadataAlias = "Alias"
	// MetadataClusterAlias holds "<keyspace>.<shard>"
	// (DetectClusterAliasQuery), so that Orchestrator names clusters as
	// the topology does.
	MetadataClusterAlias = "ClusterAlias"
	// MetadataDataCenter holds the cell (DetectDataCenterQuery).
	MetadataDataCenter = "DataCenter"
	// MetadataPromotionRule holds PromotionRule's answer for the tablet's
	// type (DetectPromotionRuleQuery).
	MetadataPromotionRule = "PromotionRule"
)

// Promotion rules Orchestrator accepts from DetectPromotionRuleQuery.
const (
	// PromotionNeutral lets Orchestrator promote the server when it fits.
	PromotionNeutral = "neutral"
	// PromotionMustNot forbids promoting the server.
	PromotionMustNot = "must_not"
)

// PromotionRule is the rule for a tablet of type t: only a primary or a
// replica may become primary; every other type (rdonly, spare, drained,
// backup, restore, ...) must not.
func PromotionRule(t topodatapb.TabletType) string {
	switch t {
	case topodatapb.TabletType_PRIMARY, topodatapb.TabletType_REPLICA:
		return PromotionNeutral
	}
	return PromotionMustNot
}

// HoldsMaintenance reports whether a tablet of type t keeps its instance in
// maintenance in Orchestrator: the types a tablet takes while it must not be
// moved or promoted (drained, spare, taking a backup, restoring one).
func HoldsMaintenance(t topodatapb.TabletType) bool {
	switch t {
	case topodatapb.TabletType_DRAINED, topodatapb.TabletType_SPARE,
		topodatapb.TabletType_BACKUP, topodatapb.TabletType_RESTORE:
		return true
	}
	return false
}

// LocalMetadata returns the _vt.local_metadata rows (name -> value) for a
// tablet: alias as "<cell>-<uid>" (the topology's TabletAliasString), its
// keyspace, shard, cell and type. Write them whenever the type changes, so
// that the promotion rule Orchestrator reads stays true.
func LocalMetadata(alias, keyspace, shard, cell string, t topodatapb.TabletType) map[string]string {
	return map[string]string{
		MetadataAlias:         alias,
		MetadataClusterAlias:  fmt.Sprintf("%s.%s", keyspace, shard),
		MetadataDataCenter:    cell,
		MetadataPromotionRule: PromotionRule(t),
	}
}
