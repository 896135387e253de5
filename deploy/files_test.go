package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// flagArgs returns the --flag names in a command line, with their values.
func flagArgs(cmdline string) map[string]string {
	flags := map[string]string{}
	for _, m := range regexp.MustCompile(`(?:^|\s)--([A-Za-z0-9_-]+)(?:=(\S*))?`).FindAllStringSubmatch(cmdline, -1) {
		flags[m[1]] = m[2]
	}
	return flags
}

// checkTabletFlags reports every flag of a `tablet` command line the binary
// does not have.
func checkTabletFlags(t *testing.T, where, cmdline string, known map[string]flagDoc) {
	t.Helper()
	for name := range flagArgs(cmdline) {
		if !knownFlag(known, name) {
			t.Errorf("%s passes --%s, which tablet does not have", where, name)
		}
	}
}

// checkDrainFits checks that a stop timeout covers the lameduck period and
// the shutdown grace period the command line sets, or their defaults.
func checkDrainFits(t *testing.T, where, cmdline string, stop time.Duration, known map[string]flagDoc) {
	t.Helper()
	args := flagArgs(cmdline)
	var total time.Duration
	for _, name := range []string{"lameduck-period", "shutdown_grace_period"} {
		v, ok := args[name]
		if !ok {
			v = known[name].Default
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s: --%s=%q: %v", where, name, v, err)
		}
		total += d
	}
	// Closing pools, gRPC and the topology after the drain takes a few
	// seconds; ask for 10 of margin.
	if stop < total+10*time.Second {
		t.Errorf("%s: stop timeout %v does not cover lameduck + grace (%v) plus 10s", where, stop, total)
	}
}

// unit is a parsed systemd unit: section -> key -> values.
type unit map[string]map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	section, cont := "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cont != "" {
			line = cont + " " + line
			cont = ""
		}
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case strings.HasSuffix(line, "\\"):
			cont = strings.TrimSuffix(line, "\\")
			continue
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			t.Fatalf("%s: not key=value in a section: %q", path, line)
		}
		u[section][k] = append(u[section][k], v)
	}
	return u
}

func (u unit) get(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// TestSystemdUnit checks the unit's structure and hardening, that its
// flags exist and its stop timeout covers the drain, and runs
// `systemd-analyze verify` and `systemd-analyze security --offline` on it
// where systemd-analyze exists.
func TestSystemdUnit(t *testing.T) {
	const path = "systemd/tablet.service"
	u := parseUnit(t, path)
	want := map[string]string{
		"Type": "simple", "User": "tablet", "Group": "tablet", "Restart": "on-failure", "KillSignal": "SIGTERM",
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"PrivateDevices": "yes", "CapabilityBoundingSet": "", "RestrictSUIDSGID": "yes",
	}
	for k, v := range want {
		if _, ok := u["Service"][k]; !ok {
			t.Errorf("%s: [Service] lacks %s=", path, k)
		} else if got := u.get("Service", k); got != v {
			t.Errorf("%s: %s=%q, want %q", path, k, got, v)
		}
	}
	if u.get("Install", "WantedBy") != "multi-user.target" {
		t.Errorf("%s: WantedBy=%q, want multi-user.target", path, u.get("Install", "WantedBy"))
	}
	exec0 := u.get("Service", "ExecStart")
	fields := strings.Fields(exec0)
	if len(fields) == 0 || fields[0] != "/usr/local/bin/tablet" {
		t.Fatalf("%s: ExecStart=%q, want /usr/local/bin/tablet ...", path, exec0)
	}
	known := tabletFlags(t)
	checkTabletFlags(t, path, exec0, known)
	stop, err := time.ParseDuration(u.get("Service", "TimeoutStopSec"))
	if err != nil {
		t.Fatalf("%s: TimeoutStopSec: %v", path, err)
	}
	checkDrainFits(t, path, exec0, stop, known)

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not found: the unit was checked by the parser above only")
		return
	}
	// verify wants ExecStart's binary to exist: point it at the one just
	// built, in a copy of the unit with the same name.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyPath := filepath.Join(dir, "tablet.service")
	if err := os.WriteFile(copyPath, []byte(strings.Replace(string(b), "ExecStart=/usr/local/bin/tablet", "ExecStart="+tabletBinary(t), 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	// verify prints what it ignores (unknown keys, bad values) and still
	// exits 0: any output is a failure.
	out, err := exec.Command(analyze, "verify", copyPath).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", path, err, out)
	} else {
		t.Logf("systemd-analyze verify %s: no findings", path)
	}
	out, err = exec.Command(analyze, "security", "--offline=true", "--no-pager", copyPath).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for tablet\.service: ([0-9.]+) (\w+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security --offline: %v, no exposure level in:\n%s", err, out)
	}
	level, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security --offline: exposure %.1f %s", level, m[2])
	if level > 2.0 {
		t.Errorf("exposure level %.1f (%s) is over 2.0: the unit lost some hardening\n%s", level, m[2], out)
	}
}

// dockerInstr is one Dockerfile instruction.
type dockerInstr struct {
	Cmd, Args string
	Line      int
}

func parseDockerfile(t *testing.T, path string) []dockerInstr {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []dockerInstr
	cur, start := "", 0
	for i, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur != "" && strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur == "" {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		cur += trimmed
		cmd, args, _ := strings.Cut(cur, " ")
		out = append(out, dockerInstr{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start})
		cur = ""
	}
	if cur != "" {
		t.Fatalf("%s: ends inside a continued line", path)
	}
	return out
}

var dockerInstructions = []string{"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
	"VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}

// TestDockerfile checks the image definition's structure: known
// instructions, a build stage the runtime stage copies the binary from, a
// non-root user, the tablet as entrypoint, its default ports exposed, and a
// health check that runs a real tablet command.
func TestDockerfile(t *testing.T) {
	const path = "docker/Dockerfile"
	instrs := parseDockerfile(t, path)
	var froms []string
	stages := map[string]bool{}
	args := map[string]bool{}
	var user, entrypoint, health string
	exposed := map[string]bool{}
	copiedFromBuild := false
	for _, in := range instrs {
		if !slices.Contains(dockerInstructions, in.Cmd) {
			t.Errorf("%s:%d: unknown instruction %s", path, in.Line, in.Cmd)
		}
		switch in.Cmd {
		case "ARG":
			name, _, _ := strings.Cut(in.Args, "=")
			args[name] = true
		case "FROM":
			f := strings.Fields(in.Args)
			for _, ref := range regexp.MustCompile(`\$\{(\w+)\}`).FindAllStringSubmatch(f[0], -1) {
				if !args[ref[1]] {
					t.Errorf("%s:%d: FROM uses ${%s}, not declared by an ARG before it", path, in.Line, ref[1])
				}
			}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				stages[f[2]] = true
			}
			froms = append(froms, in.Args)
			user = ""
		case "COPY":
			if m := regexp.MustCompile(`--from=(\S+)`).FindStringSubmatch(in.Args); m != nil {
				if !stages[m[1]] {
					t.Errorf("%s:%d: COPY --from=%s names no earlier stage", path, in.Line, m[1])
				}
				if strings.Contains(in.Args, "/usr/local/bin/tablet") {
					copiedFromBuild = true
				}
			} else if len(froms) == 1 {
				for _, src := range strings.Fields(in.Args)[:len(strings.Fields(in.Args))-1] {
					if strings.HasPrefix(src, "--") || src == "." {
						continue
					}
					if _, err := os.Stat(filepath.Join("..", src)); err != nil {
						t.Errorf("%s:%d: COPY %s: not in the build context (the repository root): %v", path, in.Line, src, err)
					}
				}
			}
		case "RUN":
			if m := regexp.MustCompile(`go build .* (\./\S+)$`).FindStringSubmatch(in.Args); m != nil {
				if _, err := os.Stat(filepath.Join("..", m[1], "main.go")); err != nil {
					t.Errorf("%s:%d: builds %s, which has no main.go", path, in.Line, m[1])
				}
			}
		case "USER":
			user = in.Args
		case "ENTRYPOINT":
			entrypoint = in.Args
		case "EXPOSE":
			for _, p := range strings.Fields(in.Args) {
				exposed[p] = true
			}
		case "HEALTHCHECK":
			health = in.Args
		}
	}
	if len(froms) < 2 || len(stages) == 0 {
		t.Errorf("%s: want a multi-stage build (a named build stage, then the runtime stage); FROMs: %q", path, froms)
	}
	if !copiedFromBuild {
		t.Errorf("%s: the runtime stage does not COPY --from the build stage into /usr/local/bin/tablet", path)
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("%s: the runtime stage runs as %q, want a non-root USER", path, user)
	}
	if entrypoint != `["/usr/local/bin/tablet"]` {
		t.Errorf("%s: ENTRYPOINT %s, want [\"/usr/local/bin/tablet\"]", path, entrypoint)
	}
	known := tabletFlags(t)
	for _, f := range []string{"port", "grpc_port"} {
		if !exposed[known[f].Default] {
			t.Errorf("%s: does not EXPOSE the default --%s, %s", path, f, known[f].Default)
		}
	}
	m := regexp.MustCompile(`CMD \["/usr/local/bin/tablet", "(\w+)"(.*)\]`).FindStringSubmatch(health)
	if m == nil {
		t.Fatalf("%s: HEALTHCHECK %q does not run the tablet binary", path, health)
	}
	sub := subcommandFlags(t, m[1])
	if len(sub) == 0 {
		t.Errorf("%s: HEALTHCHECK runs `tablet %s`, which lists no flags", path, m[1])
	}
	for _, f := range regexp.MustCompile(`"--([a-z_-]+)"`).FindAllStringSubmatch(m[2], -1) {
		if !knownFlag(sub, f[1]) {
			t.Errorf("%s: HEALTHCHECK passes --%s, which `tablet %s` does not have", path, f[1], m[1])
		}
	}
	if _, err := os.Stat("docker/Dockerfile.dockerignore"); err != nil {
		t.Errorf("no docker/Dockerfile.dockerignore: the build context would carry .git and .sandbox: %v", err)
	}
}
