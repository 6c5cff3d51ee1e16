package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachefence/cachefence/cachestatus"
	"github.com/cachefence/cachefence/probe"
)

// cmsOrigin is a personalised origin that answers the pages the probe asks
// for as the platform behind each cache configuration does: Magento 2,
// WordPress with WooCommerce, or a plain application. Every page names
// its owner in the body ("owner=alice"), "anonymous" without credentials,
// "public" on pages that read none.
type cmsOrigin struct {
	port     int
	platform string
}

// The test accounts' credentials, as each platform's session cookies carry
// them; the origin knows them, the probe sends them.
var cmsUsers = map[string]string{
	"m2alice0001":          "alice", // Magento PHPSESSID
	"m2bob0002":            "bob",
	"alice|1700000000|k1":  "alice", // wordpress_logged_in_<hash>
	"bob||1700000000||k2":  "bob",   // wp_woocommerce_session_<hash>
	"appalice01":           "alice", // an application's session cookie
	"Bearer appbob02":      "bob",   // an application's API token
	"Bearer not-a-session": "",
}

// cmsIdentities are the probe's identities for each platform.
var cmsIdentities = map[string][]probe.Identity{
	"magento": {
		{Name: "alice", Cookies: map[string]string{"PHPSESSID": "m2alice0001"}, Markers: []string{"owner=alice"}},
		{Name: "bob", Cookies: map[string]string{"PHPSESSID": "m2bob0002"}, Markers: []string{"owner=bob"}},
	},
	"wordpress": {
		// A logged-in WordPress user, and a WooCommerce customer with a cart
		// but no account.
		{Name: "alice", Cookies: map[string]string{"wordpress_logged_in_5f4dcc3b": "alice|1700000000|k1"}, Markers: []string{"owner=alice"}},
		{Name: "bob", Cookies: map[string]string{"wp_woocommerce_session_5f4dcc3b": "bob||1700000000||k2"}, Markers: []string{"owner=bob"}},
	},
	"app": {
		{Name: "alice", Cookies: map[string]string{"session": "appalice01"}, Markers: []string{"owner=alice"}},
		{Name: "bob", Headers: map[string]string{"Authorization": "Bearer appbob02"}, Markers: []string{"owner=bob"}},
	},
}

// cmsPages are each platform's personal and public URLs for the probe.
var cmsPages = map[string][2][]string{
	"magento":   {{"/customer/account/", "/wishlist/"}, {"/"}},
	"wordpress": {{"/shop/"}, {"/"}},
	"app":       {{"/account"}, {"/"}},
}

func startCMS(t *testing.T, platform string) *cmsOrigin {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &cmsOrigin{port: l.Addr().(*net.TCPAddr).Port, platform: platform}
	srv := &http.Server{Handler: o, ReadHeaderTimeout: requestTimeout}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return o
}

// user is whom the request's credentials name, "" for no one.
func (o *cmsOrigin) user(r *http.Request) (name, cookie string) {
	for _, c := range r.Cookies() {
		if u := cmsUsers[c.Value]; u != "" {
			return u, c.Name + "=" + c.Value
		}
	}
	return cmsUsers[r.Header.Get("Authorization")], ""
}

func (o *cmsOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=UTF-8")
	who, cookie := o.user(r)
	owner := who
	if owner == "" {
		owner = "anonymous"
	}
	p := r.URL.Path
	switch {
	case p == "/healthz":
		h.Set("Cache-Control", "no-store")
		owner = "public"
	case o.platform == "magento" && (strings.HasPrefix(p, "/customer/account") || strings.HasPrefix(p, "/wishlist")):
		// Magento's Response\Http::setNoCacheHeaders, and the session
		// cookie refreshed on each visit. mage-messages is cleared for
		// everyone alike.
		h.Set("Pragma", "no-cache")
		h.Set("Cache-Control", "max-age=0, must-revalidate, no-cache, no-store")
		h.Set("Expires", time.Now().AddDate(-1, 0, 0).UTC().Format(http.TimeFormat))
		if cookie != "" {
			h.Add("Set-Cookie", cookie+"; expires="+time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)+"; path=/; HttpOnly; SameSite=Lax")
		}
		h.Add("Set-Cookie", "mage-messages=; expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0; path=/; SameSite=Strict")
	case o.platform == "magento" && p == "/":
		// A full-page-cacheable Magento page.
		h.Set("Cache-Control", "max-age=86400, public, s-maxage=86400")
		h.Set("Pragma", "cache")
		h.Set("X-Magento-Tags", "cms_b,cms_p_2,store")
		owner = "public"
	case o.platform == "wordpress" && strings.HasPrefix(p, "/shop"):
		// WordPress sends wp_get_nocache_headers() to visitors it knows,
		// and nothing to the others.
		if who != "" {
			h.Set("Cache-Control", "no-cache, must-revalidate, max-age=0")
			h.Set("Expires", "Wed, 11 Jan 1984 05:00:00 GMT")
		}
	case o.platform == "wordpress" && p == "/":
		owner = "public"
	case o.platform == "app" && strings.HasPrefix(p, "/account"):
		// A framework's default: no caching header at all. Like most
		// routers, it ignores what follows the route.
	case o.platform == "app" && p == "/":
		h.Set("Cache-Control", "public, max-age=300")
		owner = "public"
	default:
		http.NotFound(w, r)
		return
	}
	fmt.Fprintf(w, "<html><body>owner=%s\npath=%s\n</body></html>\n", owner, p)
}

// truthStep is one request by a plain HTTP client and what it must get:
// the page's owner and, when set, whether the cache says it was a hit.
type truthStep struct {
	as, owner string
	hit       string // "hit", "miss" or "" for either
}

// magentoDebug is Magento's VCL's own cache-status header and its words.
var magentoDebug = map[string]cachestatus.Words{
	"X-Magento-Cache-Debug": {Hit: []string{"HIT"}, Miss: []string{"MISS"}, Pass: []string{"UNCACHEABLE"}},
}

// siteSignals reads the caches' own words, Magento's debug header
// included, for the ground truth.
var siteSignals = cachestatus.New(magentoDebug)

// groundTruth replays steps on path with plain clients, each carrying
// exactly one identity's credentials, and checks what each got.
func groundTruth(t *testing.T, base, platform, path string, steps []truthStep) {
	t.Helper()
	ids := map[string]probe.Identity{}
	for _, id := range cmsIdentities[platform] {
		ids[id.Name] = id
	}
	var got []string
	for i, s := range steps {
		req, err := http.NewRequestWithContext(testContext(t, requestTimeout), http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		id := ids[s.as]
		for name, value := range id.Cookies {
			req.AddCookie(&http.Cookie{Name: name, Value: value})
		}
		for name, value := range id.Headers {
			req.Header.Set(name, value)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		owner := "?"
		if m := ownerRE.FindSubmatch(body); m != nil {
			owner = string(m[1])
		}
		hit := "miss"
		if siteSignals.Read(resp.Header).Verdict == cachestatus.Hit {
			hit = "hit"
		}
		got = append(got, fmt.Sprintf("%s got %s (%s)", s.as, owner, hit))
		if owner != s.owner || (s.hit != "" && s.hit != hit) {
			t.Errorf("ground truth, step %d: %s got %s's page (%s), want %s's (%s)", i+1, s.as, owner, hit, s.owner, s.hit)
		}
	}
	t.Logf("ground truth on %s: %s", path, strings.Join(got, "; "))
}

// siteCase is one cache configuration of a real site, with or without the
// fence, and the findings its ground truth supports.
type siteCase struct {
	name     string
	platform string
	cache    string // "varnish" or "nginx"
	config   string // in testdata
	fenced   bool
	// originURL sets origin_url: the fence when fenced, else the origin.
	originURL bool
	// statusHeader names Magento's X-Magento-Cache-Debug in the config.
	statusHeader bool
	args         []string // extra flags
	truthPath    string
	truth        []truthStep
	// want are the findings, exactly: "kind" or "kind owner->receiver,...".
	want []string
	exit int
}

var siteCases = []siteCase{{
	// Magento's own VCL leaks nothing. Its rewrite of Cache-Control for
	// browsers hides the origin's headers and its hits: judged at the
	// edge, the public page looks uncacheable and the personal pages'
	// headers are the edge's.
	name: "magento/edge_only", platform: "magento", cache: "varnish", config: "probe_magento.vcl",
	truthPath: "/customer/account/truth", truth: []truthStep{
		{"alice", "alice", "miss"}, {"alice", "alice", "miss"}, {"bob", "bob", "miss"}, {"anonymous", "anonymous", "miss"}},
	want: []string{probe.KindNotCacheable, probe.KindUnsafeHeaders, probe.KindUnsafeHeaders},
	exit: probe.ExitFindings,
}, {
	// Judged where they are set: the origin's Magento no-cache headers
	// lack private (a warning an origin change clears); what the VCL
	// rewrote is information; its debug header shows the public page is
	// served from storage.
	name: "magento/origin_url", platform: "magento", cache: "varnish", config: "probe_magento.vcl",
	originURL: true, statusHeader: true,
	truthPath: "/wishlist/truth", truth: []truthStep{
		{"alice", "alice", "miss"}, {"bob", "bob", "miss"}, {"anonymous", "anonymous", "miss"}},
	want: []string{probe.KindUnsafeHeaders, probe.KindUnsafeHeaders, probe.KindEdgeHeaders, probe.KindEdgeHeaders},
	exit: probe.ExitFindings,
}, {
	name: "magento/with_fence", platform: "magento", cache: "varnish", config: "probe_magento.vcl",
	fenced: true, originURL: true, statusHeader: true,
	truthPath: "/customer/account/truth", truth: []truthStep{
		{"alice", "alice", "miss"}, {"bob", "bob", "miss"}, {"anonymous", "anonymous", "miss"}},
	exit: probe.ExitClean,
}, {
	// The customer's session cookie is not in the list and the origin's
	// headers are ignored: bob's page is stored and served to everyone
	// after him (alice, logged in, bypasses the cache).
	name: "wordpress_ignore_headers/without_fence", platform: "wordpress", cache: "nginx", config: "probe_wordpress_ignore.conf",
	truthPath: "/shop/truth", truth: []truthStep{
		{"bob", "bob", "miss"}, {"anonymous", "bob", "hit"}, {"alice", "alice", "miss"}},
	want: []string{probe.KindLeak + " bob->anonymous", probe.KindUnsafeHeaders},
	exit: probe.ExitFindings,
}, {
	// The fence's X-Accel-Expires: 0 keeps bob's page out of the cache;
	// the cache still serves him the anonymous page: no leak, a broken
	// shop.
	name: "wordpress_ignore_headers/with_fence", platform: "wordpress", cache: "nginx", config: "probe_wordpress_ignore.conf",
	fenced:    true,
	truthPath: "/shop/truth", truth: []truthStep{
		{"bob", "bob", "miss"}, {"anonymous", "anonymous", "miss"}, {"bob", "anonymous", "hit"}},
	want: []string{probe.KindLoggedOutPage + " anonymous->bob"},
	exit: probe.ExitFindings,
}, {
	// The usual WordPress rules, obeying the origin: the customer gets the
	// logged-out page whenever an anonymous visitor's is stored.
	name: "wordpress/without_fence", platform: "wordpress", cache: "nginx", config: "probe_wordpress.conf",
	truthPath: "/shop/truth", truth: []truthStep{
		{"anonymous", "anonymous", "miss"}, {"bob", "anonymous", "hit"}, {"alice", "alice", "miss"}},
	want: []string{probe.KindLoggedOutPage + " anonymous->bob", probe.KindUnsafeHeaders},
	exit: probe.ExitFindings,
}, {
	// The fence cannot fix a cache key; a medium finding is under a high
	// threshold.
	name: "wordpress/with_fence", platform: "wordpress", cache: "nginx", config: "probe_wordpress.conf",
	fenced: true, args: []string{"--fail-on", "high"},
	truthPath: "/shop/truth", truth: []truthStep{
		{"anonymous", "anonymous", "miss"}, {"bob", "anonymous", "hit"}},
	want: []string{probe.KindLoggedOutPage + " anonymous->bob"},
	exit: probe.ExitClean,
}, {
	name: "wordpress_fixed/with_fence", platform: "wordpress", cache: "nginx", config: "probe_wordpress_fixed.conf",
	fenced:    true,
	truthPath: "/shop/truth", truth: []truthStep{
		{"anonymous", "anonymous", "miss"}, {"bob", "bob", "miss"}, {"alice", "alice", "miss"}},
	exit: probe.ExitClean,
}, {
	// Each visitor's page is stored under their own cookie: no one else's
	// page, but personal data in a shared cache. bob's token passes.
	name: "cookie_hash/without_fence", platform: "app", cache: "varnish", config: "probe_cookie_hash.vcl",
	truthPath: "/account/truth", truth: []truthStep{
		{"alice", "alice", "miss"}, {"alice", "alice", "hit"}, {"bob", "bob", "miss"}, {"anonymous", "anonymous", "miss"}},
	want: []string{probe.KindCached + " alice->alice", probe.KindUnsafeHeaders},
	exit: probe.ExitFindings,
}, {
	// The VCL returns before the builtin rules and never reads
	// Cache-Control: it stores the fenced page all the same. Only a check
	// from outside sees it; the fix is in the VCL.
	name: "cookie_hash/with_fence", platform: "app", cache: "varnish", config: "probe_cookie_hash.vcl",
	fenced: true, originURL: true,
	truthPath: "/account/truth", truth: []truthStep{
		{"alice", "alice", "miss"}, {"alice", "alice", "hit"}, {"bob", "bob", "miss"}},
	want: []string{probe.KindCached + " alice->alice"},
	exit: probe.ExitFindings,
}, {
	name: "cookie_hash_fixed/with_fence", platform: "app", cache: "varnish", config: "probe_cookie_hash_fixed.vcl",
	fenced: true, originURL: true,
	truthPath: "/account/truth", truth: []truthStep{
		{"alice", "alice", "miss"}, {"alice", "alice", "miss"}, {"bob", "bob", "miss"}},
	exit: probe.ExitClean,
}, {
	// A one-second microcache in front of a page without caching headers:
	// whoever comes next in the second gets the page.
	name: "microcache/without_fence", platform: "app", cache: "nginx", config: "probe_microcache.conf",
	truthPath: "/account/truth", truth: []truthStep{
		{"alice", "alice", "miss"}, {"bob", "alice", "hit"}},
	want: []string{probe.KindLeak + " *", probe.KindUnsafeHeaders},
	exit: probe.ExitFindings,
}, {
	name: "microcache/with_fence", platform: "app", cache: "nginx", config: "probe_microcache.conf",
	fenced: true, originURL: true,
	truthPath: "/account/truth", truth: []truthStep{
		{"alice", "alice", "miss"}, {"bob", "bob", "miss"}, {"anonymous", "anonymous", "miss"}},
	exit: probe.ExitClean,
}}

// TestProbeSites runs `cachefence probe` against real cache configurations
// of real sites, in real Varnish and nginx, each first checked with plain
// HTTP clients, and asserts the exact findings and the exit code.
func TestProbeSites(t *testing.T) {
	t.Parallel()
	for _, sc := range siteCases {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			o := startCMS(t, sc.platform)
			backend := o.port
			if sc.fenced {
				backend = caddyfileFence(t, o.port)
			}
			c := startCache(t, sc.cache, sc.config, backend)
			groundTruth(t, c.url, sc.platform, sc.truthPath, sc.truth)

			cfg := probe.Config{
				BaseURL:      c.url,
				Identities:   cmsIdentities[sc.platform],
				PersonalURLs: cmsPages[sc.platform][0],
				PublicURLs:   cmsPages[sc.platform][1],
			}
			if sc.originURL {
				cfg.OriginURL = fmt.Sprintf("http://127.0.0.1:%d", backend)
			}
			if sc.statusHeader {
				cfg.CacheStatusHeaders = magentoDebug
			}
			exit, rep := runProbe(t, cfg, sc.args...)
			got := findingsOf(rep)
			report(t, "probe      %-40s exit %d, findings %v", sc.name, exit, got)
			for _, f := range rep.Findings {
				t.Logf("%s %s %s %v %v %q", f.Severity, f.Kind, f.URL, f.Pairs, f.Mechanisms, f.Evidence)
			}
			if !matchFindings(got, sc.want) {
				t.Errorf("findings %q, want exactly %q", got, sc.want)
			}
			if exit != sc.exit || len(rep.Untrusted) > 0 || len(rep.Errors) > 0 {
				t.Errorf("exit %d, want %d; untrusted %q, errors %q", exit, sc.exit, rep.Untrusted, rep.Errors)
			}
		})
	}
}

// findingsOf reduces a report to "kind" or "kind owner->receiver,...",
// sorted.
func findingsOf(rep *probe.Report) []string {
	var out []string
	for _, f := range rep.Findings {
		s := f.Kind
		if len(f.Pairs) > 0 {
			var pairs []string
			for _, p := range f.Pairs {
				pairs = append(pairs, p.Owner+"->"+p.Receiver)
			}
			s += " " + strings.Join(pairs, ",")
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// matchFindings compares sorted findings with want, where "kind *" stands
// for a finding of that kind with any pairs: who meets whom in a
// microcache's second is chance, the cause is not.
func matchFindings(got, want []string) bool {
	want = slices.Sorted(slices.Values(want))
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		kind, _, _ := strings.Cut(got[i], " ")
		if got[i] != want[i] && want[i] != kind+" *" {
			return false
		}
	}
	return true
}
