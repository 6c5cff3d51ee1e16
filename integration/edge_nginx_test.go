package integration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/logs"
)

// TestEdgeNginx runs the nginx-lua guard that `cachefence edge` writes
// from the fence's own Caddyfile in real nginx with Debian's Lua module,
// after caches that store the stamping fence's personal pages for
// everyone: an nginx proxy_cache keyed without the cookie, with the guard
// in that same nginx, and Varnish told to keep everything for an hour,
// with an nginx and the guard in front. Without the guard, Bob gets the
// page stored for Alice; with it, never: a 503 that no cache stores, with
// Cache-Fence-Guard: refused. Alice still gets her stored page as a hit,
// and public pages still hit.
//
// The 2017 Varnish configuration honours "private", which the fence
// writes on every personal page: behind the fence it stores none, so
// there is no leak for the guard to stop. Its case checks that, and that
// the guard changes nothing there.
func TestEdgeNginx(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 3*time.Minute)
	origin := startOrigin(t)
	fencePort := stampingFence(stampKey)(t, origin.port)
	guard := edgeGuard(t, "nginx-lua", "refuse")
	alice, bob, anon := user("alice"), user("bob"), anon("anon")

	cases := []struct {
		name string
		// start runs the cache under test, guarded when guard is not "".
		start func(t *testing.T, guard string) *cache
		leaks bool
	}{
		{"nginx_proxy_cache", func(t *testing.T, guard string) *cache {
			return nginxGuardServe(t, guard, true, "nginx", fencePort, "")
		}, true},
		{"varnish_forced_ttl", func(t *testing.T, guard string) *cache {
			return nginxGuardServe(t, guard, false, "varnish", nginxGuardPort(t, startVarnish(t, "varnish_forced_ttl.vcl", fencePort)), "")
		}, true},
		{"varnish_2017", func(t *testing.T, guard string) *cache {
			return nginxGuardServe(t, guard, false, "varnish", nginxGuardPort(t, startVarnish(t, "varnish_2017.vcl", fencePort)), "")
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bare := tc.start(t, "")
			mustGet(ctx, t, alice, bare, "/account")
			r := mustGet(ctx, t, bob, bare, "/account")
			if leaked := r.owner == "alice" && r.hit; leaked != tc.leaks {
				t.Fatalf("without the guard, Bob got the page of %q (hit %v); the test expects the cache to leak: %v", r.owner, r.hit, tc.leaks)
			}

			c := tc.start(t, guard)
			if r := mustGet(ctx, t, alice, c, "/account"); r.owner != "alice" || r.status != 200 {
				t.Fatalf("Alice got status %d, the page of %q", r.status, r.owner)
			}
			if r := mustGet(ctx, t, alice, c, "/account"); r.owner != "alice" || r.hit != tc.leaks || r.header.Get("Cache-Fence-Guard") != "" {
				t.Errorf("Alice's second request: page of %q, hit %v, guard %q: her own page must pass untouched (a hit where the cache stores it)", r.owner, r.hit, r.header.Get("Cache-Fence-Guard"))
			}
			guardedVisits(ctx, t, c, map[bool]string{true: fence.GuardRefused, false: ""}[tc.leaks], "nginx-lua "+tc.name)
			// The refusals were not stored in Alice's place.
			if r := mustGet(ctx, t, alice, c, "/account"); r.owner != "alice" || r.status != 200 || r.hit != tc.leaks {
				t.Errorf("Alice after the refusals: status %d, page of %q, hit %v", r.status, r.owner, r.hit)
			}
			for _, path := range []string{"/static/app.css", "/"} {
				mustGet(ctx, t, anon, c, path)
				if r := mustGet(ctx, t, bob, c, path); !r.hit || r.status != 200 || r.header.Get("Cache-Fence-Guard") != "" {
					t.Errorf("public %s through the guard: status %d, hit %v, guard %q; want a plain hit", path, r.status, r.hit, r.header.Get("Cache-Fence-Guard"))
				}
			}
		})
	}
}

var nginxGuardConfTemplate = template.Must(template.ParseFiles(filepath.Join("testdata", "edge_nginx_guard.conf")))

// nginxGuardServe runs nginx (testdata/edge_nginx_guard.conf) in front of
// 127.0.0.1:backendPort, as a proxy_cache when withCache, with the
// nginx-lua guard included unless guard is "", the key in its
// environment, and the logging configuration logConf included unless it
// is "". Its hits are read as those of a cache of kind.
func nginxGuardServe(t *testing.T, guard string, withCache bool, kind string, backendPort int, logConf string) *cache {
	t.Helper()
	nginx := tool(t, "nginx")
	prefix := t.TempDir()
	guardFile := ""
	if guard != "" {
		if _, err := os.Stat("/usr/lib/nginx/modules/ngx_http_lua_module.so"); err != nil {
			t.Fatalf("nginx's Lua module is missing (%v): apt-get install -y libnginx-mod-http-lua (scripts/test installs it)", err)
		}
		guardFile = filepath.Join(prefix, "guard.conf")
		if err := os.WriteFile(guardFile, []byte(guard), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logFile := ""
	if logConf != "" {
		logFile = filepath.Join(prefix, "log.conf")
		if err := os.WriteFile(logFile, []byte(logConf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port := serve(t, "nginx", func(port int) *process {
		var b bytes.Buffer
		err := nginxGuardConfTemplate.Execute(&b, map[string]any{"Port": port, "BackendPort": backendPort,
			"Prefix": prefix, "Guard": guardFile, "Cache": withCache, "Log": logFile})
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(prefix, "nginx.conf")
		if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return startProcess(t, "nginx", []string{"CACHE_FENCE_KEY=" + stampKey}, nginx,
			"-p", prefix, "-c", file, "-e", "stderr", "-g", "daemon off;")
	})
	return &cache{kind: kind, url: fmt.Sprintf("http://127.0.0.1:%d", port)}
}

// nginxGuardPort is the port of 127.0.0.1 that c listens on.
func nginxGuardPort(t *testing.T, c *cache) int {
	t.Helper()
	port, err := strconv.Atoi(strings.TrimPrefix(c.url, "http://127.0.0.1:"))
	if err != nil {
		t.Fatalf("cache at %s: %v", c.url, err)
	}
	return port
}

// TestEdgeNginxLogs runs the nginx proxy_cache keyed without the cookie,
// with the nginx-lua guard, logging as docs/logs.md says for nginx (the
// fallback format, which logs credentials, with the guard's field its
// "Behind an edge guard" table gives), and cachefence logs over that log:
// each refusal is guard_stopped_leak, page stamped for Alice, requested
// by Bob or the anonymous visitor, and none is a stamp_mismatch, though
// the log holds Alice's stamp beside their credentials.
func TestEdgeNginxLogs(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 2*time.Minute)
	origin := startOrigin(t)
	fencePort := stampingFence(stampKey)(t, origin.port)
	docs := logsDocsConfig(t)
	field := nginxGuardLogField(t)
	logFile := filepath.Join(t.TempDir(), "access.log")
	lines := strings.Split(strings.Replace(docs.nginxHTTP, nginxLogPath, logFile, 1), "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "log_format cachefence ") })
	lines[i] = strings.TrimSuffix(docs.nginxFallback, "';") + field + "';"
	c := nginxGuardServe(t, edgeGuard(t, "nginx-lua", "refuse"), true, "nginx", fencePort, strings.Join(lines, "\n"))

	alice, bob, anon := user("alice"), user("bob"), anon("anon")
	mustGet(ctx, t, alice, c, "/account")
	mustGet(ctx, t, alice, c, "/account")
	for _, v := range []visitor{bob, anon} {
		if r := mustGet(ctx, t, v, c, "/account"); r.status != 503 || r.header.Get("Cache-Fence-Guard") != "refused" {
			t.Fatalf("%s: status %d, guard %q: the guard did not refuse Alice's stored page", v.name, r.status, r.header.Get("Cache-Fence-Guard"))
		}
	}
	waitLines(t, logFile, 0, 4)
	var stopped []string
	for _, f := range runLogs(t, "nginx", logFile) {
		switch f.Check {
		case logs.GuardStoppedLeak:
			stopped = append(stopped, f.Owner+">"+f.Requester)
		case logs.StampMismatch:
			t.Errorf("a refusal read as a leak: %s", findingLine(f))
		}
	}
	if want := []string{"alice>bob", "alice>anonymous"}; !slices.Equal(stopped, want) {
		t.Errorf("guard_stopped_leak findings %q, want %q", stopped, want)
	}
}

// nginxGuardLogField is the field docs/logs.md's "Behind an edge guard"
// table adds to nginx's log_format.
func nginxGuardLogField(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "logs.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?m)^\\| nginx \\| a last field `([^`]+)`").FindSubmatch(b)
	if m == nil {
		t.Fatal("docs/logs.md: the \"Behind an edge guard\" table no longer gives nginx's field as | nginx | a last field `...`")
	}
	return strings.ReplaceAll(string(m[1]), `\t`, "\t")
}
