package topo

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// GlobalCell is the name under which Server reaches the global topology.
// No local cell may have this name.
const GlobalCell = "global"

// File and directory names of the records, as Vitess writes them.
const (
	CellsPath     = "cells"
	KeyspacesPath = "keyspaces"
	ShardsPath    = "shards"
	TabletsPath   = "tablets"
	// LocksPath is the subdirectory of a locked directory that holds the
	// lock nodes.
	LocksPath = "locks"
	// ElectionsPath is the top directory of leader elections.
	ElectionsPath = "elections"

	CellInfoFile         = "CellInfo"
	KeyspaceFile         = "Keyspace"
	ShardFile            = "Shard"
	VSchemaFile          = "VSchema"
	TabletFile           = "Tablet"
	ShardReplicationFile = "ShardReplication"
	SrvKeyspaceFile      = "SrvKeyspace"
	// SrvVSchemaFile is the name Vitess uses; the topology service
	// documentation spells it "SvrVSchema" in one place, a typo.
	SrvVSchemaFile = "SrvVSchema"
)

// CellInfoPath is cells/<cell>/CellInfo, in the global cell.
func CellInfoPath(cell string) string { return path.Join(CellsPath, cell, CellInfoFile) }

// KeyspaceDir is keyspaces/<keyspace>, the directory locked for keyspace
// actions.
func KeyspaceDir(keyspace string) string { return path.Join(KeyspacesPath, keyspace) }

// KeyspacePath is keyspaces/<keyspace>/Keyspace, in the global cell.
func KeyspacePath(keyspace string) string { return path.Join(KeyspaceDir(keyspace), KeyspaceFile) }

// VSchemaPath is keyspaces/<keyspace>/VSchema, in the global cell.
func VSchemaPath(keyspace string) string { return path.Join(KeyspaceDir(keyspace), VSchemaFile) }

// ShardDir is keyspaces/<keyspace>/shards/<shard>, the directory locked for
// shard actions.
func ShardDir(keyspace, shard string) string {
	return path.Join(KeyspacesPath, keyspace, ShardsPath, shard)
}

// ShardPath is keyspaces/<keyspace>/shards/<shard>/Shard, in the global
// cell.
func ShardPath(keyspace, shard string) string { return path.Join(ShardDir(keyspace, shard), ShardFile) }

// ShardReplicationPath is keyspaces/<keyspace>/shards/<shard>/ShardReplication,
// in a local cell.
func ShardReplicationPath(keyspace, shard string) string {
	return path.Join(ShardDir(keyspace, shard), ShardReplicationFile)
}

// SrvKeyspacePath is keyspaces/<keyspace>/SrvKeyspace, in a local cell.
func SrvKeyspacePath(keyspace string) string {
	return path.Join(KeyspaceDir(keyspace), SrvKeyspaceFile)
}

// SrvVSchemaPath is SrvVSchema, in a local cell.
func SrvVSchemaPath() string { return SrvVSchemaFile }

// TabletDir is tablets/<cell>-<uid>, with the uid padded to 10 digits.
func TabletDir(alias string) string { return path.Join(TabletsPath, alias) }

// TabletPath is tablets/<cell>-<uid>/Tablet, in the tablet's cell; alias
// is as TabletAliasString formats it.
func TabletPath(alias string) string { return path.Join(TabletDir(alias), TabletFile) }

// ElectionDir is elections/<name>.
func ElectionDir(name string) string { return path.Join(ElectionsPath, name) }

// ValidateName checks a cell, keyspace or shard name: not empty, no "/",
// not "." or "..". kind names the thing in the error ("keyspace").
func ValidateName(kind, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s name is empty", kind)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("%s name %q contains '/' or NUL", kind, name)
	case name == "." || name == "..":
		return fmt.Errorf("%s name %q is not allowed", kind, name)
	}
	return nil
}

// CleanPath normalises a path relative to a Conn's root: a leading "/" is
// dropped and "." elements are resolved. It returns "" for the root and an
// error for a path that would leave the root or holds NUL.
func CleanPath(p string) (string, error) {
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("topo path %q contains NUL", p)
	}
	c := path.Clean("/" + p)
	if strings.Contains(p, "..") {
		for _, elem := range strings.Split(p, "/") {
			if elem == ".." {
				return "", fmt.Errorf("topo path %q contains '..'", p)
			}
		}
	}
	return strings.TrimPrefix(c, "/"), nil
}

// CleanFilePath is CleanPath that also refuses the root, which is not a
// file.
func CleanFilePath(p string) (string, error) {
	c, err := CleanPath(p)
	if err != nil {
		return "", err
	}
	if c == "" {
		return "", fmt.Errorf("topo path %q names the root, not a file", p)
	}
	return c, nil
}

// JoinRoot joins a backend root and a cleaned relative path into the full
// key, as Vitess's etcd2 backend does (path.Join(root, rel)).
func JoinRoot(root, rel string) string {
	return path.Join(root, rel)
}

// ChildEntries turns the full keys under the directory prefix (which ends
// in "/") into that directory's direct children, sorted by name. Backends
// with flat key spaces use it to implement List. Keys not under prefix are
// ignored.
func ChildEntries(prefix string, keys []string) []DirEntry {
	dirs := make(map[string]bool)
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok || rest == "" {
			continue
		}
		name, _, isDir := strings.Cut(rest, "/")
		dirs[name] = dirs[name] || isDir
	}
	entries := make([]DirEntry, 0, len(dirs))
	for name, dir := range dirs {
		entries = append(entries, DirEntry{Name: name, Dir: dir})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	return entries
}

// DirPrefix is the key prefix of the children of the directory rel under
// root: the full directory key followed by "/".
func DirPrefix(root, rel string) string {
	d := JoinRoot(root, rel)
	if d == "/" || d == "" {
		return d
	}
	return d + "/"
}
