// Package topoadmin is the operators' command line for the topology:
// add, show and remove cells; create and show keyspaces and shards; list
// tablets; rebuild serving keyspaces; and print any record decoded, like
// Vitess's "vtctl TopoCat -decode_proto". Command names and their flags
// follow vtctl's.
//
// Run parses the topology flags, opens the topology and runs one command;
// cmd/tablet hands it the arguments of "tablet topo ...":
//
//	tablet topo --topo_global_server_address=127.0.0.1:2379 --topo_global_root=/vitess/global \
//	    AddCellInfo --server_address=127.0.0.1:2379 --root=/vitess/zone1 zone1
//	tablet topo ... TopoCat --decode_proto --long /cells/zone1/CellInfo
//
// RunWithServer runs a command on a Server the caller opened.
package topoadmin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/tabletd/tablet/topo"
	"github.com/tabletd/tablet/topo/topofactory"
)

// command is one subcommand: its flags are bound by run on fs before
// parsing, positional arguments follow.
type command struct {
	name  string
	args  string // synopsis of flags and arguments
	help  string
	setup func(fs *flag.FlagSet) func(ctx context.Context, e *env, args []string) error
}

// env is what a running command uses.
type env struct {
	ts     *topo.Server
	stdout io.Writer
}

// commandTable lists the commands.
func commandTable() []command {
	return []command{
		cmdAddCellInfo, cmdGetCellInfo, cmdGetCellInfoNames, cmdUpdateCellInfo, cmdDeleteCellInfo,
		cmdCreateKeyspace, cmdGetKeyspace, cmdGetKeyspaces,
		cmdCreateShard, cmdGetShard, cmdGetShardNames,
		cmdGetTablet, cmdGetTablets, cmdDeleteTablet, cmdTabletExternallyReparented, cmdRebuildKeyspaceGraph,
		cmdTopoCat,
	}
}

// findCommand looks a command up by name or vtctl alias, ignoring case.
func findCommand(name string) (command, bool) {
	for _, c := range commandTable() {
		if strings.EqualFold(c.name, name) {
			return c, true
		}
	}
	// vtctl's other names for some commands.
	aliases := map[string]string{
		"RemoveCellInfo": "DeleteCellInfo",
		"ListTablets":    "GetTablets",
		"ListAllTablets": "GetTablets",
		"GetCells":       "GetCellInfoNames",
	}
	for alias, target := range aliases {
		if strings.EqualFold(alias, name) {
			return findCommand(target)
		}
	}
	return command{}, false
}

// Run parses the topology flags at the head of args (see
// topo.Config.AddFlags), opens the topology they name, runs the command
// that follows with its own flags and arguments, and closes the topology.
// Output goes to stdout; usage and flag errors to stderr. It returns the
// command's error, flag.ErrHelp after printing help on request, or an error
// naming what was wrong with the arguments.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := topo.DefaultConfig()
	fs := flag.NewFlagSet("topo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.AddFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: topo [topology flags] <command> [command flags] [arguments]\n\ntopology flags:\n")
		fs.PrintDefaults()
		printCommands(stderr)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("topo: no command given")
	}
	if _, ok := findCommand(fs.Arg(0)); !ok {
		printCommands(stderr)
		return fmt.Errorf("topo: unknown command %q", fs.Arg(0))
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	ts, err := topofactory.Open(ctx, cfg, nil)
	if err != nil {
		return err
	}
	err = RunWithServer(ctx, ts, fs.Args(), stdout, stderr)
	if cerr := ts.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// RunWithServer runs one command (args[0]) with its flags and arguments on
// ts, which stays open.
func RunWithServer(ctx context.Context, ts *topo.Server, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		printCommands(stderr)
		return errors.New("topo: no command given")
	}
	c, ok := findCommand(args[0])
	if !ok {
		printCommands(stderr)
		return fmt.Errorf("topo: unknown command %q", args[0])
	}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s %s\n\n%s\n", c.name, c.args, c.help)
		fs.PrintDefaults()
	}
	run := c.setup(fs)
	positional, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if err := run(ctx, &env{ts: ts, stdout: stdout}, positional); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fs.Usage()
		}
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return nil
}

// parseInterspersed parses flags anywhere among the arguments ("zone1
// --root=/x" as well as "--root=/x zone1") and returns the positional
// ones. Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		// Parse stops at "--" (consumed) or at the first non-flag.
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func printCommands(w io.Writer) {
	fmt.Fprintf(w, "\ncommands:\n")
	var names []string
	byName := make(map[string]command)
	for _, c := range commandTable() {
		names = append(names, c.name)
		byName[c.name] = c
	}
	sort.Strings(names)
	for _, n := range names {
		c := byName[n]
		fmt.Fprintf(w, "  %s %s\n      %s\n", c.name, c.args, c.help)
	}
}

// usageError is a wrong number or form of arguments; the command's usage
// is printed with it.
type usageError struct{ msg string }

// Error implements error.
func (e usageError) Error() string { return e.msg }

func wantArgs(args []string, n int, what string) error {
	if len(args) != n {
		return usageError{fmt.Sprintf("want %s, got %d argument(s)", what, len(args))}
	}
	return nil
}
