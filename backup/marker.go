package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// MarkerFile is the restore-in-progress marker: Restore writes it into the
// datadir before it changes anything there, and removes it only once mysqld
// runs on the restored data and the caller's Configure step succeeded. A
// datadir holding it is never data: the restore was interrupted, and Plan
// says to restore again.
const MarkerFile = "RESTORE_IN_PROGRESS"

// RestoreMarker is the content of the marker file.
type RestoreMarker struct {
	// Backup is the backup being restored, from Keyspace/Shard.
	Backup   string `json:"backup"`
	Keyspace string `json:"keyspace"`
	Shard    string `json:"shard"`
	// Started is when the restore began.
	Started time.Time `json:"started"`
	// Staging is where the backup is unpacked and prepared before it
	// moves into the datadir; a failed restore leaves its files there.
	Staging string `json:"staging"`
	// PID is the process that wrote the marker.
	PID int `json:"pid"`
}

// ReadRestoreMarker returns the marker in dataDir, or nil when there is
// none. A marker that cannot be parsed still counts: it is returned with
// only Backup set to "unknown".
func ReadRestoreMarker(dataDir string) (*RestoreMarker, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, MarkerFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read restore marker: %w", err)
	}
	var mk RestoreMarker
	if json.Unmarshal(b, &mk) != nil || mk.Backup == "" {
		mk = RestoreMarker{Backup: "unknown"}
	}
	return &mk, nil
}

// writeMarker creates dataDir if needed and writes mk into it, durably.
func writeMarker(dataDir string, mk RestoreMarker) error {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return fmt.Errorf("create datadir: %w", err)
	}
	b, err := json.MarshalIndent(mk, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dataDir, MarkerFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("write restore marker: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write restore marker: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write restore marker: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write restore marker: %w", err)
	}
	return syncDir(dataDir)
}

// removeMarker removes the marker from dataDir, durably.
func removeMarker(dataDir string) error {
	if err := os.Remove(filepath.Join(dataDir, MarkerFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove restore marker: %w", err)
	}
	return syncDir(dataDir)
}

// syncDir makes the entries of dir (creations, renames, removals) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
