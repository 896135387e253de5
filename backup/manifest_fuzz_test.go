package backup_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/backup"
)

// fuzzManifest is a valid MANIFEST of two stripes.
func fuzzManifest() *backup.Manifest {
	start := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	return &backup.Manifest{
		FormatVersion: 1, Name: "2024-05-06.070809.zone1-0000000100", Keyspace: "commerce", Shard: "-80",
		TabletAlias: "zone1-0000000100", Engine: "xtrabackup", Tool: "mariabackup", ToolVersion: "10.11.6",
		Flavor: "mariadb", ServerVersion: "10.11.6-MariaDB", Position: "0-1-42",
		BinlogFile: "bin.000002", BinlogPos: 1234, StartTime: start, EndTime: start.Add(3 * time.Second),
		Compression: "zstd", StripeBytes: 1 << 20, RawBytes: 1<<20 + 10, StoredBytes: 300,
		Files: []backup.File{
			{Name: "backup.xbstream.000000.zst", Size: 200, RawSize: 1 << 20, SHA256: strings.Repeat("ab", 32)},
			{Name: "backup.xbstream.000001.zst", Size: 100, RawSize: 10, SHA256: strings.Repeat("0F", 32)},
		},
	}
}

// maxStoredBytes is the most a stored stripe of raw bytes can take: what
// the backup sizes its compression buffers for.
func maxStoredBytes(raw int64) int64 { return raw + raw/64 + 1024 }

// FuzzDecodeManifest decodes arbitrary bytes as a MANIFEST: it never
// panics; bytes it refuses get an error that says it is the MANIFEST
// that is bad; a MANIFEST it accepts is one a restore can use safely
// (names that stay inside the backup's directory, sizes a restore can
// allocate buffers for) and reads back the same after Encode.
func FuzzDecodeManifest(f *testing.F) {
	valid, err := fuzzManifest().Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	for _, edit := range []func(*backup.Manifest){
		func(m *backup.Manifest) { m.Files[0].Name = "../../etc/passwd" },
		func(m *backup.Manifest) { m.Files[1].Name = "MANIFEST" },
		func(m *backup.Manifest) { m.Files[0].SHA256 = "zz" },
		func(m *backup.Manifest) { m.Files[0].Size = -1 },
		func(m *backup.Manifest) { m.Files = nil; m.RawBytes, m.StoredBytes = 0, 0 },
		func(m *backup.Manifest) { m.Compression = "lz4" },
		func(m *backup.Manifest) { m.FormatVersion = 2 },
		func(m *backup.Manifest) { m.Keyspace = "a/b" },
		func(m *backup.Manifest) { m.Name = "x\x00y" },
		// Sizes a restore would try to allocate.
		func(m *backup.Manifest) {
			m.Files[1].RawSize, m.Files[1].Size = 1<<62, 1<<62
			m.RawBytes, m.StoredBytes = 1<<20+1<<62, 200+1<<62
		},
		func(m *backup.Manifest) { m.Compression = "none"; m.StripeBytes = 0 },
	} {
		m := fuzzManifest()
		edit(m)
		b, err := m.Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "{}", "null", "[]", `{"files": [null]}`, `{"format_version": 1e400}`,
		`{"start_time": "not a time"}`, "\xff\xfe", `{"name": "\ud800"}`} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := backup.DecodeManifest(b)
		if err != nil {
			msg := err.Error()
			if m != nil || !(strings.HasPrefix(msg, "decode MANIFEST: ") || strings.HasPrefix(msg, "invalid MANIFEST of ")) {
				t.Fatalf("DecodeManifest(%q) = %v, error %q: want no manifest and an error about the MANIFEST", b, m, msg)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("DecodeManifest accepted a manifest Validate refuses: %v", err)
		}
		if len(m.Files) == 0 {
			t.Fatalf("DecodeManifest(%q) accepted a backup of no files", b)
		}
		var raw, stored int64
		for _, f := range m.Files {
			if f.Name == "" || f.Name == "." || f.Name == ".." || f.Name == backup.ManifestFile || strings.ContainsAny(f.Name, "/\\") {
				t.Fatalf("DecodeManifest(%q) accepted file name %q", b, f.Name)
			}
			if f.RawSize < 0 || f.RawSize > m.StripeBytes || f.Size < 0 || f.Size > maxStoredBytes(m.StripeBytes) {
				t.Fatalf("DecodeManifest(%q) accepted file %s of %d stored and %d raw bytes with %d-byte stripes",
					b, f.Name, f.Size, f.RawSize, m.StripeBytes)
			}
			raw += f.RawSize
			stored += f.Size
		}
		if raw != m.RawBytes || stored != m.StoredBytes {
			t.Fatalf("DecodeManifest(%q) accepted totals %d/%d for files adding up to %d/%d", b, m.RawBytes, m.StoredBytes, raw, stored)
		}

		enc, err := m.Encode()
		if err != nil {
			t.Fatalf("encode an accepted MANIFEST: %v", err)
		}
		again, err := backup.DecodeManifest(enc)
		if err != nil {
			t.Fatalf("decode(encode(%q)) = %v\n%s", b, err, enc)
		}
		enc2, err := again.Encode()
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("MANIFEST does not round-trip: %s\nthen\n%s (%v)", enc, enc2, err)
		}
		if !again.StartTime.Equal(m.StartTime) || !again.EndTime.Equal(m.EndTime) || again.Name != m.Name ||
			len(again.Files) != len(m.Files) || again.Position != m.Position {
			t.Fatalf("MANIFEST does not round-trip: %+v then %+v", m, again)
		}
	})
}
