package backup

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if DefaultConfig().Enabled() {
		t.Error("backups are on by default")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string // "" for valid; else a substring, naming the flag
	}{
		{"file url", func(c *Config) { c.StorageURL = "file:///var/backups" }, ""},
		{"s3 url", func(c *Config) { c.StorageURL = "s3://bucket/prefix?region=us-east-1" }, ""},
		{"gs url", func(c *Config) { c.StorageURL = "gs://bucket" }, ""},
		{"azblob url", func(c *Config) { c.StorageURL = "azblob://container" }, ""},
		{"mariabackup", func(c *Config) { c.Engine = EngineMariaBackup }, ""},
		{"gzip level 9", func(c *Config) { c.Compression, c.CompressionLevel = CompressionGzip, 9 }, ""},
		{"retention", func(c *Config) { c.RetentionCount, c.RetentionAge = 7, 30*24*time.Hour }, ""},
		{"unknown scheme", func(c *Config) { c.StorageURL = "ftp://host/x" }, "--backup_storage_url"},
		{"relative file url", func(c *Config) { c.StorageURL = "file://" }, "--backup_storage_url"},
		{"s3 without bucket", func(c *Config) { c.StorageURL = "s3:///x" }, "--backup_storage_url"},
		{"credentials in url", func(c *Config) { c.StorageURL = "s3://key:secret@bucket" }, "credentials"},
		{"builtin engine", func(c *Config) { c.Engine = "builtin" }, "--backup_engine_implementation"},
		{"unknown engine", func(c *Config) { c.Engine = "zfs" }, "--backup_engine_implementation"},
		{"tar stream", func(c *Config) { c.StreamMode = "tar" }, "--xtrabackup_stream_mode"},
		{"lz4", func(c *Config) { c.Compression = "lz4" }, "--compression-engine-name"},
		{"none ignores the level", func(c *Config) { c.Compression = CompressionNone }, ""},
		{"zstd level 23", func(c *Config) { c.CompressionLevel = 23 }, "--compression-level"},
		{"gzip level 10", func(c *Config) { c.Compression, c.CompressionLevel = CompressionGzip, 10 }, "--compression-level"},
		{"tiny stripes", func(c *Config) { c.StripeBytes = 1000 }, "--backup-stripe-bytes"},
		{"no concurrency", func(c *Config) { c.Concurrency = 0 }, "--backup-concurrency"},
		{"no attempts", func(c *Config) { c.StorageAttempts = 0 }, "--backup-storage-attempts"},
		{"negative retention", func(c *Config) { c.RetentionCount = -1 }, "--backup_retention_count"},
		{"negative age", func(c *Config) { c.RetentionAge = -time.Hour }, "--backup-retention-age"},
		{"zero incomplete age", func(c *Config) { c.IncompleteAge = 0 }, "--backup-incomplete-age"},
		{"zero progress interval", func(c *Config) { c.ProgressInterval = 0 }, "--backup-progress-interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Validate accepted it, want an error naming %s", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Validate: %v, want it to name %s", err, tt.wantErr)
			}
		})
	}
}

func TestName(t *testing.T) {
	ts := time.Date(2024, 5, 1, 12, 3, 4, 999, time.FixedZone("x", 3600))
	name := Name(ts, "zone1-0000000100")
	if name != "2024-05-01.110304.zone1-0000000100" {
		t.Fatalf("Name = %q", name)
	}
	got, alias, ok := ParseName(name)
	if !ok || alias != "zone1-0000000100" || !got.Equal(ts.Truncate(time.Second)) {
		t.Fatalf("ParseName(%q) = %v, %q, %v", name, got, alias, ok)
	}
	for _, bad := range []string{"", "2024-05-01.110304", "2024-05-01.110304.", "not-a-backup", "2024-13-01.110304.a"} {
		if _, _, ok := ParseName(bad); ok {
			t.Errorf("ParseName(%q) accepted it", bad)
		}
	}
	if Name(ts, "a") >= Name(ts.Add(time.Second), "a") {
		t.Error("names do not sort by time")
	}
}

func TestCheckElement(t *testing.T) {
	for _, ok := range []string{"commerce", "-80", "80-", "0", "zone1-0000000100"} {
		if err := checkElement("x", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`, "a\nb"} {
		if err := checkElement("x", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
