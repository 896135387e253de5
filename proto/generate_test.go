package proto_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestGeneratedCodeIsCurrent regenerates the Go code of every proto/*.proto
// into a temporary directory, with the same protoc command as make proto,
// and compares it with the committed files. It fails when a committed file
// is stale or missing, and when a committed generated file no longer has a
// .proto. The protoc version lines of the headers are ignored so that
// another Debian protoc does not fail the test when the output is otherwise
// identical; the plugin versions come from go.mod and are compared.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Skip("skipping: protoc is not installed (apt-get install protobuf-compiler)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	protos, err := filepath.Glob(filepath.Join(root, "proto", "*.proto"))
	if err != nil {
		t.Fatal(err)
	}
	if len(protos) == 0 {
		t.Fatal("no proto/*.proto files found")
	}
	args := []string{
		"-Iproto",
		"--plugin=protoc-gen-go=" + goTool(ctx, t, "protoc-gen-go"),
		"--plugin=protoc-gen-go-grpc=" + goTool(ctx, t, "protoc-gen-go-grpc"),
	}
	tmp := t.TempDir()
	args = append(args,
		"--go_out="+tmp, "--go_opt=module=github.com/tabletd/tablet",
		"--go-grpc_out="+tmp, "--go-grpc_opt=module=github.com/tabletd/tablet")
	for _, p := range protos {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, filepath.ToSlash(rel))
	}
	cmd := exec.CommandContext(ctx, protoc, args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, out)
	}

	generated := goFiles(t, tmp, func(string) bool { return true })
	if len(generated) == 0 {
		t.Fatal("protoc generated no Go files")
	}
	for _, rel := range generated {
		t.Run(rel, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(tmp, rel))
			if err != nil {
				t.Fatalf("read regenerated file: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(root, rel))
			if err != nil {
				t.Fatalf("%s is missing: generate it with make proto (%v)", rel, err)
			}
			if !bytes.Equal(withoutProtocVersion(got), withoutProtocVersion(want)) {
				t.Errorf("%s is stale: regenerate it with make proto", rel)
			}
		})
	}

	isGenerated := func(name string) bool {
		return strings.HasSuffix(name, ".pb.go")
	}
	want := make(map[string]bool, len(generated))
	for _, rel := range generated {
		want[rel] = true
	}
	for _, rel := range goFiles(t, filepath.Join(root, "proto"), isGenerated) {
		rel = filepath.Join("proto", rel)
		if !want[rel] {
			t.Errorf("%s has no .proto it is generated from: delete it, or restore its .proto", rel)
		}
	}
}

// goTool returns the path of a tool pinned by a tool directive in go.mod.
func goTool(ctx context.Context, t *testing.T, name string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, "go", "tool", "-n", name).Output()
	if err != nil {
		t.Fatalf("locate %s with go tool -n: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// goFiles lists the .go files under dir whose base name passes keep, as
// paths relative to dir, sorted.
func goFiles(t *testing.T, dir string, keep func(string) bool) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".go") || !keep(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		t.Fatalf("list Go files under %s: %v", dir, err)
	}
	sort.Strings(files)
	return files
}

// withoutProtocVersion drops the header lines that name the protoc
// version: "// \tprotoc ..." from protoc-gen-go and "// - protoc ..." from
// protoc-gen-go-grpc.
func withoutProtocVersion(b []byte) []byte {
	lines := bytes.Split(b, []byte("\n"))
	kept := lines[:0]
	for _, l := range lines {
		if bytes.HasPrefix(l, []byte("// \tprotoc ")) || bytes.HasPrefix(l, []byte("// - protoc ")) {
			continue
		}
		kept = append(kept, l)
	}
	return bytes.Join(kept, []byte("\n"))
}
