package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// auditRunFixture is a configuration adapted from a public one, and the
// test's own edits that run it here without cachefence: its backend at
// the test's origin and, for nginx, its listener on 127.0.0.1 and its
// files under a private prefix. The edits are written by hand, apart
// from the tool's rewriting, so that what the test's own clients see is
// an independent witness of the tool's verdicts.
type auditRunFixture struct {
	file  string
	kind  string                                             // "varnish" or "nginx"
	edits func(originPort, port int, prefix string) []string // old, new, old, new...
}

// nginxPrivate is what every nginx fixture needs to run unprivileged
// beside the system's own nginx: its own pid file, logs on stderr, and
// temporary files under the prefix.
func nginxPrivate(prefix string) []string {
	return []string{
		"http {", "http {\n\tclient_body_temp_path " + prefix + "/client_body_temp;\n\tproxy_temp_path " + prefix +
			"/proxy_temp;\n\tfastcgi_temp_path " + prefix + "/fastcgi_temp;\n\tuwsgi_temp_path " + prefix +
			"/uwsgi_temp;\n\tscgi_temp_path " + prefix + "/scgi_temp;",
		"events {", "pid " + prefix + "/nginx.pid;\nerror_log stderr warn;\n# Workers write the cache under the private prefix.\nuser root;\nevents {",
	}
}

var auditRunFixtures = []auditRunFixture{
	{"auditrun_magento.vcl", "varnish", func(origin, _ int, _ string) []string {
		return []string{`.host = "localhost";`, `.host = "127.0.0.1";`, `.port = "8080";`, fmt.Sprintf(`.port = "%d";`, origin)}
	}},
	{"auditrun_templates.vcl", "varnish", func(origin, _ int, _ string) []string {
		return []string{`.port = "80";`, fmt.Sprintf(`.port = "%d";`, origin)}
	}},
	{"auditrun_example.vcl", "varnish", func(origin, _ int, _ string) []string {
		return []string{`.port = "8080";`, fmt.Sprintf(`.port = "%d";`, origin)}
	}},
	{"auditrun_wordpress.conf", "nginx", func(origin, port int, prefix string) []string {
		return append(nginxPrivate(prefix),
			"user nginx;", "", "pid /var/run/nginx.pid;", "", "error_log /var/log/nginx/error.log warn;", "",
			"access_log /var/log/nginx/access.log;", "access_log off;",
			"/var/cache/nginx/microcache", prefix+"/cache",
			"server 127.0.0.1:9000;", fmt.Sprintf("server 127.0.0.1:%d;", origin),
			"listen 80 default_server;", fmt.Sprintf("listen 127.0.0.1:%d;", port))
	}},
	{"auditrun_proxy.conf", "nginx", func(origin, port int, prefix string) []string {
		return append(nginxPrivate(prefix),
			"include mime.types;", "",
			"listen 8080;", fmt.Sprintf("listen 127.0.0.1:%d;", port),
			"proxy_pass http://127.0.0.1:30080;", fmt.Sprintf("proxy_pass http://127.0.0.1:%d;", origin),
			"proxy_pass https://127.0.0.1:443/api/;", fmt.Sprintf("proxy_pass http://127.0.0.1:%d/api/;", origin))
	}},
}

// runReport is what the test reads of `audit --run --format json`.
type runReport struct {
	SessionCookie string `json:"session_cookie"`
	Cells         []struct {
		Origin     string   `json:"origin"`
		Credential string   `json:"credential"`
		Timing     string   `json:"timing"`
		Path       string   `json:"path"`
		Reached    bool     `json:"reached"`
		LeakedTo   []string `json:"leaked_to"`
	} `json:"cells"`
	Findings []struct {
		ID        string   `json:"id"`
		Reproduce []string `json:"reproduce"`
	} `json:"findings"`
}

// TestAuditRun runs `cachefence audit --run` on each fixture and holds
// its verdicts, cell by cell, to what the test's own two users and an
// anonymous visitor see when the test runs the same configuration
// against its own origin, one request after another. Among the fixtures
// are some where those clients see a leak and some where they see none,
// for each server.
func TestAuditRun(t *testing.T) {
	bin := cachefenceBinary(t)
	leaky := map[string]bool{}
	safe := map[string]bool{}
	for _, fx := range auditRunFixtures {
		t.Run(fx.file, func(t *testing.T) {
			server := tool(t, map[string]string{"varnish": "varnishd", "nginx": "nginx"}[fx.kind])
			rr, code, out := runAudit(t, bin, fx.file)
			own := ownObservations(t, fx, server, rr.SessionCookie)
			anyLeak := false
			compared := 0
			for _, c := range rr.Cells {
				if c.Timing != "sequential" {
					continue
				}
				key := c.Origin + " " + c.Credential + " " + c.Path
				want, ok := own[key]
				if !ok {
					t.Errorf("%s: the test has no observation of cell %s", fx.file, key)
					continue
				}
				compared++
				anyLeak = anyLeak || want != ""
				if got := strings.Join(c.LeakedTo, ","); got != want {
					t.Errorf("%s: cell %s: cachefence says leaked to %q, the test's clients saw %q", fx.file, key, got, want)
				}
			}
			if compared != len(own) {
				t.Errorf("%s: %d sequential cells in the report, the test observed %d", fx.file, compared, len(own))
			}
			if wantCode := map[bool]int{true: 1, false: 0}[len(rr.Findings) > 0]; code != wantCode || anyLeak && code != 1 {
				t.Errorf("%s: exit %d, want %d\n%s", fx.file, code, wantCode, out)
			}
			// A configuration whose every sequential cell the clients saw
			// safe is held safe altogether: no finding, concurrent or
			// with the fence's rewrite.
			if !anyLeak && len(rr.Findings) > 0 {
				t.Errorf("%s: %d findings where the test's clients saw no leak", fx.file, len(rr.Findings))
			}
			for _, f := range rr.Findings {
				if f.ID != "run_leak" || len(f.Reproduce) == 0 {
					t.Errorf("%s: finding %+v", fx.file, f)
				}
			}
			// The run's credentials are random and never shown; the
			// reproduction uses placeholders.
			if secret := regexp.MustCompile(`[0-9a-f]{32}`).Find(out); secret != nil {
				t.Errorf("%s: the output holds a credential-like %q", fx.file, secret)
			}
			if anyLeak {
				leaky[fx.kind] = true
			} else {
				safe[fx.kind] = true
			}
			report(t, "audit --run %s: %d findings; its %d sequential cells agree with the test's own clients", fx.file, len(rr.Findings), compared)
		})
	}
	for _, kind := range []string{"varnish", "nginx"} {
		if !leaky[kind] || !safe[kind] {
			t.Errorf("%s: the fixtures must include a leaky and a safe configuration (leaky %v, safe %v)", kind, leaky[kind], safe[kind])
		}
	}
}

// runAudit runs `cachefence audit --run file --format json`.
func runAudit(t *testing.T, bin, file string) (runReport, int, []byte) {
	t.Helper()
	cmd := exec.CommandContext(testContext(t, 2*time.Minute), bin, "audit", "--run", filepath.Join("testdata", file), "--format", "json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code == 2 {
		t.Fatalf("%s: audit --run could not run: %s", file, stderr.String())
	}
	var r runReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s: %v\n%s", file, err, out)
	}
	return r, code, append(out, stderr.Bytes()...)
}

// The test's own matrix: the origin's answers, by the names the report
// gives them.
var ownVariants = map[string]http.Header{
	"set_cookie":       {"Set-Cookie": {"sid=%s; Path=/"}},
	"private":          {"Cache-Control": {"private"}},
	"private_no_store": {"Cache-Control": {"private, no-store"}},
	"no_cache_expired": {"Cache-Control": {"no-cache"}, "Expires": {"Thu, 22 Jun 2017 00:00:00 GMT"}},
	"none":             {},
}

// ownOrigin answers /account/own-<variant>-<n>[/app.css] with the
// variant's headers and a page naming whoever's token came in any
// header.
func ownOrigin(t *testing.T, tokens map[string]string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := "nobody"
		for name, token := range tokens {
			for _, vs := range r.Header {
				if strings.Contains(strings.Join(vs, ","), token) {
					who = name
				}
			}
		}
		m := regexp.MustCompile(`/own-([a-z_]+)-`).FindStringSubmatch(r.URL.Path)
		if m == nil {
			w.Header().Set("Cache-Control", "no-store")
			return
		}
		for k, vs := range ownVariants[m[1]] {
			for _, v := range vs {
				if k == "Set-Cookie" {
					v = fmt.Sprintf(v, who)
				}
				w.Header().Add(k, v)
			}
		}
		fmt.Fprintf(w, "page of %s\n", who)
	})}
	go srv.Serve(l) //nolint:errcheck // ends when the listener closes
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// ownObservations runs the fixture with the test's own edits and asks
// each sequential cell as alice, then bob, then an anonymous visitor. It
// returns, by "origin credential path", who else got alice's page: "",
// "second_user", "anonymous" or both, comma-separated.
func ownObservations(t *testing.T, fx auditRunFixture, server, cookie string) map[string]string {
	t.Helper()
	tokens := map[string]string{"alice": "alice-" + strconv.FormatInt(time.Now().UnixNano(), 36), "bob": "bob-" + strconv.FormatInt(time.Now().UnixNano()+1, 36)}
	origin := ownOrigin(t, tokens)
	src, err := os.ReadFile(filepath.Join("testdata", fx.file))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	port := serve(t, server, func(port int) *process {
		text := string(src)
		edits := fx.edits(origin, port, dir)
		for i := 0; i < len(edits); i += 2 {
			if !strings.Contains(text, edits[i]) {
				t.Fatalf("%s has no %q to edit", fx.file, edits[i])
			}
			text = strings.Replace(text, edits[i], edits[i+1], 1)
		}
		conf := filepath.Join(dir, fmt.Sprintf("%d-%s", port, fx.file))
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if fx.kind == "varnish" {
			return startProcess(t, "varnishd", nil, server, "-F", "-j", "none", "-n", filepath.Join(dir, fmt.Sprintf("varnish-%d", port)),
				"-a", fmt.Sprintf("127.0.0.1:%d", port), "-T", "127.0.0.1:0", "-f", conf, "-s", "malloc,32m")
		}
		return startProcess(t, "nginx", nil, server, "-p", dir, "-c", conf, "-e", "stderr", "-g", "daemon off;")
	})
	client := &http.Client{Timeout: requestTimeout, Transport: &http.Transport{Proxy: nil}}
	get := func(url, credential, who string) string {
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", port, url), nil)
		if err != nil {
			t.Fatal(err)
		}
		if who != "" {
			if credential == "cookie" {
				req.Header.Set("Cookie", cookie+"="+tokens[who])
			} else {
				req.Header.Set("Authorization", "Bearer "+tokens[who])
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(body) + fmt.Sprint(resp.Header.Values("Set-Cookie"))
	}
	out := map[string]string{}
	n := 0
	for variant := range ownVariants {
		for _, credential := range []string{"header", "cookie"} {
			for _, path := range []string{"dynamic", "static"} {
				n++
				url := fmt.Sprintf("/account/own-%s-%d", variant, n)
				if path == "static" {
					url += "/app.css"
				}
				get(url, credential, "alice")
				var leaked []string
				if strings.Contains(get(url, credential, "bob"), "alice") {
					leaked = append(leaked, "second_user")
				}
				if strings.Contains(get(url, credential, ""), "alice") {
					leaked = append(leaked, "anonymous")
				}
				out[variant+" "+credential+" "+path] = strings.Join(leaked, ",")
			}
		}
	}
	return out
}
