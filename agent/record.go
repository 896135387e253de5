package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/proto/vttimepb"
	"github.com/tabletd/tablet/topo"
)

// ErrInit marks a refusal to start: the configuration does not fit what
// the topology says. Nothing was written.
var ErrInit = errors.New("refusing to start")

// checkTopo runs the init checks that need the topology service, before
// anything is written: the cell exists, and an existing record for this
// alias belongs to the same keyspace and shard.
func (a *Agent) checkTopo(ctx context.Context, alias *topodatapb.TabletAlias) error {
	if _, err := a.ts.GetCellInfo(ctx, alias.GetCell()); err != nil {
		if errors.Is(err, topo.ErrNoNode) {
			return fmt.Errorf("%w: cell %q does not exist in the global topology; add it first with `tablet topo AddCellInfo --server_address <cell topo address> --root /vitess/%s %s`",
				ErrInit, alias.GetCell(), alias.GetCell(), alias.GetCell())
		}
		return fmt.Errorf("read cell %q: %w", alias.GetCell(), err)
	}
	ti, err := a.ts.GetTablet(ctx, alias)
	switch {
	case errors.Is(err, topo.ErrNoNode):
		return nil
	case err != nil:
		return fmt.Errorf("read tablet record %s: %w", topo.TabletAliasString(alias), err)
	}
	if t := ti.Tablet; t.GetKeyspace() != a.cfg.InitKeyspace || t.GetShard() != a.cfg.InitShard {
		return fmt.Errorf("%w: tablet %s is already recorded in %s/%s, not %s/%s; use another --tablet-path, or delete the old record (`tablet topo DeleteTablet`) if that tablet is gone",
			ErrInit, topo.TabletAliasString(alias), t.GetKeyspace(), t.GetShard(), a.cfg.InitKeyspace, a.cfg.InitShard)
	}
	return nil
}

// publishRecord creates the keyspace and shard if missing, then creates or
// takes over the tablet record, joins ShardReplication, and builds the
// cell's SrvKeyspace if it has none. The shard record decides the type: the
// tablet it names as primary is PRIMARY, with the shard's term start. It
// returns the record as written.
func (a *Agent) publishRecord(ctx context.Context, want *topodatapb.Tablet) (*topodatapb.Tablet, error) {
	si, err := a.ts.GetOrCreateShard(ctx, want.GetKeyspace(), want.GetShard())
	if err != nil {
		return nil, err
	}
	alias := want.GetAlias()
	if topo.TabletAliasEqual(si.Shard.GetPrimaryAlias(), alias) {
		want.Type = topodatapb.TabletType_PRIMARY
		want.PrimaryTermStartTime = si.Shard.GetPrimaryTermStartTime()
	}
	err = a.ts.CreateTablet(ctx, want)
	if errors.Is(err, topo.ErrNodeExists) {
		var ti *topo.TabletInfo
		ti, err = a.ts.UpdateTabletFields(ctx, alias, func(t *topodatapb.Tablet) error {
			if t.GetKeyspace() != want.GetKeyspace() || t.GetShard() != want.GetShard() {
				return fmt.Errorf("%w: tablet %s moved to %s/%s while starting", ErrInit, topo.TabletAliasString(alias), t.GetKeyspace(), t.GetShard())
			}
			mergeRecord(t, want)
			return nil
		})
		if err == nil {
			want = ti.Tablet
			err = a.ts.AddShardReplicationNode(ctx, want.GetKeyspace(), want.GetShard(), alias)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("publish tablet record: %w", err)
	}
	_, err = a.ts.GetSrvKeyspace(ctx, alias.GetCell(), want.GetKeyspace())
	if errors.Is(err, topo.ErrNoNode) {
		err = a.ts.RebuildSrvKeyspace(ctx, want.GetKeyspace(), alias.GetCell())
	}
	if err != nil {
		return nil, fmt.Errorf("serving graph for %s in %s: %w", want.GetKeyspace(), alias.GetCell(), err)
	}
	return want, nil
}

// tabletRecord is the record this process wants in the topology.
func (a *Agent) tabletRecord(alias *topodatapb.TabletAlias, hostname string, httpPort, grpcPort int, mysqlPort int32) (*topodatapb.Tablet, error) {
	kr, err := topo.ShardKeyRange(a.cfg.InitShard)
	if err != nil {
		return nil, err
	}
	typ := topodatapb.TabletType(topodatapb.TabletType_value[strings.ToUpper(a.cfg.InitTabletType)])
	now := time.Now()
	return &topodatapb.Tablet{
		Alias:           alias,
		Hostname:        hostname,
		PortMap:         map[string]int32{"vt": int32(httpPort), "grpc": int32(grpcPort)},
		Keyspace:        a.cfg.InitKeyspace,
		Shard:           a.cfg.InitShard,
		KeyRange:        kr,
		Type:            typ,
		DbNameOverride:  a.cfg.InitDBNameOverride,
		Tags:            a.cfg.InitTags,
		MysqlHostname:   hostname,
		MysqlPort:       mysqlPort,
		TabletStartTime: &vttimepb.Time{Seconds: now.Unix(), Nanoseconds: int32(now.Nanosecond())},
	}, nil
}

// mergeRecord copies the fields this process owns from want into t,
// leaving fields others own (and unknown fields) alone.
func mergeRecord(t, want *topodatapb.Tablet) {
	t.Hostname = want.Hostname
	t.PortMap = want.PortMap
	t.KeyRange = want.KeyRange
	t.Type = want.Type
	t.DbNameOverride = want.DbNameOverride
	t.Tags = want.Tags
	t.MysqlHostname = want.MysqlHostname
	t.MysqlPort = want.MysqlPort
	t.PrimaryTermStartTime = want.PrimaryTermStartTime
	t.TabletStartTime = want.TabletStartTime
}
