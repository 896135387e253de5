package backup

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/tabletd/tablet/mysqld"
)

// Engine runs a hot-backup tool: it streams a backup of the local mysqld
// while the server runs, and turns such a stream back into a datadir. The
// Manager stores, compresses and checks the stream; the engine knows only
// the tool. Implementations are safe for concurrent use.
type Engine interface {
	// Name is the engine's name as MANIFESTs record it ("xtrabackup").
	Name() string
	// Tool is the backup binary's name ("xtrabackup", "mariabackup").
	Tool() string
	// Backup streams a backup of the local server into w and returns when
	// the tool has exited, with the position the backup holds. A write
	// error from w stops the tool. ctx ending stops it too.
	Backup(ctx context.Context, w io.Writer) (EngineResult, error)
	// Extract unpacks a stream that Backup produced, read from r, into dir,
	// an existing empty directory. It fails if the stream is cut short or
	// malformed.
	Extract(ctx context.Context, r io.Reader, dir string) error
	// Prepare makes the files Extract unpacked into dir consistent (applies
	// the redo log), so that a server can start on them, and returns the
	// GTID position they hold.
	Prepare(ctx context.Context, dir string) (string, error)
}

// EngineResult is what Backup learned about the backup it took.
type EngineResult struct {
	// ToolVersion is the first line of the tool's --version output.
	ToolVersion string
	// Position is the GTID position of the backup, from the tool's binlog
	// info file; empty for a server that has written no transaction yet.
	Position string
	// BinlogFile and BinlogPos are the binary log coordinates beside it.
	BinlogFile string
	BinlogPos  uint64
	// ReplicaInfo is the tool's replica info file, when the backup was
	// taken from a replica with --slave-info.
	ReplicaInfo string
	// StreamFiles is the number of files in the stream.
	StreamFiles int64
}

// ToolConn says how the backup tool reaches the local server.
type ToolConn struct {
	// DefaultsFile is the server's my.cnf, passed to the tool as its first
	// option, --defaults-file; empty lets the tool read the usual files.
	DefaultsFile string
	// Socket, or Host and Port when Socket is empty, reach the server.
	Socket string
	Host   string
	Port   int
	// User and Password are the tool's credentials. The password is
	// handed over in the environment (MYSQL_PWD), never on the command
	// line, where any local user could read it.
	User     string
	Password string
}

// NewToolConn derives the tool's connection from the tablet's mysqld
// configuration: user cfg.User (the dba user when empty), with the password
// the tablet holds for that user.
func NewToolConn(cfg Config, db mysqld.Config, defaultsFile string) ToolConn {
	c := ToolConn{DefaultsFile: defaultsFile, Socket: db.Socket, Host: db.Host, Port: db.Port, User: cfg.User}
	if c.User == "" {
		c.User = db.Users[mysqld.RoleDBA].User
	}
	for _, r := range mysqld.Roles {
		if cred := db.Users[r]; cred.User == c.User && cred.Password != "" {
			c.Password = cred.Password
			break
		}
	}
	return c
}

// XtraBackup is the XtraBackup engine: Percona XtraBackup with xbstream
// for MySQL, MariaDB Backup with mbstream for MariaDB.
type XtraBackup struct {
	tool, stream string // paths of the backup and stream binaries
	conn         ToolConn
	backupFlags  []string
	prepareFlags []string
	restoreFlags []string
	logger       *slog.Logger
}

// NewXtraBackup finds the binaries for flavor (in cfg.RootPath when set)
// and returns the engine. It fails when cfg.Engine does not suit the
// flavor or a binary is missing.
func NewXtraBackup(cfg Config, flavor mysqld.Flavor, conn ToolConn, logger *slog.Logger) (*XtraBackup, error) {
	if cfg.Engine == EngineMariaBackup && !flavor.IsMariaDB() {
		return nil, fmt.Errorf("--backup_engine_implementation=%s: %s %s is not MariaDB; use %s",
			cfg.Engine, flavor.Name(), flavor.Version(), EngineXtraBackup)
	}
	toolNames := []string{flavor.BackupTool()}
	streamNames := []string{flavor.StreamTool()}
	if flavor.IsMariaDB() {
		toolNames = append(toolNames, "mariadb-backup")
	}
	tool, err := findTool(cfg.RootPath, toolNames)
	if err != nil {
		return nil, err
	}
	stream, err := findTool(cfg.RootPath, streamNames)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &XtraBackup{
		tool:         tool,
		stream:       stream,
		conn:         conn,
		backupFlags:  strings.Fields(cfg.BackupFlags),
		prepareFlags: strings.Fields(cfg.PrepareFlags),
		restoreFlags: strings.Fields(cfg.RestoreFlags),
		logger:       logger,
	}, nil
}

// findTool looks for the first of names in root, or, with no root, where
// mysqld.FindTool looks.
func findTool(root string, names []string) (string, error) {
	if root == "" {
		p, err := mysqld.FindTool(names...)
		if err != nil {
			return "", fmt.Errorf("backup tool: %w (install %s, or set --xtrabackup_root_path)", err, names[0])
		}
		return p, nil
	}
	for _, n := range names {
		p := filepath.Join(root, n)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("--xtrabackup_root_path=%s holds none of %s", root, strings.Join(names, ", "))
}

// Name is "xtrabackup".
func (x *XtraBackup) Name() string { return EngineXtraBackup }

// Tool is the backup binary's name.
func (x *XtraBackup) Tool() string { return baseName(x.tool) }

// Backup runs `<tool> --backup --stream=xbstream` and copies its stream to
// w, checking the stream's framing and checksums on the way and capturing
// the binlog info file from it.
func (x *XtraBackup) Backup(ctx context.Context, w io.Writer) (EngineResult, error) {
	var res EngineResult
	out, err := exec.CommandContext(ctx, x.tool, "--version").CombinedOutput()
	if err != nil {
		return res, &ToolError{Tool: x.tool, Args: []string{"--version"}, Err: err, Stderr: string(out)}
	}
	res.ToolVersion, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")

	tmp, err := os.MkdirTemp("", "xtrabackup-")
	if err != nil {
		return res, fmt.Errorf("create the tool's target dir: %w", err)
	}
	defer os.RemoveAll(tmp)

	var args []string
	if x.conn.DefaultsFile != "" {
		args = append(args, "--defaults-file="+x.conn.DefaultsFile) // must come first
	}
	args = append(args, "--backup", "--stream=xbstream", "--target-dir="+tmp)
	if x.conn.User != "" {
		args = append(args, "--user="+x.conn.User)
	}
	if x.conn.Socket != "" {
		args = append(args, "--socket="+x.conn.Socket)
	} else if x.conn.Host != "" {
		args = append(args, "--host="+x.conn.Host, fmt.Sprintf("--port=%d", x.conn.Port))
	}
	args = append(args, x.backupFlags...)
	var env []string
	if x.conn.Password != "" {
		env = append(env, "MYSQL_PWD="+x.conn.Password)
	}
	scan := newXBStreamScanner(append(append([]string{}, binlogInfoFiles...), replicaInfoFiles...)...)
	cmd := command{bin: x.tool, args: args, env: env, stdout: scanWriter{scan, w}, dir: tmp}
	x.logger.Info("backup tool starting", "tool", x.tool, "args", strings.Join(args, " "))
	if err := cmd.run(ctx, x.logger); err != nil {
		if scan.err != nil {
			return res, fmt.Errorf("%w (the tool's stream was invalid: %v)", err, scan.err)
		}
		return res, err
	}
	if err := scan.Close(); err != nil {
		return res, fmt.Errorf("%s wrote an invalid stream: %w", x.Tool(), err)
	}
	res.StreamFiles = scan.ends
	info, name, err := findBinlogInfo(func(n string) ([]byte, bool) { return scan.file(n) })
	if err != nil {
		return res, fmt.Errorf("%s backup: %w", x.Tool(), err)
	}
	res.Position, res.BinlogFile, res.BinlogPos = info.GTID, info.File, info.Pos
	for _, n := range replicaInfoFiles {
		if b, ok := scan.file(n); ok {
			res.ReplicaInfo = strings.TrimSpace(string(b))
			break
		}
	}
	x.logger.Info("backup tool finished", "tool", x.Tool(), "files", scan.ends, "position", res.Position, "binlog_info", name)
	return res, nil
}

// findBinlogInfo reads the first binlog info file that get finds.
func findBinlogInfo(get func(string) ([]byte, bool)) (binlogInfo, string, error) {
	for _, n := range binlogInfoFiles {
		if b, ok := get(n); ok {
			info, err := parseBinlogInfo(b)
			return info, n, err
		}
	}
	return binlogInfo{}, "", fmt.Errorf("no binlog info file (%s): binary logging must be on to take a backup that replicas can resume from",
		strings.Join(binlogInfoFiles, " or "))
}

// scanWriter passes a stream through an xbstream scanner on its way to w.
type scanWriter struct {
	scan *xbstreamScanner
	w    io.Writer
}

// Write scans p, then writes it to w.
func (s scanWriter) Write(p []byte) (int, error) {
	if _, err := s.scan.Write(p); err != nil {
		return 0, err
	}
	return s.w.Write(p)
}

// ReadFrom hands r, scanned as it is read, to w's ReadFrom when w has one
// (the striper reads straight into its stripes), and copies otherwise.
func (s scanWriter) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := s.w.(io.ReaderFrom); ok {
		sr := &scanReader{scan: s.scan, r: r}
		n, err := rf.ReadFrom(sr)
		if sr.err != nil {
			return n, sr.err
		}
		return n, err
	}
	return io.Copy(struct{ io.Writer }{s}, r)
}

// scanReader passes a stream read from r through an xbstream scanner, and
// remembers the first error, which the extractor's exit status may hide
// (an extractor whose input stops early may exit 0).
type scanReader struct {
	scan *xbstreamScanner
	r    io.Reader
	err  error
}

// Read reads from r and scans what it read.
func (s *scanReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		if _, serr := s.scan.Write(p[:n]); serr != nil {
			s.err = serr
			return 0, serr
		}
	}
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// WriteTo hands r's WriteTo (when it has one) a writer that scans what
// passes, and reads through Read otherwise. Only errors of the stream
// (r's, or the scanner's) are kept: a write error is the extractor's
// side, which its exit status reports.
func (s *scanReader) WriteTo(w io.Writer) (int64, error) {
	wt, ok := s.r.(io.WriterTo)
	if !ok {
		return io.Copy(w, struct{ io.Reader }{s})
	}
	sw := &scanningWriter{scan: s.scan, w: w}
	n, err := wt.WriteTo(sw)
	switch {
	case sw.scanErr != nil:
		s.err = sw.scanErr
	case err != nil && !sw.writeFailed:
		s.err = err
	}
	return n, err
}

// scanningWriter scans what it writes to w, telling scan errors from
// write errors.
type scanningWriter struct {
	scan        *xbstreamScanner
	w           io.Writer
	scanErr     error
	writeFailed bool
}

// Write scans p, then writes it to w.
func (s *scanningWriter) Write(p []byte) (int, error) {
	if _, err := s.scan.Write(p); err != nil {
		s.scanErr = err
		return 0, err
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.writeFailed = true
	}
	return n, err
}

// Extract runs `<stream tool> -x -C dir` on the stream read from r.
func (x *XtraBackup) Extract(ctx context.Context, r io.Reader, dir string) error {
	scan := newXBStreamScanner()
	in := &scanReader{scan: scan, r: r}
	args := append([]string{"-x", "-C", dir}, x.restoreFlags...)
	err := command{bin: x.stream, args: args, stdin: in}.run(ctx, x.logger)
	// The stream's own error says more than the extractor's reaction to
	// its input ending early.
	if in.err != nil {
		return fmt.Errorf("extract into %s: %w", dir, in.err)
	}
	if err != nil {
		return err
	}
	if err := scan.Close(); err != nil {
		return fmt.Errorf("extract into %s: %w", dir, err)
	}
	return nil
}

// Prepare runs `<tool> --prepare` on dir, with the backup's own
// backup-my.cnf as defaults file (the InnoDB settings the backup was taken
// with), and reads the position from the binlog info file.
func (x *XtraBackup) Prepare(ctx context.Context, dir string) (string, error) {
	var args []string
	if _, err := os.Stat(filepath.Join(dir, "backup-my.cnf")); err == nil {
		args = append(args, "--defaults-file="+filepath.Join(dir, "backup-my.cnf"))
	} else {
		args = append(args, "--no-defaults")
	}
	args = append(args, "--prepare", "--target-dir="+dir)
	args = append(args, x.prepareFlags...)
	if err := (command{bin: x.tool, args: args, dir: dir}).run(ctx, x.logger); err != nil {
		return "", err
	}
	info, _, err := findBinlogInfo(func(n string) ([]byte, bool) {
		b, err := os.ReadFile(filepath.Join(dir, n))
		return b, err == nil
	})
	if err != nil {
		return "", fmt.Errorf("prepared backup in %s: %w", dir, err)
	}
	return info.GTID, nil
}
