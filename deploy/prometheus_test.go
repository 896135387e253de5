package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// promtool finds Debian's promtool (package prometheus), skipping under
// -short and failing, with what to install, when it is missing.
func promtool(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: runs promtool (run without -short)")
	}
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install Debian's prometheus package (scripts/install-deps.sh does)")
	}
	return p
}

// TestPromtoolCheckRules runs `promtool check rules` over the rule files.
func TestPromtoolCheckRules(t *testing.T) {
	out, err := exec.Command(promtool(t), append([]string{"check", "rules"}, ruleFiles...)...).CombinedOutput()
	t.Logf("promtool check rules:\n%s", out)
	if err != nil {
		t.Fatalf("promtool check rules: %v", err)
	}
}

// TestPromtoolTestRules runs the rules' unit tests, whose series say which
// alerts fire when.
func TestPromtoolTestRules(t *testing.T) {
	cmd := exec.Command(promtool(t), "test", "rules", "tablet-alerts.test.yml")
	cmd.Dir = "prometheus"
	out, err := cmd.CombinedOutput()
	t.Logf("promtool test rules:\n%s", out)
	if err != nil {
		t.Fatalf("promtool test rules: %v", err)
	}
}

// TestPromtoolCheckConfig checks the sample Prometheus configurations,
// each beside the rule files it loads.
func TestPromtoolCheckConfig(t *testing.T) {
	pt := promtool(t)
	for _, cfg := range []string{"prometheus/prometheus.yml", "compose/prometheus.yml"} {
		t.Run(cfg, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range append([]string{cfg}, ruleFiles...) {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(pt, "check", "config", "prometheus.yml")
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("promtool check config %s: %v\n%s", cfg, err, out)
			}
		})
	}
}

// TestAlertsAreDocumentedAndTested checks every alert's labels and
// annotations, that the unit tests make every alert fire at least once,
// and that the guide has a section for it.
func TestAlertsAreDocumentedAndTested(t *testing.T) {
	var alerts ruleFile
	readYAML(t, "prometheus/tablet-alerts.yml", &alerts)
	var tests struct {
		RuleFiles []string `json:"rule_files"`
		Tests     []struct {
			AlertRuleTest []struct {
				Alertname string `json:"alertname"`
				ExpAlerts []any  `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	readYAML(t, "prometheus/tablet-alerts.test.yml", &tests)
	for _, f := range ruleFiles {
		if !slices.Contains(tests.RuleFiles, filepath.Base(f)) {
			t.Errorf("tablet-alerts.test.yml does not load %s", filepath.Base(f))
		}
	}
	fired := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fired[a.Alertname] = true
			}
		}
	}
	guide, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range alerts.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("recording rule %s in the alerts file: it belongs in tablet-rules.yml", r.Record)
				continue
			}
			n++
			if s := r.Labels["severity"]; s != "page" && s != "ticket" {
				t.Errorf("alert %s: severity %q, want page or ticket", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s lacks a summary or a description", r.Alert)
			}
			if !fired[r.Alert] {
				t.Errorf("alert %s never fires in tablet-alerts.test.yml: add a test series that makes it fire", r.Alert)
			}
			if !strings.Contains(string(guide), "`"+r.Alert+"`") {
				t.Errorf("alert %s has no entry in docs/operations.md", r.Alert)
			}
		}
	}
	t.Logf("%d alerts, each with labels, annotations, a firing test and a guide entry", n)
}
