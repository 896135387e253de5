package backup

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Engine names accepted by Config.Engine.
const (
	// EngineXtraBackup is the XtraBackup family: Percona XtraBackup
	// (xtrabackup, xbstream) on MySQL, and its MariaDB build, MariaDB
	// Backup (mariabackup, mbstream), on MariaDB. The flavor picks the
	// binaries.
	EngineXtraBackup = "xtrabackup"
	// EngineMariaBackup asks for MariaDB Backup explicitly; it is refused
	// on MySQL.
	EngineMariaBackup = "mariabackup"
)

// Compression names accepted by Config.Compression.
const (
	CompressionZstd = "zstd" // parallel zstd, the default
	CompressionGzip = "gzip" // parallel gzip (one member per stripe)
	CompressionNone = "none" // stored as the tool wrote it
)

// Config says where backups go and how they are taken. Field comments give
// the command-line flag that sets each (vttablet's name where vttablet has
// one), its default and what zero means. The zero Config is not valid; start
// from DefaultConfig.
type Config struct {
	// StorageURL is where backups live, as a URL: file:///path,
	// s3://bucket?region=...&endpoint=..., gs://bucket, azblob://container.
	// A path after an s3, gs or azblob bucket, or a prefix= query
	// parameter, is a key prefix. Credentials come from each cloud's
	// standard environment (AWS_ACCESS_KEY_ID, GOOGLE_APPLICATION_CREDENTIALS,
	// AZURE_STORAGE_ACCOUNT, ...), never from the URL. Flag
	// --backup_storage_url, default empty: backups are off and the agent
	// neither backs up nor restores.
	StorageURL string

	// Engine chooses the backup engine. Flag --backup_engine_implementation,
	// default "xtrabackup" (binaries chosen by flavor); "mariabackup" is
	// accepted on MariaDB. vttablet's "builtin" and "mysqlshell" engines
	// are not implemented.
	Engine string

	// RootPath is the directory holding the backup binaries. Flag
	// --xtrabackup_root_path, default empty: search PATH, then /usr/sbin,
	// /usr/local/mysql/bin and /usr/local/bin.
	RootPath string

	// StreamMode is the tool's stream format. Flag --xtrabackup_stream_mode,
	// default "xbstream", the only mode accepted: vttablet's default "tar"
	// is gone from XtraBackup 8.0 and from MariaDB Backup.
	StreamMode string

	// User is the MySQL user the backup tool connects as; its password is
	// the one the tablet holds for that user. Flag --xtrabackup_user,
	// default empty: the dba user. It needs RELOAD, PROCESS, LOCK TABLES
	// and BINLOG MONITOR (MariaDB) or REPLICATION CLIENT and BACKUP_ADMIN
	// (MySQL 8.0); on a replica with --slave-info --safe-slave-backup also
	// SLAVE MONITOR and REPLICATION SLAVE ADMIN (MariaDB).
	User string

	// BackupFlags are extra flags for the backup run, separated by spaces
	// (for a replica: "--slave-info --safe-slave-backup"). Flag
	// --xtrabackup_backup_flags, default empty.
	BackupFlags string

	// PrepareFlags are extra flags for the prepare step of a restore (say
	// "--use-memory=1G"). Flag --xtrabackup_prepare_flags, default empty.
	PrepareFlags string

	// RestoreFlags are extra flags for the stream extractor (xbstream -x,
	// mbstream -x), such as "--parallel=4". Flag --xbstream_restore_flags,
	// default empty.
	RestoreFlags string

	// Compression is how stored files are compressed: "zstd", "gzip" or
	// "none". Flag --compression-engine-name, default "zstd" (vttablet
	// defaults to pargzip; zstd compresses InnoDB pages as well at several
	// times the speed).
	Compression string

	// CompressionLevel is the codec's level: zstd 1-22 (mapped to the
	// nearest of the encoder's four speeds), gzip 1-9; 0 picks the codec's
	// own default (zstd 3, gzip 6). Flag --compression-level, default 1
	// (vttablet's): speed first, as a backup shares the host's cores with
	// mysqld. On InnoDB data here zstd 1 stored 4% more than zstd 3 and
	// ran about 20% faster.
	CompressionLevel int

	// StripeBytes is how many bytes of the tool's stream go into each
	// stored file, before compression. Each stripe is compressed and
	// stored on its own, so stripes compress, upload, download and
	// decompress in parallel and a failed upload is retried from memory.
	// Flag --backup-stripe-bytes, default 16 MiB: large enough that
	// per-object overhead is small, small enough that Concurrency stripes
	// in memory stay near 100 MiB.
	StripeBytes int64

	// Concurrency is how many stripes are compressed and stored (on
	// backup) or fetched and decompressed (on restore) at once. Memory
	// use is bounded by about 2*(Concurrency+1)*StripeBytes. Flag
	// --backup-concurrency, default 4. Must be at least 1.
	Concurrency int

	// StorageAttempts is how many times one stored file is written or read
	// before the backup or restore gives up. Flag --backup-storage-attempts,
	// default 3. Must be at least 1.
	StorageAttempts int

	// RetryDelay is the wait before the second attempt; it doubles for
	// each further one. Flag --backup-retry-delay, default 1s.
	RetryDelay time.Duration

	// RetentionCount keeps only the newest RetentionCount complete backups
	// of a shard when pruning. Flag --backup_retention_count, default 0:
	// no limit by count.
	RetentionCount int

	// RetentionAge prunes complete backups older than this. Flag
	// --backup-retention-age, default 0: no limit by age. Whatever the
	// limits, pruning never removes the newest complete backup.
	RetentionAge time.Duration

	// IncompleteAge is how old a backup without MANIFEST must be before
	// pruning removes it: younger ones may still be in progress on another
	// tablet. Flag --backup-incomplete-age, default 168h (a week: no
	// backup runs that long). Must be positive.
	IncompleteAge time.Duration

	// ProgressInterval is the time between two progress reports (a log
	// line and a call of the request's Progress function). Flag
	// --backup-progress-interval, default 10s. Must be positive.
	ProgressInterval time.Duration
}

// DefaultConfig returns the defaults given with each field.
func DefaultConfig() Config {
	return Config{
		Engine:           EngineXtraBackup,
		StreamMode:       "xbstream",
		Compression:      CompressionZstd,
		CompressionLevel: 1,
		StripeBytes:      16 << 20,
		Concurrency:      4,
		StorageAttempts:  3,
		RetryDelay:       time.Second,
		IncompleteAge:    7 * 24 * time.Hour,
		ProgressInterval: 10 * time.Second,
	}
}

// Enabled reports whether a storage URL is set, that is whether the tablet
// backs up and restores at all.
func (c Config) Enabled() bool { return c.StorageURL != "" }

// storageSchemes are the URL schemes the storage accepts.
var storageSchemes = []string{"file", "s3", "gs", "azblob"}

// Validate reports every bad value in c, each naming its flag and the
// value. It has no side effects.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.StorageURL != "" {
		u, err := url.Parse(c.StorageURL)
		switch {
		case err != nil:
			bad("--backup_storage_url=%q: %v", c.StorageURL, err)
		case !contains(storageSchemes, u.Scheme):
			bad("--backup_storage_url=%q: scheme %q is not one of %s", c.StorageURL, u.Scheme, strings.Join(storageSchemes, ", "))
		case u.Scheme == "file" && u.Path == "":
			bad("--backup_storage_url=%q: a file URL needs an absolute path (file:///var/backups)", c.StorageURL)
		case u.Scheme != "file" && u.Host == "":
			bad("--backup_storage_url=%q: no bucket or container name", c.StorageURL)
		case u.User != nil:
			bad("--backup_storage_url: credentials do not belong in the URL; use the cloud's environment variables")
		}
	}
	switch c.Engine {
	case EngineXtraBackup, EngineMariaBackup:
	case "builtin", "mysqlshell":
		bad("--backup_engine_implementation=%q is not implemented here; use %q", c.Engine, EngineXtraBackup)
	default:
		bad("--backup_engine_implementation=%q: want %q or %q", c.Engine, EngineXtraBackup, EngineMariaBackup)
	}
	switch c.StreamMode {
	case "xbstream":
	case "tar":
		bad("--xtrabackup_stream_mode=tar is not supported (XtraBackup 8.0 and MariaDB Backup dropped it); use xbstream")
	default:
		bad("--xtrabackup_stream_mode=%q: want xbstream", c.StreamMode)
	}
	switch c.Compression {
	case CompressionZstd:
		if c.CompressionLevel < 0 || c.CompressionLevel > 22 {
			bad("--compression-level=%d: zstd levels are 1 to 22 (0 for the default)", c.CompressionLevel)
		}
	case CompressionGzip:
		if c.CompressionLevel < 0 || c.CompressionLevel > 9 {
			bad("--compression-level=%d: gzip levels are 1 to 9 (0 for the default)", c.CompressionLevel)
		}
	case CompressionNone:
	default:
		bad("--compression-engine-name=%q: want %s, %s or %s", c.Compression, CompressionZstd, CompressionGzip, CompressionNone)
	}
	if c.StripeBytes < 64<<10 || c.StripeBytes > 1<<30 {
		bad("--backup-stripe-bytes=%d: must be between 64 KiB and 1 GiB", c.StripeBytes)
	}
	if c.Concurrency < 1 {
		bad("--backup-concurrency=%d: must be at least 1", c.Concurrency)
	}
	if c.StorageAttempts < 1 {
		bad("--backup-storage-attempts=%d: must be at least 1", c.StorageAttempts)
	}
	if c.RetryDelay < 0 {
		bad("--backup-retry-delay=%v: must not be negative", c.RetryDelay)
	}
	if c.RetentionCount < 0 {
		bad("--backup_retention_count=%d: must not be negative", c.RetentionCount)
	}
	if c.RetentionAge < 0 {
		bad("--backup-retention-age=%v: must not be negative", c.RetentionAge)
	}
	if c.IncompleteAge <= 0 {
		bad("--backup-incomplete-age=%v: must be positive", c.IncompleteAge)
	}
	if c.ProgressInterval <= 0 {
		bad("--backup-progress-interval=%v: must be positive", c.ProgressInterval)
	}
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
