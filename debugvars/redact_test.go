package debugvars

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestRedactArgs(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"no secrets", []string{"tablet", "--port=15100", "--db_app_user", "vt_app", "-v"},
			[]string{"tablet", "--port=15100", "--db_app_user", "vt_app", "-v"}},
		{"password flag with =", []string{"tablet", "--db_app_password=hunter2", "--db-dba-password=x=y"},
			[]string{"tablet", "--db_app_password=<redacted>", "--db-dba-password=<redacted>"}},
		{"password flag, value next", []string{"tablet", "-db_repl_password", "hunter2", "--port", "1"},
			[]string{"tablet", "-db_repl_password", "<redacted>", "--port", "1"}},
		{"other secret words", []string{"t", "--aws-Secret-Access-Key=k", "--api_token=k", "--db-credentials-file=/f", "--passwd=k"},
			[]string{"t", "--aws-Secret-Access-Key=<redacted>", "--api_token=<redacted>", "--db-credentials-file=/f", "--passwd=<redacted>"}},
		{"password in a URL", []string{"t", "--orc_api_url=http://orc:hunter2@orc.example:3000/api", "https://u:p@h/x?a=b:c@d"},
			[]string{"t", "--orc_api_url=http://orc:<redacted>@orc.example:3000/api", "https://u:<redacted>@h/x?a=b:c@d"}},
		{"user without password in a URL", []string{"t", "--orc_api_url=http://orc@h:3000/api"},
			[]string{"t", "--orc_api_url=http://orc@h:3000/api"}},
		{"secret flag last", []string{"t", "--db_app_password"}, []string{"t", "--db_app_password"}},
		{"program name kept", []string{"/bin/password-tool"}, []string{"/bin/password-tool"}},
		{"after --", []string{"t", "--", "--password=x"}, []string{"t", "--", "--password=<redacted>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			if got := RedactArgs(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("RedactArgs(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !slices.Equal(in, tt.in) {
				t.Errorf("RedactArgs changed its argument")
			}
		})
	}
}

// TestCmdlineVariableRedacted: a password given by flag is in os.Args,
// and /debug/vars shows os.Args as "cmdline"; the page must not show it.
func TestCmdlineVariableRedacted(t *testing.T) {
	saved := os.Args
	t.Cleanup(func() { os.Args = saved })
	os.Args = []string{"tablet", "--db_app_password=unique-secret-41", "--orc_api_url=http://u:unique-secret-42@h/api"}
	rec := httptest.NewRecorder()
	New().VarsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/debug/vars", nil))
	body := rec.Body.String()
	if strings.Contains(body, "unique-secret-4") {
		t.Fatalf("/debug/vars shows a password given by flag:\n%s", body)
	}
	var vars struct{ Cmdline []string }
	if err := json.Unmarshal([]byte(body), &vars); err != nil || len(vars.Cmdline) != 3 || vars.Cmdline[1] != "--db_app_password=<redacted>" {
		t.Fatalf("cmdline = %q (%v), want the arguments with the secrets redacted", vars.Cmdline, err)
	}
}
