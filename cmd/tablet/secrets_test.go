package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/tabletd/tablet/mysqld"
	"github.com/tabletd/tablet/proto/querypb"
	"github.com/tabletd/tablet/proto/topodatapb"
	"github.com/tabletd/tablet/queryserver/client"
	"github.com/tabletd/tablet/testenv"
)

// secretUser is the MySQL user the secrets test creates for a role, so
// that its password is one only this test knows.
func secretUser(r mysqld.Role) string { return "sec_" + string(r) }

// newSecret returns a password no other text can hold by chance. It is
// letters, digits and dashes only, so that JSON, HTML and URL encodings
// leave it as it is and a plain search finds it on every page.
func newSecret(what string) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "Zq" + what + "-" + hex.EncodeToString(b)
}

// createSecretUsers creates secretUser(r) on m for every role, with the
// privileges of the testenv user of the role and password pw[r], without
// writing to the binary log (so the replicas' GTID sets stay equal).
func createSecretUsers(t *testing.T, m *testenv.MySQL, pw map[mysqld.Role]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db := oneShotDB(t, m, mysqld.RoleAdmin)
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(stmt string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", strings.SplitN(stmt, " IDENTIFIED", 2)[0], err)
		}
	}
	exec("SET SESSION sql_log_bin = 0")
	for _, r := range mysqld.Roles {
		user := secretUser(r)
		exec(fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, pw[r]))
		if r == mysqld.RoleAdmin {
			exec(fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'%%' WITH GRANT OPTION", user))
			continue
		}
		grants := showGrants(t, ctx, conn, testenv.UserOf(r))
		for _, g := range grants {
			g = strings.ReplaceAll(g, "`"+testenv.UserOf(r)+"`@`%`", "`"+user+"`@`%`")
			g, _, _ = strings.Cut(g, " IDENTIFIED BY PASSWORD")
			exec(g)
		}
	}
}

func showGrants(t *testing.T, ctx context.Context, conn *sql.Conn, user string) []string {
	t.Helper()
	rows, err := conn.QueryContext(ctx, fmt.Sprintf("SHOW GRANTS FOR '%s'@'%%'", user))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// evidence is text the tablet showed to someone: a log, a page, an RPC's
// answer or error.
type evidence struct {
	where, text string
}

// TestSecretsNeverShown runs two tablet binaries (a primary and a
// replica, so the replication password is used) against private mysqld
// servers whose users have passwords unique to this run, given both by
// flag and through --db-credentials-file, with an Orchestrator URL and
// password (an unreachable Orchestrator, so its calls fail) and, when the
// binary has backup flags, S3 credentials. It then provokes errors: bad
// SQL, wrong targets, unknown transactions, a replica's mysqld restarted
// under the tablet, and a third tablet whose passwords are all wrong. It
// collects every log line, every debug page (pprof included), every gRPC
// answer and error, and searches them for each secret, plain, hex- and
// base64-encoded: none may appear.
func TestSecretsNeverShown(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts etcd, two mysqld and three tablet binaries")
	}
	w := newWorld(t)
	m100, m101 := w.mysql, testenv.StartMySQL(t)

	secrets := map[string]string{} // what -> secret
	pw := map[mysqld.Role]string{}
	for _, r := range mysqld.Roles {
		pw[r] = newSecret(string(r))
		secrets["password of "+string(r)] = pw[r]
	}
	for _, m := range []*testenv.MySQL{m100, m101} {
		createSecretUsers(t, m, pw)
	}

	// app, dba and admin by flag; the others from the file, which also
	// holds a stale password for app that the flag overrides.
	stale := newSecret("stale")
	secrets["stale app password in the credentials file"] = stale
	creds := map[string][]string{secretUser(mysqld.RoleApp): {stale}}
	var flags []string
	for _, r := range mysqld.Roles {
		flags = append(flags, fmt.Sprintf("--db_%s_user=%s", r, secretUser(r)))
		switch r {
		case mysqld.RoleApp, mysqld.RoleDBA, mysqld.RoleAdmin:
			flags = append(flags, fmt.Sprintf("--db_%s_password=%s", r, pw[r]))
		default:
			creds[secretUser(r)] = []string{pw[r]}
		}
	}
	credsFile := filepath.Join(t.TempDir(), "db-credentials.json")
	b, err := json.Marshal(creds)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credsFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	flags = append(flags, "--db-credentials-file="+credsFile)

	var help, errb bytes.Buffer
	run(context.Background(), []string{"--help"}, &help, &errb)
	helpText := help.String() + errb.String()
	if strings.Contains(helpText, "--orc_api_url") {
		orcPort, err := testenv.FreePort() // nothing listens there: every call fails
		if err != nil {
			t.Fatal(err)
		}
		urlPW, apiPW := newSecret("orcurl"), newSecret("orcapi")
		secrets["password in --orc_api_url"], secrets["--orc_api_password"] = urlPW, apiPW
		secrets["Orchestrator basic auth (URL)"] = base64.StdEncoding.EncodeToString([]byte("orcuser:" + urlPW))
		secrets["Orchestrator basic auth"] = base64.StdEncoding.EncodeToString([]byte("orcapi:" + apiPW))
		flags = append(flags, fmt.Sprintf("--orc_api_url=http://orcuser:%s@127.0.0.1:%d/api", urlPW, orcPort),
			"--orc_api_user=orcapi", "--orc_api_password="+apiPW, "--orc_discover_interval=1s",
			"--orc-backoff-min=100ms", "--orc-backoff-max=500ms")
	} else {
		t.Log("the binary has no Orchestrator flags: no Orchestrator secrets checked")
	}
	var s3 *testenv.S3
	if strings.Contains(helpText, "--backup_storage_url") {
		s3 = testenv.StartS3(t)
		s3.SetEnv(t)
		_, s3Secret := s3.Credentials()
		secrets["S3 secret key"] = s3Secret
		flags = append(flags, "--backup_storage_url="+s3.URL("secrets/"))
	} else {
		t.Log("the binary has no --backup_storage_url: no S3 secret checked")
	}

	common := append([]string{"--tablet_hostname=127.0.0.1", "--pprof-http", "--log-level=debug",
		"--heartbeat_interval=1h", "--degraded_threshold=2h", "--unhealthy_threshold=3h"}, flags...)
	t100 := startTablet(t, w.argsOn(t, m100, "zone1-100", "commerce", "0", common...))
	t101 := startTablet(t, w.argsOn(t, m101, "zone1-101", "commerce", "0", common...))
	t100.waitType(t, "REPLICA")
	t101.waitType(t, "REPLICA")
	w.reparent(t, "zone1-100")
	t100.waitType(t, "PRIMARY")
	t100.waitServing(t)
	waitMySQL(t, "zone1-101 replicating from zone1-100 as "+secretUser(mysqld.RoleRepl), func() bool { return replicatingFrom(t, m101, m100) })
	t101.waitServing(t)

	var seen []evidence
	note := func(where string, v any) {
		switch x := v.(type) {
		case nil:
		case error:
			seen = append(seen, evidence{where, x.Error()})
		case string:
			seen = append(seen, evidence{where, x})
		default:
			seen = append(seen, evidence{where, fmt.Sprintf("%+v", x)})
		}
	}

	// Errors through the query service, on both tablets.
	ctx, cancel := context.WithTimeout(client.WithCaller(context.Background(), client.Caller{Username: secretUser(mysqld.RoleApp)}), time.Minute)
	defer cancel()
	primary := &querypb.Target{Keyspace: "commerce", Shard: "0", TabletType: topodatapb.TabletType_PRIMARY}
	replica := &querypb.Target{Keyspace: "commerce", Shard: "0", TabletType: topodatapb.TabletType_REPLICA}
	c100, c101 := dial(t, w.grpcAddr(t, "zone1-100")), dial(t, w.grpcAddr(t, "zone1-101"))
	if _, err := c100.Execute(ctx, primary, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(64))", nil, 0, 0, nil); err != nil {
		t.Fatalf("create table: %v", err)
	}
	calls := []struct {
		name string
		call func() (any, error)
	}{
		{"Execute with bad SQL", func() (any, error) { return c100.Execute(ctx, primary, "SELEC * FORM t", nil, 0, 0, nil) }},
		{"Execute on a missing table", func() (any, error) { return c100.Execute(ctx, primary, "SELECT * FROM nope", nil, 0, 0, nil) }},
		{"Execute with a wrong keyspace", func() (any, error) {
			return c100.Execute(ctx, &querypb.Target{Keyspace: "other", Shard: "0", TabletType: topodatapb.TabletType_PRIMARY}, "SELECT 1", nil, 0, 0, nil)
		}},
		{"Execute with a wrong tablet type", func() (any, error) { return c100.Execute(ctx, replica, "SELECT 1", nil, 0, 0, nil) }},
		{"Execute in an unknown transaction", func() (any, error) { return c100.Execute(ctx, primary, "SELECT 1", nil, 4242, 0, nil) }},
		{"Commit of an unknown transaction", func() (any, error) { return c100.Commit(ctx, primary, 4242) }},
		{"write on the replica", func() (any, error) {
			return c101.Execute(ctx, replica, "INSERT INTO t VALUES (1, 'x')", nil, 0, 0, nil)
		}},
		{"access denied statement", func() (any, error) {
			return c100.Execute(ctx, primary, "SELECT authentication_string FROM mysql.user", nil, 0, 0, nil)
		}},
		{"duplicate key", func() (any, error) {
			if _, err := c100.Execute(ctx, primary, "INSERT INTO t VALUES (1, 'x')", nil, 0, 0, nil); err != nil {
				return nil, err
			}
			return c100.Execute(ctx, primary, "INSERT INTO t VALUES (1, 'x')", nil, 0, 0, nil)
		}},
		{"primary FullStatus", func() (any, error) { return c100.FullStatus(ctx) }},
		{"replica FullStatus", func() (any, error) { return c101.FullStatus(ctx) }},
		{"replica health", func() (any, error) { return c101.Health(ctx) }},
		{"ListBackups", func() (any, error) { return c100.ListBackups(ctx, 10) }},
	}
	for _, c := range calls {
		res, err := c.call()
		note("gRPC "+c.name+" error", err)
		if m, ok := res.(proto.Message); ok {
			note("gRPC "+c.name+" answer", prototext.Format(m))
		} else if res != nil {
			note("gRPC "+c.name+" answer", fmt.Sprintf("%+v", res))
		}
		t.Logf("%s: %v", c.name, err)
	}

	// A failing connection to the object store: it is down while the
	// tablet lists backups.
	if s3 != nil {
		if err := s3.Stop(); err != nil {
			t.Fatal(err)
		}
		_, err := c100.ListBackups(ctx, 10)
		note("gRPC ListBackups with the object store down error", err)
		t.Logf("ListBackups with the object store down: %v", err)
		if err == nil {
			t.Error("ListBackups with the object store down succeeded")
		}
		if err := s3.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// A failing connection: the replica's mysqld restarts under its tablet,
	// which reconnects its pools and restarts replication.
	rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
	defer rcancel()
	if err := m101.Restart(rctx); err != nil {
		t.Fatal(err)
	}
	waitMySQL(t, "zone1-101 replicating again after its mysqld restarted", func() bool { return replicatingFrom(t, m101, m100) })
	t101.waitServing(t)

	// A tablet whose every password is wrong: it cannot connect at all.
	var wrong []string
	for _, r := range mysqld.Roles {
		s := newSecret("wrong" + string(r))
		secrets["wrong password of "+string(r)] = s
		wrong = append(wrong, fmt.Sprintf("--db_%s_password=%s", r, s))
	}
	t102 := startTablet(t, w.argsOn(t, m100, "zone1-102", "commerce", "0", append(common, wrong...)...))
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
waitDenied:
	for !strings.Contains(t102.stderr.String(), "Access denied") {
		select {
		case <-t102.done:
			break waitDenied
		case <-deadline.C:
			t.Fatalf("the tablet with wrong passwords neither exited nor logged a refused connection in 60s:\n%s", t102.stderr.String())
		case <-tick.C:
		}
	}
	if !strings.Contains(t102.stderr.String(), "Access denied") {
		t.Errorf("the tablet with wrong passwords exited without saying the server refused it:\n%s", t102.stderr.String())
	}

	// Every page of both serving tablets, and the pages they link to.
	for _, p := range []*proc{t100, t101} {
		pages := map[string]bool{
			"/debug/status": true, "/debug/vars": true, "/metrics": true, "/debug/health": true,
			"/debug/health?format=json": true, "/queryz": true, "/debug/query_stats": true,
			"/debug/query_plans": true, "/querylogz": true, "/txlogz": true, "/consolidations": true,
			"/streamqueryz": true, "/schemaz": true, "/debug/schema": true, "/debug/pprof/": true,
			"/debug/pprof/cmdline": true, "/debug/pprof/goroutine?debug=1": true,
		}
		_, status := p.get("/debug/status")
		for _, m := range regexp.MustCompile(`href="(/[^"]*)"`).FindAllStringSubmatch(status, -1) {
			pages[strings.ReplaceAll(m[1], "&amp;", "&")] = true
		}
		for page := range pages {
			if strings.HasPrefix(page, "/debug/pprof/profile") || strings.HasPrefix(page, "/debug/pprof/trace") ||
				page == "/debug/querylog" || page == "/debug/txlog" {
				continue // these run until a deadline or the client leaves
			}
			code, body := p.get(page)
			if code == 0 {
				t.Errorf("GET %s on :%s: %s", page, p.port, body)
			}
			note(fmt.Sprintf("page %s on :%s (%d)", page, p.port, code), body)
		}
		streamed := readStream(t, "http://127.0.0.1:"+p.port+"/debug/querylog", func() {
			_, _ = c100.Execute(ctx, primary, "SELECT * FROM nope", nil, 0, 0, nil)
			_, _ = c101.Execute(ctx, replica, "SELECT * FROM nope", nil, 0, 0, nil)
		})
		note("stream /debug/querylog on :"+p.port, streamed)
	}
	_, cmdline := t100.get("/debug/pprof/cmdline")
	if !strings.Contains(cmdline, "--db_app_password=<redacted>") || !strings.Contains(cmdline, "--db_app_user="+secretUser(mysqld.RoleApp)) {
		t.Errorf("/debug/pprof/cmdline does not show the flags with the passwords redacted: %q", cmdline)
	}

	// Stop the tablets so that their logs are complete.
	for _, p := range []*proc{t100, t101, t102} {
		_ = p.cmd.Process.Signal(os.Interrupt)
	}
	for _, p := range []*proc{t100, t101, t102} {
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Errorf("tablet on :%s still running 30s after SIGINT", p.port)
		}
		note("log of the tablet on :"+p.port, p.stderr.String())
	}

	// Searched as they are, and as a hex or base64 encoding would show them.
	var names []string
	for what := range secrets {
		names = append(names, what)
	}
	sort.Strings(names)
	total := 0
	for _, e := range seen {
		total += len(e.text)
	}
	if total < 100_000 {
		t.Errorf("only %d bytes of logs, pages and answers collected: the search proves little", total)
	}
	for _, what := range names {
		s := secrets[what]
		forms := map[string]string{"plain": s, "hex": hex.EncodeToString([]byte(s)), "HEX": strings.ToUpper(hex.EncodeToString([]byte(s))),
			"base64": base64.StdEncoding.EncodeToString([]byte(s))}
		for form, v := range forms {
			for _, e := range seen {
				if i := strings.Index(e.text, v); i >= 0 {
					from, to := max(0, i-120), min(len(e.text), i+len(v)+40)
					snippet := strings.ReplaceAll(e.text[from:to], v, "<SECRET>")
					for _, other := range secrets {
						snippet = strings.ReplaceAll(snippet, other, "<ANOTHER SECRET>")
					}
					t.Errorf("%s (%s) appears in %s: ...%s...", what, form, e.where, snippet)
				}
			}
		}
	}
	t.Logf("searched %d texts (%d bytes) for %d secrets", len(seen), total, len(secrets))
}

// readStream reads a streaming page while provoke runs, until it has
// seen a record or 10s pass, and returns what it read.
func readStream(t *testing.T, url string, provoke func()) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	provoke()
	var out bytes.Buffer
	buf := make([]byte, 64<<10)
	for out.Len() == 0 || !bytes.Contains(out.Bytes(), []byte("\n")) {
		n, err := resp.Body.Read(buf)
		out.Write(buf[:n])
		if err == io.EOF || err != nil {
			break
		}
	}
	return out.String()
}
