package topo

import (
	"context"
	"strconv"
)

// Version is the version of a stored node: it changes on every write, and
// a compare-and-swap names the version it read. Versions are positive; the
// zero Version means "no version" (see Conn.Update and Conn.Delete). For
// etcd2 it is the key's ModRevision, so versions grow across the whole
// store, not only per node; callers must treat them as opaque tokens.
type Version int64

// String formats the version as a decimal number.
func (v Version) String() string { return strconv.FormatInt(int64(v), 10) }

// DirEntry is one child of a directory returned by Conn.List.
type DirEntry struct {
	// Name is the child's name, without the directory.
	Name string
	// Dir is true when the child has children of its own. A name can be
	// both a file and a directory (a record whose directory is also
	// locked); Dir is then true.
	Dir bool
}

// WatchData is one value delivered by Conn.Watch: the node's contents and
// version, or an error (Err non-nil, Contents and Version empty).
type WatchData struct {
	Contents []byte
	Version  Version
	Err      error
}

// Conn is a connection to one cell's topology store: the global cell or a
// local cell, under a root path the backend was opened with. Paths are
// relative to that root, use "/" as separator and may start with "/"
// ("keyspaces/ks/Keyspace" and "/keyspaces/ks/Keyspace" are the same
// node). Directories are implicit: a directory exists while it has a
// descendant.
//
// Every method that talks to the store takes a context and returns when it
// ends, with an *Error of code Timeout (deadline) or Interrupted
// (cancelled). A Conn adds no timeout of its own: with an unreachable
// store, a call under a context without deadline waits for the store to
// return (Server gives every call a deadline). Errors name the full path,
// root included. Methods are safe for concurrent use.
type Conn interface {
	// Create stores contents at path, which must not exist, and returns the
	// new version. Errors: NodeExists.
	Create(ctx context.Context, path string, contents []byte) (Version, error)

	// Update replaces the contents at path if its version is still version,
	// and returns the new version. With the zero version it writes
	// unconditionally, creating the node if missing. Errors: BadVersion (the
	// node changed), NoNode (a version was given and the node is gone).
	Update(ctx context.Context, path string, contents []byte, version Version) (Version, error)

	// Get returns the contents and version at path. Errors: NoNode.
	Get(ctx context.Context, path string) ([]byte, Version, error)

	// List returns the direct children of the directory dirPath, sorted by
	// name. The root is "" or "/". Errors: NoNode (nothing under dirPath).
	List(ctx context.Context, dirPath string) ([]DirEntry, error)

	// Delete removes the node at path; with a non-zero version only if the
	// node still has it. Errors: NoNode, BadVersion.
	Delete(ctx context.Context, path string, version Version) error

	// Watch returns the current contents of path and a channel that then
	// receives every change, in order. When the node is deleted the channel
	// receives a WatchData whose Err is NoNode and is closed. When ctx ends
	// the channel is closed, possibly after a WatchData whose Err is
	// Interrupted. Any other failure is delivered as a final Err before
	// closing. The Conn closes the channel; the caller must read it until
	// closed or cancel ctx. If path does not exist, Watch returns NoNode
	// and no channel.
	Watch(ctx context.Context, path string) (*WatchData, <-chan *WatchData, error)

	// Lock takes the exclusive lock on the directory dirPath, which must
	// exist, and records contents (who holds it and why) in the lock node.
	// It blocks until the lock is held or ctx ends. The lock is released by
	// Unlock, or when the holder's lease expires: the holder is kept alive
	// by its Conn, so a holder whose process dies or whose Conn is closed
	// loses the lock within the lease TTL. Errors: NoNode (no such
	// directory), Timeout, Interrupted.
	Lock(ctx context.Context, dirPath, contents string) (LockDescriptor, error)

	// NewLeaderParticipation returns a participant named id in the leader
	// election name. It does not contact the store; see
	// LeaderParticipation.
	NewLeaderParticipation(name, id string) (LeaderParticipation, error)

	// Close releases the connection. It does not release locks or
	// leadership held through it: their leases expire within the lease TTL,
	// as if the process had died; Unlock and Stop first for a prompt
	// release. Watches end. Close is idempotent; other methods return
	// Interrupted after it.
	Close() error
}

// LockDescriptor is a lock held through Conn.Lock. Methods are safe for
// concurrent use.
type LockDescriptor interface {
	// Check returns nil if the lock is still held: its lease is alive and
	// its node exists. Errors: NoNode (lost), or the store's error.
	Check(ctx context.Context) error

	// Unlock releases the lock. A second Unlock returns nil.
	Unlock(ctx context.Context) error
}

// LeaderParticipation is one participant in a leader election: at most
// one participant of an election leads at a time. The oldest live
// participant leads; the others wait for it to step down or for its lease
// to expire.
type LeaderParticipation interface {
	// WaitForLeadership joins the election and blocks until this
	// participant leads or ctx ends. It returns a context that is cancelled
	// when leadership ends: on Stop, or when the lease is lost. That context
	// does not derive from ctx. It may be called once; after Stop it returns
	// Interrupted.
	WaitForLeadership(ctx context.Context) (context.Context, error)

	// Stop leaves the election, stepping down if leading, and interrupts a
	// pending WaitForLeadership, which then returns Interrupted. It returns
	// once held leadership is released, waiting at most about one lease TTL
	// when the store is unreachable (the lease then expires by itself). It
	// is idempotent.
	Stop()

	// GetCurrentLeaderID returns the id of the current leader, or "" if
	// there is none.
	GetCurrentLeaderID(ctx context.Context) (string, error)
}

// OpenFunc opens a Conn to the store at serverAddress, under root. The
// typed Server uses it to reach cells from their CellInfo. serverAddress
// has the form of CellInfo.server_address for the implementation.
type OpenFunc func(ctx context.Context, serverAddress, root string) (Conn, error)
