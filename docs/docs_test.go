// Package docs holds the operator's guide (operations.md) and the tests
// that keep it true: its flag reference matches the binary's --help, every
// health reason has an entry, every tablet command and flag it shows
// exists, and its walkthrough runs end to end against the sandbox's parts.
package docs

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tabletd/tablet/health"
	"github.com/tabletd/tablet/testenv"
)

var update = flag.Bool("update", false, "rewrite the flag reference in operations.md from the binary's --help")

const guide = "operations.md"

var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "docs-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build builds a command of the module into the test's bin directory once.
func build(t *testing.T, pkg, name string) string {
	t.Helper()
	out := filepath.Join(binDir, name)
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// tabletBinary builds cmd/tablet; under -short it skips the test.
func tabletBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: builds the tablet binary to compare the guide with it (run without -short)")
	}
	return build(t, "../cmd/tablet", "tablet")
}

// helpFlag is one flag as --help lists it.
type helpFlag struct {
	name, typ, help, def string
}

type helpGroup struct {
	title string
	flags []helpFlag
}

// helpLine matches a flag's first line: "  --name type" in the tablet's
// grouped list, "  -name type" in the flag package's own.
var helpLine = regexp.MustCompile(`^  --?([A-Za-z0-9_-]+)(?: (\S+))?$`)

// help runs `tablet args... --help` and parses its flag list.
func help(t *testing.T, args ...string) []helpGroup {
	t.Helper()
	out, _ := exec.Command(tabletBinary(t), append(args, "--help")...).CombinedOutput()
	var groups []helpGroup
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		if strings.HasSuffix(l, ":") && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "Usage") {
			groups = append(groups, helpGroup{title: strings.TrimSuffix(l, ":")})
			continue
		}
		m := helpLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if len(groups) == 0 {
			groups = append(groups, helpGroup{})
		}
		f := helpFlag{name: m[1], typ: m[2]}
		if i+1 < len(lines) {
			f.help = strings.TrimSpace(lines[i+1])
			if j := strings.LastIndex(f.help, " (default "); j >= 0 && strings.HasSuffix(f.help, ")") {
				f.def = strings.Trim(f.help[j+len(" (default "):len(f.help)-1], `"`)
				f.help = f.help[:j]
			}
		}
		g := &groups[len(groups)-1]
		g.flags = append(g.flags, f)
	}
	return groups
}

// flagReference renders the guide's flag section from --help.
func flagReference(groups []helpGroup) string {
	var b strings.Builder
	for _, g := range groups {
		if len(g.flags) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n| flag | default | meaning |\n| --- | --- | --- |\n", g.title)
		for _, f := range g.flags {
			name := "`--" + f.name + "`"
			if f.typ != "" {
				name += " " + f.typ
			}
			def := ""
			if f.def != "" {
				def = "`" + f.def + "`"
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", name, def, strings.ReplaceAll(f.help, "|", `\|`))
		}
	}
	return b.String() + "\n"
}

// TestFlagReference checks that the guide lists every flag of the binary,
// with its default and meaning, and nothing else.
func TestFlagReference(t *testing.T) {
	groups := help(t)
	n := 0
	for _, g := range groups {
		n += len(g.flags)
	}
	if n < 50 {
		t.Fatalf("tablet --help listed only %d flags", n)
	}
	want := flagReference(groups)
	b, err := os.ReadFile(guide)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- flags:begin -->\n", "<!-- flags:end -->"
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %q ... %q markers", guide, begin, end)
	}
	got := doc[i+len(begin) : j]
	if got == want {
		t.Logf("%s lists all %d flags in %d groups", guide, n, len(groups))
		return
	}
	if *update {
		if err := os.WriteFile(guide, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the flag reference of %s: %d flags", guide, n)
		return
	}
	for _, g := range groups {
		for _, f := range g.flags {
			if !strings.Contains(got, "`--"+f.name+"`") {
				t.Errorf("%s does not list --%s", guide, f.name)
			}
		}
	}
	t.Errorf("the flag reference of %s differs from tablet --help; run: go test ./docs -run TestFlagReference -update", guide)
}

// TestHealthReasons checks that the guide explains every health reason.
func TestHealthReasons(t *testing.T) {
	b, err := os.ReadFile(guide)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range health.Reasons {
		if !strings.Contains(string(b), "| `"+string(r)+"` |") {
			t.Errorf("%s has no row for health reason %s", guide, r)
		}
	}
}

// codeBlock is a fenced shell block of the guide.
type codeBlock struct {
	line        int
	walkthrough bool // preceded by <!-- walkthrough -->
	text        string
}

func shellBlocks(t *testing.T) []codeBlock {
	t.Helper()
	b, err := os.ReadFile(guide)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []codeBlock
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] != "```sh" {
			continue
		}
		blk := codeBlock{line: i + 1, walkthrough: i > 0 && lines[i-1] == "<!-- walkthrough -->"}
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		blk.text = strings.Join(body, "\n") + "\n"
		blocks = append(blocks, blk)
	}
	return blocks
}

// clientSubcommands are the tablet's subcommands besides topo.
var clientSubcommands = []string{"query", "stream", "tx", "ping", "backup", "backups"}

// TestCommandsExist checks every `tablet` command line in the guide's shell
// blocks: the subcommand or topo command exists, and so does every flag
// given to it.
func TestCommandsExist(t *testing.T) {
	flagsOf := func(groups []helpGroup) map[string]bool {
		m := map[string]bool{}
		for _, g := range groups {
			for _, f := range g.flags {
				m[f.name] = true
			}
		}
		return m
	}
	main := flagsOf(help(t))
	topo := flagsOf(help(t, "topo"))
	sub := map[string]map[string]bool{}
	for _, s := range clientSubcommands {
		sub[s] = flagsOf(help(t, s))
	}
	topoUsage, _ := exec.Command(tabletBinary(t), "topo", "--help").CombinedOutput()
	topoCmds := map[string]map[string]bool{}
	for _, l := range strings.Split(string(topoUsage), "\n") {
		if m := regexp.MustCompile(`^  ([A-Z][A-Za-z]+)\b(.*)$`).FindStringSubmatch(l); m != nil {
			fl := map[string]bool{}
			for _, f := range regexp.MustCompile(`--([a-z_-]+)`).FindAllStringSubmatch(m[2], -1) {
				fl[f[1]] = true
			}
			topoCmds[m[1]] = fl
		}
	}
	known := func(set map[string]bool, name string) bool {
		return set[name] || set[strings.ReplaceAll(name, "-", "_")] || set[strings.ReplaceAll(name, "_", "-")]
	}
	checked := 0
	for _, blk := range shellBlocks(t) {
		text := strings.ReplaceAll(blk.text, "\\\n", " ")
		// Quoted arguments (SQL, a start command) are values, not flags.
		text = regexp.MustCompile(`"[^"]*"|'[^']*'`).ReplaceAllString(text, `"..."`)
		for _, line := range strings.Split(text, "\n") {
			fields := strings.Fields(line)
			for i, w := range fields {
				if w != "bin/tablet" && w != "tablet" {
					continue
				}
				if i > 0 && !strings.HasSuffix(fields[i-1], "|") && fields[i-1] != "&&" && fields[i-1] != ";" && fields[i-1] != "until" {
					continue // a word in prose or an argument, not a command
				}
				checked++
				args := fields[i+1:]
				where := fmt.Sprintf("%s:%d: %s", guide, blk.line, strings.TrimSpace(line))
				allowed := []map[string]bool{main}
				switch {
				case len(args) > 0 && args[0] == "topo":
					allowed = []map[string]bool{topo}
					found := contains(args, "--help")
					for _, a := range args[1:] {
						if cmd, ok := topoCmds[a]; ok {
							allowed = append(allowed, cmd)
							found = true
						}
					}
					if !found {
						t.Errorf("%s: no `tablet topo` command", where)
					}
				case len(args) > 0 && sub[args[0]] != nil:
					allowed = []map[string]bool{sub[args[0]]}
				}
				for _, a := range args {
					if !strings.HasPrefix(a, "--") || a == "--help" {
						continue
					}
					name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
					ok := false
					for _, set := range allowed {
						ok = ok || known(set, name)
					}
					if !ok {
						t.Errorf("%s: unknown flag --%s", where, name)
					}
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("checked only %d tablet command lines in %s", checked, guide)
	}
	t.Logf("checked %d tablet command lines", checked)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestWalkthrough runs the guide's walkthrough blocks, in order, in one
// bash script in a fresh directory holding bin/tablet and bin/sandbox:
// the sandbox (etcd, MariaDB, the primary), a replica on a second server,
// a backup, and a third tablet restored from it on an empty server.
func TestWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: runs the sandbox, two more mysqld and three tablets (run without -short)")
	}
	for _, tool := range []string{"bash", "mariadb-install-db", "mariadbd", "mariadb", "mariadb-admin", "mariabackup", "curl", "timeout", "setsid"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: scripts/install-deps.sh installs what the walkthrough needs", tool)
		}
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	n := 0
	for _, blk := range shellBlocks(t) {
		if blk.walkthrough {
			fmt.Fprintf(&script, "echo '>>> %s:%d'\n%s", guide, blk.line, blk.text)
			n++
		}
	}
	if n < 8 {
		t.Fatalf("%s has %d walkthrough blocks", guide, n)
	}
	// A last command of its own: bash would exec the guide's last command
	// in place of itself, and that command (timeout) does not reap the
	// background sandbox, which would then wait forever as a zombie that
	// kill -0 still finds.
	script.WriteString("echo '>>> the walkthrough is done'\n")
	// A short directory: mysqld's socket path must stay under 107 bytes.
	dir, err := os.MkdirTemp("/tmp", "walk")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, pkg := range map[string]string{"tablet": "../cmd/tablet", "sandbox": "../testenv/sandbox"} {
		if err := os.Symlink(build(t, pkg, name), filepath.Join(dir, "bin", name)); err != nil {
			t.Fatal(err)
		}
	}
	env := os.Environ()
	for _, v := range []string{"MYSQL_101_PORT", "MYSQL_102_PORT", "TABLET_101_PORT", "TABLET_101_GRPC", "TABLET_102_PORT", "TABLET_102_GRPC"} {
		p, err := testenv.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, v+"="+strconv.Itoa(p))
	}
	t.Cleanup(func() { stopLeftovers(t, dir) })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if err != nil {
		t.Fatalf("the walkthrough failed: %v\n%s\n%s", err, out.String(), logs(dir))
	}
	text := out.String()
	for _, want := range []string{
		"Sandbox is up",
		"backup complete",
		`"msg":"restored from backup"`,
		"walkthrough-sku",
		"zone1-0000000102",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the walkthrough's output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", text)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Log(err)
	}
}

// logs returns the walkthrough's log files, for a failure message.
func logs(dir string) string {
	var b strings.Builder
	for _, f := range []string{"sandbox.log", "tablet-101.log", "tablet-102.log", "mysql-101/error.log", "mysql-102/error.log"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		fmt.Fprintf(&b, "--- %s (last lines)\n%s\n", f, strings.Join(lines, "\n"))
	}
	return b.String()
}

// stopLeftovers stops what a failed walkthrough left running: the
// processes named by its pid files (tablets, mysqld, the sandbox, which
// stops its own servers), waiting up to a minute for each, then kills
// them, and removes the directory.
func stopLeftovers(t *testing.T, dir string) {
	pidFiles := []string{"tablet-102.pid", "tablet-101.pid", "mysql-101/mysqld.pid", "mysql-102/mysqld.pid", "sandbox.pid"}
	for _, f := range pidFiles {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || !alive(pid) {
			continue
		}
		sig := syscall.SIGTERM
		if f == "sandbox.pid" {
			sig = syscall.SIGINT
		}
		t.Logf("stopping %s (pid %d) left by the walkthrough", f, pid)
		_ = syscall.Kill(pid, sig)
		deadline := time.Now().Add(time.Minute)
		for alive(pid) && time.Now().Before(deadline) {
			waitExit(pid)
		}
		if alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	os.RemoveAll(dir)
}

// alive reports whether process pid runs: it exists and is no zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// waitExit waits briefly for a process that is not our child to go away:
// it cannot be waited for, so this watches /proc for at most 100ms.
func waitExit(pid int) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if !alive(pid) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
