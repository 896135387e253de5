package topo

import (
	"context"
	"errors"
	"fmt"

	"github.com/tabletd/tablet/proto/topodatapb"
)

// TabletInfo is a Tablet record with the version read.
type TabletInfo struct {
	Tablet  *topodatapb.Tablet
	Version Version
}

// AliasString is the tablet's alias as "<cell>-<uid>".
func (ti *TabletInfo) AliasString() string { return TabletAliasString(ti.Tablet.GetAlias()) }

func newTablet() *topodatapb.Tablet { return &topodatapb.Tablet{} }

func validateAlias(a *topodatapb.TabletAlias) error {
	if a == nil {
		return errors.New("tablet alias is missing")
	}
	if err := ValidateName("cell", a.GetCell()); err != nil {
		return err
	}
	if a.GetCell() == GlobalCell {
		return fmt.Errorf("tablet alias %s: cell %q is reserved", TabletAliasString(a), GlobalCell)
	}
	return nil
}

func validateTablet(t *topodatapb.Tablet) error {
	if err := validateAlias(t.GetAlias()); err != nil {
		return err
	}
	if err := validateShard(t.GetKeyspace(), t.GetShard()); err != nil {
		return fmt.Errorf("tablet %s: %w", TabletAliasString(t.GetAlias()), err)
	}
	return nil
}

// CreateTablet writes a new Tablet record in the tablet's cell and adds
// the tablet to its shard's ShardReplication there. The record is written
// first: if adding to ShardReplication fails, the record exists and the
// error says so; AddShardReplicationNode can be retried. Errors:
// NodeExists.
func (s *Server) CreateTablet(ctx context.Context, t *topodatapb.Tablet) error {
	if err := validateTablet(t); err != nil {
		return fmt.Errorf("create tablet: %w", err)
	}
	alias := TabletAliasString(t.GetAlias())
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	conn, err := s.ConnForCell(ctx, t.GetAlias().GetCell())
	if err != nil {
		return fmt.Errorf("create tablet %s: %w", alias, err)
	}
	if _, err := createRecord(ctx, conn, TabletPath(alias), t); err != nil {
		return fmt.Errorf("create tablet %s: %w", alias, err)
	}
	if err := s.AddShardReplicationNode(ctx, t.GetKeyspace(), t.GetShard(), t.GetAlias()); err != nil {
		return fmt.Errorf("create tablet %s: record written, but: %w", alias, err)
	}
	return nil
}

// GetTablet reads a Tablet record from the tablet's cell. Errors: NoNode.
func (s *Server) GetTablet(ctx context.Context, alias *topodatapb.TabletAlias) (*TabletInfo, error) {
	if err := validateAlias(alias); err != nil {
		return nil, fmt.Errorf("get tablet: %w", err)
	}
	name := TabletAliasString(alias)
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	conn, err := s.ConnForCell(ctx, alias.GetCell())
	if err != nil {
		return nil, fmt.Errorf("get tablet %s: %w", name, err)
	}
	t, v, err := getRecord(ctx, conn, TabletPath(name), newTablet)
	if err != nil {
		return nil, fmt.Errorf("get tablet %s: %w", name, err)
	}
	return &TabletInfo{Tablet: t, Version: v}, nil
}

// UpdateTablet writes ti.Tablet if the record still has ti.Version, and
// sets ti.Version to the new version. Errors: BadVersion, NoNode.
func (s *Server) UpdateTablet(ctx context.Context, ti *TabletInfo) error {
	if err := validateTablet(ti.Tablet); err != nil {
		return fmt.Errorf("update tablet: %w", err)
	}
	name := ti.AliasString()
	if ti.Version == 0 {
		return fmt.Errorf("update tablet %s: no version; read it with GetTablet first", name)
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	conn, err := s.ConnForCell(ctx, ti.Tablet.GetAlias().GetCell())
	if err != nil {
		return fmt.Errorf("update tablet %s: %w", name, err)
	}
	v, err := putRecord(ctx, conn, TabletPath(name), ti.Tablet, ti.Version)
	if err != nil {
		return fmt.Errorf("update tablet %s: %w", name, err)
	}
	ti.Version = v
	return nil
}

// UpdateTabletFields changes a Tablet record with update (read, modify,
// compare-and-swap, retried while others write) and returns it as stored.
// update may be called more than once and may return ErrNoUpdateNeeded; it
// must not change the alias. Errors: NoNode.
func (s *Server) UpdateTabletFields(ctx context.Context, alias *topodatapb.TabletAlias, update func(*topodatapb.Tablet) error) (*TabletInfo, error) {
	if err := validateAlias(alias); err != nil {
		return nil, fmt.Errorf("update tablet: %w", err)
	}
	name := TabletAliasString(alias)
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	conn, err := s.ConnForCell(ctx, alias.GetCell())
	if err != nil {
		return nil, fmt.Errorf("update tablet %s: %w", name, err)
	}
	t, v, err := updateRecord(ctx, conn, TabletPath(name), newTablet, false, func(t *topodatapb.Tablet) error {
		if err := update(t); err != nil {
			return err
		}
		if !TabletAliasEqual(t.GetAlias(), alias) {
			return fmt.Errorf("update must not change the alias (to %s)", TabletAliasString(t.GetAlias()))
		}
		return validateTablet(t)
	})
	if err != nil {
		return nil, fmt.Errorf("update tablet %s: %w", name, err)
	}
	return &TabletInfo{Tablet: t, Version: v}, nil
}

// DeleteTablet removes a tablet: first from its shard's ShardReplication,
// then its record (only if unchanged since read, so a tablet that
// re-registered meanwhile is not deleted). Errors: NoNode, BadVersion.
func (s *Server) DeleteTablet(ctx context.Context, alias *topodatapb.TabletAlias) error {
	ti, err := s.GetTablet(ctx, alias)
	if err != nil {
		return fmt.Errorf("delete tablet: %w", err)
	}
	name := ti.AliasString()
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	if err := s.RemoveShardReplicationNode(ctx, ti.Tablet.GetKeyspace(), ti.Tablet.GetShard(), alias); err != nil && !errors.Is(err, ErrNoNode) {
		return fmt.Errorf("delete tablet %s: %w", name, err)
	}
	conn, err := s.ConnForCell(ctx, alias.GetCell())
	if err != nil {
		return fmt.Errorf("delete tablet %s: %w", name, err)
	}
	if err := conn.Delete(ctx, TabletPath(name), ti.Version); err != nil {
		return fmt.Errorf("delete tablet %s: %w", name, err)
	}
	return nil
}

// GetTabletAliasesByCell lists the tablet records of a cell (the
// tablets/ directory), sorted by name; none is an empty list.
func (s *Server) GetTabletAliasesByCell(ctx context.Context, cell string) ([]*topodatapb.TabletAlias, error) {
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	conn, err := s.ConnForCell(ctx, cell)
	if err != nil {
		return nil, fmt.Errorf("list tablets of cell %s: %w", cell, err)
	}
	entries, err := conn.List(ctx, TabletsPath)
	if errors.Is(err, ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list tablets of cell %s: %w", cell, err)
	}
	var aliases []*topodatapb.TabletAlias
	for _, e := range entries {
		if !e.Dir {
			continue
		}
		a, err := ParseTabletAlias(e.Name)
		if err != nil {
			s.logger.Warn("ignoring unparsable entry in tablets directory", "cell", cell, "name", e.Name, "err", err)
			continue
		}
		aliases = append(aliases, a)
	}
	return aliases, nil
}

// GetTabletsByCell reads every tablet record of a cell. A tablet deleted
// while listing is left out.
func (s *Server) GetTabletsByCell(ctx context.Context, cell string) ([]*TabletInfo, error) {
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	aliases, err := s.GetTabletAliasesByCell(ctx, cell)
	if err != nil {
		return nil, err
	}
	return s.getTablets(ctx, aliases)
}

func (s *Server) getTablets(ctx context.Context, aliases []*topodatapb.TabletAlias) ([]*TabletInfo, error) {
	var out []*TabletInfo
	for _, a := range aliases {
		ti, err := s.GetTablet(ctx, a)
		if errors.Is(err, ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ti)
	}
	return out, nil
}

// GetTabletsByShard reads the tablets of a shard in the given cells (all
// cells when cells is empty), found through each cell's ShardReplication,
// as Vitess tooling does. A cell without that record contributes none.
func (s *Server) GetTabletsByShard(ctx context.Context, keyspace, shard string, cells []string) ([]*TabletInfo, error) {
	if err := validateShard(keyspace, shard); err != nil {
		return nil, fmt.Errorf("list tablets of shard: %w", err)
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	if len(cells) == 0 {
		var err error
		if cells, err = s.GetCellInfoNames(ctx); err != nil {
			return nil, fmt.Errorf("list tablets of shard %s/%s: %w", keyspace, shard, err)
		}
	}
	var aliases []*topodatapb.TabletAlias
	for _, cell := range cells {
		sri, err := s.GetShardReplication(ctx, cell, keyspace, shard)
		if errors.Is(err, ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list tablets of shard %s/%s: %w", keyspace, shard, err)
		}
		for _, n := range sri.ShardReplication.GetNodes() {
			aliases = append(aliases, n.GetTabletAlias())
		}
	}
	return s.getTablets(ctx, aliases)
}
