package integration

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/logs"
)

// TestLogs runs real caches, logging in the configuration docs/logs.md
// recommends (read from docs/logs.md itself), and runs `cachefence logs`
// over the access log the cache wrote: varnishncsa's for Varnish, nginx's
// own. The findings must be exactly those that what each visitor
// received calls for: the test compares the two lists, reasons included.
//
// In the fenced cases the caches stand in front of the fence with owner
// stamps, and signed-in users, a bearer-token client and anonymous
// visitors go through them one after another and all at once. With a
// cache that ignores "private" (as a misconfigured CDN does) the findings
// are a stamp_mismatch for each response where one identity's stamped
// page reached another, and a cached_personal for each personal response
// served from storage, whose reasons quote the logged Cache-Control; no
// public page may be flagged. With a cache that honours "private" there
// must be no finding at all.
//
// In the cache_control_only cases there is no fence: the origin marks its
// personal pages with nothing but "Cache-Control: private" or "no-store",
// on paths that are not private, without a cookie, and the cache stores
// them anyway. Only the logged Cache-Control can tell that the pages the
// second and later visitors got from storage were personal: each must be
// a cached_personal quoting it, and the public page ("public,
// max-age=60") served from storage must not be.
func TestLogs(t *testing.T) {
	t.Parallel()
	docs := logsDocsConfig(t)
	for _, lc := range []struct {
		name, cache, config string
		// digest: the cache logs a requester digest, which the test's
		// clients send as the edge code would set it (the documented
		// configuration); otherwise the fallback, which logs
		// credentials.
		digest bool
		// fenced: the personalised site behind the fence with owner
		// stamps; otherwise the origin of the cache_control_only cases,
		// directly behind the cache.
		fenced bool
		leaks  bool
	}{
		{"varnish/ignores_private", "varnish", "varnish_forced_ttl.vcl", true, true, true},
		{"varnish/ignores_private/fallback", "varnish", "varnish_forced_ttl.vcl", false, true, true},
		{"varnish/honours_private", "varnish", "varnish_2017.vcl", true, true, false},
		{"nginx/ignores_private", "nginx", "logs_nginx_ignores_private.conf", true, true, true},
		{"nginx/ignores_private/fallback", "nginx", "logs_nginx_ignores_private.conf", false, true, true},
		{"nginx/honours_private", "nginx", "logs_nginx_honors_private.conf", true, true, false},
		{"varnish/cache_control_only", "varnish", "varnish_forced_ttl.vcl", true, false, true},
		{"nginx/cache_control_only", "nginx", "logs_nginx_ignores_private.conf", true, false, true},
		{"nginx/cache_control_only/fallback", "nginx", "logs_nginx_ignores_private.conf", false, false, true},
	} {
		t.Run(lc.name, func(t *testing.T) {
			t.Parallel()
			var backend int
			if lc.fenced {
				backend = stampingFence(stampKey)(t, startOrigin(t).port)
			} else {
				backend = startCacheControlOrigin(t)
			}
			c, logFile, logged := startLoggingCache(t, docs, lc.cache, lc.config, lc.digest, backend)
			var truth []visit
			if lc.fenced {
				truth = visitAll(t, c, lc.digest)
			} else {
				truth = visitCacheControlOnly(t, c, lc.digest)
			}
			// Every request must be in the log before it is read.
			waitLines(t, logFile, logged, len(truth))
			if lc.digest {
				checkNoCredentials(t, logFile)
			}

			got := runLogs(t, lc.cache, logFile)
			var findings []string
			mismatches := 0
			for _, f := range got {
				if slices.Contains(logsPublicPaths, f.Path) || f.Path == "/catalog" {
					t.Errorf("a public page flagged: %s", f.String())
				}
				if f.Check == logs.StampMismatch {
					mismatches++
				}
				findings = append(findings, findingLine(f))
			}
			want, wantMismatches, ccOnly := expectedFindings(t, truth)
			slices.Sort(findings)
			slices.Sort(want)
			leaked, publicHits := 0, 0
			for _, v := range truth {
				if v.owner != "public" && v.owner != v.visitor {
					leaked++
				}
				if v.owner == "public" && v.hit {
					publicHits++
				}
			}
			t.Logf("findings:\n%s", strings.Join(findings, "\n"))
			report(t, "logs       %-26s %-8s %d requests, %d reached another identity (%d stamped), %d findings (%d stamp_mismatch, %d cached_personal by Cache-Control alone)",
				lc.name, lc.cache, len(truth), leaked, wantMismatches, len(got), mismatches, ccOnly)
			if !slices.Equal(findings, want) {
				t.Errorf("findings:\n%s\nwant, from what each visitor got:\n%s",
					strings.Join(findings, "\n"), strings.Join(want, "\n"))
			}
			if publicHits == 0 {
				t.Error("no public page was served from storage: the test cannot show the watcher leaves them alone")
			}
			switch {
			case lc.fenced && lc.leaks && wantMismatches == 0:
				t.Fatal("no stamped page reached another identity: the test cannot show the watcher finds leaks")
			case !lc.fenced && ccOnly != 2*(len(logsUsers)+len(logsAnons)-1):
				// Alice fetches each personal page first; the five after
				// her must each have got her page from storage.
				t.Fatalf("%d responses served from storage that only their Cache-Control marks personal, want %d: the test cannot show the watcher reads Cache-Control",
					ccOnly, 2*(len(logsUsers)+len(logsAnons)-1))
			case !lc.leaks && len(got) > 0:
				t.Errorf("%d findings with a cache that honours private, first %s", len(got), got[0].String())
			}
		})
	}
}

// findingLine is a finding as the test compares it: check, path, the
// cache status as logged, owner and requester, and the reasons, exactly.
func findingLine(f logs.Finding) string {
	return fmt.Sprintf("%s %s %s %s>%s %q", f.Check, f.Path, f.CacheWord, cmp.Or(f.Owner, "-"), f.Requester, f.Why)
}

// logsCacheControlWhy is what cached_personal must say of a response
// served from storage, by the Cache-Control its visitor received: the
// quote of fence.SharedStorable's verdict, written out here rather than
// asked of it, or nothing for a response every shared cache may store.
// A Cache-Control the test meets and this table lacks fails the test.
var logsCacheControlWhy = map[string][]string{
	"private, no-store":                {`Cache-Control "private, no-store" says private and no-store`}, // the fence's
	"private":                          {`Cache-Control "private" says private`},
	"no-store":                         {`Cache-Control "no-store" says no-store`},
	"no-cache":                         nil, // storable: revalidate first
	"public, max-age=60":               nil,
	"public, max-age=300":              nil,
	"public, max-age=86400, immutable": nil,
}

// expectedFindings returns, from what each visitor received, the findings
// `cachefence logs` must report, as findingLine writes them: a
// stamp_mismatch for each stamped page that reached another identity, a
// cached_personal for each response served from storage that was stamped,
// on a private path, set a cookie, or had a Cache-Control that lets no
// shared cache store it. It also counts the stamp mismatches and the
// cached_personal findings whose only reason is the Cache-Control.
func expectedFindings(t *testing.T, truth []visit) (want []string, mismatches, ccOnly int) {
	t.Helper()
	for _, v := range truth {
		if v.stamped && v.owner != v.visitor {
			// The stamp is the fence's for the page's owner; the watcher
			// names it by its account (or anonymous).
			want = append(want, findingLine(logs.Finding{Check: logs.StampMismatch, Path: v.path,
				CacheWord: v.cacheWord, Owner: v.owner, Requester: v.visitor}))
			mismatches++
		}
		if !v.hit {
			continue
		}
		ccWhy, known := logsCacheControlWhy[v.cacheControl]
		if !known {
			t.Errorf("%s %s: Cache-Control %q: the test does not say what the watcher must make of it", v.visitor, v.path, v.cacheControl)
			continue
		}
		var why []string
		if v.stamped {
			why = append(why, "owner_stamp")
		}
		if logsPrivatePath(v.path) {
			why = append(why, "private_path")
		}
		if v.setCookie {
			why = append(why, "set_cookie")
		}
		if len(why) == 0 && len(ccWhy) > 0 {
			ccOnly++
		}
		why = append(why, ccWhy...)
		if len(why) > 0 {
			want = append(want, findingLine(logs.Finding{Check: logs.CachedPersonal, Path: v.path,
				CacheWord: v.cacheWord, Requester: v.visitor, Why: why}))
		}
	}
	return want, mismatches, ccOnly
}

// logsPrivatePath says whether path matches one of the --private-path
// patterns runLogs passes (the fence's private_paths).
func logsPrivatePath(path string) bool {
	return strings.HasPrefix(path, "/account") || strings.HasPrefix(path, "/orders/") || path == "/live"
}

// The identities of the test: users with a session cookie, one with a
// bearer token, and anonymous visitors (who carry only an analytics
// cookie, which the fence ignores).
var (
	logsUsers = []visitor{user("alice"), user("bob"), user("carol"), {name: "dave", user: "dave", bearer: true}}
	logsAnons = []visitor{anon("anon1"), anon("anon2")}
	// Personal pages: private paths, a personal page the origin marks
	// public, a login that sets a cookie.
	logsPersonalPaths = []string{"/account", "/orders/42", "/wishlist", "/login"}
	// Public pages and assets, which must never be flagged.
	logsPublicPaths = []string{"/", "/news/1", "/static/app.css"}
)

// visit is what one visitor got: the owner named in the body, whether
// the response carried an owner stamp or set a cookie, its Cache-Control,
// and whether the cache served it from storage, as the cache tells the
// client.
type visit struct {
	visitor, path, owner string
	stamped, setCookie   bool
	cacheControl         string
	hit                  bool
	// cacheWord is the cache status the log must hold for a hit: nginx's
	// $upstream_cache_status as X-Cache-Status sends it, or Varnish's
	// "hit" handling. It is "(not a hit)" for Varnish's other handlings.
	cacheWord string
}

// identityName is how the watcher names v: its account, or anonymous.
func identityName(v visitor) string {
	if v.user == "" {
		return "anonymous"
	}
	return v.user
}

// visitAll sends the mixed traffic: everyone through every page one after
// another, then everyone at once on the slow personal page, twice.
func visitAll(t *testing.T, c *cache, digest bool) []visit {
	t.Helper()
	ctx := testContext(t, 2*time.Minute)
	everyone := append(slices.Clone(logsUsers), logsAnons...)
	var mu sync.Mutex
	var got []visit
	fetch := func(v visitor, path string) {
		got1, err := fetchVisit(ctx, c, v, path, digest)
		if err != nil {
			t.Errorf("%s: GET %s: %v", v.name, path, err)
			return
		}
		mu.Lock()
		got = append(got, got1)
		mu.Unlock()
	}
	for _, path := range slices.Concat(logsPersonalPaths, logsPublicPaths) {
		for _, v := range everyone {
			fetch(v, path)
		}
	}
	for range 2 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, v := range everyone {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				fetch(v, "/live")
			}()
		}
		close(start)
		wg.Wait()
	}
	if t.Failed() {
		t.FailNow()
	}
	return got
}

// requesterDigest is the requester digest of a request with header h for
// path: the owner stamp the fence in front of the test's origin
// (testdata/fence.Caddyfile) would give it.
func requesterDigest(h http.Header, path string) (string, error) {
	p, err := fence.New(fence.Config{IgnoreCookies: []string{"_ga*", "_gid"}})
	if err != nil {
		return "", err
	}
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return "", err
	}
	return fence.OwnerStamp([]byte(stampKey), p.Identity(h, u)), nil
}

// checkNoCredentials fails t if the access log holds a session cookie or
// a bearer token: with requester digests it must hold neither.
func checkNoCredentials(t *testing.T, logFile string) {
	t.Helper()
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"session=", "Bearer "} {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("the access log logged with requester digests holds %q", secret)
		}
	}
	digests := 0
	for line := range strings.Lines(string(b)) {
		fields := strings.Split(strings.TrimSpace(line), "\t")
		if strings.HasPrefix(fields[len(fields)-1], "v1.") {
			digests++
		}
	}
	if digests == 0 {
		t.Error("no line of the access log ends with a requester digest")
	}
}

// fetchVisit fetches path as v does (visitor.get) and returns what v got.
// With digest, the request also carries v's requester digest, as the
// edge code docs/logs.md describes would set it.
func fetchVisit(ctx context.Context, c *cache, v visitor, path string, digest bool) (visit, error) {
	h := v.header()
	if digest {
		d, err := requesterDigest(h, path)
		if err != nil {
			return visit{}, err
		}
		h.Set(logs.RequesterHeader, d)
	}
	r, err := fetch(ctx, c, path, h)
	if err != nil {
		return visit{}, err
	}
	if r.status != http.StatusOK {
		return visit{}, fmt.Errorf("status %d", r.status)
	}
	got := visit{
		visitor:      identityName(v),
		path:         path,
		owner:        r.owner,
		stamped:      r.header.Get("Cache-Fence-Owner") != "",
		setCookie:    len(r.header.Values("Set-Cookie")) > 0,
		cacheControl: r.header.Get("Cache-Control"),
		hit:          r.hit,
		cacheWord:    "(not a hit)",
	}
	switch {
	case c.kind == "nginx":
		got.cacheWord = r.header.Get("X-Cache-Status")
	case r.hit:
		got.cacheWord = "hit"
	}
	return got, nil
}

// logsDocs is the logging configuration docs/logs.md recommends, as
// users copy it: with a requester digest, and the fallback that logs
// credentials.
type logsDocs struct {
	// nginxHTTP is the inside of the nginx section's http block: the map,
	// the log_format and the access_log, which logs to nginxLogPath.
	nginxHTTP string
	// nginxFallback is the fallback's log_format line, which replaces
	// the block's.
	nginxFallback string
	// varnishVCL is the VCL the Varnish section adds after the "vcl"
	// line with requester digests.
	varnishVCL string
	// varnishncsa and varnishncsaFallback are the Varnish section's
	// command lines, split into their arguments after the program's
	// name; they write to varnishLogPath.
	varnishncsa, varnishncsaFallback []string
}

// The log files docs/logs.md's configurations write.
const (
	nginxLogPath   = "/var/log/nginx/cachefence.log"
	varnishLogPath = "/var/log/varnish/cachefence.log"
)

// logsDocsConfig reads the recommended nginx configurations and
// varnishncsa commands from docs/logs.md, so that the test runs what users
// copy, not a copy of it that may drift.
func logsDocsConfig(t *testing.T) logsDocs {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "logs.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	var d logsDocs

	nginx := docsBlocks(t, doc, "### nginx", "```nginx", 2)
	http := nginx[0]
	if len(http) < 2 || http[0] != "http {" || http[len(http)-1] != "}" {
		t.Fatalf("docs/logs.md: the nginx section's first block is no longer one http { ... } block:\n%s", strings.Join(http, "\n"))
	}
	d.nginxHTTP = strings.Join(http[1:len(http)-1], "\n") + "\n"
	if strings.Count(d.nginxHTTP, "log_format cachefence '") != 1 || !strings.Contains(d.nginxHTTP, "$cachefence_requester") ||
		strings.Count(d.nginxHTTP, "access_log "+nginxLogPath+" cachefence;") != 1 {
		t.Fatalf("docs/logs.md: the nginx block no longer defines log_format cachefence with $cachefence_requester and logs it to %s once:\n%s", nginxLogPath, d.nginxHTTP)
	}
	if len(nginx[1]) != 1 || !strings.HasPrefix(nginx[1][0], "log_format cachefence '") || !strings.Contains(nginx[1][0], "$http_cookie") {
		t.Fatalf("docs/logs.md: the nginx section's second block is no longer the fallback's one log_format line:\n%s", strings.Join(nginx[1], "\n"))
	}
	d.nginxFallback = nginx[1][0]

	d.varnishVCL = strings.Join(docsBlocks(t, doc, "### Varnish (varnishncsa)", "```vcl", 1)[0], "\n") + "\n"
	sh := docsBlocks(t, doc, "### Varnish (varnishncsa)", "```sh", 2)
	d.varnishncsa = varnishncsaArgs(t, sh[0])
	d.varnishncsaFallback = varnishncsaArgs(t, sh[1])
	if !strings.Contains(d.varnishncsa[1], "%{Cache-Fence-Requester}i") || strings.Contains(d.varnishncsa[1], "%{Set-Cookie}o") ||
		!strings.Contains(d.varnishncsaFallback[1], "%{Cookie}i") {
		t.Fatalf("docs/logs.md: the Varnish section no longer gives the digest's varnishncsa command and then the fallback's: %q, %q", d.varnishncsa[1], d.varnishncsaFallback[1])
	}
	return d
}

// varnishncsaArgs reads the varnishncsa command at the start of a block
// and returns its arguments after the program's name.
func varnishncsaArgs(t *testing.T, block []string) []string {
	t.Helper()
	var command string
	for _, line := range block {
		line = strings.TrimSpace(line)
		cont := strings.HasSuffix(line, "\\")
		command += strings.TrimSuffix(line, "\\")
		if !cont {
			break
		}
	}
	rest, ok := strings.CutPrefix(command, "varnishncsa -F '")
	format, rest, closed := strings.Cut(rest, "'")
	args := strings.Fields(rest)
	if !ok || !closed || format == "" || strings.ContainsAny(rest, "'\"$`") ||
		len(args) < 2 || args[len(args)-2] != "-w" || args[len(args)-1] != varnishLogPath {
		t.Fatalf("docs/logs.md: the varnishncsa command is no longer varnishncsa -F '<format>' ... -w %s: %s", varnishLogPath, command)
	}
	return append([]string{"-F", format}, args...)
}

// docsBlocks returns the lines of the first n fenced blocks that open
// with the line fence after the line heading in doc, before the next
// heading.
func docsBlocks(t *testing.T, doc, heading, fence string, n int) [][]string {
	t.Helper()
	lines := strings.Split(doc, "\n")
	h := slices.Index(lines, heading)
	if h < 0 {
		t.Fatalf("docs/logs.md has no line %q", heading)
	}
	lines = lines[h+1:]
	var blocks [][]string
	for len(blocks) < n {
		open := slices.Index(lines, fence)
		if next := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "## ") || strings.HasPrefix(l, "### ") }); open < 0 || next >= 0 && next < open {
			t.Fatalf("docs/logs.md: %d %s blocks after %q, want %d", len(blocks), fence, heading, n)
		}
		block := lines[open+1:]
		end := slices.Index(block, "```")
		if end < 0 {
			t.Fatalf("docs/logs.md: a %s block after %q is not closed", fence, heading)
		}
		blocks = append(blocks, block[:end])
		lines = block[end+1:]
	}
	return blocks
}

// startLoggingCache runs the cache with its access log configured as
// docs/logs.md says, and returns it, the log's path, and the number of
// lines already logged before the test's requests (readiness probes).
// With digest it logs requester digests, which nginx takes from the
// request header that the test's clients send in place of the edge code;
// otherwise it logs the fallback's credentials.
func startLoggingCache(t *testing.T, docs logsDocs, kind, variant string, digest bool, backend int) (*cache, string, int) {
	t.Helper()
	if kind == "nginx" {
		nginx := tool(t, "nginx")
		c := &cache{kind: "nginx"}
		prefix := t.TempDir()
		logFile := filepath.Join(prefix, "access.log")
		// The documented block, included by logs_nginx.conf; only the
		// log's path differs.
		logConf := strings.Replace(docs.nginxHTTP, nginxLogPath, logFile, 1)
		if digest {
			logConf = "map $http_cache_fence_requester $cachefence_requester {\n    \"\" \"-\";\n    default $http_cache_fence_requester;\n}\n" + logConf
		} else {
			lines := strings.Split(logConf, "\n")
			i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "log_format cachefence ") })
			lines[i] = docs.nginxFallback
			logConf = strings.Join(lines, "\n")
		}
		if err := os.WriteFile(filepath.Join(prefix, "cachefence_log.conf"), []byte(logConf), 0o644); err != nil {
			t.Fatal(err)
		}
		port := serve(t, "nginx", func(port int) *process {
			file := render(t, prefix, "nginx.conf", config{Port: port, BackendPort: backend, Prefix: prefix}, "logs_nginx.conf", variant)
			return startProcess(t, "nginx", nil, nginx, "-p", prefix, "-c", file, "-e", "stderr", "-g", "daemon off;")
		})
		c.url = fmt.Sprintf("http://127.0.0.1:%d", port)
		return c, logFile, countLines(t, logFile)
	}
	ncsa, prelude := docs.varnishncsaFallback, ""
	if digest {
		ncsa, prelude = docs.varnishncsa, docs.varnishVCL
	}
	c := startVarnishWith(t, variant, prelude, backend)
	logFile := filepath.Join(t.TempDir(), "varnishncsa.log")
	args := append([]string{"-n", c.workdir}, ncsa...)
	args[len(args)-1] = logFile
	startProcess(t, "varnishncsa", nil, tool(t, "varnishncsa"), args...)
	// varnishncsa logs what happens once it is attached: wait for a
	// request to show, then count it out. The request is for a public
	// asset, which no check flags however the cache stores it.
	deadline := time.Now().Add(startTimeout)
	for countLines(t, logFile) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("varnishncsa logged nothing")
		}
		if resp, err := client.Get(c.url + logsReadyPath); err == nil {
			resp.Body.Close()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return c, logFile, countLines(t, logFile)
}

// logsReadyPath is what the harness asks Varnish for until varnishncsa
// logs: a public asset on both origins of the test.
const logsReadyPath = "/static/logs-ready.css"

// ---- the cache_control_only cases ----

// startCacheControlOrigin runs the origin of the cache_control_only cases
// on 127.0.0.1 and returns its port. Its personal pages say they are
// personal by their Cache-Control alone: no path of --private-path, no
// cookie set, and no fence in front to stamp them.
func startCacheControlOrigin(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(serveCacheControlOnly), ReadHeaderTimeout: requestTimeout}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func serveCacheControlOnly(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	owner := cmp.Or(identify(r), "anonymous")
	p := r.URL.Path
	switch {
	case p == "/profile":
		h.Set("Cache-Control", "private")
	case p == "/preferences":
		h.Set("Cache-Control", "no-store")
	case p == "/catalog":
		owner = "public"
		h.Set("Cache-Control", "public, max-age=60")
	case p == "/healthz":
		owner = "public"
		h.Set("Cache-Control", "no-store")
	case strings.HasPrefix(p, "/static/"):
		owner = "public"
		h.Set("Cache-Control", "public, max-age=86400, immutable")
	default:
		http.NotFound(w, r)
		return
	}
	fmt.Fprintf(w, "owner=%s\npath=%s\n", owner, p)
}

// logsCacheControlPaths are the pages of the cache_control_only cases:
// two personal ones, whose only mark is "private" and "no-store", and a
// public one.
var logsCacheControlPaths = []string{"/profile", "/preferences", "/catalog"}

// visitCacheControlOnly sends everyone through each page, one after
// another, Alice first. It checks that the cache did what the case is
// about: everyone after Alice got her personal pages from storage, and
// the public page from storage too.
func visitCacheControlOnly(t *testing.T, c *cache, digest bool) []visit {
	t.Helper()
	ctx := testContext(t, 2*time.Minute)
	var got []visit
	for _, path := range logsCacheControlPaths {
		for i, v := range append(slices.Clone(logsUsers), logsAnons...) {
			g, err := fetchVisit(ctx, c, v, path, digest)
			if err != nil {
				t.Fatalf("%s: GET %s: %v", v.name, path, err)
			}
			got = append(got, g)
			wantOwner := "alice"
			if path == "/catalog" {
				wantOwner = "public"
			}
			if g.owner != wantOwner || g.hit != (i > 0) || g.stamped || g.setCookie {
				t.Fatalf("%s: GET %s: got %s's page, hit %v, stamped %v, set a cookie %v; the case needs %s's page, from storage for all but the first visitor, unstamped, no cookie",
					v.name, path, g.owner, g.hit, g.stamped, g.setCookie, wantOwner)
			}
		}
	}
	return got
}

// countLines counts the lines of file; a missing file has none.
func countLines(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

// waitLines waits, bounded, until file holds before+n lines.
func waitLines(t *testing.T, file string, before, n int) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for countLines(t, file) < before+n {
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d lines, want %d", file, countLines(t, file), before+n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runLogs runs `cachefence logs` over file as docs/logs.md says to, with
// the fence's key and cookie rules and the test accounts, and returns its
// findings. Its exit code must say whether it found anything.
func runLogs(t *testing.T, kind, file string) []logs.Finding {
	t.Helper()
	format := "nginx"
	if kind == "varnish" {
		format = "varnishncsa"
	}
	args := []string{"logs", "--format", format, "--output", "json",
		"--ignore-cookie", "_ga*", "--ignore-cookie", "_gid",
		"--private-path", "/account*", "--private-path", "/orders/*", "--private-path", "/live"}
	env := []string{"CACHE_FENCE_KEY=" + stampKey}
	for _, v := range logsUsers {
		envName := "LOGS_ACCOUNT_" + strings.ToUpper(v.name)
		cred := "session=" + v.user
		if v.bearer {
			cred = "Authorization: Bearer " + v.user
		}
		args = append(args, "--account", v.user+"="+envName)
		env = append(env, envName+"="+cred)
	}
	cmd := exec.CommandContext(testContext(t, time.Minute), cachefenceBinary(t), append(args, file)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	exit := 0
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			t.Fatalf("running cachefence logs: %v", err)
		}
		exit = exitErr.ExitCode()
	}
	t.Logf("cachefence logs exit %d\n%s", exit, stderr.String())
	var found []logs.Finding
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var f logs.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("a finding that is not JSON: %v: %s", err, sc.Text())
		}
		found = append(found, f)
	}
	if want := map[bool]int{true: 1, false: 0}[len(found) > 0]; exit != want {
		t.Errorf("exit %d with %d findings, want %d", exit, len(found), want)
	}
	if strings.Contains(stdout.String()+stderr.String(), "session=") {
		t.Error("a cookie value reached the output")
	}
	return found
}
