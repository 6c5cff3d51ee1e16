package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachefence/cachefence/fence"
)

// TestEdgeWorker runs the cloudflare-worker guard that `cachefence edge`
// writes from the fence's own Caddyfile in workerd, Cloudflare's Workers
// runtime, in front of a real Varnish that ignores private (the forced-TTL
// configuration), in front of the fence with owner stamps. Without the
// guard, Bob gets the page Varnish stored for Alice. With it, Bob never
// does, whatever the mode: refuse answers a 503; pass fetches the page
// again past the cache (the VCL passes the guard's no-store refetch, as
// Cloudflare's cache does for fetch's cache: "no-store") and Bob gets his
// own. Alice still gets her stored page, and public pages still hit; and
// cachefence probe reports what the guard stopped (guard_stopped).
func TestEdgeWorker(t *testing.T) {
	t.Parallel()
	workerd := workerdBinary(t)
	ctx := testContext(t, 2*time.Minute)
	origin := startOrigin(t)
	fencePort := stampingFence(stampKey)(t, origin.port)
	alice, bob, anon := user("alice"), user("bob"), anon("anon")

	// The cache leaks without a guard.
	bare := startVarnish(t, "varnish_forced_ttl.vcl", fencePort)
	mustGet(ctx, t, alice, bare, "/account")
	if r := mustGet(ctx, t, bob, bare, "/account"); r.owner != "alice" || !r.hit {
		t.Fatalf("without the guard, Bob got the page of %q (hit %v): the cache does not leak, so the test cannot show the guard stops a leak", r.owner, r.hit)
	}

	for _, mode := range []string{"refuse", "pass"} {
		t.Run(mode, func(t *testing.T) {
			// In pass mode the guard also hands the log the requester
			// digest.
			var args []string
			if mode == "pass" {
				args = []string{"--requester-digest"}
			}
			guard := edgeGuard(t, "cloudflare-worker", mode, args...)
			// The guard's refetch carries Cache-Control: no-store (or
			// Pragma: no-cache); Cloudflare's cache is bypassed by it,
			// Varnish's only when told.
			c := startVarnishWith(t, "varnish_forced_ttl.vcl", `sub vcl_recv {
	if (req.http.Cache-Control ~ "no-store" || req.http.Pragma ~ "no-cache") {
		return (pass);
	}
}
`, fencePort)
			w, wp := startWorkerd(t, workerd, guard, c)

			if r := mustGet(ctx, t, alice, w, "/account"); r.owner != "alice" || r.status != 200 {
				t.Fatalf("Alice got status %d, the page of %q", r.status, r.owner)
			}
			if r := mustGet(ctx, t, alice, w, "/account"); r.owner != "alice" || !r.hit || r.header.Get("Cache-Fence-Guard") != "" {
				t.Errorf("Alice's second request: page of %q, hit %v, guard %q: her own stored page must pass untouched", r.owner, r.hit, r.header.Get("Cache-Fence-Guard"))
			}
			guardedVisits(ctx, t, w, map[string]string{"refuse": "refused", "pass": "passed"}[mode], "cloudflare-worker "+mode)
			// The guard logs a mismatch with its path, never the path's
			// parameters, which may hold a session id.
			mustGet(ctx, t, alice, w, "/account;jsessionid=SECRET-in-path")
			mustGet(ctx, t, bob, w, "/account;jsessionid=SECRET-in-path")
			if out := wp.out.tail(1 << 20); !strings.Contains(out, `"cachefence_guard":"mismatch"`) || strings.Contains(out, "SECRET-in-path") {
				t.Errorf("the Worker's console must log the mismatch without the path's parameters:\n%s", out)
			}
			requesterDigests(ctx, t, w, mode == "pass")
			mustGet(ctx, t, anon, w, "/static/app.css")
			if r := mustGet(ctx, t, bob, w, "/static/app.css"); !r.hit || r.status != 200 || r.header.Get("Cache-Fence-Guard") != "" {
				t.Errorf("a public asset through the guard: status %d, hit %v, guard %q; want a plain hit", r.status, r.hit, r.header.Get("Cache-Fence-Guard"))
			}

			// The probe sees what the guard stopped, and no leak.
			_, rep := runProbe(t, probeConfig(w.url, probeCase{personal: []string{"/account"}, markers: true, stamp: stampKey}))
			want := []string{"cached alice->alice", "guard_stopped someone else->anonymous,someone else->bob"}
			if got := findingsOf(rep); !slices.Equal(got, want) || len(rep.Untrusted) > 0 {
				t.Errorf("the probe through the guard found %q (untrusted %q), want exactly %q", got, rep.Untrusted, want)
			}
		})
	}
}

// guardedVisits asks c for /account, which holds Alice's stored page, as
// Bob and as an anonymous visitor through a guard: neither may get her
// page, and each gets what verdict says: "refused", a 503 that no cache
// stores; "passed", their own page fetched past the cache; "", their own
// page untouched.
func guardedVisits(ctx context.Context, t *testing.T, c *cache, verdict, label string) {
	t.Helper()
	for _, v := range []visitor{user("bob"), anon("anon")} {
		r := mustGet(ctx, t, v, c, "/account")
		guardSaid := r.header.Get(fence.GuardHeader)
		switch {
		case r.owner == "alice":
			t.Errorf("%s got Alice's page through the guard (status %d, guard %q)", v.name, r.status, guardSaid)
		case verdict == fence.GuardRefused && (r.status != 503 || guardSaid != verdict || r.header.Get("Cache-Control") != "private, no-store"):
			t.Errorf("%s: status %d, guard %q, Cache-Control %q; want a 503 that no cache stores, with Cache-Fence-Guard: refused", v.name, r.status, guardSaid, r.header.Get("Cache-Control"))
		case verdict != fence.GuardRefused && (r.status != 200 || guardSaid != verdict || r.owner != identityName(v)):
			t.Errorf("%s: status %d, guard %q, page of %q; want their own page with Cache-Fence-Guard %q", v.name, r.status, guardSaid, r.owner, verdict)
		}
		report(t, "edge       %-28s %-5s /account status %d guard %-9q page of %q", label, v.name, r.status, guardSaid, r.owner)
	}
}

// requesterDigests checks the requester digest a guard written with
// --requester-digest sets (want), or that one written without it sets
// none: on each visitor's own page it is the stamp the fence gave the
// page, for the anonymous visitor the stamp of the empty identity, and a
// response that set a cookie says so in Cache-Fence-Set-Cookie.
func requesterDigests(ctx context.Context, t *testing.T, c *cache, want bool) {
	t.Helper()
	for _, v := range []visitor{user("carol"), anon("anon-digest")} {
		r := mustGet(ctx, t, v, c, "/account")
		digest, stamp := r.header.Get(fence.RequesterHeader), r.header.Get(fence.DefaultStampHeader)
		switch {
		case !want && digest != "":
			t.Errorf("%s: a guard written without --requester-digest set %s", v.name, fence.RequesterHeader)
		case want && (digest == "" || digest != stamp):
			t.Errorf("%s: requester digest %q, want the stamp of the page the fence made for them, %q", v.name, digest, stamp)
		case want && v.user == "" && digest != fence.OwnerStamp([]byte(stampKey), ""):
			t.Errorf("%s: requester digest %q, want the anonymous stamp", v.name, digest)
		}
	}
	r := mustGet(ctx, t, anon("anon-login"), c, "/login")
	if set := r.header.Get(fence.SetCookieHeader); r.session == "" || (set == "1") != want {
		t.Errorf("/login: session %q, %s %q (want it set: %v)", r.session, fence.SetCookieHeader, set, want)
	}
}

// mustGet fetches path as v from c, or fails the test.
func mustGet(ctx context.Context, t *testing.T, v visitor, c *cache, path string) response {
	t.Helper()
	r, err := v.get(ctx, c, path)
	if err != nil {
		t.Fatalf("%s: GET %s: %v", v.name, path, err)
	}
	return r
}

// edgeGuard runs `cachefence edge` on the Caddyfile of the stamping fence
// (testdata/fence.Caddyfile), with args, and returns the guard it wrote.
func edgeGuard(t *testing.T, target, mode string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	file := render(t, dir, "Caddyfile", config{Port: 1, BackendPort: 2, StampKey: stampKey}, "fence.Caddyfile")
	cmd := exec.Command(cachefenceBinary(t), append([]string{"edge", "--target", target, "--config", file, "--on-mismatch", mode}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cachefence edge: %v\n%s", err, stderr.String())
	}
	if strings.Contains(string(out)+stderr.String(), stampKey) {
		t.Fatal("cachefence edge wrote the key")
	}
	return string(out)
}

// startWorkerd runs guard as a Worker in workerd on 127.0.0.1, with the
// test's key as the secret CACHE_FENCE_KEY, every fetch it makes going to
// the cache c, and returns it as a cache whose hits are c's.
func startWorkerd(t *testing.T, workerd, guard string, c *cache) (*cache, *process) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "guard.js"), []byte(guard), 0o644); err != nil {
		t.Fatal(err)
	}
	backend := strings.TrimPrefix(c.url, "http://")
	var proc *process
	port := serve(t, "workerd", func(port int) *process {
		config := fmt.Sprintf(`using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "guard", worker = .guard),
    (name = "cache", external = (address = %q, http = ())),
  ],
  sockets = [(name = "http", address = "127.0.0.1:%d", http = (), service = "guard")],
);

const guard :Workerd.Worker = (
  modules = [(name = "guard.js", esModule = embed "guard.js")],
  compatibilityDate = "2024-11-11",
  bindings = [(name = "CACHE_FENCE_KEY", text = %q)],
  globalOutbound = "cache",
);
`, backend, port, stampKey)
		file := filepath.Join(dir, "config.capnp")
		if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		proc = startProcess(t, "workerd", nil, workerd, "serve", "--verbose", file)
		return proc
	})
	return &cache{kind: c.kind, url: fmt.Sprintf("http://127.0.0.1:%d", port), workdir: c.workdir, stat: c.stat}, proc
}

// workerdBinary is workerd as scripts/test installs it from npm (pinned
// in edge/testdata/workerd/package.json), or on PATH.
func workerdBinary(t *testing.T) string {
	t.Helper()
	local := filepath.Join(repoRoot(t), "edge", "testdata", "workerd", "node_modules", ".bin", "workerd")
	if _, err := os.Stat(local); err == nil {
		return local
	}
	if p, err := exec.LookPath("workerd"); err == nil {
		return p
	}
	t.Fatal("workerd not found: install it with: npm ci --prefix edge/testdata/workerd (scripts/test does)")
	return ""
}
