// Package blobstore stores backups in object storage or a filesystem,
// addressed by URL, through the Go Cloud Development Kit's portable blob
// API (gocloud.dev/blob): one implementation of backup.Storage for every
// backend, with no per-cloud code of ours.
//
// Supported URLs (each driver's documentation lists its query parameters):
//
//	file:///var/backups                      a local or mounted directory (created if missing)
//	s3://bucket?region=us-east-1             Amazon S3
//	s3://bucket?endpoint=http://host:9000&use_path_style=true&region=us-east-1
//	                                         any S3-compatible server
//	gs://bucket                              Google Cloud Storage
//	azblob://container                       Azure Blob Storage
//
// The GCS and Azure drivers are large (about 30 and 5 MB of binary):
// build tags nogcs and noazblob leave them out, and Open then refuses
// their URLs, saying so.
//
// A path after the bucket (s3://bucket/tablets/), or a prefix= query
// parameter, puts every key under that prefix. Credentials come from each
// cloud's standard sources, never from the URL: AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (or a profile, or an instance role),
// GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_ACCOUNT with
// AZURE_STORAGE_KEY or a SAS token.
//
// Usage:
//
//	store, err := blobstore.Open(ctx, cfg.StorageURL)
//	if err != nil { ... }
//	defer store.Close()
//	m, err := backup.New(cfg, backup.Deps{Storage: store, ...})
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"github.com/tabletd/tablet/backup"
)

// Store is a backup.Storage over one bucket. It is safe for concurrent use.
type Store struct {
	url    string // with any query removed, for messages
	bucket *blob.Bucket
	// root is, for a file URL, the directory keys live under; Delete
	// removes the directories it empties, up to root.
	root string
}

var _ backup.Storage = (*Store)(nil)

// Open opens the bucket rawURL names. It checks the URL and builds the
// client, but (for cloud stores) does not contact the service: the first
// operation does. The caller closes the Store.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("backup storage URL %q: %w", rawURL, err)
	}
	mux := new(blob.URLMux)
	var root string
	switch u.Scheme {
	case fileblob.Scheme:
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("backup storage URL %q: a file URL takes an absolute path: file:///var/backups", rawURL)
		}
		root = filepath.Join(filepath.FromSlash(u.Path), filepath.FromSlash(u.Query().Get("prefix")))
		// Temporary files beside their target, so that the final rename
		// never crosses filesystems; no attribute side files.
		mux.RegisterBucket(fileblob.Scheme, &fileblob.URLOpener{Options: fileblob.Options{
			CreateDir: true,
			NoTempDir: true,
			Metadata:  fileblob.MetadataDontWrite,
		}})
	case s3blob.Scheme, gcsScheme, azureScheme:
		// Each driver's own opener, which reads the cloud's standard
		// credentials; importing the driver registered it on the default
		// mux.
		opener := map[string]blob.BucketURLOpener{
			s3blob.Scheme: blob.DefaultURLMux(),
			gcsScheme:     gcsOpener(),
			azureScheme:   azureOpener(),
		}[u.Scheme]
		if opener == nil {
			return nil, fmt.Errorf("backup storage URL %q: this binary was built without the %s driver (build tag no%s)", rawURL, u.Scheme, u.Scheme)
		}
		mux.RegisterBucket(u.Scheme, opener)
		if p := strings.Trim(u.Path, "/"); p != "" {
			q := u.Query()
			q.Set("prefix", p+"/"+q.Get("prefix"))
			u.Path, u.RawQuery = "", q.Encode()
		}
	default:
		return nil, fmt.Errorf("backup storage URL %q: scheme %q is not one of file, s3, gs, azblob", rawURL, u.Scheme)
	}
	b, err := mux.OpenBucketURL(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("open backup storage %s: %w", redact(u), err)
	}
	return &Store{url: redact(u), bucket: b, root: root}, nil
}

// redact drops the query (which may hold a SAS token) from u for messages.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	return c.String()
}

// String is the store's URL without its query.
func (s *Store) String() string { return s.url }

// Close releases the bucket's resources.
func (s *Store) Close() error { return s.bucket.Close() }

// Put stores data under key. Integrity in transit is the cloud SDK's (the
// AWS SDK sends a CRC-32 of each request); the backup's own SHA-256 of
// every file covers the rest, so no MD5 is computed here (it cost a tenth
// of a backup's CPU).
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	// Cancelling wctx aborts the write: nothing is stored.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.bucket.NewWriter(wctx, key, &blob.WriterOptions{
		ContentType: "application/octet-stream",
		// One request for files up to the buffer size: a stripe.
		BufferSize: max(len(data), 5<<20),
	})
	if err != nil {
		return s.wrap("write", key, err)
	}
	if _, err := w.Write(data); err != nil {
		cancel()
		w.Close()
		return s.wrap("write", key, err)
	}
	if err := w.Close(); err != nil {
		return s.wrap("write", key, err)
	}
	return nil
}

// Get opens the object at key.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return nil, s.wrap("read", key, err)
	}
	return readCloser{r: r, s: s, key: key}, nil
}

// readCloser wraps read errors with the key.
type readCloser struct {
	r   *blob.Reader
	s   *Store
	key string
}

// Read reads the object, naming it in errors.
func (r readCloser) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = r.s.wrap("read", r.key, err)
	}
	return n, err
}

// Close closes the object's reader.
func (r readCloser) Close() error { return r.r.Close() }

// List returns the objects and sub-directories directly under prefix.
func (s *Store) List(ctx context.Context, prefix string) ([]backup.Entry, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		return nil, fmt.Errorf("list %s in %s: a directory prefix must end in /", prefix, s.url)
	}
	var out []backup.Entry
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, s.wrap("list", prefix, err)
		}
		if obj.Key == prefix {
			continue // a directory marker object some tools create
		}
		out = append(out, backup.Entry{Key: obj.Key, Size: obj.Size, IsDir: obj.IsDir})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete removes the object at key; an absent one is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.bucket.Delete(ctx, key)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return s.wrap("delete", key, err)
	}
	if s.root != "" {
		// A filesystem keeps the directories an object store only
		// implies: remove those this left empty. Failing to is harmless
		// (empty directories are not listed).
		for dir := filepath.Dir(filepath.Join(s.root, filepath.FromSlash(key))); len(dir) > len(s.root) &&
			strings.HasPrefix(dir, s.root+string(filepath.Separator)); dir = filepath.Dir(dir) {
			if os.Remove(dir) != nil {
				break
			}
		}
	}
	return nil
}

// wrap names the operation, key and store in err, and maps a missing
// object to backup.ErrNotFound.
func (s *Store) wrap(op, key string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%s %s in %s: %w", op, key, s.url, errors.Join(backup.ErrNotFound, err))
	}
	return fmt.Errorf("%s %s in %s: %w", op, key, s.url, err)
}
