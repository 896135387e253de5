package topo

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tabletd/tablet/proto/topodatapb"
)

// TabletAliasString formats an alias as Vitess does in paths and logs:
// "<cell>-<uid>" with the uid zero-padded to 10 digits ("zone1-0000000100").
// A nil alias formats as "<nil>".
func TabletAliasString(a *topodatapb.TabletAlias) string {
	if a == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s-%010d", a.GetCell(), a.GetUid())
}

// ParseTabletAlias parses "<cell>-<uid>"; the uid is decimal, with or
// without padding. The cell is everything before the last '-'.
func ParseTabletAlias(s string) (*topodatapb.TabletAlias, error) {
	i := strings.LastIndexByte(s, '-')
	if i <= 0 || i == len(s)-1 {
		return nil, fmt.Errorf("parse tablet alias %q: want <cell>-<uid>", s)
	}
	uid, err := strconv.ParseUint(s[i+1:], 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse tablet alias %q: bad uid: %w", s, err)
	}
	cell := s[:i]
	if err := ValidateName("cell", cell); err != nil {
		return nil, fmt.Errorf("parse tablet alias %q: %w", s, err)
	}
	return &topodatapb.TabletAlias{Cell: cell, Uid: uint32(uid)}, nil
}

// TabletAliasEqual reports whether two aliases name the same tablet.
func TabletAliasEqual(a, b *topodatapb.TabletAlias) bool {
	return a.GetCell() == b.GetCell() && a.GetUid() == b.GetUid()
}
