package topo

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/tabletd/tablet/proto/topodatapb"
)

// ShardKeyRange derives a shard's key range from its name, as Vitess does:
// a name without '-' ("0", "main") is an unsharded shard and has no range
// (nil); "<start>-<end>" with lowercase or uppercase hex bounds, either of
// which may be empty, is the range [start, end) ("-80", "80-", "40-80",
// and "-" for the whole range).
func ShardKeyRange(shard string) (*topodatapb.KeyRange, error) {
	if err := ValidateName("shard", shard); err != nil {
		return nil, err
	}
	if !strings.Contains(shard, "-") {
		return nil, nil
	}
	startHex, endHex, _ := strings.Cut(shard, "-")
	if strings.Contains(endHex, "-") {
		return nil, fmt.Errorf("shard name %q: more than one '-'", shard)
	}
	start, err := hex.DecodeString(startHex)
	if err != nil {
		return nil, fmt.Errorf("shard name %q: start %q is not hex: %w", shard, startHex, err)
	}
	end, err := hex.DecodeString(endHex)
	if err != nil {
		return nil, fmt.Errorf("shard name %q: end %q is not hex: %w", shard, endHex, err)
	}
	if len(start) > 0 && len(end) > 0 && bytes.Compare(start, end) >= 0 {
		return nil, fmt.Errorf("shard name %q: start is not below end", shard)
	}
	kr := &topodatapb.KeyRange{}
	if len(start) > 0 {
		kr.Start = start
	}
	if len(end) > 0 {
		kr.End = end
	}
	return kr, nil
}

// KeyRangesIntersect reports whether two key ranges share a key. A nil
// range is the whole key space.
func KeyRangesIntersect(a, b *topodatapb.KeyRange) bool {
	// a.start < b.end and b.start < a.end, with empty ends meaning +inf.
	lessEnd := func(start, end []byte) bool { return len(end) == 0 || bytes.Compare(start, end) < 0 }
	return lessEnd(a.GetStart(), b.GetEnd()) && lessEnd(b.GetStart(), a.GetEnd())
}

// KeyRangeString formats a key range as a shard name would ("40-80"; "-"
// for the whole range).
func KeyRangeString(kr *topodatapb.KeyRange) string {
	return hex.EncodeToString(kr.GetStart()) + "-" + hex.EncodeToString(kr.GetEnd())
}
