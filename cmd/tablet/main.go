// Command tablet runs beside one mysqld: it owns the server's record in the
// topology service, serves a gateway's queries, reports health and takes
// backups. Flags follow vttablet's names; `tablet --help` lists them by
// group.
//
// Subcommands:
//
//	tablet [flags]            run the tablet
//	tablet version            print the version
//	tablet topo <command>     administer the topology service (tablet topo help)
//	tablet query   --server host:port 'SQL'   run one statement on a tablet, print its result
//	tablet stream  --server host:port 'SQL'   stream a read's rows
//	tablet tx      --server host:port FILE    run a file's statements in one transaction
//	tablet ping    --server host:port         check a tablet answers
//	tablet backup  --server host:port         take a backup on a tablet
//	tablet backups --server host:port         list the shard's backups
//
// The client subcommands print a table, or JSON with --json; each has
// --help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"

	"github.com/tabletd/tablet/topo/topoadmin"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code. Flag errors
// exit 2, failures to start or run exit 1.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "version":
			fmt.Fprintln(stdout, versionString())
			return 0
		case "help":
			args = []string{"--help"}
		case "topo":
			return runTopo(ctx, args[1:], stdout, stderr)
		}
		if _, ok := clientCommands[args[0]]; ok {
			return runClient(ctx, args[0], args[1:], stdout, stderr)
		}
	}

	cfg := defaultConfig()
	fs := newFlagSet("tablet")
	var showVersion bool
	var logLevel slog.Level
	fs.group("General", func(fs *flag.FlagSet) {
		fs.BoolVar(&showVersion, "version", false, "print the version and exit")
		fs.TextVar(&logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	})
	cfg.bind(fs)
	if err := fs.parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "Usage: tablet [flags]\n       tablet version\n       tablet topo <command> [flags]\n")
			names := make([]string, 0, len(clientCommands))
			for n := range clientCommands {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(stdout, "       %s\n", clientCommands[n])
			}
			fs.usage(stdout)
			return 0
		}
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
			msg = "unknown flag --" + strings.TrimPrefix(name, "-")
		}
		fmt.Fprintf(stderr, "tablet: %s\nRun 'tablet --help' for the list of flags.\n", msg)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tablet: unexpected argument %q (flags start with --; run 'tablet --help')\n", fs.Arg(0))
		return 2
	}
	if showVersion {
		fmt.Fprintln(stdout, versionString())
		return 0
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(stderr, "tablet: %v\n", err)
		return 2
	}

	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: logLevel}))
	logger.Info("starting tablet", append([]any{"version", versionString()}, cfg.logAttrs()...)...)

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, logger); err != nil {
		logger.Error("tablet stopped", "err", err)
		return 1
	}
	logger.Info("tablet stopped")
	return 0
}

// runTopo runs an administration command against the topology service.
func runTopo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := topoadmin.Run(ctx, args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintf(stderr, "tablet topo: %v\n", err)
	return 1
}

// versionString is the release version, or the VCS revision the binary
// was built from.
func versionString() string {
	v := version
	if v == "" {
		v = "devel"
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		return fmt.Sprintf("tablet %s %s", v, bi.GoVersion)
	}
	return "tablet " + v
}
