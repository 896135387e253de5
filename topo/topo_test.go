package topo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tabletd/tablet/proto/topodatapb"
)

func TestErrorIs(t *testing.T) {
	cause := errors.New("boom")
	err := fmt.Errorf("get keyspace ks: %w", NewError(NoNode, "get", "/vitess/global/keyspaces/ks/Keyspace", cause))
	tests := []struct {
		name   string
		target error
		want   bool
	}{
		{"same code", ErrNoNode, true},
		{"other code", ErrNodeExists, false},
		{"cause", cause, true},
		{"same op and path", NewError(NoNode, "get", "/vitess/global/keyspaces/ks/Keyspace", nil), true},
		{"other path", NewError(NoNode, "get", "/other", nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(err, tt.target); got != tt.want {
				t.Fatalf("errors.Is(%v, %v) = %v, want %v", err, tt.target, got, tt.want)
			}
		})
	}
	if CodeOf(err) != NoNode || CodeOf(cause) != Unknown || CodeOf(nil) != -1 {
		t.Fatalf("CodeOf: %v %v %v", CodeOf(err), CodeOf(cause), CodeOf(nil))
	}
	want := "get keyspace ks: get /vitess/global/keyspaces/ks/Keyspace: node doesn't exist: boom"
	if err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
}

func TestContextError(t *testing.T) {
	if err := ContextError(context.Background(), "get", "/p"); err != nil {
		t.Fatalf("live context: %v", err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := ContextError(cctx, "get", "/p")
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "/p") {
		t.Fatalf("cancelled: %v", err)
	}
	dctx, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	err = ContextError(dctx, "get", "/p")
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired: %v", err)
	}
}

func TestRecordPaths(t *testing.T) {
	alias := TabletAliasString(&topodatapb.TabletAlias{Cell: "zone1", Uid: 100})
	tests := []struct{ got, want string }{
		{CellInfoPath("zone1"), "cells/zone1/CellInfo"},
		{KeyspacePath("ks"), "keyspaces/ks/Keyspace"},
		{ShardPath("ks", "-80"), "keyspaces/ks/shards/-80/Shard"},
		{VSchemaPath("ks"), "keyspaces/ks/VSchema"},
		{TabletPath(alias), "tablets/zone1-0000000100/Tablet"},
		{ShardReplicationPath("ks", "0"), "keyspaces/ks/shards/0/ShardReplication"},
		{SrvKeyspacePath("ks"), "keyspaces/ks/SrvKeyspace"},
		{SrvVSchemaPath(), "SrvVSchema"},
		{ShardDir("ks", "0"), "keyspaces/ks/shards/0"},
		{KeyspaceDir("ks"), "keyspaces/ks"},
		{ElectionDir("e"), "elections/e"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("path %q, want %q", tt.got, tt.want)
		}
	}
}

func TestCleanPath(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"a/b", "a/b", false},
		{"/a/b/", "a/b", false},
		{"a//./b", "a/b", false},
		{"", "", false},
		{"/", "", false},
		{"../a", "", true},
		{"a/../../b", "", true},
		{"a/..", "", true},
		{"a\x00b", "", true},
		{"a..b/c", "a..b/c", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := CleanPath(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("CleanPath(%q) = %q, %v; want %q, err %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
	if _, err := CleanFilePath("/"); err == nil {
		t.Fatal("CleanFilePath(/) succeeded")
	}
}

func TestJoinRootAndDirPrefix(t *testing.T) {
	tests := []struct{ root, rel, key, prefix string }{
		{"/vitess/global", "keyspaces/ks", "/vitess/global/keyspaces/ks", "/vitess/global/keyspaces/ks/"},
		{"/vitess/global", "", "/vitess/global", "/vitess/global/"},
		{"vitess/zone1", "tablets", "vitess/zone1/tablets", "vitess/zone1/tablets/"},
	}
	for _, tt := range tests {
		if got := JoinRoot(tt.root, tt.rel); got != tt.key {
			t.Errorf("JoinRoot(%q, %q) = %q, want %q", tt.root, tt.rel, got, tt.key)
		}
		if got := DirPrefix(tt.root, tt.rel); got != tt.prefix {
			t.Errorf("DirPrefix(%q, %q) = %q, want %q", tt.root, tt.rel, got, tt.prefix)
		}
	}
}

func TestChildEntries(t *testing.T) {
	keys := []string{"/r/a/x", "/r/a", "/r/b", "/r/c/d/e", "/rr/z", "/r/"}
	got := ChildEntries("/r/", keys)
	want := []DirEntry{{Name: "a", Dir: true}, {Name: "b"}, {Name: "c", Dir: true}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ChildEntries = %v, want %v", got, want)
	}
}

func TestTabletAlias(t *testing.T) {
	tests := []struct {
		in      string
		cell    string
		uid     uint32
		wantErr bool
	}{
		{"zone1-0000000100", "zone1", 100, false},
		{"zone1-100", "zone1", 100, false},
		{"us-east-1a-0000000007", "us-east-1a", 7, false},
		{"zone1-4294967295", "zone1", 4294967295, false},
		{"zone1-4294967296", "", 0, true},
		{"zone1", "", 0, true},
		{"-100", "", 0, true},
		{"zone1-", "", 0, true},
		{"zone1-x", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := ParseTabletAlias(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseTabletAlias(%q) error %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err == nil && (a.Cell != tt.cell || a.Uid != tt.uid) {
				t.Fatalf("ParseTabletAlias(%q) = %v", tt.in, a)
			}
		})
	}
	if got := TabletAliasString(&topodatapb.TabletAlias{Cell: "zone1", Uid: 100}); got != "zone1-0000000100" {
		t.Fatalf("TabletAliasString = %q", got)
	}
}

func TestShardKeyRange(t *testing.T) {
	tests := []struct {
		shard      string
		start, end string // hex; "nil" for no range
		wantErr    bool
	}{
		{"0", "nil", "nil", false},
		{"main", "nil", "nil", false},
		{"-", "", "", false},
		{"-80", "", "80", false},
		{"80-", "80", "", false},
		{"40-80", "40", "80", false},
		{"40-C0", "40", "c0", false},
		{"80-40", "", "", true},
		{"4-8", "", "", true},
		{"xx-80", "", "", true},
		{"-80-", "", "", true},
		{"", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.shard, func(t *testing.T) {
			kr, err := ShardKeyRange(tt.shard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ShardKeyRange(%q) error %v, wantErr %v", tt.shard, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if tt.start == "nil" {
				if kr != nil {
					t.Fatalf("ShardKeyRange(%q) = %v, want nil", tt.shard, kr)
				}
				return
			}
			if got := fmt.Sprintf("%x-%x", kr.GetStart(), kr.GetEnd()); got != tt.start+"-"+tt.end {
				t.Fatalf("ShardKeyRange(%q) = %s, want %s-%s", tt.shard, got, tt.start, tt.end)
			}
		})
	}
}

func TestKeyRangesIntersect(t *testing.T) {
	kr := func(s string) *topodatapb.KeyRange {
		r, err := ShardKeyRange(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		a, b string
		want bool
	}{
		{"-80", "80-", false},
		{"-80", "40-c0", true},
		{"-", "80-", true},
		{"0", "-80", true}, // no range: the whole key space
		{"40-80", "80-c0", false},
		{"40-80", "00-40", false},
		{"40-80", "50-60", true},
	}
	for _, tt := range tests {
		if got := KeyRangesIntersect(kr(tt.a), kr(tt.b)); got != tt.want {
			t.Errorf("KeyRangesIntersect(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := KeyRangesIntersect(kr(tt.b), kr(tt.a)); got != tt.want {
			t.Errorf("KeyRangesIntersect(%s, %s) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	good.GlobalServerAddress = "127.0.0.1:2379"
	good.GlobalRoot = "/vitess/global"
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string // substring naming the flag; "" for valid
	}{
		{"good", func(*Config) {}, ""},
		{"memory needs no address", func(c *Config) { c.Implementation = ImplMemory; c.GlobalServerAddress = "" }, ""},
		{"no implementation", func(c *Config) { c.Implementation = "" }, "--topo_implementation"},
		{"unknown implementation", func(c *Config) { c.Implementation = "zk2" }, "--topo_implementation"},
		{"no address", func(c *Config) { c.GlobalServerAddress = " , " }, "--topo_global_server_address"},
		{"no root", func(c *Config) { c.GlobalRoot = "" }, "--topo_global_root"},
		{"server root", func(c *Config) { c.GlobalRoot = "/" }, "--topo_global_root"},
		{"unclean root", func(c *Config) { c.GlobalRoot = "/vitess//global/" }, "--topo_global_root"},
		{"short lease", func(c *Config) { c.LeaseDuration = 100 * time.Millisecond }, "--topo_etcd_lease_duration"},
		{"no call timeout", func(c *Config) { c.CallTimeout = 0 }, "call timeout"},
		{"no lock timeout", func(c *Config) { c.LockTimeout = 0 }, "--lock-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mod(&cfg)
			err := cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestBuildSrvKeyspace(t *testing.T) {
	shard := func(name string, serving bool) *ShardInfo {
		kr, _ := ShardKeyRange(name)
		return &ShardInfo{Name: name, Shard: &topodatapb.Shard{KeyRange: kr, IsPrimaryServing: serving}}
	}
	sk := BuildSrvKeyspace([]*ShardInfo{shard("80-", true), shard("-80", true), shard("-40", false)})
	if len(sk.Partitions) != 3 {
		t.Fatalf("%d partitions, want 3", len(sk.Partitions))
	}
	for i, want := range []topodatapb.TabletType{topodatapb.TabletType_PRIMARY, topodatapb.TabletType_REPLICA, topodatapb.TabletType_RDONLY} {
		p := sk.Partitions[i]
		if p.ServedType != want {
			t.Errorf("partition %d serves %v, want %v", i, p.ServedType, want)
		}
		var names []string
		for _, r := range p.ShardReferences {
			names = append(names, r.Name)
		}
		if got := strings.Join(names, ","); got != "-80,80-" {
			t.Errorf("partition %v shards %s, want -80,80-", want, got)
		}
	}
}

func TestAddFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(Config) bool
		wantErr bool
	}{
		{"defaults", nil, func(c Config) bool {
			return c.Implementation == ImplEtcd2 && c.LeaseDuration == 30*time.Second && c.LockTimeout == 45*time.Second
		}, false},
		{"vttablet names", []string{
			"--topo_implementation=memory", "--topo_global_server_address=a:1,b:2", "--topo_global_root=/vitess/global",
		}, func(c Config) bool {
			return c.Implementation == ImplMemory && c.GlobalServerAddress == "a:1,b:2" && c.GlobalRoot == "/vitess/global"
		}, false},
		{"lease as duration", []string{"--topo_etcd_lease_duration=5s"}, func(c Config) bool { return c.LeaseDuration == 5*time.Second }, false},
		{"lease as seconds", []string{"--topo_etcd_lease_duration=7"}, func(c Config) bool { return c.LeaseDuration == 7*time.Second }, false},
		{"timeouts", []string{"--lock-timeout=1m", "--topo-call-timeout=3s"}, func(c Config) bool {
			return c.LockTimeout == time.Minute && c.CallTimeout == 3*time.Second
		}, false},
		{"bad duration", []string{"--topo_etcd_lease_duration=soon"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			cfg.AddFlags(fs)
			err := fs.Parse(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse error %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && !tt.check(cfg) {
				t.Fatalf("parsed config %+v", cfg)
			}
		})
	}
}
