package debugvars

import (
	"regexp"
	"strings"
)

// secretFlagWords are the words that mark a flag as holding a secret:
// --db_app_password, --orc_api_password, --aws-secret-access-key, ...
var secretFlagWords = []string{"password", "passwd", "secret", "token"}

// urlPassword matches the password of a URL's user information, as in
// "http://user:password@host".
var urlPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:\s]*:)[^/?#@\s]*@`)

// Redacted is what RedactArgs shows instead of a secret.
const Redacted = "<redacted>"

// RedactArgs returns a copy of a command line (os.Args) safe to show: the
// value of every flag whose name holds one of "password", "passwd",
// "secret" or "token" ("--db_app_password=x" or
// "--db_app_password x"), and every password written into a URL, are
// replaced by Redacted. It is what the "cmdline" variable of /debug/vars
// shows, since passwords given by flag are in os.Args.
func RedactArgs(args []string) []string {
	out := make([]string, len(args))
	valueNext := false
	for i, a := range args {
		switch {
		case valueNext:
			a, valueNext = Redacted, false
		case i > 0 && strings.HasPrefix(a, "-") && a != "--":
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if isSecretFlag(name) {
				if hasValue {
					a = a[:strings.IndexByte(a, '=')+1] + Redacted
				} else {
					valueNext = true
				}
			}
		}
		out[i] = urlPassword.ReplaceAllString(a, "${1}"+Redacted+"@")
	}
	return out
}

// isSecretFlag reports whether a flag of this name holds a secret.
func isSecretFlag(name string) bool {
	name = strings.ToLower(name)
	for _, w := range secretFlagWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}
