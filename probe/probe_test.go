package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
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
			h.Set("Cache-Fence-Owner", fence.OwnerStamp(s.stampKey, (&fence.Policy{}).Identity(r.Header)))
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
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	s.addr = l.Addr().String()
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
	// The same page with a clean site verifies for everyone: no findings.
	clean := startSite(t, false, key)
	cfg.BaseURL = "http://" + clean.addr
	if report := New(cfg).Run(context.Background()); len(report.Findings) != 0 {
		t.Errorf("correct stamps reported: %+v", report.Findings)
	}
}

func TestProbePublicNotCacheable(t *testing.T) {
	s := startSite(t, false, nil)
	cfg := testConfig("http://"+s.addr, "/account")
	cfg.PublicURLs = []string{"/", "/nostore"}
	report := New(cfg).Run(context.Background())
	if len(report.Findings) != 1 || report.Findings[0].Kind != KindNotCacheable || !strings.HasSuffix(report.Findings[0].URL, "/nostore") {
		t.Fatalf("want exactly one not_cacheable finding for /nostore, got %+v", report.Findings)
	}
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

// The webhook receives exactly one alert per finding, and one recovery per
// finding once it is gone, however many runs see it.
func TestWatchAlertsOnce(t *testing.T) {
	s := startSite(t, true, nil)
	var mu sync.Mutex
	alerts := map[string][]string{} // finding key -> statuses received
	receiver := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a Alert
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil || a.Text == "" {
			http.Error(w, "bad alert", http.StatusBadRequest)
			return
		}
		mu.Lock()
		alerts[a.Finding.Key()] = append(alerts[a.Finding.Key()], a.Status)
		mu.Unlock()
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go receiver.Serve(l)
	t.Cleanup(func() { receiver.Close() })

	cfg := testConfig("http://"+s.addr, "/account")
	cfg.CollapseRounds, cfg.PathConfusion = -1, new(bool)
	w := &Watcher{Prober: New(cfg), Webhook: &Webhook{URL: "http://" + l.Addr().String(), Client: http.DefaultClient},
		alerted: map[string]Finding{}}
	ctx := context.Background()
	w.once(ctx)
	firing := len(w.alerted)
	if firing == 0 {
		t.Fatal("the leaky site gave no alert")
	}
	w.once(ctx) // the same findings again: no new alerts
	s.leaky.Store(false)
	s.mu.Lock()
	s.stored = map[string]stored{}
	s.mu.Unlock()
	w.once(ctx) // recovered
	w.once(ctx) // still recovered: nothing more
	mu.Lock()
	defer mu.Unlock()
	if len(alerts) != firing {
		t.Errorf("alerts for %d findings, want %d", len(alerts), firing)
	}
	for key, statuses := range alerts {
		if len(statuses) != 2 || statuses[0] != "firing" || statuses[1] != "resolved" {
			t.Errorf("%s: got %v, want [firing resolved]", key, statuses)
		}
	}
}
