package topoadmin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tabletd/tablet/topo"
)

var cmdTopoCat = command{
	name: "TopoCat",
	args: "[--cell <cell>] [--decode_proto | --decode_proto_json] [--long] <path> ...",
	help: "Prints records by path (globs * ? [] allowed per element), raw or decoded. " +
		"Records are decoded by file name (CellInfo, Keyspace, Shard, Tablet, ShardReplication, SrvKeyspace); " +
		"others (VSchema, SrvVSchema) print as raw protobuf fields, lock nodes as text.",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		cell := fs.String("cell", topo.GlobalCell, "cell whose topology holds the paths")
		decode := fs.Bool("decode_proto", false, "decode records as protobuf text")
		decodeJSON := fs.Bool("decode_proto_json", false, "decode records as JSON")
		long := fs.Bool("long", false, "print a path= version= line before each record")
		return func(ctx context.Context, e *env, args []string) error {
			if len(args) == 0 {
				return usageError{"want at least one <path>"}
			}
			conn, err := e.ts.ConnForCell(ctx, *cell)
			if err != nil {
				return err
			}
			for _, pattern := range args {
				matched, glob, err := expand(ctx, conn, pattern)
				if err != nil {
					return err
				}
				printed := 0
				for _, p := range matched {
					data, version, err := conn.Get(ctx, p)
					if glob && errors.Is(err, topo.ErrNoNode) {
						// A directory matched, or the node went meanwhile.
						continue
					}
					if err != nil {
						return err
					}
					if *long {
						fmt.Fprintf(e.stdout, "path=/%s version=%v\n", p, version)
					}
					if err := catRecord(e.stdout, p, data, *decode, *decodeJSON); err != nil {
						return err
					}
					printed++
				}
				if printed == 0 {
					return fmt.Errorf("no record matches %s in cell %s", pattern, *cell)
				}
			}
			return nil
		}
	},
}

// expand returns the paths matching pattern, whose elements may hold
// path.Match globs, in order, and whether it held any glob. The paths may
// include ones that do not exist as files (a literal last element, or a
// directory). A pattern without globs is returned as is, so that Get
// reports a missing path.
func expand(ctx context.Context, conn topo.Conn, pattern string) ([]string, bool, error) {
	clean, err := topo.CleanFilePath(pattern)
	if err != nil {
		return nil, false, usageError{err.Error()}
	}
	if !strings.ContainsAny(clean, "*?[") {
		return []string{clean}, false, nil
	}
	elems := strings.Split(clean, "/")
	for _, el := range elems {
		if _, err := path.Match(el, ""); err != nil {
			return nil, true, usageError{fmt.Sprintf("bad pattern %q: %v", pattern, err)}
		}
	}
	// Walk one element at a time; dirs holds the matched prefixes.
	dirs := []string{""}
	for i, el := range elems {
		last := i == len(elems)-1
		var next []string
		for _, dir := range dirs {
			if !strings.ContainsAny(el, "*?[") {
				next = append(next, path.Join(dir, el))
				continue
			}
			entries, err := conn.List(ctx, dir)
			if errors.Is(err, topo.ErrNoNode) {
				continue
			}
			if err != nil {
				return nil, true, err
			}
			for _, en := range entries {
				if ok, _ := path.Match(el, en.Name); ok && (last || en.Dir) {
					next = append(next, path.Join(dir, en.Name))
				}
			}
		}
		dirs = next
	}
	return dirs, true, nil
}

// catRecord writes one record: raw, or decoded by its file name.
func catRecord(w io.Writer, p string, data []byte, decode, decodeJSON bool) error {
	if !decode && !decodeJSON {
		_, err := w.Write(data)
		return err
	}
	if m := topo.RecordMessage(p); m != nil {
		if err := proto.Unmarshal(data, m); err != nil {
			return fmt.Errorf("decode /%s as %s: %w", p, m.ProtoReflect().Descriptor().FullName(), err)
		}
		var out []byte
		var err error
		if decodeJSON {
			out, err = protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
		} else {
			out, err = prototext.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
		}
		if err != nil {
			return err
		}
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		_, err = w.Write(out)
		return err
	}
	if isText(data) {
		// Lock nodes and other text.
		_, err := fmt.Fprintf(w, "%s\n", strings.TrimRight(string(data), "\n"))
		return err
	}
	// An opaque record (VSchema, SrvVSchema): its raw fields.
	_, err := io.WriteString(w, wireText(data, ""))
	return err
}

func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if r < ' ' && r != '\n' && r != '\t' && r != '\r' {
			return false
		}
	}
	return true
}

// wireText renders protobuf bytes without a schema, one field per line as
// "<number>: <value>": varints as numbers, length-delimited fields as
// nested messages when they parse as one, else as quoted text or hex.
// Bytes that are not protobuf at all print as hex.
func wireText(b []byte, indent string) string {
	var sb strings.Builder
	if !dumpWire(&sb, b, indent, 0) {
		return indent + "# not protobuf: " + fmt.Sprintf("%x", b) + "\n"
	}
	return sb.String()
}

// dumpWire writes b's fields; it reports false if b is not a message.
func dumpWire(sb *strings.Builder, b []byte, indent string, depth int) bool {
	var out strings.Builder
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return false
		}
		b = b[n:]
		prefix := indent + strconv.Itoa(int(num)) + ": "
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return false
			}
			b = b[n:]
			out.WriteString(prefix + strconv.FormatUint(v, 10) + "\n")
		case protowire.Fixed32Type:
			v, n := protowire.ConsumeFixed32(b)
			if n < 0 {
				return false
			}
			b = b[n:]
			fmt.Fprintf(&out, "%s0x%08x\n", prefix, v)
		case protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return false
			}
			b = b[n:]
			fmt.Fprintf(&out, "%s0x%016x\n", prefix, v)
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return false
			}
			b = b[n:]
			var nested strings.Builder
			switch {
			case len(v) > 0 && !isText(v) && depth < 16 && dumpWire(&nested, v, indent+"  ", depth+1):
				out.WriteString(prefix + "{\n" + nested.String() + indent + "}\n")
			case isText(v):
				out.WriteString(prefix + strconv.Quote(string(v)) + "\n")
			default:
				fmt.Fprintf(&out, "%s0x%x\n", prefix, v)
			}
		default:
			return false
		}
	}
	sb.WriteString(out.String())
	return true
}
