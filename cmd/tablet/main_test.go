package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestRunFlagErrors(t *testing.T) {
	valid := []string{"--tablet-path=zone1-100", "--init_keyspace=commerce", "--init_shard=0",
		"--topo_global_server_address=127.0.0.1:2379", "--topo_global_root=/vitess/global"}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{name: "unknown flag", args: []string{"--no-such-flag=1"}, code: 2, stderr: "unknown flag --no-such-flag"},
		{name: "primary init type", args: append(valid, "--init_tablet_type=primary"), code: 2, stderr: "--init_tablet_type=primary: start as replica"},
		{name: "dash spelling accepted, bad value named", args: append(valid, "--init-tablet-type=bogus"), code: 2, stderr: `--init_tablet_type="bogus"`},
		{name: "missing alias", args: valid[1:], code: 2, stderr: "--tablet-path"},
		{name: "bad shard", args: append(valid[:2:2], "--init_shard=80-40"), code: 2, stderr: "--init_shard"},
		{name: "no topo address", args: valid[:3], code: 2, stderr: "--topo_global_server_address is required"},
		{name: "bad topo implementation", args: append(valid, "--topo_implementation=zk2"), code: 2, stderr: `--topo_implementation="zk2"`},
		{name: "bad pool size", args: append(valid, "--queryserver-config-pool-size=-1"), code: 2, stderr: "--queryserver-config-pool-size"},
		{name: "pool timeout in bare seconds", args: append(valid, "--queryserver-config-txpool-timeout=x"), code: 2, stderr: "txpool-timeout"},
		{name: "bad duration", args: append(valid, "--lameduck-period=soon"), code: 2, stderr: "lameduck-period"},
		{name: "bad port", args: append(valid, "--db_port=0"), code: 2, stderr: "--db_port=0"},
		{name: "stray argument", args: append(valid, "extra"), code: 2, stderr: `unexpected argument "extra"`},
		{name: "health interval zero", args: append(valid, "--health_check_interval=0"), code: 2, stderr: "--health_check_interval must be positive"},
		{name: "degraded under heartbeat", args: append(valid, "--heartbeat_interval=2", "--degraded_threshold=1s"), code: 2,
			stderr: "--degraded_threshold=1s must be longer than --heartbeat_interval=2s"},
		{name: "bad heartbeat flag", args: append(valid, "--heartbeat_enable=maybe"), code: 2, stderr: "heartbeat_enable"},
		{name: "role check interval zero", args: append(valid, "--role-check-interval=0"), code: 2, stderr: "--role-check-interval=0s: must be positive"},
		{name: "missing credentials file", args: append(valid, "--db-credentials-file=/nonexistent.json"), code: 2, stderr: "--db-credentials-file"},
		{name: "grpc cert without key", args: append(valid, "--grpc_cert=/c.pem"), code: 2, stderr: "--grpc_cert and --grpc_key go together"},
		{name: "grpc ca without cert", args: append(valid, "--grpc_ca=/ca.pem"), code: 2, stderr: "--grpc_ca=/ca.pem"},
		{name: "bad consolidator", args: append(valid, "--consolidator=sometimes"), code: 2, stderr: "consolidator"},
		{name: "both consolidator spellings", args: append(valid, "--consolidator=enable", "--enable_consolidator"), code: 2,
			stderr: "give only --consolidator"},
		{name: "bad query timeout", args: append(valid, "--queryserver-config-query-timeout=-1s"), code: 2, stderr: "--queryserver-config-query-timeout"},
		{name: "bad max result size", args: append(valid, "--queryserver-config-max-result-size=0"), code: 2, stderr: "--queryserver-config-max-result-size"},
		{name: "bad keepalive", args: append(valid, "--grpc_keepalive_time=-1"), code: 2, stderr: "--grpc_server_keepalive_time"},
		{name: "bad orchestrator url", args: append(valid, "--orc_api_url=ftp://orc"), code: 2, stderr: `--orc_api_url="ftp://orc"`},
		{name: "orchestrator renew past expiry", args: append(valid, "--orc_api_url=http://orc:3000/api", "--orc-maintenance-renew=11m"), code: 2,
			stderr: "--orc-maintenance-renew=11m0s must be below --orc-maintenance-expiry=10m0s"},
		{name: "client without server", args: []string{"query", "SELECT 1"}, code: 2, stderr: "--server is required"},
		{name: "client without statement", args: []string{"query", "--server=h:1"}, code: 2, stderr: "want 1 argument(s)"},
		{name: "client bad flag", args: []string{"ping", "--server=h:1", "--nope"}, code: 2, stderr: "tablet ping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("run(%q) = %d, stderr %q; want %d and %q", tt.args, code, stderr.String(), tt.code, tt.stderr)
			}
		})
	}
}

func TestRunHelpAndVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("--help exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"Tablet:", "Database:", "Health:", "Replication:", "Query server:", "gRPC:", "tablet query --server",
		"--grpc_cert", "--grpc_ca", "--grpc_max_message_size int", "--grpc_keepalive_time duration", "--queryserver-config-query-timeout duration",
		"--queryserver-config-schema-reload-time duration", "--init_keyspace", "--db_socket", "--lameduck-period duration",
		"--health_check_interval duration", "--heartbeat_enable", "--unhealthy_threshold duration", "(default 2h0m0s)", "--replication_connect_retry duration",
		"Orchestrator:", "--orc_api_url", "--orc_discover_interval", "--orc_timeout", "--pprof-http"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("--help output lacks %q", want)
		}
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"--version"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "tablet ") {
		t.Errorf("--version = %d %q", code, stdout.String())
	}
}

func TestNormalizeSpellings(t *testing.T) {
	fs := newFlagSet("t")
	cfg := defaultConfig()
	cfg.bind(fs)
	if err := fs.parse([]string{"--init-keyspace=a", "-init_shard", "-80", "--db-socket=/s", "--grpc-port=7", "--", "--init-shard"}); err != nil {
		t.Fatal(err)
	}
	if cfg.agent.InitKeyspace != "a" || cfg.agent.InitShard != "-80" || cfg.db.Socket != "/s" || cfg.agent.GRPCPort != 7 {
		t.Errorf("parsed %+v %q", cfg.agent, cfg.db.Socket)
	}
	if fs.NArg() != 1 || fs.Arg(0) != "--init-shard" {
		t.Errorf("args after -- = %q, want them untouched", fs.Args())
	}
}

func TestDurationTakesBareSeconds(t *testing.T) {
	var d time.Duration
	v := durationValue{&d}
	for in, want := range map[string]time.Duration{"30s": 30 * time.Second, "1.5": 1500 * time.Millisecond, "2": 2 * time.Second} {
		if err := v.Set(in); err != nil || d != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, d, err, want)
		}
	}
	if err := v.Set("soon"); err == nil {
		t.Error("Set(soon) succeeded")
	}
}

func TestConsolidatorFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "replicas-only"},
		{[]string{"--consolidator=enable"}, "enable"},
		{[]string{"--consolidator=notOnPrimary"}, "replicas-only"},
		{[]string{"--enable_consolidator"}, "enable"},
		{[]string{"--enable_consolidator=false"}, "disable"},
		{[]string{"--enable_consolidator", "--enable_consolidator_replicas"}, "replicas-only"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := newFlagSet("t")
			cfg := defaultConfig()
			cfg.bind(fs)
			args := append([]string{"--tablet-path=zone1-1", "--init_keyspace=ks", "--init_shard=0", "--topo_global_server_address=h:1",
				"--topo_global_root=/g"}, tt.args...)
			if err := fs.parse(args); err != nil {
				t.Fatal(err)
			}
			if err := cfg.validate(); err != nil {
				t.Fatal(err)
			}
			if got := cfg.agent.Query.Consolidator.String(); got != tt.want {
				t.Errorf("consolidator = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"simple", "SELECT 1; SELECT 2;", []string{"SELECT 1", "SELECT 2"}},
		{"no final semicolon", "SELECT 1;\nSELECT 2", []string{"SELECT 1", "SELECT 2"}},
		{"semicolon in quotes", "INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`); SELECT 'it''s; ok'", []string{
			"INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`)", "SELECT 'it''s; ok'"}},
		{"escaped quote", `SELECT 'a\';b'; SELECT 2`, []string{`SELECT 'a\';b'`, "SELECT 2"}},
		{"comments", "-- first; not a split\nSELECT 1; /* x; y */ SELECT 2; # tail;\n", []string{
			"-- first; not a split\nSELECT 1", "/* x; y */ SELECT 2"}},
		{"empty", " ; ;\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitStatements(tt.in)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Errorf("splitStatements(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
