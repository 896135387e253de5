package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/tabletd/tablet/proto/logutilpb"
	"github.com/tabletd/tablet/proto/querypb"
	"github.com/tabletd/tablet/proto/tabletmanagerdatapb"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/queryserver/client"
	"github.com/tabletd/tablet/topo"
)

// clientCommands are the subcommands that talk to a running tablet over
// gRPC, with their usage line.
var clientCommands = map[string]string{
	"query":   "tablet query --server host:port [flags] 'SQL'    run one statement, print its result",
	"stream":  "tablet stream --server host:port [flags] 'SQL'   stream a read's rows as they come",
	"tx":      "tablet tx --server host:port [flags] FILE        run a file's statements (- for stdin) in one transaction",
	"ping":    "tablet ping --server host:port                   check the tablet answers",
	"backup":  "tablet backup --server host:port [--allow_primary]  take a backup on the tablet",
	"backups": "tablet backups --server host:port [--limit N]     list the shard's backups",
}

// clientFlags are the flags every client subcommand takes.
type clientFlags struct {
	cfg        client.Config
	timeout    time.Duration
	json       bool
	keyspace   string
	shard      string
	tabletType string
	principal  string
	username   string
	binds      bindFlags
}

// bindFlags collects --bind name=value.
type bindFlags map[string]*querypb.BindVariable

func (b bindFlags) String() string { return "" }

func (b bindFlags) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want name=value, got %q", s)
	}
	if n, err := strconv.ParseInt(value, 10, 64); err == nil {
		b[name] = client.Int64(n)
	} else {
		b[name] = client.String(value)
	}
	return nil
}

func (b bindFlags) Type() string { return "name=value" }

// bind registers the client flags; query-ish subcommands get the target,
// caller and bind variable flags too.
func (c *clientFlags) bind(fs *flagSet, name string) {
	c.cfg = client.DefaultConfig()
	c.binds = bindFlags{}
	timeout := 30 * time.Second
	if name == "stream" || name == "backup" {
		timeout = 0
	}
	c.timeout = timeout
	fs.group("Connection", func(fs *flag.FlagSet) {
		fs.StringVar(&c.cfg.Address, "server", "", "the tablet's gRPC address, host:port (required)")
		fs.StringVar(&c.cfg.CAFile, "tablet_grpc_ca", "", "CA bundle (PEM) that signs the tablet's certificate; enables TLS")
		fs.StringVar(&c.cfg.CertFile, "tablet_grpc_cert", "", "client certificate (PEM), for a tablet that checks them")
		fs.StringVar(&c.cfg.KeyFile, "tablet_grpc_key", "", "client private key (PEM)")
		fs.StringVar(&c.cfg.ServerName, "tablet_grpc_server_name", "", "name to check the tablet's certificate against (default: the host of --server)")
		fs.IntVar(&c.cfg.MaxMessageSize, "grpc_max_message_size", c.cfg.MaxMessageSize, "largest gRPC message sent or received, in bytes")
		durationVar(fs, &c.cfg.KeepaliveTime, "grpc_keepalive_time", "ping the tablet after this long without activity")
		durationVar(fs, &c.cfg.KeepaliveTimeout, "grpc_keepalive_timeout", "give up on the connection if a ping is not answered within this")
		durationVar(fs, &c.timeout, "timeout", "give up after this long; 0: never")
		fs.BoolVar(&c.json, "json", false, "print JSON instead of a table")
	})
	switch name {
	case "query", "stream", "tx":
		fs.group("Request", func(fs *flag.FlagSet) {
			fs.StringVar(&c.keyspace, "keyspace", "", "target keyspace (default: the tablet's, from its health stream)")
			fs.StringVar(&c.shard, "shard", "", "target shard (default: the tablet's)")
			fs.StringVar(&c.tabletType, "tablet_type", "", "target tablet type: primary, replica, rdonly (default: the tablet's)")
			fs.StringVar(&c.principal, "effective-caller", "", "effective caller id (principal) sent with the request")
			fs.StringVar(&c.username, "immediate-caller", "", "immediate caller id (username) sent with the request")
			if name != "tx" {
				fs.Var(c.binds, "bind", "bind variable name=value for :name in the statement; integers bind as INT64, the rest as VARCHAR (repeatable)")
			}
		})
	}
}

// runClient runs client subcommand name; it returns the exit code: 2 for
// bad flags, 1 for a failed call.
func runClient(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("tablet " + name)
	var c clientFlags
	c.bind(fs, name)
	extra := 0
	var allowPrimary bool
	var limit uint
	switch name {
	case "query", "stream", "tx":
		extra = 1
	case "backup":
		fs.group("Backup", func(fs *flag.FlagSet) {
			fs.BoolVar(&allowPrimary, "allow_primary", false, "back up even if the tablet is the primary")
		})
	case "backups":
		fs.group("Backups", func(fs *flag.FlagSet) {
			fs.UintVar(&limit, "limit", 0, "list at most this many, newest first; 0: all")
		})
	}
	if err := fs.parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "Usage: %s\n", clientCommands[name])
			fs.usage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "tablet %s: %v\nRun 'tablet %s --help' for the list of flags.\n", name, err, name)
		return 2
	}
	if fs.NArg() != extra {
		fmt.Fprintf(stderr, "tablet %s: want %d argument(s), got %d\nUsage: %s\n", name, extra, fs.NArg(), clientCommands[name])
		return 2
	}
	if err := c.cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "tablet %s: %v\n", name, err)
		return 2
	}
	cl, err := client.New(c.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tablet %s: %v\n", name, err)
		return 2
	}
	defer cl.Close()
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	if c.principal != "" || c.username != "" {
		ctx = client.WithCaller(ctx, client.Caller{Principal: c.principal, Username: c.username})
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	switch name {
	case "query":
		err = c.query(ctx, cl, fs.Arg(0), out)
	case "stream":
		err = c.stream(ctx, cl, fs.Arg(0), out)
	case "tx":
		err = c.tx(ctx, cl, fs.Arg(0), out)
	case "ping":
		err = c.ping(ctx, cl, out)
	case "backup":
		err = c.backup(ctx, cl, allowPrimary, out)
	case "backups":
		err = c.backups(ctx, cl, uint32(limit), out)
	}
	if err != nil {
		out.Flush()
		fmt.Fprintf(stderr, "tablet %s: %v\n", name, err)
		return 1
	}
	return 0
}

// target is the request's target: the flags, completed from the
// tablet's own target as its health stream reports it.
func (c *clientFlags) target(ctx context.Context, cl *client.Client) (*querypb.Target, error) {
	t := &querypb.Target{Keyspace: c.keyspace, Shard: c.shard}
	if c.tabletType != "" {
		v, ok := topodatapb.TabletType_value[strings.ToUpper(c.tabletType)]
		if !ok {
			return nil, fmt.Errorf("--tablet_type=%q: want primary, replica, rdonly, ...", c.tabletType)
		}
		t.TabletType = topodatapb.TabletType(v)
	}
	if c.keyspace != "" && c.shard != "" && c.tabletType != "" {
		return t, nil
	}
	h, err := cl.Health(ctx)
	if err != nil {
		return nil, fmt.Errorf("ask the tablet its target (or give --keyspace, --shard and --tablet_type): %w", err)
	}
	if t.Keyspace == "" {
		t.Keyspace = h.GetTarget().GetKeyspace()
	}
	if t.Shard == "" {
		t.Shard = h.GetTarget().GetShard()
	}
	if c.tabletType == "" {
		t.TabletType = h.GetTarget().GetTabletType()
	}
	return t, nil
}

func (c *clientFlags) query(ctx context.Context, cl *client.Client, sql string, out io.Writer) error {
	t, err := c.target(ctx, cl)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := cl.Execute(ctx, t, sql, c.binds, 0, 0, &querypb.ExecuteOptions{IncludedFields: querypb.ExecuteOptions_ALL})
	if err != nil {
		return err
	}
	return printResult(out, res, c.json, time.Since(start))
}

func (c *clientFlags) stream(ctx context.Context, cl *client.Client, sql string, out io.Writer) error {
	t, err := c.target(ctx, cl)
	if err != nil {
		return err
	}
	rows := 0
	start := time.Now()
	err = cl.StreamExecute(ctx, t, sql, c.binds, 0, 0, nil, func(r *client.Result) error {
		if len(r.Fields) > 0 {
			if c.json {
				if err := writeJSONLine(out, map[string]any{"fields": jsonFields(r.Fields)}); err != nil {
					return err
				}
			} else {
				names := make([]string, len(r.Fields))
				for i, f := range r.Fields {
					names[i] = f.GetName()
				}
				if _, err := fmt.Fprintln(out, strings.Join(names, "\t")); err != nil {
					return err
				}
			}
		}
		for _, row := range r.Rows {
			rows++
			var err error
			if c.json {
				err = writeJSONLine(out, jsonRow(row))
			} else {
				_, err = fmt.Fprintln(out, strings.Join(textRow(row), "\t"))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !c.json {
		fmt.Fprintf(out, "%d rows streamed (%s)\n", rows, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// tx runs the statements of file (or stdin, "-") in one transaction:
// Begin, each statement in order, Commit. The first failure rolls the
// transaction back.
func (c *clientFlags) tx(ctx context.Context, cl *client.Client, file string, out io.Writer) error {
	var src []byte
	var err error
	if file == "-" {
		src, err = io.ReadAll(os.Stdin)
	} else {
		src, err = os.ReadFile(file)
	}
	if err != nil {
		return err
	}
	stmts := splitStatements(string(src))
	if len(stmts) == 0 {
		return fmt.Errorf("%s holds no statement", file)
	}
	t, err := c.target(ctx, cl)
	if err != nil {
		return err
	}
	id, err := cl.Begin(ctx, t, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	var results []any
	for i, sql := range stmts {
		start := time.Now()
		res, err := cl.Execute(ctx, t, sql, nil, id, 0, &querypb.ExecuteOptions{IncludedFields: querypb.ExecuteOptions_ALL})
		if err != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			_, rerr := cl.Rollback(rctx, t, id)
			cancel()
			if rerr != nil {
				return fmt.Errorf("statement %d (%s): %w; rollback also failed: %v", i+1, abbreviate(sql), err, rerr)
			}
			return fmt.Errorf("statement %d (%s): %w; the transaction was rolled back", i+1, abbreviate(sql), err)
		}
		if c.json {
			results = append(results, jsonResult(res))
			continue
		}
		fmt.Fprintf(out, "-- %s\n", abbreviate(sql))
		if err := printResult(out, res, false, time.Since(start)); err != nil {
			return err
		}
	}
	if _, err := cl.Commit(ctx, t, id); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if c.json {
		return writeJSONLine(out, map[string]any{"transaction_id": id, "committed": true, "results": results})
	}
	fmt.Fprintf(out, "committed transaction %d (%d statements)\n", id, len(stmts))
	return nil
}

func (c *clientFlags) ping(ctx context.Context, cl *client.Client, out io.Writer) error {
	start := time.Now()
	payload := fmt.Sprintf("ping %d", start.UnixNano())
	got, err := cl.Ping(ctx, payload)
	if err != nil {
		return err
	}
	rtt := time.Since(start)
	if got != payload {
		return fmt.Errorf("the tablet echoed %q, want %q", got, payload)
	}
	if c.json {
		return writeJSONLine(out, map[string]any{"server": c.cfg.Address, "ok": true, "rtt_ms": float64(rtt.Microseconds()) / 1000})
	}
	fmt.Fprintf(out, "%s answered in %s\n", c.cfg.Address, rtt.Round(10*time.Microsecond))
	return nil
}

func (c *clientFlags) backup(ctx context.Context, cl *client.Client, allowPrimary bool, out io.Writer) error {
	enc := json.NewEncoder(out)
	err := cl.Backup(ctx, &tabletmanagerdatapb.BackupRequest{AllowPrimary: allowPrimary}, func(e *logutilpb.Event) {
		at := time.Unix(e.GetTime().GetSeconds(), int64(e.GetTime().GetNanoseconds()))
		if c.json {
			_ = enc.Encode(map[string]any{"time": at.UTC().Format(time.RFC3339Nano), "level": e.GetLevel().String(), "message": e.GetValue()})
			return
		}
		fmt.Fprintf(out, "%s %s %s\n", at.Format("15:04:05.000"), e.GetLevel(), e.GetValue())
		if f, ok := out.(interface{ Flush() error }); ok {
			_ = f.Flush()
		}
	})
	if err != nil {
		return err
	}
	if !c.json {
		fmt.Fprintln(out, "backup complete")
	}
	return nil
}

func (c *clientFlags) backups(ctx context.Context, cl *client.Client, limit uint32, out io.Writer) error {
	infos, err := cl.ListBackups(ctx, limit)
	if err != nil {
		return err
	}
	if c.json {
		var list []map[string]any
		for _, b := range infos {
			list = append(list, map[string]any{
				"name": b.GetName(), "directory": b.GetDirectory(), "keyspace": b.GetKeyspace(), "shard": b.GetShard(),
				"tablet_alias": topo.TabletAliasString(b.GetTabletAlias()), "engine": b.GetEngine(), "status": b.GetStatus().String(),
				"time": time.Unix(b.GetTime().GetSeconds(), 0).UTC().Format(time.RFC3339),
			})
		}
		return writeJSONLine(out, map[string]any{"backups": list})
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTIME\tTABLET\tENGINE\tSTATUS")
	for _, b := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", b.GetName(), time.Unix(b.GetTime().GetSeconds(), 0).UTC().Format(time.RFC3339),
			topo.TabletAliasString(b.GetTabletAlias()), b.GetEngine(), b.GetStatus())
	}
	return tw.Flush()
}

// printResult prints a result as the mysql client does, or as JSON.
func printResult(out io.Writer, r *client.Result, asJSON bool, took time.Duration) error {
	if asJSON {
		return writeJSONLine(out, jsonResult(r))
	}
	if len(r.Fields) == 0 {
		msg := fmt.Sprintf("Query OK, %d rows affected", r.RowsAffected)
		if r.InsertID != 0 {
			msg += fmt.Sprintf(", insert id %d", r.InsertID)
		}
		_, err := fmt.Fprintf(out, "%s (%s)\n", msg, took.Round(time.Microsecond))
		return err
	}
	cells := make([][]string, 0, len(r.Rows)+1)
	head := make([]string, len(r.Fields))
	for i, f := range r.Fields {
		head[i] = f.GetName()
	}
	cells = append(cells, head)
	for _, row := range r.Rows {
		cells = append(cells, textRow(row))
	}
	widths := make([]int, len(head))
	for _, row := range cells {
		for i, v := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(v))
		}
	}
	var b strings.Builder
	line := func() {
		b.WriteByte('+')
		for _, w := range widths {
			b.WriteString(strings.Repeat("-", w+2))
			b.WriteByte('+')
		}
		b.WriteByte('\n')
	}
	writeRow := func(row []string) {
		b.WriteByte('|')
		for i, v := range row {
			b.WriteByte(' ')
			b.WriteString(v)
			b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(v)+1))
			b.WriteByte('|')
		}
		b.WriteByte('\n')
	}
	line()
	writeRow(cells[0])
	line()
	for _, row := range cells[1:] {
		writeRow(row)
	}
	line()
	fmt.Fprintf(&b, "%d rows in set (%s)\n", len(r.Rows), took.Round(time.Microsecond))
	_, err := io.WriteString(out, b.String())
	return err
}

// textRow renders values for a terminal: NULL for NULL, text as is, and
// bytes that are not printable UTF-8 as 0x and hex digits.
func textRow(row client.Row) []string {
	out := make([]string, len(row))
	for i, v := range row {
		switch {
		case v == nil:
			out[i] = "NULL"
		case printable(v):
			out[i] = string(v)
		default:
			out[i] = "0x" + hex.EncodeToString(v)
		}
	}
	return out
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if r < 0x20 && r != '\t' {
			return false
		}
	}
	return true
}

// jsonRow renders values for JSON: null for NULL, a string for valid
// UTF-8, and {"hex": "..."} for other bytes.
func jsonRow(row client.Row) []any {
	out := make([]any, len(row))
	for i, v := range row {
		switch {
		case v == nil:
		case utf8.Valid(v):
			out[i] = string(v)
		default:
			out[i] = map[string]string{"hex": hex.EncodeToString(v)}
		}
	}
	return out
}

func jsonFields(fields []*querypb.Field) []map[string]any {
	out := make([]map[string]any, len(fields))
	for i, f := range fields {
		out[i] = map[string]any{"name": f.GetName(), "type": f.GetType().String()}
		if f.GetColumnType() != "" {
			out[i]["column_type"] = f.GetColumnType()
		}
	}
	return out
}

func jsonResult(r *client.Result) map[string]any {
	m := map[string]any{"rows_affected": r.RowsAffected, "insert_id": r.InsertID}
	if len(r.Fields) > 0 {
		rows := make([][]any, len(r.Rows))
		for i, row := range r.Rows {
			rows[i] = jsonRow(row)
		}
		m["fields"], m["rows"] = jsonFields(r.Fields), rows
	}
	return m
}

func writeJSONLine(out io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", b)
	return err
}

func abbreviate(sql string) string {
	sql = strings.Join(strings.Fields(sql), " ")
	if len(sql) > 60 {
		return sql[:57] + "..."
	}
	return sql
}

// splitStatements splits a script into statements at semicolons outside
// quotes, backquotes and comments. Comments are kept with the statement
// they precede; empty statements are dropped.
func splitStatements(src string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" && !onlyComments(s) {
			out = append(out, s)
		}
		cur.Reset()
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(src) && src[j] != c {
				if src[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			end := min(j+1, len(src))
			cur.WriteString(src[i:end])
			i = end - 1
		case c == '-' && strings.HasPrefix(src[i:], "-- "), c == '#':
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				j = len(src) - i
			}
			cur.WriteString(src[i : i+j])
			i += j - 1
		case c == '/' && strings.HasPrefix(src[i:], "/*"):
			j := strings.Index(src[i+2:], "*/")
			end := len(src)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			cur.WriteString(src[i:end])
			i = end - 1
		case c == ';':
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}

// onlyComments reports whether s holds nothing but comments and space.
func onlyComments(s string) bool {
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "-- ") && !strings.HasPrefix(line, "#") && line != "--" {
			return false
		}
	}
	return true
}
