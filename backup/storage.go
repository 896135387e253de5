package backup

import (
	"context"
	"io"
)

// Storage is where backups live: a flat namespace of keys such as
// "commerce/-/2024-05-01.120000.zone1-0000000100/MANIFEST", over an object
// store or a filesystem. Keys use "/" as separator; a "directory" is a
// prefix ending in "/". The blobstore subpackage implements it for every
// supported URL scheme; storagetest holds the conformance suite every
// implementation passes and an in-memory one for tests.
//
// Implementations are safe for concurrent use. Errors name the key.
type Storage interface {
	// Put stores data under key, replacing any object there. The object
	// becomes readable only when Put returns nil: a failed or cancelled
	// Put leaves no partial object under key.
	Put(ctx context.Context, key string, data []byte) error

	// Get opens the object at key for reading; the caller closes it. An
	// absent key gives an error wrapping ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)

	// List returns what lies directly under the directory prefix (which
	// ends in "/", or is empty for the root), sorted by key: objects, and
	// sub-directories as entries whose key ends in "/". A prefix with
	// nothing under it gives an empty list, not an error.
	List(ctx context.Context, prefix string) ([]Entry, error)

	// Delete removes the object at key. Removing an absent object is not
	// an error.
	Delete(ctx context.Context, key string) error
}

// Entry is one result of Storage.List.
type Entry struct {
	// Key is the object's full key, or the sub-directory's full prefix
	// ending in "/".
	Key string
	// Size is the object's size in bytes; zero for a directory.
	Size int64
	// IsDir reports a sub-directory.
	IsDir bool
}
