package topodatapb_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGeneratedCodeIsCurrent regenerates each committed .pb.go file from its
// .proto into a temporary directory and compares. The protoc version line
// of the header is ignored so that a different Debian protoc does not fail
// the test when the output is otherwise identical.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Skip("skipping: protoc is not installed (apt-get install protobuf-compiler)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "tool", "-n", "protoc-gen-go").Output()
	if err != nil {
		t.Fatalf("locate protoc-gen-go with go tool -n: %v", err)
	}
	plugin := strings.TrimSpace(string(out))

	tests := []struct {
		proto     string // relative to the module root
		generated string // relative to the module root
	}{
		{proto: "proto/vttime.proto", generated: "proto/vttimepb/vttime.pb.go"},
		{proto: "proto/topodata.proto", generated: "proto/topodatapb/topodata.pb.go"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.proto), func(t *testing.T) {
			tmp := t.TempDir()
			cmd := exec.CommandContext(ctx, protoc,
				"-Iproto",
				"--plugin=protoc-gen-go="+plugin,
				"--go_out="+tmp,
				"--go_opt=module=github.com/tabletd/tablet",
				tt.proto)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("protoc %s: %v\n%s", tt.proto, err, out)
			}
			want, err := os.ReadFile(filepath.Join(tmp, tt.generated))
			if err != nil {
				t.Fatalf("read regenerated file: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(root, tt.generated))
			if err != nil {
				t.Fatalf("read committed file: %v", err)
			}
			if !bytes.Equal(withoutProtocVersion(got), withoutProtocVersion(want)) {
				t.Errorf("%s is stale: regenerate it from %s (see the package doc)", tt.generated, tt.proto)
			}
		})
	}
}

func withoutProtocVersion(b []byte) []byte {
	lines := bytes.Split(b, []byte("\n"))
	kept := lines[:0]
	for _, l := range lines {
		if bytes.HasPrefix(l, []byte("// \tprotoc ")) {
			continue
		}
		kept = append(kept, l)
	}
	return bytes.Join(kept, []byte("\n"))
}
