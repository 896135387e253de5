package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// tabletBinary builds cmd/tablet once per test process, into a directory
// removed when the process ends (TestMain). Under -short it skips the test:
// checks made before the call have run.
func tabletBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the checks against the tablet binary: building it takes a while (run without -short)")
	}
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "tablet")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/tablet").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ../cmd/tablet: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deploy-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// flagDoc is one flag as `tablet --help` lists it.
type flagDoc struct {
	Name, Type, Help, Default, Group string
}

// helpLine matches a flag's first line: "  --name type" in the tablet's
// grouped list, "  -name type" in the flag package's own (topo's).
var helpLine = regexp.MustCompile(`^  --?([A-Za-z0-9_-]+)(?: (\S+))?$`)

// parseHelp reads the grouped flag list `tablet --help` prints.
func parseHelp(out string) []flagDoc {
	var flags []flagDoc
	group := ""
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasSuffix(l, ":") && !strings.HasPrefix(l, " ") {
			group = strings.TrimSuffix(l, ":")
			continue
		}
		m := helpLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		f := flagDoc{Name: m[1], Type: m[2], Group: group}
		if i+1 < len(lines) {
			f.Help = strings.TrimSpace(lines[i+1])
			if j := strings.LastIndex(f.Help, " (default "); j >= 0 && strings.HasSuffix(f.Help, ")") {
				f.Default = strings.Trim(f.Help[j+len(" (default "):len(f.Help)-1], `"`)
				f.Help = f.Help[:j]
			}
		}
		flags = append(flags, f)
	}
	return flags
}

// tabletFlags returns the flags of the tablet binary itself.
func tabletFlags(t *testing.T) map[string]flagDoc {
	t.Helper()
	out, _ := exec.Command(tabletBinary(t), "--help").CombinedOutput()
	m := map[string]flagDoc{}
	for _, f := range parseHelp(string(out)) {
		m[f.Name] = f
	}
	if len(m) < 20 {
		t.Fatalf("tablet --help listed %d flags; output:\n%s", len(m), out)
	}
	return m
}

// knownFlag reports whether name is one of flags, spelled with dashes or
// underscores as the binary accepts.
func knownFlag(flags map[string]flagDoc, name string) bool {
	for _, alt := range []string{name, strings.ReplaceAll(name, "-", "_"), strings.ReplaceAll(name, "_", "-")} {
		if _, ok := flags[alt]; ok {
			return true
		}
	}
	return false
}

// subcommandFlags returns the flags `tablet <args...> --help` lists, plus
// every --flag named in its usage text (topo commands list theirs there).
func subcommandFlags(t *testing.T, args ...string) map[string]flagDoc {
	t.Helper()
	out, _ := exec.Command(tabletBinary(t), append(args, "--help")...).CombinedOutput()
	m := map[string]flagDoc{}
	for _, f := range parseHelp(string(out)) {
		m[f.Name] = f
	}
	for _, name := range regexp.MustCompile(`--([a-z0-9_-]+)`).FindAllStringSubmatch(string(out), -1) {
		if _, ok := m[name[1]]; !ok {
			m[name[1]] = flagDoc{Name: name[1]}
		}
	}
	return m
}

// topoCommands lists the `tablet topo` commands.
func topoCommands(t *testing.T) map[string]bool {
	t.Helper()
	out, _ := exec.Command(tabletBinary(t), "topo", "--help").CombinedOutput()
	cmds := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if m := regexp.MustCompile(`^  ([A-Z][A-Za-z]+)\b`).FindStringSubmatch(l); m != nil {
			cmds[m[1]] = true
		}
	}
	if len(cmds) < 5 {
		t.Fatalf("tablet topo --help listed %d commands:\n%s", len(cmds), out)
	}
	return cmds
}

// readYAML decodes a YAML file into v, through JSON.
func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	decodeYAML(t, path, b, v)
}

func decodeYAML(t *testing.T, what string, b []byte, v any) {
	t.Helper()
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal(j, v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// ruleFile is the shape of a Prometheus rule file.
type ruleFile struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval"`
		Rules    []struct {
			Record      string            `json:"record"`
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

// ruleFiles are the rule files operators load.
var ruleFiles = []string{"prometheus/tablet-rules.yml", "prometheus/tablet-alerts.yml"}

// expressions returns every PromQL expression of the rules and the
// dashboard, keyed by where it is, and the recording rules' names.
func expressions(t *testing.T) (exprs map[string]string, recorded map[string]bool) {
	t.Helper()
	exprs, recorded = map[string]string{}, map[string]bool{}
	for _, f := range ruleFiles {
		var rf ruleFile
		readYAML(t, f, &rf)
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				name := r.Record + r.Alert
				exprs[f+": "+name] = r.Expr
				if r.Record != "" {
					recorded[r.Record] = true
				}
			}
		}
	}
	d := readDashboard(t)
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs[fmt.Sprintf("grafana panel %q target %s", p.Title, tg.RefID)] = tg.Expr
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q := v.Definition
		if m := regexp.MustCompile(`^label_values\((.*),\s*[a-zA-Z_]+\)$`).FindStringSubmatch(q); m != nil {
			q = m[1]
		}
		exprs[fmt.Sprintf("grafana variable %q", v.Name)] = q
	}
	for _, a := range d.Annotations.List {
		exprs[fmt.Sprintf("grafana annotation %q", a.Name)] = a.Expr
	}
	return exprs, recorded
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Panels        []struct {
		ID         int            `json:"id"`
		Type       string         `json:"type"`
		Title      string         `json:"title"`
		Datasource map[string]any `json:"datasource"`
		GridPos    struct {
			H, W, X, Y int
		} `json:"gridPos"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Name string `json:"name"`
			Expr string `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile("grafana/tablet.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana/tablet.json: %v", err)
	}
	return d
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
