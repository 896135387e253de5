package orc

import (
	"testing"

	"github.com/tabletd/tablet/proto/topodatapb"
)

// tabletType parses a type name.
func tabletType(t *testing.T, name string) topodatapb.TabletType {
	t.Helper()
	v, ok := topodatapb.TabletType_value[name]
	if !ok {
		t.Fatalf("no tablet type %q", name)
	}
	return topodatapb.TabletType(v)
}
