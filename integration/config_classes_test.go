package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The configuration classes of issue 16: ways an operator's cache_fence
// configuration, written as the README suggests, let a personal page out as
// cacheable.
//
//   - A credential_headers name configured with "_" (X_Api_Key, as PHP
//     reads it, or a header really called api_key) matched no request at
//     all. Through a real cache in front of a real PHP origin, which reads
//     X-Api-Key and X_Api_Key alike as $_SERVER['HTTP_X_API_KEY'], the
//     second API client must get their own answer. Caddy drops request
//     headers spelt with "_" unless the server option
//     expected_underscore_headers lists them; a header really called
//     api_key is listed there, as its operator must.
//   - A matcher on the directive (`@app not path /static/*`, then
//     `cache_fence @app`) handed the choice to Caddy's path matcher, which
//     folds case: /STATIC/x skipped the fence while the origin rendered a
//     personal page there. Such a Caddyfile is refused when adapted, and
//     the form the error points to (public_paths) keeps that page out of
//     the cache while the real static file is still stored.
//
// As in TestHardening, each case runs without the fence, where the second
// visitor must get the first one's page (the set-up can show the leak), and
// with it, where they must get their own.

// classesCaddyfile is the router in front of the two origins, with the
// fence configured as an operator who read the README would: the API key
// header named as the PHP code reads it.
const classesCaddyfile = `{
	admin off
	auto_https off
	persist_config off
	servers {
		expected_underscore_headers api_key
	}
}
http://127.0.0.1:%d {
	bind 127.0.0.1
%s
	handle /c/php/* {
		reverse_proxy 127.0.0.1:%d
	}
	handle {
		reverse_proxy 127.0.0.1:%d
	}
}
`

const classesFence = `	cache_fence {
		session_cookies session
		credential_headers X_Api_Key api_key
		public_paths /c/static/*
		explain
	}`

// classesPHP is the PHP origin: an API that reads its key from $_SERVER,
// where PHP's SAPIs put a request header under HTTP_ with "-" turned into
// "_", and whose answer is marked cacheable by mistake.
const classesPHP = `<?php
header('Content-Type: application/json');
if ($_SERVER['REQUEST_URI'] === '/healthz') {
    header('Cache-Control: no-store');
    echo "owner=public\n";
    return;
}
header('Cache-Control: max-age=60');
echo 'owner=' . ($_SERVER['HTTP_X_API_KEY'] ?? $_SERVER['HTTP_API_KEY'] ?? 'anonymous') . "\n";
`

// classesCases are run on the caches they name, each of which hands the
// first page to the second visitor when nothing fences it. Each case has a
// path of its own, so that no case is served another's stored page.
var classesCases = []hardeningCase{{
	class: "underscore", name: "configured_X_Api_Key_sent_as_X-Api-Key", caches: []string{"varnish", "nginx"},
	first:  hardeningRequest{"/c/php/dashes", http.Header{"X-Api-Key": {"alice"}}, "alice"},
	second: hardeningRequest{"/c/php/dashes", http.Header{"X-Api-Key": {"bob"}}, "bob"},
	reason: "credential_header",
}, {
	// nginx drops request headers with "_" (underscores_in_headers off):
	// only Varnish brings this one to Caddy.
	class: "underscore", name: "header_named_api_key", caches: []string{"varnish"},
	first:  hardeningRequest{"/c/php/underscore", http.Header{"api_key": {"alice"}}, "alice"},
	second: hardeningRequest{"/c/php/underscore", http.Header{"api_key": {"bob"}}, "bob"},
	reason: "credential_header",
}, {
	// What `@app not path /c/static/*` let through unfenced: Caddy's
	// matcher reads /c/STATIC/ as /c/static/, the origin's file server
	// does not, and its catch-all renders the signed-in user's page.
	class: "matcher", name: "static_prefix_in_another_case", caches: []string{"varnish", "nginx"},
	first:  hardeningRequest{"/c/STATIC/x", cookie("session=alice"), "alice"},
	second: hardeningRequest{"/c/STATIC/x", cookie("session=bob"), "bob"},
	reason: "session_cookie",
}}

func TestConfigClasses(t *testing.T) {
	t.Parallel()
	t.Run("matcher/refused_when_adapted", testMatcherRefused)
	php, app := startClassesPHP(t), startClassesApp(t)
	for _, kind := range []string{"varnish", "nginx"} {
		conf := map[string]string{"varnish": "varnish_hardening.vcl", "nginx": "nginx_hardening.conf"}[kind]
		for _, fenced := range []bool{false, true} {
			variant := map[bool]string{false: "without_fence", true: "with_fence"}[fenced]
			t.Run(kind+"/"+variant, func(t *testing.T) {
				c := startCache(t, kind, conf, startClassesRouter(t, fenced, php, app))
				ctx := testContext(t, 2*time.Minute)
				for _, tc := range classesCases {
					if !slices.Contains(tc.caches, kind) {
						continue
					}
					t.Run(tc.class+"/"+tc.name, func(t *testing.T) { tc.replay(ctx, t, c, "classes", kind, fenced) })
				}
				if fenced {
					t.Run("matcher/public_path_still_stored", func(t *testing.T) {
						checkStoredForAll(ctx, t, c, "/c/static/app.css")
					})
				}
			})
		}
	}
}

// testMatcherRefused adapts, with the cachefence binary, the Caddyfile that
// fenced all but a path through a matcher: it must fail, and say what to
// use instead.
func testMatcherRefused(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "Caddyfile")
	site := "\t@app not path /c/static/*\n\tcache_fence @app {\n\t\tsession_cookies session\n\t}"
	if err := os.WriteFile(file, fmt.Appendf(nil, classesCaddyfile, 8080, site, 8081, 8082), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cachefenceBinary(t), "adapt", "--config", file, "--adapter", "caddyfile")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), caddyEnv(dir)...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("cachefence adapt accepted a matcher on cache_fence:\n%s", out)
	}
	// The message is in a JSON log line, its quotes escaped.
	for _, want := range []string{"cache_fence takes no matcher, got", "@app", "public_paths and private_paths"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the error does not say %q:\n%s", want, out)
		}
	}
}

// checkStoredForAll asks for a public static file as two visitors with
// sessions: the fence must share it and the cache serve the second from
// storage, so the form that replaces the matcher fences no more than it.
func checkStoredForAll(ctx context.Context, t *testing.T, c *cache, path string) {
	t.Helper()
	first, err := fetch(ctx, c, path, cookie("session=alice"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := fetch(ctx, c, path, cookie("session=bob"))
	if err != nil {
		t.Fatal(err)
	}
	report(t, "classes   %-10s %-40s %-8s %-14s second request hit %v (fence %q)", "matcher", "public_path_still_stored", c.kind, "with_fence", second.hit, first.verdict)
	if first.verdict != "shared" || !second.hit || second.owner != "public" {
		t.Fatalf("want the static file shared and stored: fence %q, second hit %v, owner %q", first.verdict, second.hit, second.owner)
	}
}

// startClassesRouter runs `cachefence run` with classesCaddyfile, fenced
// or not, and returns its port.
func startClassesRouter(t *testing.T, fenced bool, phpPort, appPort int) int {
	t.Helper()
	bin := cachefenceBinary(t)
	dir := t.TempDir()
	site := ""
	if fenced {
		site = classesFence
	}
	return serve(t, "cachefence router", func(port int) *process {
		file := filepath.Join(dir, "Caddyfile")
		if err := os.WriteFile(file, fmt.Appendf(nil, classesCaddyfile, port, site, phpPort, appPort), 0o644); err != nil {
			t.Fatal(err)
		}
		return startProcess(t, "cachefence router", caddyEnv(dir), bin, "run", "--config", file, "--adapter", "caddyfile")
	})
}

// startClassesPHP runs classesPHP with PHP's built-in server.
func startClassesPHP(t *testing.T) int {
	t.Helper()
	php := tool(t, "php")
	script := filepath.Join(t.TempDir(), "api.php")
	if err := os.WriteFile(script, []byte(classesPHP), 0o644); err != nil {
		t.Fatal(err)
	}
	return serve(t, "php -S", func(port int) *process {
		return startProcess(t, "php -S", nil, php, "-S", fmt.Sprintf("127.0.0.1:%d", port), script)
	})
}

// startClassesApp serves the Go application: files under /c/static/, as a
// case-sensitive file server finds them, and a catch-all that renders the
// signed-in user's page, marked cacheable by mistake.
func startClassesApp(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: requestTimeout, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/healthz":
			w.Header().Set("Cache-Control", "no-store")
			fmt.Fprint(w, "owner=public\n")
		case strings.HasPrefix(p, "/c/static/"):
			w.Header().Set("Cache-Control", "public, max-age=3600")
			serveFile(w, r, "owner=public\n")
		default:
			owner := "anonymous"
			if c, err := r.Cookie("session"); err == nil {
				owner = c.Value
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "max-age=60")
			fmt.Fprintf(w, "owner=%s\npath=%s\n", owner, p)
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}
