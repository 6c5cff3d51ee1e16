package caddymodule_test

import (
	"bufio"
	"fmt"
	"github.com/cachefence/cachefence/internal/testnet"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/cachefence/cachefence/caddymodule"
	"github.com/cachefence/cachefence/fence"
)

// These tests run the real handler inside Caddy, configured from a
// Caddyfile, and talk to it over TCP on 127.0.0.1. Caddy's config is
// process-global, so they do not run in parallel.

// siteCaddyfile is a Caddyfile with one plain-HTTP site on addr (bound to
// 127.0.0.1, no admin endpoint) whose block is body.
func siteCaddyfile(addr, body string) string {
	return fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n}\nhttp://%s {\n\tbind 127.0.0.1\n%s\n}\n", addr, body)
}

// startCaddy adapts caddyfile and loads it, replacing any running config.
func startCaddy(t *testing.T, caddyfile string) {
	t.Helper()
	cfg, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		t.Fatalf("adapting Caddyfile: %v\n%s", err, caddyfile)
	}
	for _, w := range warnings {
		t.Logf("Caddyfile warning: %s", w)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("loading config: %v", err)
	}
	t.Cleanup(func() {
		if err := caddy.Stop(); err != nil {
			t.Errorf("stopping Caddy: %v", err)
		}
	})
}

// client has no cookie jar: "anonymous" must mean no Cookie header.
var client = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func do(t *testing.T, method, url string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	resp.Body.Close()
	return resp
}

// assertFenced checks the header set of a fenced response: the headers
// always sent, Cloudflare's targeted field removed, and an Expires, if
// any, replaced.
func assertFenced(t *testing.T, h http.Header) {
	t.Helper()
	for name, want := range map[string]string{
		"Cache-Control":                "private, no-store",
		"Surrogate-Control":            "no-store",
		"Cdn-Cache-Control":            "no-store",
		"Edge-Control":                 "no-store",
		"X-Accel-Expires":              "0",
		"Cloudflare-Cdn-Cache-Control": "",
	} {
		got := h.Values(name)
		if (want == "" && len(got) > 0) || (want != "" && (len(got) != 1 || got[0] != want)) {
			t.Errorf("%s = %q, want exactly [%q]", name, got, want)
		}
	}
	if got := h.Values("Expires"); len(got) > 0 && (len(got) != 1 || got[0] != "0") {
		t.Errorf("Expires = %q, want none or exactly [0]", got)
	}
}

// origin is a real HTTP server standing in for the application.
func origin(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/upstream/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Expires", "Thu, 01 Jan 1970 00:00:00 GMT")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "page")
	})
	mux.HandleFunc("/upstream/tagged/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Tag", strings.TrimPrefix(r.URL.Path, "/upstream/tagged/"))
		w.Header().Set("Cache-Control", "public, max-age=60")
		io.WriteString(w, "tagged")
	})
	mux.HandleFunc("/upstream/two-lines", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Cache-Control", "max-age=3600")
		w.Header().Add("Cache-Control", "private")
		io.WriteString(w, "two lines")
	})
	mux.HandleFunc("/upstream/raw/", func(w http.ResponseWriter, r *http.Request) {
		// No Content-Type at all: Caddy's server sniffs the body later.
		w.Header()["Content-Type"] = nil
		io.WriteString(w, "<!DOCTYPE html><html><body>account of alice</body></html>")
	})
	mux.HandleFunc("/upstream/vercel", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private")
		w.Header().Set("Vercel-CDN-Cache-Control", "max-age=3600")
		io.WriteString(w, "for the browser only, said the origin")
	})
	mux.HandleFunc("/upstream/isr", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "s-maxage=31536000, stale-while-revalidate")
		io.WriteString(w, "a Next.js page")
	})
	mux.HandleFunc("/upstream/vary-cookie", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Vary", "Cookie")
		io.WriteString(w, "a Django page")
	})
	mux.HandleFunc("/upstream/hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</static/app.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Set-Cookie", "s=late")
		io.WriteString(w, "after hints")
	})
	srv := &http.Server{Handler: mux}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

const siteTemplate = `{
	admin off
	auto_https off
	log fence {
		output file %[3]s
		level DEBUG
		include http.handlers.cache_fence
	}
}

http://%[1]s {
	bind 127.0.0.1
	cache_fence {
		mode %[4]s
		ignore_cookies _ga*
		private_paths /account*
		public_paths /static/*
		tag_header X-Tag
		explain
	}
	handle /metrics {
		metrics
	}
	handle /account {
		respond "account"
	}
	handle /login {
		header Set-Cookie "session=minted-SECRETSET"
		header Cache-Control "public, max-age=300"
		respond "welcome"
	}
	handle /static/* {
		header Content-Type text/css
		header Cache-Control "public, max-age=3600"
		header Last-Modified "Mon, 23 Nov 2026 12:00:00 GMT"
		respond "body{}"
	}
	handle /static/theme.css {
		header Content-Type text/css
		header Cache-Control "public, max-age=3600"
		respond "body{color:red}"
	}
	handle /dead {
		reverse_proxy 127.0.0.1:1
	}
	handle /boom {
		error "boom" 500
	}
	handle /upstream/* {
		reverse_proxy %[2]s
	}
	handle {
		header Cache-Control "public, max-age=60"
		header Content-Type text/html
		respond "home"
	}
}
`

type site struct {
	base    string
	logFile string
}

func startSite(t *testing.T, mode string) site {
	addr := testnet.FreeAddr(t)
	logFile := filepath.Join(t.TempDir(), "fence.log")
	startCaddy(t, fmt.Sprintf(siteTemplate, addr, origin(t), logFile, mode))
	return site{base: "http://" + addr, logFile: logFile}
}

func TestEndToEndVerdicts(t *testing.T) {
	s := startSite(t, "enforce")
	cookie := func(v string) http.Header { return http.Header{"Cookie": {v}} }
	for _, tc := range []struct {
		name    string
		method  string
		path    string
		header  http.Header
		status  int
		reasons string // "" means shared
	}{
		{"anonymous public page", "GET", "/", nil, 200, ""},
		{"analytics cookie only", "GET", "/", cookie("_ga=GA1.1"), 200, ""},
		{"session cookie", "GET", "/", cookie("_ga=1; sid=abc"), 200, "session_cookie"},
		{"authorization", "GET", "/static/app.css", http.Header{"Authorization": {"Bearer t"}}, 200, "authorization"},
		{"empty authorization", "GET", "/", http.Header{"Authorization": {""}}, 200, "authorization"},
		{"asset with session cookie on public path", "GET", "/static/app.css", cookie("sid=abc"), 200, ""},
		{"stylesheet without a file server's marks on public path", "GET", "/static/theme.css", cookie("sid=abc"), 200, "session_cookie"},
		{"login sets a cookie", "GET", "/login", nil, 200, "set_cookie"},
		{"private path anonymous", "GET", "/account", nil, 200, "private_path"},
		{"HEAD of a personal page", "HEAD", "/", cookie("sid=abc"), 200, "session_cookie"},
		{"2017 page anonymous", "GET", "/upstream/page", nil, 200, ""},
		{"2017 page with session", "GET", "/upstream/page", cookie("sid=abc"), 200, "session_cookie"},
		{"304 revalidating a personal page", "GET", "/upstream/page", http.Header{"Cookie": {"sid=abc"}, "If-None-Match": {`"v1"`}}, 304, "session_cookie"},
		{"origin tag private", "GET", "/upstream/tagged/private", nil, 200, "private_tag"},
		{"origin tag public lifts the cookie rule", "GET", "/upstream/tagged/public", cookie("sid=abc"), 200, ""},
		{"origin tag public does not lift authorization", "GET", "/upstream/tagged/public", http.Header{"Authorization": {"Basic x"}}, 200, "authorization"},
		{"origin tag invalid", "GET", "/upstream/tagged/sometimes", nil, 200, "tag_invalid"},
		{"cache-control over two lines", "GET", "/upstream/two-lines", nil, 200, "cache_control_conflict"},
		{"path confusion", "GET", "/account.css", nil, 200, "private_path path_confusion"},
		{"path confusion without content type", "GET", "/upstream/raw/x.css", nil, 200, "path_confusion"},
		{"dot-dot path does not lift the cookie rule", "GET", "/static/..;/x.css", cookie("sid=abc"), 200, "session_cookie"},
		{"api key", "GET", "/", http.Header{"X-Api-Key": {"k"}}, 200, "credential_header"},
		{"identity-aware proxy assertion", "GET", "/", http.Header{"Cf-Access-Jwt-Assertion": {"eyJ"}}, 200, "credential_header"},
		{"access token in the query", "GET", "/?access_token=t", nil, 200, "credential_param"},
		{"session id as a path parameter", "GET", "/cart;jsessionid=ABC", nil, 200, "credential_param"},
		{"python reads a space-separated session cookie", "GET", "/", cookie("_ga=1 sid=abc"), 200, "session_cookie"},
		{"public path in another case does not lift", "GET", "/STATIC/app.css", cookie("sid=abc"), 200, "session_cookie"},
		{"public path with doubled slashes does not lift", "GET", "//static/app.css", cookie("sid=abc"), 200, "session_cookie"},
		{"private path in another case", "GET", "/ACCOUNT", nil, 200, "private_path"},
		{"private path with a path parameter", "GET", "/account;x=1", nil, 200, "private_path"},
		{"vendor targeted header under private", "GET", "/upstream/vercel", nil, 200, "targeted_override"},
		{"bare stale-while-revalidate is valid", "GET", "/upstream/isr", nil, 200, ""},
		{"vary cookie without a cookie", "GET", "/upstream/vary-cookie", nil, 200, ""},
		{"vary cookie with a session cookie", "GET", "/upstream/vary-cookie", cookie("sid=abc"), 200, "session_cookie vary_credentials"},
		{"unreachable upstream", "GET", "/dead", nil, 502, "error_response"},
		{"handler error", "GET", "/boom", nil, 500, "error_response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, tc.method, s.base+tc.path, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			explain := resp.Header.Get("Cache-Fence")
			if tc.reasons == "" {
				if explain != "shared" {
					t.Errorf("Cache-Fence = %q, want shared", explain)
				}
				if cc := resp.Header.Get("Cache-Control"); strings.Contains(cc, "no-store") {
					t.Errorf("shared response was rewritten: Cache-Control %q", cc)
				}
			} else {
				if want := `fenced; reasons="` + tc.reasons + `"`; explain != want {
					t.Errorf("Cache-Fence = %q, want %q", explain, want)
				}
				assertFenced(t, resp.Header)
			}
			if resp.Header.Get("X-Tag") != "" {
				t.Errorf("tag header leaked: %q", resp.Header.Get("X-Tag"))
			}
		})
	}
}

// A shared response passes through with its headers as the origin set them
// and its body byte for byte; the fence adds only its explain header.
func TestEndToEndSharedUntouched(t *testing.T) {
	s := startSite(t, "enforce")
	resp, err := client.Get(s.base + "/static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "body{}" {
		t.Errorf("body %q, want the origin's", body)
	}
	want := map[string][]string{
		"Cache-Control": {"public, max-age=3600"},
		"Content-Type":  {"text/css"},
		"Last-Modified": {"Mon, 23 Nov 2026 12:00:00 GMT"},
		"Cache-Fence":   {"shared"},
	}
	for name, values := range resp.Header {
		switch name {
		case "Date", "Server", "Content-Length":
			continue // net/http's and Caddy's own
		}
		if w, ok := want[name]; !ok || strings.Join(w, "\n") != strings.Join(values, "\n") {
			t.Errorf("%s: %q, want %q", name, values, w)
		}
		delete(want, name)
	}
	for name := range want {
		t.Errorf("%s missing", name)
	}
}

// Caddy runs handle_errors routes after the fence has returned, on the
// server's writer, so they can set their own caching headers. A
// cache_fence inside handle_errors fences them, as the README requires.
func TestEndToEndHandleErrors(t *testing.T) {
	addr := testnet.FreeAddr(t)
	startCaddy(t, siteCaddyfile(addr, `	cache_fence
	handle /metrics {
		metrics
	}
	handle /dead {
		reverse_proxy 127.0.0.1:1
	}
	handle /missing {
		error "gone" 404
	}
	respond "home"
	handle_errors {
		cache_fence
		header Cache-Control "public, max-age=600"
		respond "error page {err.status_code}"
	}`))
	for path, status := range map[string]int{"/dead": 502, "/missing": 404} {
		before := fencedCount(t, addr)
		resp := do(t, "GET", "http://"+addr+path, nil)
		if resp.StatusCode != status {
			t.Errorf("%s: status %d, want %d", path, resp.StatusCode, status)
		}
		assertFenced(t, resp.Header)
		// The fence around the failed route and the one in handle_errors
		// both see the response; it is counted once.
		if n := fencedCount(t, addr) - before; n != 1 {
			t.Errorf("%s: counted %v times as fenced, want once", path, n)
		}
	}
}

// fencedCount reads the fenced-response counter from the site's /metrics.
func fencedCount(t *testing.T, addr string) float64 {
	t.Helper()
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return metricValue(t, resp.Body, `caddy_http_cache_fence_responses_total{mode="enforce",verdict="fenced"}`)
}

// metricValue returns the value of the sample named exactly series in a
// Prometheus text exposition, 0 when it is absent.
func metricValue(t *testing.T, r io.Reader, series string) float64 {
	t.Helper()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if value, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", series, err)
			}
			return v
		}
	}
	return 0
}

// The usual plugin line `order cache_fence before respond` puts handle,
// route and header ahead of the fence; the Caddyfile is refused.
func TestEndToEndOrderOptionRefused(t *testing.T) {
	caddyfile := "{\n\torder cache_fence before respond" + siteCaddyfile(testnet.FreeAddr(t), `	cache_fence
	respond "x"`)[1:]
	_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err == nil || !strings.Contains(err.Error(), "order cache_fence before header") {
		t.Fatalf("adapting %q: got %v, want a refusal that gives the fix", caddyfile, err)
	}
	// Ordering it ahead of header is accepted.
	ok := strings.Replace(caddyfile, "before respond", "before header", 1)
	if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(ok), nil); err != nil {
		t.Fatalf("adapting with `order cache_fence before header`: %v", err)
	}
}

// A handler outside the fence that overrides its headers after it (here a
// deferred header op in an enclosing route) cannot be seen at load; the
// fence reports it loudly at the first response and counts every one,
// whichever header the CDN would obey: re-adding a targeted header that
// the fence removed undoes the fence as surely as Cache-Control.
func TestEndToEndOverrideReported(t *testing.T) {
	for _, op := range []string{
		`>Cache-Control "public, max-age=600"`,
		`>Cdn-Cache-Control "max-age=600"`,
		`>Surrogate-Control "max-age=600"`,
		`>Fastly-Cdn-Cache-Control "max-age=600"`,
		`>Edge-Control "cache-maxage=600"`,
		`>X-Accel-Expires "600"`,
	} {
		t.Run(op, func(t *testing.T) { testOverrideReported(t, op) })
	}
}

func testOverrideReported(t *testing.T, op string) {
	addr := testnet.FreeAddr(t)
	logFile := filepath.Join(t.TempDir(), "fence.log")
	startCaddy(t, fmt.Sprintf(`{
	admin off
	auto_https off
	log fence {
		output file %s
		include http.handlers.cache_fence
	}
}
http://%s {
	bind 127.0.0.1
	handle /metrics {
		metrics
	}
	route {
		header %s
		cache_fence
		respond "page of alice"
	}
}
`, logFile, addr, op))
	// The counters live across config loads: count from here.
	overridden := func() float64 {
		resp, err := client.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return metricValue(t, resp.Body, `caddy_http_cache_fence_overridden_total{mode="enforce"}`)
	}
	before := overridden()
	for range 3 {
		do(t, "GET", "http://"+addr+"/", http.Header{"Cookie": {"sid=alice"}})
	}
	if n := overridden() - before; n != 3 {
		t.Errorf("overridden_total grew by %v, want 3", n)
	}
	caddy.Stop() // flush the log
	logged, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(logged), "a handler outside cache_fence changed the headers"); n != 1 {
		t.Errorf("the override was logged %d times, want once (rate-limited):\n%s", n, logged)
	}
	if strings.Contains(string(logged), "alice") {
		t.Errorf("the log holds the cookie value:\n%s", logged)
	}
}

// Caddy in front of an auth server (Authelia, Authentik) runs forward_auth
// after the fence: the identity it copies onto the request is a
// credential header the client never sent, and the page is personal.
func TestEndToEndForwardAuthIdentity(t *testing.T) {
	auth := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("authelia_session"); err == nil && c.Value == "abc" {
			w.Header().Set("Remote-User", "alice")
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go auth.Serve(l)
	t.Cleanup(func() { auth.Close() })

	addr := testnet.FreeAddr(t)
	startCaddy(t, siteCaddyfile(addr, fmt.Sprintf(`	cache_fence {
		session_cookies sid
		explain
	}
	forward_auth %s {
		uri /verify
		copy_headers Remote-User
	}
	header Cache-Control "public, max-age=60"
	respond "hello {http.request.header.Remote-User}"`, l.Addr())))
	resp := do(t, "GET", "http://"+addr+"/", http.Header{"Cookie": {"authelia_session=abc"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: the auth server refused the session", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Cache-Fence"), `fenced; reasons="credential_header"`; got != want {
		t.Errorf("Cache-Fence = %q, want %q", got, want)
	}
	assertFenced(t, resp.Header)
}

// Report mode rewrites nothing, logs a warning with the reasons, and never
// logs a cookie, Set-Cookie, Authorization or path session value.
func TestEndToEndReportModeLogsWithoutSecrets(t *testing.T) {
	s := startSite(t, "report")
	for _, path := range []string{"/a;jsessionid=SECRETJSESSION", "/b%3Bjsessionid=SECRETESCAPED", "/(S(SECRETCOOKIELESS))/page.aspx"} {
		if got := do(t, "GET", s.base+path, nil).Header.Get("Cache-Fence"); !strings.Contains(got, "credential_param") {
			t.Errorf("GET %s: Cache-Fence = %q, want credential_param", path, got)
		}
	}
	resp := do(t, "GET", s.base+"/login", http.Header{
		"Cookie":        {"sid=SECRETCOOKIE"},
		"Authorization": {"Bearer SECRETTOKEN"},
	})
	if got := resp.Header.Get("Cache-Control"); got != "public, max-age=300" {
		t.Errorf("report mode rewrote Cache-Control to %q", got)
	}
	if got, want := resp.Header.Get("Cache-Fence"), `would-fence; reasons="authorization session_cookie set_cookie"`; got != want {
		t.Errorf("Cache-Fence = %q, want %q", got, want)
	}
	caddy.Stop() // flush and close the log file
	logged, err := os.ReadFile(s.logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logged), `"response would be fenced"`) || !strings.Contains(string(logged), `"set_cookie"`) {
		t.Errorf("no warning with reasons in the log:\n%s", logged)
	}
	if !strings.Contains(string(logged), `"path":"/a;REDACTED"`) || !strings.Contains(string(logged), `"path":"/(REDACTED)/page.aspx"`) {
		t.Errorf("the paths with session ids were not logged redacted:\n%s", logged)
	}
	for _, secret := range []string{"SECRETCOOKIE", "SECRETTOKEN", "SECRETSET", "SECRETJSESSION", "SECRETESCAPED", "SECRETCOOKIELESS"} {
		if strings.Contains(string(logged), secret) {
			t.Errorf("log contains the secret %s:\n%s", secret, logged)
		}
	}
}

// 103 Early Hints pass through before the fence decides; the final response
// is fenced because of the Set-Cookie the origin added after the hints.
func TestEndToEndEarlyHints(t *testing.T) {
	s := startSite(t, "enforce")
	var hints []http.Header
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		if code == http.StatusEarlyHints {
			hints = append(hints, http.Header(h))
		}
		return nil
	}}
	req, _ := http.NewRequest("GET", s.base+"/upstream/hints", nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if len(hints) != 1 || hints[0].Get("Link") == "" {
		t.Fatalf("got 103 headers %v, want one 103 with Link", hints)
	}
	if cc := hints[0].Get("Cache-Control"); cc != "" {
		t.Errorf("the 103 carried Cache-Control %q: the fence must decide on the final response only", cc)
	}
	assertFenced(t, resp.Header)
}

// Metrics reach Caddy's /metrics, and survive a config reload without a
// duplicate-registration error.
func TestEndToEndMetricsAcrossReload(t *testing.T) {
	for round := 1; round <= 2; round++ {
		s := startSite(t, "enforce") // loading again is a reload
		do(t, "GET", s.base+"/", http.Header{"Cookie": {"sid=1"}})
		do(t, "GET", s.base+"/", nil)
		resp, err := client.Get(s.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{
			`caddy_http_cache_fence_responses_total{mode="enforce",verdict="fenced"}`,
			`caddy_http_cache_fence_responses_total{mode="enforce",verdict="shared"}`,
			`caddy_http_cache_fence_reasons_total{mode="enforce",reason="session_cookie"}`,
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("round %d: /metrics lacks %s", round, want)
			}
		}
	}
}

// fenceInFrontOf serves origin on 127.0.0.1 and starts Caddy with a bare
// cache_fence in front of it; it returns Caddy's address.
func fenceInFrontOf(t *testing.T, origin http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: origin}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	addr := testnet.FreeAddr(t)
	startCaddy(t, siteCaddyfile(addr, fmt.Sprintf(`	cache_fence
	reverse_proxy %s`, l.Addr())))
	return addr
}

// Server-Sent Events stream through the fence: the client reads the first
// event while the origin is still holding the second back.
func TestEndToEndStreaming(t *testing.T) {
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/upstream/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		http.NewResponseController(w).Flush()
		<-release
		io.WriteString(w, "data: two\n\n")
	})
	addr := fenceInFrontOf(t, mux)

	req, _ := http.NewRequest("GET", "http://"+addr+"/upstream/events", nil)
	req.Header.Set("Cookie", "sid=1")
	resp, err := client.Do(req)
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	defer resp.Body.Close()
	assertFenced(t, resp.Header)
	r := bufio.NewReader(resp.Body)
	first, err := r.ReadString('\n')
	close(release) // only now may the origin send the rest
	if err != nil || first != "data: one\n" {
		t.Fatalf("first event %q, %v", first, err)
	}
	rest, _ := io.ReadAll(r)
	if !strings.Contains(string(rest), "data: two") {
		t.Errorf("second event missing: %q", rest)
	}
}

// A protocol upgrade works through the fence: reverse_proxy hijacks the
// connection through the wrapper after the 101.
func TestEndToEndUpgrade(t *testing.T) {
	addr := fenceInFrontOf(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "echo")
		w.WriteHeader(http.StatusSwitchingProtocols)
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo: " + line)
		brw.Flush()
	}))

	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: echo\r\nCookie: sid=1\r\n\r\n", addr)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	if resp.Header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("101 not fenced: %v", resp.Header)
	}
	fmt.Fprint(conn, "hello\n")
	got, err := br.ReadString('\n')
	if err != nil || got != "echo: hello\n" {
		t.Fatalf("through the upgraded connection got %q, %v", got, err)
	}
}

// The owner stamp: fenced responses carry a digest of the requester's
// identity, shared ones none, and an origin cannot forge one.
func TestEndToEndOwnerStamp(t *testing.T) {
	const key = "test-key-0123456789abcdef"
	t.Setenv("CACHE_FENCE_TEST_KEY", key)
	addr := testnet.FreeAddr(t)
	startCaddy(t, siteCaddyfile(addr, `	cache_fence {
		ignore_cookies _ga*
		owner_stamp {env.CACHE_FENCE_TEST_KEY}
	}
	header Cache-Fence-Owner forged-by-origin
	respond "page"`))
	policy, err := fence.New(fence.Config{IgnoreCookies: []string{"_ga*"}})
	if err != nil {
		t.Fatal(err)
	}
	root := &url.URL{Path: "/"}
	for _, tc := range []struct {
		name   string
		header http.Header
	}{
		{"session cookie", http.Header{"Cookie": {"_ga=1; sid=alice"}}},
		{"authorization", http.Header{"Authorization": {"Bearer bob"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stamp := do(t, "GET", "http://"+addr+"/", tc.header).Header.Get("Cache-Fence-Owner")
			if !fence.VerifyOwnerStamp([]byte(key), policy.Identity(tc.header, root), stamp) {
				t.Errorf("stamp %q does not verify for the requester", stamp)
			}
			other := policy.Identity(http.Header{"Cookie": {"sid=mallory"}}, root)
			if fence.VerifyOwnerStamp([]byte(key), other, stamp) {
				t.Errorf("stamp %q verifies for someone else", stamp)
			}
		})
	}
	if stamp := do(t, "GET", "http://"+addr+"/", nil).Header.Get("Cache-Fence-Owner"); stamp != "" {
		t.Errorf("a shared response carries the stamp %q", stamp)
	}
}

// A missing key is a load error that does not echo the key.
func TestOwnerStampKeyFromUnsetVariable(t *testing.T) {
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(siteCaddyfile(testnet.FreeAddr(t), `	cache_fence {
		owner_stamp {env.CACHE_FENCE_UNSET_VARIABLE}
	}
	respond "page"`)), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = caddy.Load(cfg, true)
	if err == nil {
		caddy.Stop()
		t.Fatal("a config whose stamp key is empty loaded")
	}
	if !strings.Contains(err.Error(), "owner_stamp: key must be at least 16 bytes") {
		t.Errorf("error %q does not explain the key problem", err)
	}
}
