package topo

import (
	"context"
	"errors"
	"fmt"

	"github.com/tabletd/tablet/proto/topodatapb"
)

// KeyspaceInfo is a Keyspace record with its name and the version read.
type KeyspaceInfo struct {
	Name     string
	Keyspace *topodatapb.Keyspace
	Version  Version
}

func newKeyspace() *topodatapb.Keyspace { return &topodatapb.Keyspace{} }

// CreateKeyspace writes keyspaces/<name>/Keyspace in the global cell; a
// nil ks stores an empty record. Errors: NodeExists.
func (s *Server) CreateKeyspace(ctx context.Context, name string, ks *topodatapb.Keyspace) error {
	if err := ValidateName("keyspace", name); err != nil {
		return fmt.Errorf("create keyspace: %w", err)
	}
	if ks == nil {
		ks = newKeyspace()
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	if _, err := createRecord(ctx, s.global, KeyspacePath(name), ks); err != nil {
		return fmt.Errorf("create keyspace %s: %w", name, err)
	}
	return nil
}

// GetKeyspace reads a Keyspace record. Errors: NoNode.
func (s *Server) GetKeyspace(ctx context.Context, name string) (*KeyspaceInfo, error) {
	if err := ValidateName("keyspace", name); err != nil {
		return nil, fmt.Errorf("get keyspace: %w", err)
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	ks, v, err := getRecord(ctx, s.global, KeyspacePath(name), newKeyspace)
	if err != nil {
		return nil, fmt.Errorf("get keyspace %s: %w", name, err)
	}
	return &KeyspaceInfo{Name: name, Keyspace: ks, Version: v}, nil
}

// UpdateKeyspaceFields changes a Keyspace record with update (read,
// modify, compare-and-swap, retried while others write) and returns it as
// stored. update may be called more than once and may return
// ErrNoUpdateNeeded. Errors: NoNode.
func (s *Server) UpdateKeyspaceFields(ctx context.Context, name string, update func(*topodatapb.Keyspace) error) (*KeyspaceInfo, error) {
	if err := ValidateName("keyspace", name); err != nil {
		return nil, fmt.Errorf("update keyspace: %w", err)
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	ks, v, err := updateRecord(ctx, s.global, KeyspacePath(name), newKeyspace, false, update)
	if err != nil {
		return nil, fmt.Errorf("update keyspace %s: %w", name, err)
	}
	return &KeyspaceInfo{Name: name, Keyspace: ks, Version: v}, nil
}

// GetKeyspaceNames lists the keyspaces, sorted; none is an empty list.
func (s *Server) GetKeyspaceNames(ctx context.Context) ([]string, error) {
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	entries, err := s.global.List(ctx, KeyspacesPath)
	if errors.Is(err, ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list keyspaces: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.Dir {
			names = append(names, e.Name)
		}
	}
	return names, nil
}
