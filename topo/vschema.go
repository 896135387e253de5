package topo

import (
	"context"
	"fmt"
)

// The VSchema records (keyspaces/<keyspace>/VSchema, a vschema.Keyspace,
// and the per-cell SrvVSchema, a vschema.SrvVSchema) belong to Vitess's
// query routing, which a tablet does not use. Server stores and returns
// them as opaque proto bytes, unchanged, without a Go type for them.

// GetVSchema returns the raw VSchema record of a keyspace. Errors: NoNode.
func (s *Server) GetVSchema(ctx context.Context, keyspace string) ([]byte, error) {
	if err := ValidateName("keyspace", keyspace); err != nil {
		return nil, fmt.Errorf("get vschema: %w", err)
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	data, _, err := s.global.Get(ctx, VSchemaPath(keyspace))
	if err != nil {
		return nil, fmt.Errorf("get vschema of %s: %w", keyspace, err)
	}
	return data, nil
}

// SaveVSchema writes the raw VSchema record of a keyspace (a serialized
// vschema.Keyspace), replacing what is there.
func (s *Server) SaveVSchema(ctx context.Context, keyspace string, data []byte) error {
	if err := ValidateName("keyspace", keyspace); err != nil {
		return fmt.Errorf("save vschema: %w", err)
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	if _, err := s.global.Update(ctx, VSchemaPath(keyspace), data, 0); err != nil {
		return fmt.Errorf("save vschema of %s: %w", keyspace, err)
	}
	return nil
}

// GetSrvVSchema returns the raw SrvVSchema record of a cell. Errors:
// NoNode.
func (s *Server) GetSrvVSchema(ctx context.Context, cell string) ([]byte, error) {
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	conn, err := s.ConnForCell(ctx, cell)
	if err != nil {
		return nil, fmt.Errorf("get serving vschema in %s: %w", cell, err)
	}
	data, _, err := conn.Get(ctx, SrvVSchemaPath())
	if err != nil {
		return nil, fmt.Errorf("get serving vschema in %s: %w", cell, err)
	}
	return data, nil
}

// UpdateSrvVSchema writes the raw SrvVSchema record of a cell (a
// serialized vschema.SrvVSchema), replacing what is there.
func (s *Server) UpdateSrvVSchema(ctx context.Context, cell string, data []byte) error {
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	conn, err := s.ConnForCell(ctx, cell)
	if err != nil {
		return fmt.Errorf("update serving vschema in %s: %w", cell, err)
	}
	if _, err := conn.Update(ctx, SrvVSchemaPath(), data, 0); err != nil {
		return fmt.Errorf("update serving vschema in %s: %w", cell, err)
	}
	return nil
}
