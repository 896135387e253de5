package backup

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// manifestVersion is the MANIFEST format this package writes and reads.
const manifestVersion = 1

// maxStripeBytes is the largest stripe a MANIFEST may describe: the
// largest --backup-stripe-bytes.
const maxStripeBytes = 1 << 30

// maxStoredStripeBytes is the most a stripe of size raw bytes takes once
// compressed: zstd and gzip never grow data by more, and the backup sizes
// its compression buffers the same way.
func maxStoredStripeBytes(raw int64) int64 { return raw + raw/64 + 1024 }

// Manifest describes one complete backup. It is stored as JSON in the
// backup's MANIFEST file, written after every stripe is stored: a backup
// directory without it is incomplete and is never listed or restored.
type Manifest struct {
	// FormatVersion is the MANIFEST format, 1.
	FormatVersion int `json:"format_version"`
	// Name is the backup's name (its directory), see Name.
	Name string `json:"name"`
	// Keyspace, Shard and TabletAlias say whose backup this is.
	Keyspace    string `json:"keyspace"`
	Shard       string `json:"shard"`
	TabletAlias string `json:"tablet_alias"`

	// Engine is the engine that made it ("xtrabackup"); Tool and
	// ToolVersion the binary ("mariabackup") and what its --version said.
	Engine      string `json:"engine"`
	Tool        string `json:"tool"`
	ToolVersion string `json:"tool_version,omitempty"`
	// Flavor ("mysql57", "mysql80", "mariadb") and ServerVersion (as SELECT
	// VERSION() answered) describe the server backed up; a restore needs
	// a server of the same family.
	Flavor        string `json:"flavor"`
	ServerVersion string `json:"server_version"`

	// Position is the GTID position of the data in the backup, from the
	// tool's binlog info file: a server restored from it has applied
	// exactly these transactions. MariaDB "0-1-42", MySQL "uuid:1-42".
	// Empty only for the initial backup of a server that has written no
	// transaction yet.
	Position string `json:"position"`
	// BinlogFile and BinlogPos are the matching coordinates in the backed
	// up server's own binary log.
	BinlogFile string `json:"binlog_file,omitempty"`
	BinlogPos  uint64 `json:"binlog_pos,omitempty"`
	// ReplicaInfo is the tool's replica info file (with --slave-info): the
	// backed up replica's source position, for information.
	ReplicaInfo string `json:"replica_info,omitempty"`

	// StartTime and EndTime bound the backup, in UTC.
	StartTime time.Time `json:"start_time"`
	EndTime   time.Time `json:"end_time"`

	// Compression is how each stripe was compressed ("zstd", "gzip",
	// "none"); each stripe is an independent frame or member.
	Compression string `json:"compression"`
	// StripeBytes is the stream bytes per stripe before compression.
	StripeBytes int64 `json:"stripe_bytes"`
	// RawBytes is the length of the tool's stream; StoredBytes the sum of
	// the stored files' sizes.
	RawBytes    int64 `json:"raw_bytes"`
	StoredBytes int64 `json:"stored_bytes"`
	// Files are the stripes in stream order.
	Files []File `json:"files"`
}

// File is one stored stripe.
type File struct {
	// Name is the file's name within the backup directory.
	Name string `json:"name"`
	// Size is its stored (compressed) size and RawSize the stream bytes it
	// holds, in bytes.
	Size    int64 `json:"size"`
	RawSize int64 `json:"raw_size"`
	// SHA256 is the hex SHA-256 of the stored bytes.
	SHA256 string `json:"sha256"`
}

// Duration is how long the backup took.
func (m *Manifest) Duration() time.Duration { return m.EndTime.Sub(m.StartTime) }

// Encode returns m as indented JSON.
func (m *Manifest) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode MANIFEST of %s: %w", m.Name, err)
	}
	return append(b, '\n'), nil
}

// DecodeManifest parses and checks a MANIFEST.
func DecodeManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode MANIFEST: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks that m is a MANIFEST this package can restore from.
func (m *Manifest) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if m.FormatVersion != manifestVersion {
		bad("format_version %d, want %d", m.FormatVersion, manifestVersion)
	}
	for what, v := range map[string]string{"name": m.Name, "keyspace": m.Keyspace, "shard": m.Shard, "tablet_alias": m.TabletAlias} {
		if err := checkElement(what, v); err != nil {
			bad("%v", err)
		}
	}
	if m.Engine == "" || m.Tool == "" || m.Flavor == "" {
		bad("engine, tool and flavor must be set")
	}
	if _, err := newCodec(m.Compression, 0); err != nil {
		bad("%v", err)
	}
	if len(m.Files) == 0 {
		bad("no files")
	}
	// A restore allocates buffers of the largest stripe's sizes, so they
	// are bounded here: a damaged MANIFEST fails validation rather than
	// the allocation.
	if m.StripeBytes <= 0 || m.StripeBytes > maxStripeBytes {
		bad("stripe_bytes %d: must be between 1 and %d", m.StripeBytes, int64(maxStripeBytes))
	}
	var raw, stored int64
	for i, f := range m.Files {
		if err := checkElement("file name", f.Name); err != nil || f.Name == ManifestFile {
			bad("file %d: bad name %q", i, f.Name)
		}
		if f.Size < 0 || f.RawSize < 0 {
			bad("file %s: negative size", f.Name)
		}
		if m.StripeBytes > 0 && (f.RawSize > m.StripeBytes || f.Size > maxStoredStripeBytes(m.StripeBytes)) {
			bad("file %s: %d stored and %d raw bytes do not fit a stripe of %d bytes", f.Name, f.Size, f.RawSize, m.StripeBytes)
		}
		if d, err := hex.DecodeString(f.SHA256); err != nil || len(d) != 32 {
			bad("file %s: sha256 %q is not 64 hex digits", f.Name, f.SHA256)
		}
		raw += f.RawSize
		stored += f.Size
	}
	if len(errs) == 0 && (raw != m.RawBytes || stored != m.StoredBytes) {
		bad("files add up to %d raw and %d stored bytes, totals say %d and %d", raw, stored, m.RawBytes, m.StoredBytes)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid MANIFEST of %q: %w", m.Name, err)
	}
	return nil
}
