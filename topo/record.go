package topo

import (
	"path"

	"google.golang.org/protobuf/proto"

	"github.com/tabletd/tablet/proto/topodatapb"
)

// RecordMessage returns an empty message of the type stored at p, chosen by
// the file name as Vitess's TopoCat does (".../Tablet" is a
// topodata.Tablet), or nil when p is not a record with a Go type here
// (VSchema and SrvVSchema are kept as opaque bytes; lock nodes hold JSON).
func RecordMessage(p string) proto.Message {
	switch path.Base(p) {
	case CellInfoFile:
		return &topodatapb.CellInfo{}
	case KeyspaceFile:
		return &topodatapb.Keyspace{}
	case ShardFile:
		return &topodatapb.Shard{}
	case TabletFile:
		return &topodatapb.Tablet{}
	case ShardReplicationFile:
		return &topodatapb.ShardReplication{}
	case SrvKeyspaceFile:
		return &topodatapb.SrvKeyspace{}
	}
	return nil
}
