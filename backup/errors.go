package backup

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Callers branch on them with errors.Is; messages wrapping
// them name the backup, the file or the directory concerned.
var (
	// ErrBusy means another backup or restore is running on this tablet:
	// one runs at a time, and a second request is refused, not queued.
	ErrBusy = errors.New("backup: another backup or restore is running on this tablet")

	// ErrNotFound means a stored object, or a named backup, does not exist.
	// Storage implementations wrap it for absent keys.
	ErrNotFound = errors.New("backup: not found")

	// ErrNoBackup means the shard has no backup at all.
	ErrNoBackup = errors.New("backup: no backup found")

	// ErrNoCompleteBackup means the shard has backups, but none has a
	// MANIFEST: every one of them failed or is still being written.
	ErrNoCompleteBackup = errors.New("backup: no complete backup found")

	// ErrEmptyDatabase means a backup was refused because the database
	// holds no user data while the shard may already serve (or already has
	// backups): storing it would let new tablets restore an empty shard.
	ErrEmptyDatabase = errors.New("backup: refusing to back up an empty database")

	// ErrDataPresent means a restore was refused because the datadir
	// already holds user data and no interrupted restore is recorded there.
	ErrDataPresent = errors.New("backup: datadir already holds data")

	// ErrIncompatible means a backup cannot be restored here: it was made
	// by another engine or from another flavor of server.
	ErrIncompatible = errors.New("backup: backup is incompatible with this tablet")

	// ErrChecksum means a stored file did not match the size or SHA-256
	// its MANIFEST records. The error is a *ChecksumError.
	ErrChecksum = errors.New("backup: checksum mismatch")

	// ErrExists means a backup of the same name already exists.
	ErrExists = errors.New("backup: backup already exists")
)

// ChecksumError reports a stored file whose content does not match its
// MANIFEST entry. errors.Is(err, ErrChecksum) holds for it.
type ChecksumError struct {
	// Key is the storage key of the file.
	Key string
	// WantSize and GotSize are the recorded and downloaded sizes in bytes.
	WantSize, GotSize int64
	// WantSHA256 and GotSHA256 are hex digests; GotSHA256 is empty when
	// the sizes already differ.
	WantSHA256, GotSHA256 string
}

// Error names the file and what differs.
func (e *ChecksumError) Error() string {
	if e.WantSize != e.GotSize {
		return fmt.Sprintf("backup: checksum mismatch in %s: size %d bytes, MANIFEST says %d", e.Key, e.GotSize, e.WantSize)
	}
	return fmt.Sprintf("backup: checksum mismatch in %s: sha256 %s, MANIFEST says %s", e.Key, e.GotSHA256, e.WantSHA256)
}

// Is makes errors.Is(err, ErrChecksum) true.
func (e *ChecksumError) Is(target error) bool { return target == ErrChecksum }

// ToolError reports a backup tool (xtrabackup, mariabackup, xbstream,
// mbstream) that failed. It keeps the end of the tool's stderr, which says
// why far better than its exit status.
type ToolError struct {
	// Tool is the binary's path and Args its arguments (never a password:
	// those travel in the environment).
	Tool string
	Args []string
	// Err is the exit error, or the error that kept the tool from running.
	Err error
	// Stderr is the tail of the tool's standard error output.
	Stderr string
}

// Error names the command and quotes the tail of its stderr.
func (e *ToolError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %v", e.Tool, strings.Join(e.Args, " "), e.Err)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		b.WriteString("; stderr ends:\n")
		b.WriteString(s)
	}
	return b.String()
}

// Unwrap returns the exit error.
func (e *ToolError) Unwrap() error { return e.Err }
