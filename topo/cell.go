package topo

import (
	"context"
	"errors"
	"fmt"

	"github.com/tabletd/tablet/proto/topodatapb"
)

func validateCellInfo(cell string, ci *topodatapb.CellInfo) error {
	if err := ValidateName("cell", cell); err != nil {
		return err
	}
	if cell == GlobalCell {
		return fmt.Errorf("cell name %q is reserved for the global topology", cell)
	}
	if ci.GetServerAddress() == "" {
		return fmt.Errorf("cell %s: server address is empty", cell)
	}
	if err := ValidateRoot(ci.GetRoot()); err != nil {
		return fmt.Errorf("cell %s: %w", cell, err)
	}
	return nil
}

// GetCellInfo reads cells/<cell>/CellInfo from the global cell. Errors:
// NoNode if the cell was never added.
func (s *Server) GetCellInfo(ctx context.Context, cell string) (*topodatapb.CellInfo, error) {
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	ci, _, err := getRecord(ctx, s.global, CellInfoPath(cell), newCellInfo)
	if err != nil {
		return nil, fmt.Errorf("get cell %s: %w", cell, err)
	}
	return ci, nil
}

func newCellInfo() *topodatapb.CellInfo { return &topodatapb.CellInfo{} }

// GetCellInfoNames lists the cells that have a CellInfo, sorted; none is
// an empty list, not an error.
func (s *Server) GetCellInfoNames(ctx context.Context) ([]string, error) {
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	entries, err := s.global.List(ctx, CellsPath)
	if errors.Is(err, ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list cells: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.Dir {
			names = append(names, e.Name)
		}
	}
	return names, nil
}

// CreateCellInfo adds a cell: it writes cells/<cell>/CellInfo in the
// global cell. The root must differ from the global root when the cell
// shares the global server, or the two would mix. Errors: NodeExists.
func (s *Server) CreateCellInfo(ctx context.Context, cell string, ci *topodatapb.CellInfo) error {
	if err := validateCellInfo(cell, ci); err != nil {
		return fmt.Errorf("create cell: %w", err)
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	if _, err := createRecord(ctx, s.global, CellInfoPath(cell), ci); err != nil {
		return fmt.Errorf("create cell %s: %w", cell, err)
	}
	return nil
}

// UpdateCellInfoFields changes a cell's CellInfo with update, retrying on
// concurrent writes, and drops this Server's Conn to the cell so the next
// use reopens it. Errors: NoNode.
func (s *Server) UpdateCellInfoFields(ctx context.Context, cell string, update func(*topodatapb.CellInfo) error) (*topodatapb.CellInfo, error) {
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	ci, _, err := updateRecord(ctx, s.global, CellInfoPath(cell), newCellInfo, false, func(ci *topodatapb.CellInfo) error {
		if err := update(ci); err != nil {
			return err
		}
		return validateCellInfo(cell, ci)
	})
	if err != nil {
		return nil, fmt.Errorf("update cell %s: %w", cell, err)
	}
	s.dropCell(cell)
	return ci, nil
}

// DeleteCellInfo removes a cell's CellInfo. Unless force is set it first
// checks, in the cell's own topology, that no tablet record is left, and
// refuses otherwise; force skips that check, for a cell whose topology is
// gone. Errors: NoNode.
func (s *Server) DeleteCellInfo(ctx context.Context, cell string, force bool) error {
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	if !force {
		aliases, err := s.GetTabletAliasesByCell(ctx, cell)
		if err != nil {
			return fmt.Errorf("delete cell %s: check for tablets (use force to skip): %w", cell, err)
		}
		if len(aliases) > 0 {
			return fmt.Errorf("delete cell %s: %d tablet records remain, such as %s; delete them or use force",
				cell, len(aliases), TabletAliasString(aliases[0]))
		}
	}
	if err := s.global.Delete(ctx, CellInfoPath(cell), 0); err != nil {
		return fmt.Errorf("delete cell %s: %w", cell, err)
	}
	s.dropCell(cell)
	return nil
}
