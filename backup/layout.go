package backup

import (
	"fmt"
	"strings"
	"time"
)

// The storage layout: <keyspace>/<shard>/<backup name>/, holding the
// stripes and, written last, the MANIFEST. Vitess uses the same directory
// shape and the same name format.
const (
	// ManifestFile is the name of the file that makes a backup complete.
	ManifestFile = "MANIFEST"

	// NameTimeLayout is the time format that starts every backup name, in
	// UTC, so that names sort by time.
	NameTimeLayout = "2006-01-02.150405"

	// stripePrefix starts each stripe's file name; the number and the
	// compression's extension follow.
	stripePrefix = "backup.xbstream."
)

// Name returns the backup name for a backup started at t by the tablet
// alias: "2006-01-02.150405.<alias>".
func Name(t time.Time, alias string) string {
	return t.UTC().Format(NameTimeLayout) + "." + alias
}

// ParseName splits a backup name into its start time (to the second, UTC)
// and tablet alias. It returns ok false for a name not made by Name.
func ParseName(name string) (t time.Time, alias string, ok bool) {
	if len(name) < len(NameTimeLayout)+2 || name[len(NameTimeLayout)] != '.' {
		return time.Time{}, "", false
	}
	t, err := time.Parse(NameTimeLayout, name[:len(NameTimeLayout)])
	if err != nil {
		return time.Time{}, "", false
	}
	return t, name[len(NameTimeLayout)+1:], true
}

// ShardDir is the storage directory holding a shard's backups.
func ShardDir(keyspace, shard string) string { return keyspace + "/" + shard + "/" }

// Dir is the storage directory of one backup.
func Dir(keyspace, shard, name string) string { return ShardDir(keyspace, shard) + name + "/" }

// stripeName is the file name of stripe i: zero-padded so that names sort
// in stream order and `cat` of the directory's stripes, decompressed, is the
// tool's stream.
func stripeName(i int, ext string) string {
	return fmt.Sprintf("%s%06d%s", stripePrefix, i, ext)
}

// checkElement refuses a keyspace, shard, alias or backup name that cannot
// be one element of a storage key.
func checkElement(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is empty", what)
	case s == "." || s == "..":
		return fmt.Errorf("%s %q is not a valid name", what, s)
	case strings.ContainsAny(s, "/\\"):
		return fmt.Errorf("%s %q contains a path separator", what, s)
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("%s %q contains a control character", what, s)
		}
	}
	return nil
}
