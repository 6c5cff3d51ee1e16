package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachefence/cachefence/alert"
	"github.com/cachefence/cachefence/cachestatus"
	"github.com/cachefence/cachefence/fence"
)

// cacheMode is how testSite's built-in cache behaves.
type cacheMode int

const (
	noCache cacheMode = iota
	// sharedCache keeps the first response to each URL and serves it to
	// everyone, as a cache that ignores origin headers and cookies does.
	sharedCache
	// perCredential keys on the URL and the request's credentials: each
	// identity gets its own page, from storage.
	perCredential
	// anonymousOnly stores only responses to requests without
	// credentials, keyed on the URL, and serves them to everyone: a
	// cache that keys without the session.
	anonymousOnly
	// collapsing hands a response to every request that arrived while it
	// was being rendered, and stores nothing, with no hit signal: the
	// 2017 mechanism.
	collapsing
)

// testSite is a site on 127.0.0.1 whose pages print their owner, behind a
// small cache that behaves as mode says. The probe's tests against real
// Varnish and nginx are in integration/.
type testSite struct {
	mode     atomic.Int64
	stampKey []byte // when set, personal pages carry an owner stamp
	// hitHeaders are what a hit carries ("X-Cache: HIT", "Age: 5" by
	// default).
	hitHeaders http.Header
	// edgeCacheControl, when set, replaces Cache-Control on every response,
	// as an edge that rewrites it for browsers does.
	edgeCacheControl string
	// guard, when set, stands after the cache as cachefence edge's guard
	// does: a page whose stamp is not the requester's is refused with a
	// 503, or, with guardPass, rendered again past the cache.
	guard     bool
	guardPass bool
	// guardKey, when set, is the guard's key in place of the fence's.
	guardKey []byte
	mu       sync.Mutex
	stored   map[string]stored
	inFlight map[string]chan stored
	addr     string
}

type stored struct {
	header http.Header
	body   string
}

var emails = map[string]string{"alice": "alice@example.test", "bob": "bob@example.test"}

func owner(r *http.Request) string {
	if c, err := r.Cookie("session"); err == nil && c.Value == "alice-secret" {
		return "alice"
	}
	if r.Header.Get("Authorization") == "Bearer bob-secret" {
		return "bob"
	}
	return ""
}

func credentials(r *http.Request) string {
	return r.Header.Get("Cookie") + "|" + r.Header.Get("Authorization")
}

func (s *testSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res := s.cached(r)
	guardKey := s.stampKey
	if s.guardKey != nil {
		guardKey = s.guardKey
	}
	if stamp := res.header.Get("Cache-Fence-Owner"); s.guard && stamp != "" && !fence.VerifyOwnerStamp(guardKey, stampPolicy.Identity(r.Header, r.URL), stamp) {
		if !s.guardPass {
			w.Header().Set(fence.GuardHeader, fence.GuardRefused)
			http.Error(w, "not for you", http.StatusServiceUnavailable)
			return
		}
		res = s.render(r)
		res.header.Set(fence.GuardHeader, fence.GuardPassed)
	}
	for k, v := range res.header {
		w.Header()[k] = v
	}
	if s.edgeCacheControl != "" {
		w.Header().Set("Cache-Control", s.edgeCacheControl)
	}
	if res.header == nil {
		http.NotFound(w, r)
		return
	}
	io.WriteString(w, res.body)
}

// cached answers r through the site's cache.
func (s *testSite) cached(r *http.Request) stored {
	key := r.URL.String()
	mode := cacheMode(s.mode.Load())
	switch mode {
	case perCredential:
		key += "|" + credentials(r)
	case collapsing:
		s.mu.Lock()
		if ch, ok := s.inFlight[key]; ok {
			s.mu.Unlock()
			res := <-ch
			ch <- res // pass it on to the next waiter
			return res
		}
		ch := make(chan stored, 1)
		s.inFlight[key] = ch
		s.mu.Unlock()
		time.Sleep(100 * time.Millisecond) // a slow page, for others to pile up
		res := s.render(r)
		s.mu.Lock()
		delete(s.inFlight, key)
		s.mu.Unlock()
		ch <- res
		return res
	}
	if mode != noCache {
		s.mu.Lock()
		hit, ok := s.stored[key]
		s.mu.Unlock()
		if ok {
			h := hit.header.Clone()
			maps.Copy(h, s.hitHeaders)
			return stored{h, hit.body}
		}
	}
	res := s.render(r)
	if res.header != nil && (mode == sharedCache || mode == perCredential || mode == anonymousOnly && credentials(r) == "|") {
		s.mu.Lock()
		s.stored[key] = res
		s.mu.Unlock()
	}
	return res
}

// render is the origin.
func (s *testSite) render(r *http.Request) stored {
	h := http.Header{"Content-Type": {"text/html"}}
	var body string
	switch {
	case r.URL.Path == "/":
		h.Set("Cache-Control", "public, max-age=60")
		body = "home"
	case r.URL.Path == "/nostore":
		h.Set("Cache-Control", "no-store")
		body = "uncacheable public page"
	case r.URL.Path == "/private":
		h.Set("Cache-Control", "private, max-age=60")
		body = "public page marked private"
	case r.URL.Path == "/vary-star":
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("Vary", "Accept-Encoding, *")
		body = "never reusable"
	case r.URL.Path == "/public-cookie":
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("Set-Cookie", "visitor=1; Path=/")
		body = "public page that sets a cookie"
	case r.URL.Path == "/zero":
		h.Set("Cache-Control", "public, s-maxage=0, max-age=60")
		body = "stale at once for shared caches"
	case r.URL.Path == "/login":
		h.Set("Cache-Control", "private, no-store")
		h.Set("Set-Cookie", fmt.Sprintf("session=minted-%d; Path=/", time.Now().UnixNano()))
		body = "welcome"
	case r.URL.Path == "/2017":
		// The 2017 origin's headers: no-cache and a past Expires.
		h.Set("Cache-Control", "no-cache")
		body = "account of " + emails[owner(r)]
	case strings.HasPrefix(r.URL.Path, "/account"):
		// Origins that ignore trailing path segments are what makes path
		// confusion work.
		h.Set("Cache-Control", "private, no-store")
		// Every visitor gets the same locale and consent cookies.
		h.Add("Set-Cookie", "locale=en; Path=/")
		h.Add("Set-Cookie", "consent=; Path=/; Max-Age=0")
		who := owner(r)
		switch {
		case who == "":
			body = "please log in"
		case s.stampKey != nil && r.URL.Path == "/account/unmarked":
			body = "a page with no marker"
		default:
			body = "account of " + emails[who]
		}
		if s.stampKey != nil {
			h.Set("Cache-Fence-Owner", fence.OwnerStamp(s.stampKey, stampPolicy.Identity(r.Header, r.URL)))
		}
	default:
		return stored{}
	}
	return stored{h, body}
}

// stampPolicy is the fence's default policy, whose identities the test
// site stamps.
var stampPolicy = func() *fence.Policy {
	p, err := fence.New(fence.Config{})
	if err != nil {
		panic(err)
	}
	return p
}()

func startSite(t *testing.T, mode cacheMode, stampKey []byte) *testSite {
	t.Helper()
	s := &testSite{stored: map[string]stored{}, inFlight: map[string]chan stored{}, stampKey: stampKey,
		hitHeaders: http.Header{"X-Cache": {"HIT"}, "Age": {"5"}}}
	s.mode.Store(int64(mode))
	s.addr = strings.TrimPrefix(serveTest(t, s.ServeHTTP), "http://")
	return s
}

// reset forgets what the site's cache stored.
func (s *testSite) reset(mode cacheMode) {
	s.mu.Lock()
	s.stored = map[string]stored{}
	s.mu.Unlock()
	s.mode.Store(int64(mode))
}

func testConfig(t *testing.T, base string, personal ...string) *Config {
	t.Helper()
	cfg := &Config{
		BaseURL: base,
		Identities: []Identity{
			{Name: "alice", Cookies: map[string]string{"session": "alice-secret"}, Markers: []string{"alice@example.test"}},
			{Name: "bob", Headers: map[string]string{"Authorization": "Bearer bob-secret"}, Markers: []string{"bob@example.test"}},
		},
		PersonalURLs: personal,
		PublicURLs:   []string{"/"},
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// only keeps the named checks.
func (c *Config) only(checks ...string) *Config {
	c.Checks = checks
	return c
}

// got is a finding reduced to what the tests compare.
type got struct {
	kind, path string
	pairs      string // "alice->bob,..."
	mechs      string
}

func summarise(t *testing.T, r *Report) []got {
	t.Helper()
	var out []got
	for _, f := range r.Findings {
		u, err := url.Parse(f.URL)
		if err != nil {
			t.Fatal(err)
		}
		var pairs []string
		for _, p := range f.Pairs {
			pairs = append(pairs, p.Owner+"->"+p.Receiver)
		}
		out = append(out, got{f.Kind, u.Path, strings.Join(pairs, ","), strings.Join(f.Mechanisms, ",")})
	}
	return out
}

func text(r *Report) string {
	var b bytes.Buffer
	r.WriteText(&b)
	return b.String()
}

// Each cache mode gives exactly the findings that its behaviour supports,
// one per cause.
func TestProbeFindings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     cacheMode
		personal []string
		checks   []string
		want     []got
		exit     int
	}{
		{"no cache", noCache, []string{"/account"}, nil, nil, ExitClean},
		{"shared cache: one leak per URL, whatever the pairs, checks and suffixes", sharedCache, []string{"/account", "/login"}, nil, []got{
			{KindLeak, "/account", "alice->anonymous,alice->bob", "sequential,path_confusion"},
			{KindLeak, "/login", "alice->anonymous,alice->bob", "sequential,path_confusion"},
		}, ExitFindings},
		// Every visitor gets the same locale and consent cookies: no one's.
		{"keyed per credential: own pages stored", perCredential, []string{"/account"}, []string{CheckPersonal}, []got{
			{KindCached, "/account", "alice->alice,bob->bob", "sequential"},
		}, ExitFindings},
		{"keyed without the session: the logged-out page", anonymousOnly, []string{"/account"}, []string{CheckPersonal}, []got{
			{KindLoggedOutPage, "/account", "anonymous->alice,anonymous->bob", "sequential"},
		}, ExitFindings},
		// Whoever arrives first wins each round; over 8 rounds an
		// identity wins at least once but for a chance of 3^-8.
		{"collapsing with no hit visible", collapsing, []string{"/account"}, []string{CheckPersonal, CheckCollapse}, []got{
			{KindLeak, "/account", "", "collapsed"},
		}, ExitFindings},
		{"the 2017 origin behind no cache: its headers, at the edge", noCache, []string{"/2017"}, []string{CheckPersonal}, []got{
			{KindUnsafeHeaders, "/2017", "", ""},
		}, ExitFindings},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSite(t, tc.mode, nil)
			cfg := testConfig(t, "http://"+s.addr, tc.personal...)
			if tc.checks != nil {
				cfg.only(tc.checks...)
			}
			cfg.CollapseRounds = 8
			report := New(cfg).Run(context.Background())
			sum := summarise(t, report)
			// Who received whose page in a collapse race is chance; the
			// cause is the same.
			for i := range sum {
				if tc.mode == collapsing {
					sum[i].pairs = ""
				}
			}
			if !slices.Equal(sum, tc.want) || len(report.Errors)+len(report.Untrusted) > 0 {
				t.Errorf("findings:\n%+v\nwant\n%+v\n%s", sum, tc.want, text(report))
			}
			if code := report.ExitCode(alert.Low); code != tc.exit {
				t.Errorf("exit %d, want %d", code, tc.exit)
			}
		})
	}
}

// The findings' keys hold nothing random: two runs against the same leak
// give the same keys, though each uses its own path-confusion token.
func TestProbeKeysAreStable(t *testing.T) {
	s := startSite(t, sharedCache, nil)
	cfg := testConfig(t, "http://"+s.addr, "/account")
	keys := func() []string {
		var ks []string
		for _, c := range New(cfg).Run(context.Background()).AlertRun().Causes {
			ks = append(ks, c.Key)
			if strings.Contains(c.Key, "cachefence-") || strings.Contains(c.Summary, "cachefence-") {
				t.Errorf("the path-confusion token is in %q / %q", c.Key, c.Summary)
			}
		}
		return ks
	}
	first := keys()
	s.reset(sharedCache)
	if second := keys(); !slices.Equal(first, second) || len(first) == 0 {
		t.Errorf("keys %q then %q", first, second)
	}
}

// The evidence of a leak says what was there, and nothing secret.
func TestProbeEvidence(t *testing.T) {
	s := startSite(t, sharedCache, nil)
	cfg := testConfig(t, "http://"+s.addr, "/account", "/login")
	cfg.RequestHeaders = map[string]string{"X-Waf-Bypass": "waf-secret-token"}
	report := New(cfg).Run(context.Background())
	var all bytes.Buffer
	report.WriteText(&all)
	report.WriteJSON(&all)
	for _, want := range []string{
		"bob got alice's page: the body holds alice's marker #1",
		"anonymous got alice's page: the body holds alice's marker #1",
		"the cache said hit, e.g. X-Cache: HIT; Age: 5",
		"suffixes %2Fcachefence-<token>.css %3Bcachefence-<token>.png .css /cachefence-<token>.css /cachefence-<token>.js ;cachefence-<token>.css ?cachefence-<token>.css",
		`bob got alice's page: a Set-Cookie for cookie "session" carries the value minted for alice`,
	} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no evidence %q in:\n%s", want, text(report))
		}
	}
	for _, secret := range []string{"alice-secret", "bob-secret", "minted-", "waf-secret-token"} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("the report contains the secret %q", secret)
		}
	}
}

// A page without marker text still leaks its owner through the stamp.
func TestProbeOwnerStamp(t *testing.T) {
	key := []byte("0123456789abcdef-stamp-key")
	s := startSite(t, sharedCache, key)
	cfg := testConfig(t, "http://"+s.addr, "/account/unmarked", "/account").only(CheckPersonal)
	cfg.OwnerStamp = &OwnerStamp{Key: string(key)}
	report := New(cfg).Run(context.Background())
	if !strings.Contains(text(report), "bob got alice's page: the owner stamp was made for alice") {
		t.Fatalf("alice's stamp on bob's response was not reported:\n%s", text(report))
	}
	// The same pages from a clean site verify for everyone: no findings,
	// and the stamps show each identity its own page though no marker does.
	clean := startSite(t, noCache, key)
	cfg.BaseURL = "http://" + clean.addr
	if report := New(cfg).Run(context.Background()); len(report.Findings)+len(report.Errors)+len(report.Untrusted) != 0 {
		t.Errorf("correct stamps reported:\n%s", text(report))
	}
}

// Behind the edge guard, a cache that hands Alice's stored page to others
// leaks nothing: the probe reports what the guard stopped (guard_stopped,
// high), not a leak, besides Alice's own page from storage (cached), and an identity that only ever got refusals is not
// taken for one whose login failed.
func TestProbeGuardStopped(t *testing.T) {
	key := []byte("0123456789abcdef-stamp-key")
	for _, tc := range []struct {
		pass    bool
		verdict string
	}{{false, fence.GuardRefused}, {true, fence.GuardPassed}} {
		t.Run(tc.verdict, func(t *testing.T) {
			s := startSite(t, sharedCache, key)
			s.guard, s.guardPass = true, tc.pass
			cfg := testConfig(t, "http://"+s.addr, "/account").only(CheckPersonal)
			cfg.OwnerStamp = &OwnerStamp{Key: string(key)}
			report := New(cfg).Run(context.Background())
			// Alice's own page still comes from storage: that is cached.
			kinds := map[string]*Finding{}
			for i, f := range report.Findings {
				kinds[f.Kind] = &report.Findings[i]
			}
			g := kinds[KindGuardStopped]
			if len(kinds) != 2 || g == nil || kinds[KindCached] == nil || g.Severity != alert.High || len(report.Untrusted) != 0 {
				t.Fatalf("want %s and %s findings and a trusted run:\n%s", KindGuardStopped, KindCached, text(report))
			}
			if want := "the edge guard stopped a page stamped for someone else on its way to bob (Cache-Fence-Guard: " + tc.verdict + ")"; !slices.Contains(g.Evidence, want) {
				t.Errorf("evidence %q lacks %q", g.Evidence, want)
			}
			// The same site without the guard leaks: the test site does
			// hand Alice's page to others.
			s.guard = false
			s.reset(sharedCache)
			if report := New(cfg).Run(context.Background()); !strings.Contains(text(report), "bob got alice's page") {
				t.Errorf("without the guard no leak was reported:\n%s", text(report))
			}
		})
	}
}

// A guard that holds another key than the fence refuses every owner: the
// probe reports the refusals, and says the run cannot be trusted, since
// they show nothing of the cache.
func TestProbeGuardWithoutTheKey(t *testing.T) {
	key := []byte("0123456789abcdef-stamp-key")
	s := startSite(t, noCache, key)
	s.guard, s.guardKey = true, []byte("0123456789abcdef-other-key")
	cfg := testConfig(t, "http://"+s.addr, "/account").only(CheckPersonal)
	cfg.OwnerStamp = &OwnerStamp{Key: string(key)}
	report := New(cfg).Run(context.Background())
	if len(report.Findings) != 1 || report.Findings[0].Kind != KindGuardStopped || len(report.Untrusted) != 1 ||
		!strings.Contains(report.Untrusted[0], "check the key the guard holds") {
		t.Errorf("want one %s finding and the run untrusted for the guard's key:\n%s", KindGuardStopped, text(report))
	}
}

// Stamps made with another key verify for no one: the run cannot be
// trusted, and the stamps are no evidence of anything.
func TestProbeWrongStampKey(t *testing.T) {
	s := startSite(t, noCache, []byte("0123456789abcdef-fence-key"))
	cfg := testConfig(t, "http://"+s.addr, "/account").only(CheckPersonal)
	cfg.OwnerStamp = &OwnerStamp{Key: "0123456789abcdef-other-key"}
	report := New(cfg).Run(context.Background())
	if len(report.Findings) != 0 {
		t.Errorf("an unverifiable stamp gave findings:\n%s", text(report))
	}
	if len(report.Untrusted) != 1 || !strings.Contains(report.Untrusted[0], "owner_stamp.key") {
		t.Errorf("untrusted %q, want one that points at the stamp key", report.Untrusted)
	}
	if code := report.ExitCode(alert.Low); code != ExitError {
		t.Errorf("exit %d, want %d", code, ExitError)
	}
	if !strings.HasPrefix(text(report), "UNTRUSTED none of the") {
		t.Errorf("the text report does not start with what cannot be trusted:\n%s", text(report))
	}
}

// A probe whose test accounts no longer log in sees no leak anywhere; it
// must say that it cannot be trusted, not that the site is clean.
func TestProbeLoggedOutIdentities(t *testing.T) {
	s := startSite(t, noCache, nil) // every page says "please log in"
	cfg := testConfig(t, "http://"+s.addr, "/account")
	cfg.Identities[0].Cookies["session"] = "expired-secret"
	cfg.Identities[1].Headers["Authorization"] = "Bearer expired-secret"
	report := New(cfg).Run(context.Background())
	if code := report.ExitCode(alert.Low); code != ExitError {
		t.Errorf("exit code %d, want %d", code, ExitError)
	}
	for _, name := range []string{"alice", "bob"} {
		if !slices.ContainsFunc(report.Untrusted, func(e string) bool {
			return strings.HasPrefix(e, "identity "+name+": none of its") && strings.Contains(e, "credentials")
		}) {
			t.Errorf("nothing says %s never saw its own page: %q", name, report.Untrusted)
		}
	}
	if strings.Contains(text(report), "secret") {
		t.Errorf("the report names a credential:\n%s", text(report))
	}
}

// An untrusted run is an alert of its own, besides an incomplete run: the
// same key every run, whatever the counts in its reasons, at a severity
// that fires under any threshold, and no credential in what is posted.
func TestAlertRunUntrusted(t *testing.T) {
	s := startSite(t, noCache, nil) // every page says "please log in"
	cfg := testConfig(t, "http://"+s.addr, "/account").only(CheckPersonal)
	cfg.Identities[0].Cookies["session"] = "expired-secret"
	cfg.Identities[1].Headers["Authorization"] = "Bearer expired-secret"
	untrusted := func(run alert.Run) alert.Cause {
		t.Helper()
		var found []alert.Cause
		for _, c := range run.Causes {
			if c.Kind == KindUntrusted {
				found = append(found, c)
			}
		}
		if len(found) != 1 {
			t.Fatalf("causes %+v, want one %s", run.Causes, KindUntrusted)
		}
		return found[0]
	}
	first := New(cfg).Run(context.Background()).AlertRun()
	c := untrusted(first)
	if c.Key != "probe_untrusted http://"+s.addr || c.Severity != alert.High || !c.Always || first.Errors != 2 {
		t.Errorf("cause %+v with %d errors", c, first.Errors)
	}
	for _, want := range []string{"http://" + s.addr + ": the probe cannot be trusted", "identity alice: none of its", "; identity bob: none of its"} {
		if !strings.Contains(c.Summary, want) {
			t.Errorf("summary %q lacks %q", c.Summary, want)
		}
	}
	posted, err := json.Marshal(c)
	if err != nil || strings.Contains(string(posted), "secret") || !strings.Contains(string(posted), `"evidence":["identity alice`) {
		t.Errorf("posted %s (%v)", posted, err)
	}
	// Another run, other counts in the reasons, the same key.
	if second := untrusted(New(cfg.only(CheckPersonal, CheckCollapse)).Run(context.Background()).AlertRun()); second.Key != c.Key || second.Summary == c.Summary {
		t.Errorf("%q: %q, then %q: %q", c.Key, c.Summary, second.Key, second.Summary)
	}

	// Its findings still fire: what was found is real.
	leak := Finding{Severity: alert.Critical, Kind: KindLeak, URL: "https://www.example.com/account"}
	r := Report{Findings: []Finding{leak}, Untrusted: []string{"identity bob: ..."}, Errors: []string{"timeout"}, site: "https://www.example.com"}
	run := r.AlertRun()
	if len(run.Causes) != 2 || run.Causes[0].Key != "leak https://www.example.com/account" || untrusted(run).Key != "probe_untrusted https://www.example.com" || run.Errors != 2 {
		t.Errorf("run %+v", run)
	}
	if trusted := (&Report{Findings: []Finding{leak}, site: "https://www.example.com"}).AlertRun(); len(trusted.Causes) != 1 || trusted.Errors != 0 {
		t.Errorf("a trusted run gave %+v", trusted)
	}
}

// Headers are judged where they are set. Without origin_url, the edge's
// are all the probe has. With it, the origin's are judged at the origin,
// and what an edge rewrote for browsers is information, not a warning
// that no origin change could clear.
func TestProbeJudgesHeadersWhereSet(t *testing.T) {
	for _, tc := range []struct {
		name, edgeCC, path string
		origin             bool
		want               map[string]string // kind -> evidence
		exit               int
	}{
		{"safe origin, edge passes it on", "", "/account", true, nil, ExitClean},
		{"safe origin, edge rewrites for browsers", "no-store, no-cache, must-revalidate, max-age=0", "/account", true,
			map[string]string{KindEdgeHeaders: `the edge delivers what the origin did not send: Cache-Control "no-store, no-cache, must-revalidate, max-age=0" lacks private`},
			ExitClean},
		{"edge rewrites, no origin_url", "no-cache", "/account", false,
			map[string]string{KindUnsafeHeaders: `at the edge (set origin_url to judge the origin's own headers): Cache-Control "no-cache" lacks private and no-store`},
			ExitFindings},
		{"unsafe origin", "", "/2017", true,
			map[string]string{KindUnsafeHeaders: `at the origin: Cache-Control "no-cache" lacks private and no-store`},
			ExitFindings},
	} {
		t.Run(tc.name, func(t *testing.T) {
			origin := startSite(t, noCache, nil)
			edge := startSite(t, noCache, nil)
			edge.edgeCacheControl = tc.edgeCC
			cfg := testConfig(t, "http://"+edge.addr, tc.path).only(CheckPersonal)
			if tc.origin {
				cfg.OriginURL = "http://" + origin.addr
			}
			report := New(cfg).Run(context.Background())
			gotKinds := map[string]string{}
			for _, f := range report.Findings {
				gotKinds[f.Kind] = strings.Join(f.Evidence, "; ")
			}
			if !maps.Equal(gotKinds, tc.want) {
				t.Errorf("got %q\nwant %q", gotKinds, tc.want)
			}
			if code := report.ExitCode(alert.Low); code != tc.exit {
				t.Errorf("exit %d, want %d", code, tc.exit)
			}
		})
	}
}

func TestProbePublicNotCacheable(t *testing.T) {
	want := map[string]string{ // public URL -> evidence ("" for cacheable)
		"/":              "",
		"/nostore":       `at the edge: Cache-Control "no-store" says no-store`,
		"/private":       `at the edge: Cache-Control "private, max-age=60" says private`,
		"/vary-star":     `Vary "Accept-Encoding, *" holds *`,
		"/public-cookie": "sets a cookie",
		"/zero":          "lifetime (s-maxage or max-age) is 0",
	}
	s := startSite(t, noCache, nil)
	cfg := testConfig(t, "http://"+s.addr, "/account").only(CheckPublic)
	cfg.PublicURLs = slices.Sorted(maps.Keys(want))
	report := New(cfg).Run(context.Background())
	evidence := map[string]string{}
	for _, f := range report.Findings {
		if f.Kind != KindNotCacheable {
			t.Errorf("unexpected finding %+v", f)
		}
		u, _ := url.Parse(f.URL)
		evidence[u.Path] = strings.Join(f.Evidence, "; ")
	}
	for path, want := range want {
		switch {
		case want == "" && evidence[path] != "":
			t.Errorf("%s: reported not cacheable (%s)", path, evidence[path])
		case want != "" && !strings.Contains(evidence[path], want):
			t.Errorf("%s: evidence %q, want it to say %q", path, evidence[path], want)
		}
	}
	// A cache that stores them says so: what the headers tell browsers
	// no longer matters.
	s.reset(sharedCache)
	if report := New(cfg).Run(context.Background()); len(report.Findings) != 0 {
		t.Errorf("public pages the cache serves from storage were reported:\n%s", text(report))
	}
}

// A site's own cache-status header, named in the config, is read with its
// own words.
func TestProbeSiteCacheStatusHeader(t *testing.T) {
	s := startSite(t, perCredential, nil)
	// No Age, no known header: as behind Magento's VCL, which strips them.
	s.hitHeaders = http.Header{"X-Micro-Cache": {"CACHED"}}
	cfg := testConfig(t, "http://"+s.addr, "/account").only(CheckPersonal)
	if report := New(cfg).Run(context.Background()); len(report.Findings) != 0 {
		t.Fatalf("hits no header reveals gave findings:\n%s", text(report))
	}
	cfg.CacheStatusHeaders = map[string]cachestatus.Words{"X-Micro-Cache": {Hit: []string{"cached"}, Miss: []string{"fetched"}}}
	s.reset(perCredential)
	report := New(cfg).Run(context.Background())
	if sum := summarise(t, report); !slices.Equal(sum, []got{{KindCached, "/account", "alice->alice,bob->bob", "sequential"}}) ||
		!strings.Contains(text(report), "the cache said hit, e.g. X-Micro-Cache: CACHED") {
		t.Errorf("the site's header was not read:\n%s", text(report))
	}
}

// connect_to sends the requests to another address with the public Host,
// and request_headers go with every request, anonymous ones included.
func TestProbeConnectToAndRequestHeaders(t *testing.T) {
	var mu sync.Mutex
	hosts, bypass := map[string]bool{}, map[string]bool{}
	site := serveTest(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts[r.Host] = true
		bypass[r.Header.Get("X-Waf-Bypass")] = true
		mu.Unlock()
		w.Header().Set("Cache-Control", "private, no-store")
		fmt.Fprintf(w, "account of %s", emails[owner(r)])
	})
	// The public site is on port 80; its staging edge here. www.example.test
	// resolves nowhere, so a request that went by name would fail.
	cfg := testConfig(t, "http://www.example.test", "/account").only(CheckPersonal, CheckPathConfusion)
	cfg.ConnectTo = strings.TrimPrefix(site, "http://")
	cfg.RequestHeaders = map[string]string{"X-Waf-Bypass": "waf-token"}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	report := New(cfg).Run(context.Background())
	if len(report.Findings)+len(report.Errors)+len(report.Untrusted) != 0 {
		t.Errorf("a clean site through connect_to:\n%s", text(report))
	}
	want := "www.example.test"
	if !maps.Equal(hosts, map[string]bool{want: true}) {
		t.Errorf("Host headers %v, want only %s", slices.Collect(maps.Keys(hosts)), want)
	}
	if !maps.Equal(bypass, map[string]bool{"waf-token": true}) {
		t.Errorf("bypass headers %v, want the token on every request", slices.Collect(maps.Keys(bypass)))
	}
}

func TestExitCode(t *testing.T) {
	leak := Finding{Severity: alert.Critical, Kind: KindLeak}
	logged := Finding{Severity: alert.Medium, Kind: KindLoggedOutPage}
	edge := Finding{Severity: alert.Info, Kind: KindEdgeHeaders}
	for _, tc := range []struct {
		name   string
		r      Report
		failOn alert.Severity
		want   int
	}{
		{"clean", Report{}, alert.Low, ExitClean},
		{"info only", Report{Findings: []Finding{edge}}, alert.Low, ExitClean},
		{"info, fail on info", Report{Findings: []Finding{edge}}, alert.Info, ExitFindings},
		{"medium under a high threshold", Report{Findings: []Finding{logged}}, alert.High, ExitClean},
		{"medium at low", Report{Findings: []Finding{logged}}, alert.Low, ExitFindings},
		{"findings beat request errors", Report{Findings: []Finding{leak}, Errors: []string{"timeout"}}, alert.Low, ExitFindings},
		{"errors alone", Report{Errors: []string{"timeout"}}, alert.Low, ExitError},
		{"errors under the threshold's findings", Report{Findings: []Finding{edge}, Errors: []string{"timeout"}}, alert.Low, ExitError},
		{"untrusted beats findings", Report{Findings: []Finding{leak}, Untrusted: []string{"identity bob: ..."}}, alert.Low, ExitError},
	} {
		if got := tc.r.ExitCode(tc.failOn); got != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.want)
		}
	}
}

// A collapse burst sends one request per identity and an anonymous one at
// the same instant; nothing else runs beside it, and otherwise no more than
// the configured concurrency is in flight.
func TestProbeBoundsConcurrency(t *testing.T) {
	var inFlight, peak atomic.Int64
	site := serveTest(t, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for old := peak.Load(); n > old && !peak.CompareAndSwap(old, n); old = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		w.Header().Set("Cache-Control", "private, no-store")
		fmt.Fprintf(w, "account of %s", emails[owner(r)])
	})
	for _, tc := range []struct {
		concurrency int
		checks      []string
		want        int64
	}{
		{1, []string{CheckPersonal}, 1},
		{2, []string{CheckPersonal}, 2},
		{1, []string{CheckPersonal, CheckCollapse}, 3}, // two identities and an anonymous visitor, together
		{8, []string{CheckPersonal, CheckCollapse}, 8},
	} {
		peak.Store(0)
		cfg := testConfig(t, site, "/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h").only(tc.checks...)
		cfg.Concurrency, cfg.CollapseRounds = tc.concurrency, 2
		report := New(cfg).Run(context.Background())
		if len(report.Errors)+len(report.Findings)+len(report.Untrusted) > 0 {
			t.Fatalf("concurrency %d:\n%s", tc.concurrency, text(report))
		}
		if got := peak.Load(); got != tc.want {
			t.Errorf("concurrency %d, checks %v: %d requests in flight at most, want %d",
				tc.concurrency, tc.checks, got, tc.want)
		}
	}
}

// Redirects are followed on the same host only, five at most.
func TestProbeRedirects(t *testing.T) {
	var elsewhere atomic.Int64
	other := serveTest(t, func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) })
	var deepest atomic.Int64
	site := serveTest(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/away" {
			http.Redirect(w, r, other+"/login", http.StatusFound)
			return
		}
		var n int64
		fmt.Sscanf(r.URL.Path, "/hop/%d", &n)
		for old := deepest.Load(); n > old && !deepest.CompareAndSwap(old, n); old = deepest.Load() {
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", n+1), http.StatusFound)
	})
	New(testConfig(t, site, "/hop/0", "/away").only(CheckPersonal)).Run(context.Background())
	if got := deepest.Load(); got != maxRedirects {
		t.Errorf("followed %d redirects, want %d", got, maxRedirects)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("%d requests followed a redirect to another host", n)
	}
}

// A redirect from https to http on the same host is not followed: the
// test accounts' cookies would go out in clear.
func TestProbeRefusesDowngrade(t *testing.T) {
	site := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+"/account", http.StatusFound)
	}))
	t.Cleanup(site.Close)
	u, _ := url.Parse(site.URL)
	client := newClient(5*time.Second, u.Host)
	client.Transport.(*http.Transport).TLSClientConfig = site.Client().Transport.(*http.Transport).TLSClientConfig
	req, _ := http.NewRequest(http.MethodGet, site.URL+"/start", nil)
	req.Header.Set("Cookie", "session=alice")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("the downgrade was followed and failed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("status %d: the redirect to http was followed", resp.StatusCode)
	}
	if downgrades(&http.Request{URL: &url.URL{Scheme: "https"}}, []*http.Request{{URL: &url.URL{Scheme: "https"}}}) ||
		!downgrades(&http.Request{URL: &url.URL{Scheme: "http"}}, []*http.Request{{URL: &url.URL{Scheme: "https"}}}) ||
		downgrades(&http.Request{URL: &url.URL{Scheme: "http"}}, []*http.Request{{URL: &url.URL{Scheme: "http"}}}) {
		t.Errorf("downgrades judges the schemes wrong")
	}
}

// serveTest serves h on 127.0.0.1 and returns its base URL.
func serveTest(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

func TestProbeUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	report := New(testConfig(t, "http://"+addr, "/account")).Run(context.Background())
	if len(report.Errors) == 0 || report.ExitCode(alert.Low) != ExitError {
		t.Fatalf("exit code %d with %d errors, want %d with errors", report.ExitCode(alert.Low), len(report.Errors), ExitError)
	}
	for _, e := range report.Errors {
		if strings.Contains(e, "secret") || strings.Contains(e, "cachefence-") && !strings.Contains(e, tokenPlaceholder) {
			t.Errorf("an error names a credential or the run's token: %s", e)
		}
	}
}

// A Set-Cookie is evidence only when it is one identity's alone.
func TestCookieOwner(t *testing.T) {
	a := &analysis{
		ids: []Identity{
			{Name: "alice", Cookies: map[string]string{"session": "a1", "locale": "en"}},
			{Name: "bob", Cookies: map[string]string{"session": "b2", "locale": "en"}},
		},
		minted: map[string]map[string]bool{
			"sid=x9":       {"alice": true},
			"theme=dark":   {"alice": true, "bob": true},
			"cart=anon-17": {Anonymous: true},
		},
	}
	for _, tc := range []struct{ pair, recv, owner string }{
		{"session=a1", "bob", "alice"},       // alice's configured session
		{"session=a1", "alice", ""},          // her own
		{"locale=en", "bob", ""},             // configured for both
		{"sid=x9", "bob", "alice"},           // minted for alice alone
		{"sid=x9", "alice", ""},              // minted for her
		{"theme=dark", Anonymous, ""},        // minted for several
		{"cart=anon-17", "alice", Anonymous}, // an anonymous visitor's session
		{"consent=", "bob", ""},              // an empty value is no one's
		{"unknown=z", "bob", ""},             // never minted fresh
	} {
		if owner, _ := a.cookieOwner(tc.pair, tc.recv); owner != tc.owner {
			t.Errorf("cookieOwner(%q, %s) = %q, want %q", tc.pair, tc.recv, owner, tc.owner)
		}
	}
}
