package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	"github.com/spf13/cobra"

	"github.com/cachefence/cachefence/caddymodule"
	"github.com/cachefence/cachefence/internal/testnet"
)

func TestProxyConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    proxy
		want string
	}{
		{"no origin", proxy{From: ":8080"}, "--to is required"},
		{"origin without port", proxy{From: ":8080", To: "127.0.0.1"}, `--to "127.0.0.1"`},
		{"https origin", proxy{From: ":8080", To: "https://origin:443"}, "only plain HTTP origins"},
		{"from without port", proxy{From: "localhost", To: "127.0.0.1:3000"}, `--from "localhost"`},
		{"bad metrics address", proxy{From: ":8080", To: "127.0.0.1:3000", Metrics: "9464"}, `--metrics "9464"`},
		{"bad fence option", proxy{From: ":8080", To: "127.0.0.1:3000", Fence: caddymodule.Handler{SessionCookies: []string{"[x"}}}, `session_cookies: bad cookie name pattern "[x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.p.config()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestUpstreamAddress(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:3000":         "127.0.0.1:3000",
		"http://127.0.0.1:3000":  "127.0.0.1:3000",
		"http://127.0.0.1:3000/": "127.0.0.1:3000",
		"origin.internal:80":     "origin.internal:80",
	} {
		if got, err := upstreamAddress(in); err != nil || got != want {
			t.Errorf("upstreamAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// origin answers /account with a personal page the 2017 way, and anything
// else with a public page.
func origin(t *testing.T) string {
	t.Helper()
	return serveOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/account" {
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("Expires", "Thu, 01 Jan 1970 00:00:00 GMT")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=60")
		}
		io.WriteString(w, "page")
	}))
}

func runProxy(t *testing.T, p proxy) {
	t.Helper()
	cfg, err := p.config()
	if err != nil {
		t.Fatal(err)
	}
	if err := caddy.Run(cfg); err != nil {
		t.Fatalf("running the proxy: %v", err)
	}
	t.Cleanup(func() { caddy.Stop() })
}

func get(t *testing.T, url, cookie string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// The sidecar's config fences in enforce mode, honours --session-cookie,
// and serves the fence's metrics on --metrics.
func TestSidecarFences(t *testing.T) {
	from, metrics := testnet.FreeAddr(t), testnet.FreeAddr(t)
	runProxy(t, proxy{From: from, To: origin(t), Metrics: metrics,
		Fence: caddymodule.Handler{SessionCookies: []string{"sid"}}})

	if cc := get(t, "http://"+from+"/account", "sid=alice").Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("personal page: Cache-Control %q, want private, no-store", cc)
	}
	if cc := get(t, "http://"+from+"/account", "theme=dark").Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("a cookie that is not a session cookie: Cache-Control %q, want the origin's no-cache", cc)
	}
	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `caddy_http_cache_fence_responses_total{mode="enforce",verdict="fenced"}`) {
		t.Errorf("--metrics does not serve the fence's counters:\n%s", body)
	}
}

// dev rewrites nothing, explains every response, and prints one readable
// line per response.
func TestDevPrintsOneLinePerResponse(t *testing.T) {
	from := testnet.FreeAddr(t)
	out := filepath.Join(t.TempDir(), "dev.out")
	logging := devLogging(caddymodule.Handler{})
	logging.Logs["cache_fence_dev"].WriterRaw = json.RawMessage(fmt.Sprintf(`{"output":"file","filename":%q}`, out))
	runProxy(t, proxy{From: from, To: origin(t), Logging: logging,
		Fence: caddymodule.Handler{Mode: caddymodule.ModeReport, Explain: true}})

	resp := get(t, "http://"+from+"/account", "sid=SECRET")
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("dev rewrote Cache-Control to %q", cc)
	}
	if got := resp.Header.Get("Cache-Fence"); got != `would-fence; reasons="session_cookie"` {
		t.Errorf("Cache-Fence = %q", got)
	}
	get(t, "http://"+from+"/news", "")
	// A path that, printed raw, would forge a line and clear the screen.
	get(t, "http://"+from+"/x%0A10:41:10%20GET%20/admin%20200%20shared%1B[2J", "")
	caddy.Stop() // flush the log file

	printed, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(printed)), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, got %d:\n%s", len(lines), printed)
	}
	for i, want := range []string{" GET /account 200 would-fence session_cookie", " GET /news 200 shared"} {
		// Each line starts with the time, hh:mm:ss.
		if len(lines[i]) < 8 || lines[i][8:] != want {
			t.Errorf("line %d = %q, want time + %q", i, lines[i], want)
		}
	}
	checkOneSafeLine(t, lines[2]+"\n")
	if f := strings.Fields(lines[2]); len(f) != 5 || f[1] != "GET" || !strings.HasPrefix(f[2], "/x") || f[4] != "shared" {
		t.Errorf("the hostile path's line is not time, method, path, status, verdict: %q", lines[2])
	}
	if strings.Contains(string(printed), "SECRET") {
		t.Errorf("dev printed a cookie value:\n%s", printed)
	}
}

// binary is the cachefence binary, built once for all the tests that need
// it, and removed by TestMain.
var binary struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// buildCachefence builds the binary, to run commands as a user does: exit
// codes come from caddycmd.Main, and the usage's name from main.go.
func buildCachefence(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		if binary.dir, binary.err = os.MkdirTemp("", "cachefence-cli-test"); binary.err != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", binary.dir, "../cmd/cachefence").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return filepath.Join(binary.dir, "cachefence")
}

// A usage error exits 2 from probe, whose 1 means findings, and 1 (a
// failed start, as for any other bad option) from sidecar and dev, whose 2
// is Caddy's forced quit. Either way, the message names the flag or
// argument, and never a secret: a webhook URL, a password. Help names
// the binary, not Caddy's default "caddy".
func TestCommandLine(t *testing.T) {
	bin := buildCachefence(t)
	dir := t.TempDir()
	const config = "probe.json"
	// Nothing listens on port 1: a probe that ran by mistake would fail
	// fast, with a message that the cases below do not want.
	if err := os.WriteFile(filepath.Join(dir, config), []byte(`{"base_url": "http://127.0.0.1:1",
  "identities": [{"name": "alice", "cookies": {"s": "a"}, "markers": ["alice"]},
                 {"name": "bob", "cookies": {"s": "b"}, "markers": ["bob!"]}],
  "personal_urls": ["/account"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	const badTimeout = "bad.json"
	if err := os.WriteFile(filepath.Join(dir, badTimeout), []byte(`{"timeout": "ten seconds"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	const webhookSecret = "T000/B000/s3cr3t"
	// A password in base_url is refused, and not shown.
	const passwordSecret, userinfo = "pa55w0rd", "userinfo.json"
	if err := os.WriteFile(filepath.Join(dir, userinfo), []byte(`{"base_url": "http://deploy:`+passwordSecret+`@127.0.0.1:1",
  "identities": [{"name": "alice", "cookies": {"s": "a"}, "markers": ["alice"]},
                 {"name": "bob", "cookies": {"s": "b"}, "markers": ["bob!"]}],
  "personal_urls": ["/account"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"probe", "--config", config, "--every", "bogus"}, 2, `cachefence probe: invalid argument "bogus" for "--every" flag`},
		{[]string{"probe", "--config", config, "--bogus"}, 2, "cachefence probe: unknown flag: --bogus"},
		{[]string{"probe", "--config", config, "--format"}, 2, "cachefence probe: flag needs an argument: --format"},
		{[]string{"probe", "--config", config, "--format", "xml"}, 2, `cachefence probe: --format "xml": want text, json or sarif`},
		{[]string{"probe", "--config", config, "extra"}, 2, `cachefence probe: unexpected argument "extra": probe takes only flags`},
		{[]string{"probe", "--config", config, "--every", "5s"}, 2, "cachefence probe: --every 5s: at least 10s"},
		{[]string{"probe", "--config", config, "--every", "-1m"}, 2, "cachefence probe: --every -1m0s: at least 10s"},
		{[]string{"probe", "--config", config, "--metrics", "127.0.0.1:0"}, 2, "cachefence probe: --webhook and --metrics need --every"},
		{[]string{"probe", "--config", config, "--every", "1m", "--webhook", "hooks.example/" + webhookSecret}, 2, "cachefence probe: --webhook: want an absolute http or https URL"},
		{[]string{"probe"}, 2, "cachefence probe: --config is required"},
		{[]string{"probe", "--config", badTimeout}, 2, `timeout: invalid duration "ten seconds"`},
		{[]string{"probe", "--config", userinfo}, 2, `base_url "http://…@127.0.0.1:1": remove the user name and password`},
		{[]string{"sidecar", "--bogus"}, 1, "unknown flag: --bogus"},
		{[]string{"sidecar", "--to", "127.0.0.1:1", "--report", "false"}, 1, `unexpected argument "false": sidecar takes only flags`},
		{[]string{"dev", "--from"}, 1, "flag needs an argument: --from"},
		{[]string{"dev", "--to", "127.0.0.1:1", "extra"}, 1, `unexpected argument "extra": dev takes only flags`},
		{[]string{"probe", "--help"}, 0, "\n  cachefence probe --config <file>"},
		{[]string{"sidecar", "--help"}, 0, "\n  cachefence sidecar --from <addr>"},
		{[]string{"dev", "--help"}, 0, "\n  cachefence dev --from <addr>"},
		// Off the ports of Caddyfile.example and the README's Quick start.
		{[]string{"dev", "--help"}, 0, `(default "127.0.0.1:8082")`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out := runCachefence(t, bin, dir, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want %d, with %q in:\n%s", code, tc.code, tc.want, out)
			}
			if strings.Contains(out, webhookSecret) || strings.Contains(out, passwordSecret) {
				t.Errorf("the output shows the webhook URL or a password:\n%s", out)
			}
		})
	}
}

// runCachefence runs the binary in dir and returns its exit code and
// output.
func runCachefence(t *testing.T, bin, dir string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// The fence flags reach the handler; a list flag not given keeps the
// default (nil), never an empty list, which would mean "none".
func TestProxyFromFlags(t *testing.T) {
	for _, tc := range []struct {
		args              []string
		headers, params   []string
		session, privates []string
	}{
		{args: nil},
		{args: []string{"--credential-header", "X-Tenant-Token", "--credential-header", "X-Api-Key"}, headers: []string{"X-Tenant-Token", "X-Api-Key"}},
		{args: []string{"--credential-param", "sig", "--session-cookie", "sid", "--private-path", "/me"},
			params: []string{"sig"}, session: []string{"sid"}, privates: []string{"/me"}},
	} {
		cmd := &cobra.Command{}
		addProxyFlags(cmd, ":8080")
		if err := cmd.ParseFlags(append([]string{"--to", "127.0.0.1:3000"}, tc.args...)); err != nil {
			t.Fatal(err)
		}
		p, err := proxyFromFlags(caddycmd.Flags{FlagSet: cmd.Flags()})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name      string
			got, want []string
		}{
			{"credential headers", p.Fence.CredentialHeaders, tc.headers},
			{"credential params", p.Fence.CredentialParams, tc.params},
			{"session cookies", p.Fence.SessionCookies, tc.session},
			{"private paths", p.Fence.PrivatePaths, tc.privates},
		} {
			if !slices.Equal(c.got, c.want) || (c.want == nil) != (c.got == nil) {
				t.Errorf("%q: %s = %#v, want %#v", tc.args, c.name, c.got, c.want)
			}
		}
	}
}
