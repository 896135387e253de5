package topoadmin

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/topo"
)

// printProto writes m as multi-line protobuf text.
func printProto(e *env, m proto.Message) error {
	out, err := prototext.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(out)
	return err
}

// splitKeyspaceShard parses "<keyspace>/<shard>".
func splitKeyspaceShard(s string) (string, string, error) {
	ks, shard, ok := strings.Cut(s, "/")
	if !ok || ks == "" || shard == "" || strings.Contains(shard, "/") {
		return "", "", usageError{fmt.Sprintf("%q is not <keyspace>/<shard>", s)}
	}
	return ks, shard, nil
}

var cmdAddCellInfo = command{
	name: "AddCellInfo",
	args: "--server_address <address> --root <path> <cell>",
	help: "Adds a cell: records in the global topology where the cell's own topology server is.",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		addr := fs.String("server_address", "", "the cell's topology server (for etcd2, comma-separated endpoints)")
		root := fs.String("root", "", "path of the cell's data on that server, such as /vitess/<cell>; must differ from the global root")
		return func(ctx context.Context, e *env, args []string) error {
			if err := wantArgs(args, 1, "<cell>"); err != nil {
				return err
			}
			if *addr == "" || *root == "" {
				return usageError{"--server_address and --root are required"}
			}
			return e.ts.CreateCellInfo(ctx, args[0], &topodatapb.CellInfo{ServerAddress: *addr, Root: *root})
		}
	},
}

var cmdGetCellInfo = command{
	name: "GetCellInfo",
	args: "<cell>",
	help: "Prints a cell's CellInfo.",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		return func(ctx context.Context, e *env, args []string) error {
			if err := wantArgs(args, 1, "<cell>"); err != nil {
				return err
			}
			ci, err := e.ts.GetCellInfo(ctx, args[0])
			if err != nil {
				return err
			}
			return printProto(e, ci)
		}
	},
}

var cmdGetCellInfoNames = command{
	name: "GetCellInfoNames",
	args: "",
	help: "Lists the cells, one per line.",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		return func(ctx context.Context, e *env, args []string) error {
			if err := wantArgs(args, 0, "no arguments"); err != nil {
				return err
			}
			names, err := e.ts.GetCellInfoNames(ctx)
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintln(e.stdout, n)
			}
			return nil
		}
	},
}

var cmdUpdateCellInfo = command{
	name: "UpdateCellInfo",
	args: "[--server_address <address>] [--root <path>] <cell>",
	help: "Changes where a cell's topology server is. Running tablets of the cell keep their old connection until restarted.",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		addr := fs.String("server_address", "", "new topology server of the cell (unchanged if empty)")
		root := fs.String("root", "", "new root of the cell (unchanged if empty)")
		return func(ctx context.Context, e *env, args []string) error {
			if err := wantArgs(args, 1, "<cell>"); err != nil {
				return err
			}
			ci, err := e.ts.UpdateCellInfoFields(ctx, args[0], func(ci *topodatapb.CellInfo) error {
				if *addr == "" && *root == "" {
					return topo.ErrNoUpdateNeeded
				}
				if *addr != "" {
					ci.ServerAddress = *addr
				}
				if *root != "" {
					ci.Root = *root
				}
				return nil
			})
			if err != nil {
				return err
			}
			return printProto(e, ci)
		}
	},
}

var cmdDeleteCellInfo = command{
	name: "DeleteCellInfo",
	args: "[--force] <cell>",
	help: "Removes a cell's CellInfo; refuses while the cell has tablet records unless --force. Also RemoveCellInfo.",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		force := fs.Bool("force", false, "remove even if the cell's topology has tablets or cannot be reached")
		return func(ctx context.Context, e *env, args []string) error {
			if err := wantArgs(args, 1, "<cell>"); err != nil {
				return err
			}
			return e.ts.DeleteCellInfo(ctx, args[0], *force)
		}
	},
}

var cmdCreateKeyspace = command{
	name: "CreateKeyspace",
	args: "[--durability-policy <policy>] [--sidecar-db-name <name>] [--force] <keyspace>",
	help: "Creates a keyspace record.",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		durability := fs.String("durability-policy", "none", "durability policy of the keyspace (none, semi_sync, ...)")
		sidecar := fs.String("sidecar-db-name", "_vt", "name of the sidecar database in each mysqld")
		force := fs.Bool("force", false, "succeed if the keyspace exists already")
		return func(ctx context.Context, e *env, args []string) error {
			if err := wantArgs(args, 1, "<keyspace>"); err != nil {
				return err
			}
			err := e.ts.CreateKeyspace(ctx, args[0], &topodatapb.Keyspace{DurabilityPolicy: *durability, SidecarDbName: *sidecar})
			if *force && topo.CodeOf(err) == topo.NodeExists {
				return nil
			}
			return err
		}
	},
}

var cmdGetKeyspace = command{
	name: "GetKeyspace",
	args: "<keyspace>",
	help: "Prints a keyspace record.",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		return func(ctx context.Context, e *env, args []string) error {
			if err := wantArgs(args, 1, "<keyspace>"); err != nil {
				return err
			}
			ki, err := e.ts.GetKeyspace(ctx, args[0])
			if err != nil {
				return err
			}
			return printProto(e, ki.Keyspace)
		}
	},
}

var cmdGetKeyspaces = command{
	name: "GetKeyspaces",
	args: "",
	help: "Lists the keyspaces, one per line.",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		return func(ctx context.Context, e *env, args []string) error {
			if err := wantArgs(args, 0, "no arguments"); err != nil {
				return err
			}
			names, err := e.ts.GetKeyspaceNames(ctx)
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintln(e.stdout, n)
			}
			return nil
		}
	},
}

var cmdCreateShard = command{
	name: "CreateShard",
	args: "[--parent] [--force] <keyspace/shard>",
	help: "Creates a shard record; its key range comes from the name (0, -80, 80-, ...).",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		parent := fs.Bool("parent", false, "create the keyspace too if missing")
		force := fs.Bool("force", false, "succeed if the shard exists already")
		return func(ctx context.Context, e *env, args []string) error {
			if err := wantArgs(args, 1, "<keyspace/shard>"); err != nil {
				return err
			}
			ks, shard, err := splitKeyspaceShard(args[0])
			if err != nil {
				return err
			}
			if *parent {
				_, err = e.ts.GetOrCreateShard(ctx, ks, shard)
				return err
			}
			_, err = e.ts.CreateShard(ctx, ks, shard)
			if *force && topo.CodeOf(err) == topo.NodeExists {
				return nil
			}
			return err
		}
	},
}

var cmdGetShard = command{
	name: "GetShard",
	args: "<keyspace/shard>",
	help: "Prints a shard record.",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		return func(ctx context.Context, e *env, args []string) error {
			if err := wantArgs(args, 1, "<keyspace/shard>"); err != nil {
				return err
			}
			ks, shard, err := splitKeyspaceShard(args[0])
			if err != nil {
				return err
			}
			si, err := e.ts.GetShard(ctx, ks, shard)
			if err != nil {
				return err
			}
			return printProto(e, si.Shard)
		}
	},
}

var cmdGetShardNames = command{
	name: "GetShardNames",
	args: "<keyspace>",
	help: "Lists the shards of a keyspace, one per line.",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		return func(ctx context.Context, e *env, args []string) error {
			if err := wantArgs(args, 1, "<keyspace>"); err != nil {
				return err
			}
			names, err := e.ts.GetShardNames(ctx, args[0])
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintln(e.stdout, n)
			}
			return nil
		}
	},
}

var cmdGetTablet = command{
	name: "GetTablet",
	args: "<cell>-<uid>",
	help: "Prints a tablet record.",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		return func(ctx context.Context, e *env, args []string) error {
			if err := wantArgs(args, 1, "<cell>-<uid>"); err != nil {
				return err
			}
			a, err := topo.ParseTabletAlias(args[0])
			if err != nil {
				return usageError{err.Error()}
			}
			ti, err := e.ts.GetTablet(ctx, a)
			if err != nil {
				return err
			}
			return printProto(e, ti.Tablet)
		}
	},
}

var cmdDeleteTablet = command{
	name: "DeleteTablet",
	args: "<cell>-<uid>",
	help: "Deletes a tablet record and removes it from its shard's ShardReplication. For a tablet that is gone for good; a running tablet writes its record again.",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		return func(ctx context.Context, e *env, args []string) error {
			if err := wantArgs(args, 1, "<cell>-<uid>"); err != nil {
				return err
			}
			a, err := topo.ParseTabletAlias(args[0])
			if err != nil {
				return usageError{err.Error()}
			}
			return e.ts.DeleteTablet(ctx, a)
		}
	},
}

var cmdTabletExternallyReparented = command{
	name: "TabletExternallyReparented",
	args: "<cell>-<uid>",
	help: "Makes a tablet the primary of its shard in the topology, starting a new term, as after a failover done outside (by Orchestrator or an operator). The shard's tablets see it and take their roles: the new primary turns writable, the others replicate from it.",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		return func(ctx context.Context, e *env, args []string) error {
			if err := wantArgs(args, 1, "<cell>-<uid>"); err != nil {
				return err
			}
			a, err := topo.ParseTabletAlias(args[0])
			if err != nil {
				return usageError{err.Error()}
			}
			si, err := e.ts.SetShardPrimary(ctx, a)
			if err != nil {
				return err
			}
			return printProto(e, si.Shard)
		}
	},
}

var cmdGetTablets = command{
	name: "GetTablets",
	args: "[--cell <cell>] [--keyspace <keyspace> --shard <shard>]",
	help: "Lists tablets, one per line: alias keyspace shard type host:vt-port mysql-host:port. By default all tablets of all cells. Also ListTablets.",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		cell := fs.String("cell", "", "only tablets of this cell")
		keyspace := fs.String("keyspace", "", "only tablets of this keyspace (with --shard)")
		shard := fs.String("shard", "", "only tablets of this shard (with --keyspace)")
		return func(ctx context.Context, e *env, args []string) error {
			if err := wantArgs(args, 0, "no arguments"); err != nil {
				return err
			}
			if (*keyspace == "") != (*shard == "") {
				return usageError{"--keyspace and --shard go together"}
			}
			var cells []string
			if *cell != "" {
				cells = []string{*cell}
			}
			var tablets []*topo.TabletInfo
			switch {
			case *keyspace != "":
				var err error
				if tablets, err = e.ts.GetTabletsByShard(ctx, *keyspace, *shard, cells); err != nil {
					return err
				}
			default:
				if cells == nil {
					var err error
					if cells, err = e.ts.GetCellInfoNames(ctx); err != nil {
						return err
					}
				}
				for _, c := range cells {
					ts, err := e.ts.GetTabletsByCell(ctx, c)
					if err != nil {
						return err
					}
					tablets = append(tablets, ts...)
				}
			}
			for _, ti := range tablets {
				fmt.Fprintln(e.stdout, tabletLine(ti.Tablet))
			}
			return nil
		}
	},
}

// tabletLine is the one-line summary vtctl's ListAllTablets prints.
func tabletLine(t *topodatapb.Tablet) string {
	return fmt.Sprintf("%s %s %s %s %s:%d %s:%d",
		topo.TabletAliasString(t.GetAlias()), t.GetKeyspace(), t.GetShard(),
		strings.ToLower(t.GetType().String()), t.GetHostname(), t.GetPortMap()["vt"],
		t.GetMysqlHostname(), t.GetMysqlPort())
}

var cmdRebuildKeyspaceGraph = command{
	name: "RebuildKeyspaceGraph",
	args: "[--cells <cell,...>] <keyspace>",
	help: "Rebuilds a keyspace's SrvKeyspace in the given cells (all by default) from its shards.",
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		cellList := fs.String("cells", "", "comma-separated cells (all cells if empty)")
		return func(ctx context.Context, e *env, args []string) error {
			if err := wantArgs(args, 1, "<keyspace>"); err != nil {
				return err
			}
			return e.ts.RebuildSrvKeyspace(ctx, args[0], topo.SplitServerAddress(*cellList)...)
		}
	},
}
