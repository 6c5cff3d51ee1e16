package probe

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachefence/cachefence/fence"
)

// testSite is a site on 127.0.0.1 whose pages print their owner. When
// leaky, it keeps the first response to each URL and serves it to everyone,
// as a shared cache that ignores origin headers would; otherwise it renders
// for each requester with private, no-store. The probe's tests against real
// Varnish and nginx are in integration/.
type testSite struct {
	leaky    atomic.Bool
	stampKey []byte // when set, pages carry an owner stamp
	mu       sync.Mutex
	stored   map[string]stored
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

func (s *testSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.URL.String()
	if s.leaky.Load() {
		s.mu.Lock()
		hit, ok := s.stored[key]
		s.mu.Unlock()
		if ok {
			for k, v := range hit.header {
				w.Header()[k] = v
			}
			w.Header().Set("X-Cache", "HIT")
			w.Header().Set("Age", "5")
			io.WriteString(w, hit.body)
			return
		}
	}
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
	case strings.HasPrefix(r.URL.Path, "/account"):
		// Origins that ignore trailing path segments are what makes path
		// confusion work.
		h.Set("Cache-Control", "private, no-store")
		who := owner(r)
		if who == "" {
			body = "please log in"
		} else if s.stampKey != nil && r.URL.Path == "/account/unmarked" {
			body = "a page with no marker"
		} else {
			body = "account of " + emails[who]
		}
		if s.stampKey != nil {
			policy, err := fence.New(fence.Config{})
			if err != nil {
				panic(err)
			}
			h.Set("Cache-Fence-Owner", fence.OwnerStamp(s.stampKey, policy.Identity(r.Header, r.URL)))
		}
	default:
		http.NotFound(w, r)
		return
	}
	if s.leaky.Load() {
		s.mu.Lock()
		s.stored[key] = stored{h, body}
		s.mu.Unlock()
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	io.WriteString(w, body)
}

func startSite(t *testing.T, leaky bool, stampKey []byte) *testSite {
	t.Helper()
	s := &testSite{stored: map[string]stored{}, stampKey: stampKey}
	s.leaky.Store(leaky)
	s.addr = strings.TrimPrefix(serveTest(t, s.ServeHTTP), "http://")
	return s
}

func testConfig(base string, personal ...string) *Config {
	cfg := &Config{
		BaseURL: base,
		Identities: []Identity{
			{Name: "alice", Cookies: map[string]string{"session": "alice-secret"}, Markers: []string{"alice@example.test"}},
			{Name: "bob", Headers: map[string]string{"Authorization": "Bearer bob-secret"}, Markers: []string{"bob@example.test"}},
		},
		PersonalURLs: personal,
		PublicURLs:   []string{"/"},
	}
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return cfg
}

// hasFinding looks for a finding on a URL whose path starts with path.
func hasFinding(r *Report, kind, check, path, owner, receiver string) bool {
	for _, f := range r.Findings {
		u, _ := url.Parse(f.URL)
		if f.Kind == kind && f.Check == check && strings.HasPrefix(u.Path, path) && f.Owner == owner && f.Receiver == receiver {
			return true
		}
	}
	return false
}

func TestProbeCleanSite(t *testing.T) {
	s := startSite(t, false, nil)
	report := New(testConfig("http://"+s.addr, "/account")).Run(context.Background())
	if len(report.Findings) != 0 || len(report.Errors) != 0 {
		var b bytes.Buffer
		report.WriteText(&b)
		t.Fatalf("a safe site gave findings:\n%s", b.String())
	}
	if report.ExitCode() != ExitClean {
		t.Errorf("exit code %d, want %d", report.ExitCode(), ExitClean)
	}
}

func TestProbeLeakySite(t *testing.T) {
	s := startSite(t, true, nil)
	report := New(testConfig("http://"+s.addr, "/account", "/login")).Run(context.Background())
	for _, want := range []struct{ kind, check, path, owner, receiver string }{
		{KindLeak, CheckPersonal, "/account", "alice", "bob"},
		{KindLeak, CheckPersonal, "/account", "alice", Anonymous},
		{KindCached, CheckPersonal, "/account", "alice", "alice"},
		{KindLeak, CheckPathConfusion, "/account", "alice", Anonymous},
		{KindLeak, CheckPersonal, "/login", "alice", "bob"},
	} {
		if !hasFinding(report, want.kind, want.check, want.path, want.owner, want.receiver) {
			t.Errorf("no %s/%s finding on %s for %s -> %s", want.kind, want.check, want.path, want.owner, want.receiver)
		}
	}
	// /login minted a cookie for alice; replayed to bob it is a leak.
	var cookieLeak bool
	for _, f := range report.Findings {
		cookieLeak = cookieLeak || (f.Kind == KindLeak && strings.HasSuffix(f.URL, "/login") && strings.Contains(f.Evidence, "Set-Cookie"))
	}
	if !cookieLeak {
		t.Error("the replayed Set-Cookie on /login was not reported")
	}
	if report.ExitCode() != ExitFindings {
		t.Errorf("exit code %d, want %d", report.ExitCode(), ExitFindings)
	}
	// No secret in any output.
	var out bytes.Buffer
	report.WriteText(&out)
	report.WriteJSON(&out)
	for _, secret := range []string{"alice-secret", "bob-secret", "minted-"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("the report contains the secret %q", secret)
		}
	}
}

// A page without marker text still leaks its owner through the stamp.
func TestProbeOwnerStamp(t *testing.T) {
	key := []byte("0123456789abcdef-stamp-key")
	s := startSite(t, true, key)
	cfg := testConfig("http://"+s.addr, "/account/unmarked")
	cfg.OwnerStamp = &OwnerStamp{Key: string(key)}
	cfg.CollapseRounds, cfg.PathConfusion = -1, new(bool)
	report := New(cfg).Run(context.Background())
	found := false
	for _, f := range report.Findings {
		found = found || (f.Kind == KindLeak && f.Owner == "alice" && f.Receiver == "bob" && strings.Contains(f.Evidence, "owner stamp"))
	}
	if !found {
		var b bytes.Buffer
		report.WriteText(&b)
		t.Fatalf("alice's stamp on bob's response was not reported:\n%s", b.String())
	}
	// The same page with a clean site verifies for everyone: no findings,
	// and the stamps show each identity its own page though no marker does.
	clean := startSite(t, false, key)
	cfg.BaseURL = "http://" + clean.addr
	if report := New(cfg).Run(context.Background()); len(report.Findings) != 0 || len(report.Errors) != 0 {
		t.Errorf("correct stamps reported: %+v %q", report.Findings, report.Errors)
	}
}

func TestProbePublicNotCacheable(t *testing.T) {
	s := startSite(t, false, nil)
	want := map[string]string{ // public URL -> evidence ("" for cacheable)
		"/":              "",
		"/nostore":       "Cache-Control: no-store",
		"/private":       "Cache-Control: private",
		"/vary-star":     "Vary: *",
		"/public-cookie": "sets a cookie",
		"/zero":          "lifetime (s-maxage or max-age) is 0",
	}
	cfg := testConfig("http://"+s.addr, "/account")
	cfg.PublicURLs = slices.Sorted(maps.Keys(want))
	report := New(cfg).Run(context.Background())
	got := map[string]string{}
	for _, f := range report.Findings {
		if f.Kind != KindNotCacheable {
			t.Errorf("unexpected finding %+v", f)
		}
		u, _ := url.Parse(f.URL)
		got[u.Path] = f.Evidence
	}
	for path, evidence := range want {
		switch {
		case evidence == "" && got[path] != "":
			t.Errorf("%s: reported not cacheable (%s)", path, got[path])
		case evidence != "" && !strings.Contains(got[path], evidence):
			t.Errorf("%s: evidence %q, want it to say %q", path, got[path], evidence)
		}
	}
}

// A probe whose test accounts no longer log in sees no leak anywhere; it
// must say that it could not check, not that the site is clean.
func TestProbeLoggedOutIdentities(t *testing.T) {
	s := startSite(t, false, nil) // every page says "please log in"
	cfg := testConfig("http://"+s.addr, "/account")
	cfg.Identities[0].Cookies["session"] = "expired-secret"
	cfg.Identities[1].Headers["Authorization"] = "Bearer expired-secret"
	report := New(cfg).Run(context.Background())
	if report.ExitCode() != ExitError {
		t.Errorf("exit code %d, want %d", report.ExitCode(), ExitError)
	}
	for _, name := range []string{"alice", "bob"} {
		if !slices.ContainsFunc(report.Errors, func(e string) bool {
			return strings.HasPrefix(e, "identity "+name+": none of its") && strings.Contains(e, "credentials")
		}) {
			t.Errorf("no error says %s never saw its own page: %q", name, report.Errors)
		}
	}
	for _, e := range report.Errors {
		if strings.Contains(e, "secret") {
			t.Errorf("an error names a credential: %s", e)
		}
	}
}

// Stamps made with another key verify for no one: the probe says the key
// is likely wrong, besides reporting what it cannot tell from a leak.
func TestProbeWrongStampKey(t *testing.T) {
	s := startSite(t, false, []byte("0123456789abcdef-fence-key"))
	cfg := testConfig("http://"+s.addr, "/account")
	cfg.OwnerStamp = &OwnerStamp{Key: "0123456789abcdef-other-key"}
	cfg.CollapseRounds, cfg.PathConfusion = -1, new(bool)
	report := New(cfg).Run(context.Background())
	if !slices.ContainsFunc(report.Errors, func(e string) bool { return strings.Contains(e, "owner_stamp.key") }) {
		t.Errorf("no error points at the stamp key: %q", report.Errors)
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
		concurrency, collapseRounds int
		want                        int64
	}{
		{1, -1, 1},
		{2, -1, 2},
		{1, 2, 3}, // two identities and an anonymous visitor, together
		{8, 2, 8},
	} {
		peak.Store(0)
		cfg := testConfig(site, "/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h")
		cfg.Concurrency, cfg.CollapseRounds, cfg.PathConfusion = tc.concurrency, tc.collapseRounds, new(bool)
		cfg.PublicURLs = nil
		report := New(cfg).Run(context.Background())
		if len(report.Errors) > 0 || len(report.Findings) > 0 {
			t.Fatalf("concurrency %d: %q %+v", tc.concurrency, report.Errors, report.Findings)
		}
		if got := peak.Load(); got != tc.want {
			t.Errorf("concurrency %d, collapse rounds %d: %d requests in flight at most, want %d",
				tc.concurrency, tc.collapseRounds, got, tc.want)
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
	cfg := testConfig(site, "/hop/0", "/away")
	cfg.CollapseRounds, cfg.PathConfusion = -1, new(bool)
	New(cfg).Run(context.Background())
	if got := deepest.Load(); got != maxRedirects {
		t.Errorf("followed %d redirects, want %d", got, maxRedirects)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("%d requests followed a redirect to another host", n)
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
	report := New(testConfig("http://"+addr, "/account")).Run(context.Background())
	if len(report.Errors) == 0 || report.ExitCode() != ExitError {
		t.Fatalf("exit code %d with %d errors, want %d with errors", report.ExitCode(), len(report.Errors), ExitError)
	}
	for _, e := range report.Errors {
		if strings.Contains(e, "secret") {
			t.Errorf("an error names a credential: %s", e)
		}
	}
}
