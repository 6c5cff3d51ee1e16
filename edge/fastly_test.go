package edge

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/internal/stampvectors"
)

// testKeyName is the Edge Dictionary item the tests' guards read.
const testKeyName = "CACHE_FENCE_KEY"

// fastlyOutOfSubset are the shared vectors whose requests the VCL guard
// does not read as the fence does, under testdata/vcl/companions.json,
// and why. The guard must not accept their stamps: it reads an identity
// that lacks what it could not read, and so fails closed.
var fastlyOutOfSubset = map[string]string{
	"python space-separated pair":         "sid=x is inside another cookie's value, where only Python reads it",
	"pair without =":                      "a pair without = identifies in the fence; the guard reads the named session cookies only",
	"session globs fold case":             "SessionID is sent in another case than the configured sessionid",
	"cgi spelling of a configured header": "x_tenant_key is sent with underscores; the guard reads X-Tenant-Key",
	"headers sorted by name":              "Sm_user is sent with an underscore; the guard reads Sm-User",
	"parameter name decoded and folded":   "Access%5FToken is escaped and in another case than access_token",
	"path parameter, raw and decoded":     "a path parameter; the guard reads the query string only",
	"escaped path parameter":              "a path parameter; the guard reads the query string only",
	"everything":                          "sig=a is a path parameter; the guard reads the query string only",
	"parameter name cut at NUL":           "sid%00x is read as sid by PHP alone",
	"php array cookie name":               "sessionid[x] is read as sessionid by PHP alone",
	"asp.net token tail":                  "a@sessionid is read as sessionid by ASP.NET Core alone",
	"percent-encoded cookie name":         "session%69d is read as sessionid by old PHP and Rack alone",
}

// companions returns testdata/vcl/companions.json: for each config of the
// vectors, the nearest one a VCL guard accepts.
func companions(t *testing.T) map[string]stampvectors.Config {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vcl", "companions.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Configs map[string]stampvectors.Config `json:"configs"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("companions.json: %v", err)
	}
	return f.Configs
}

func loadVectors(t *testing.T) *stampvectors.File {
	t.Helper()
	vf, err := stampvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	return vf
}

// fenceIdentity is the fence's own identity of a request under c.
func fenceIdentity(t *testing.T, c stampvectors.Config, v stampvectors.Vector) string {
	t.Helper()
	p, err := fence.New(c.Fence())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.ParseRequestURI(v.URL)
	if err != nil {
		t.Fatalf("%s: %v", v.Name, err)
	}
	return p.Identity(v.Header(), u)
}

// TestFastlyCompanionsKeepIdentities checks that the companion configs do
// not change what the vectors mean: the fence reads each vector's request
// as the vector's identity under its companion too.
func TestFastlyCompanionsKeepIdentities(t *testing.T) {
	vf, comp := loadVectors(t), companions(t)
	for _, v := range vf.Vectors {
		if got := fenceIdentity(t, comp[v.Config], v); got != v.Identity {
			t.Errorf("%s: under the companion of %s the fence reads %q, the vector says %q", v.Name, v.Config, got, v.Identity)
		}
	}
	for name := range fastlyOutOfSubset {
		if !slices.ContainsFunc(vf.Vectors, func(v stampvectors.Vector) bool { return v.Name == name }) {
			t.Errorf("fastlyOutOfSubset names %q, which no vector has", name)
		}
	}
}

// TestFastlyVCLRefusesOutsideSubset: a configuration whose identity VCL
// cannot compute without loops is refused, saying what to configure.
func TestFastlyVCLRefusesOutsideSubset(t *testing.T) {
	vf := loadVectors(t)
	for _, tc := range []struct {
		name  string
		rules fence.Config
		want  string
	}{
		{"the vectors' default", vf.Configs["default"].Fence(), "session_cookies NAME"},
		{"the vectors' ignore", vf.Configs["ignore"].Fence(), "cannot go through every cookie"},
		{"the vectors' custom", vf.Configs["custom"].Fence(), "cannot go through every cookie"},
		{"the vectors' sessions", vf.Configs["sessions"].Fence(), `"wordpress_logged_in_*": the VCL guard matches cookie names exactly`},
		{"a cookie name PHP rewrites", fence.Config{SessionCookies: []string{"a.b"}}, "list each cookie by its full name"},
		{"a header VCL cannot name", fence.Config{SessionCookies: []string{"sid"}, CredentialHeaders: []string{"X-Key!"}}, `credential_headers: "X-Key!"`},
		{"an escaped parameter", fence.Config{SessionCookies: []string{"sid"}, CredentialParams: []string{"a%5Fb"}}, `credential_params: "a%5Fb"`},
	} {
		_, err := Generate("fastly-vcl", Config{Rules: tc.rules, KeyName: testKeyName, OnMismatch: OnMismatchRefuse})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
	if _, err := Generate("fastly-vcl", Config{Rules: fence.Config{SessionCookies: []string{"sid"}}, KeyName: testKeyName, OnMismatch: OnMismatchPass}); err != nil {
		t.Errorf("session cookies by name: %v", err)
	}
}

// falcoTools are falco's command and the local simulator (sim), built
// from testdata/vcl/falco (falco v1.11.2).
type falcoTools struct{ falco, sim string }

func buildFalco(t *testing.T) falcoTools {
	t.Helper()
	goTool := requireTool(t, "go", "golang-go")
	dir := t.TempDir()
	tools := falcoTools{filepath.Join(dir, "falco"), filepath.Join(dir, "sim")}
	for out, pkg := range map[string]string{tools.falco: "github.com/ysugimoto/falco/cmd/falco", tools.sim: "."} {
		cmd := exec.Command(goTool, "build", "-o", out, pkg)
		cmd.Dir = filepath.Join("testdata", "vcl", "falco")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s from testdata/vcl/falco: %v\n%s", pkg, err, b)
		}
	}
	return tools
}

// service is a Fastly service for the tests: testdata/vcl/service.vcl.
type service struct {
	Port int
	// Items are the Edge Dictionary cachefence's.
	Items map[string]string
	Guard bool
}

var serviceTemplate = template.Must(template.ParseFiles(filepath.Join("testdata", "vcl", "service.vcl")))

// writeService writes s, and guard as its include if s has one, into a
// new directory, and returns the main file's path and the include
// directory.
func writeService(t *testing.T, s service, guard []byte) (main, include string) {
	t.Helper()
	dir := t.TempDir()
	include = filepath.Join(dir, "include")
	if err := os.Mkdir(include, 0o755); err != nil {
		t.Fatal(err)
	}
	if s.Guard {
		if err := os.WriteFile(filepath.Join(include, "cachefence.vcl"), guard, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	main = filepath.Join(dir, "main.vcl")
	f, err := os.Create(main)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := serviceTemplate.Execute(f, s); err != nil {
		t.Fatal(err)
	}
	return main, include
}

// fastlyGuardFor writes the guard for a companion config.
func fastlyGuardFor(t *testing.T, c stampvectors.Config, mode string) []byte {
	t.Helper()
	guard, err := Generate("fastly-vcl", Config{Rules: c.Fence(), KeyName: testKeyName, OnMismatch: mode, Source: "edge tests", Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return guard
}

// TestFastlyVCLLint lints every guard the tests run with falco: no error,
// no warning.
func TestFastlyVCLLint(t *testing.T) {
	tools := buildFalco(t)
	vf := loadVectors(t)
	for name, c := range companions(t) {
		for _, mode := range []string{OnMismatchPass, OnMismatchRefuse} {
			main, include := writeService(t, service{Port: 9, Items: map[string]string{testKeyName: vf.Key}, Guard: true}, fastlyGuardFor(t, c, mode))
			out, err := exec.Command(tools.falco, "lint", "-I", include, main).CombinedOutput()
			if err != nil || !strings.Contains(string(out), " 0 errors") || !strings.Contains(string(out), " 0 warnings") {
				t.Errorf("falco lint, %s, %s: %v\n%s", name, mode, err, out)
			}
		}
	}
}

// deliverCase is a falco unit test of cachefence_deliver: a request, the
// stamp on the response, and whether the guard must take it as the
// requester's.
type deliverCase struct {
	name    string
	url     string
	headers [][2]string
	stamp   string
	owned   bool
}

// falcoSuite writes c as a falco test subroutine of the DELIVER scope.
func (c deliverCase) falcoSuite(t *testing.T, i int, mode string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "// @scope: deliver\n// @suite: %d\nsub test_%d {\n  set req.url = %s;\n", i, i, longString(t, c.url))
	for _, h := range c.headers {
		fmt.Fprintf(&b, "  set req.http.%s = %s;\n", h[0], longString(t, h[1]))
	}
	fmt.Fprintf(&b, "  set resp.http.cache-fence-owner = %s;\n  testing.call_subroutine(\"vcl_deliver\");\n", longString(t, c.stamp))
	if c.owned {
		b.WriteString("  assert.is_notset(req.http.cache-fence-retry);\n  assert.is_notset(resp.http.cache-fence-guard);\n")
	} else {
		fmt.Fprintf(&b, "  assert.equal(req.http.cache-fence-retry, %q);\n  assert.restart();\n", mode)
	}
	b.WriteString("}\n\n")
	return b.String()
}

// longString quotes s as a VCL long string, which has no escapes.
func longString(t *testing.T, s string) string {
	t.Helper()
	if strings.Contains(s, `"}`) {
		t.Fatalf("%q cannot be a VCL long string", s)
	}
	return `{"` + s + `"}`
}

// runDeliverCases runs cases in falco's test runner against guard in a
// service whose dictionary holds items, and reports every case whose
// verdict is not the one expected.
func runDeliverCases(t *testing.T, tools falcoTools, guard []byte, items map[string]string, mode string, cases []deliverCase) {
	t.Helper()
	main, include := writeService(t, service{Port: 9, Items: items, Guard: true}, guard)
	var tests strings.Builder
	for i, c := range cases {
		tests.WriteString(c.falcoSuite(t, i, mode))
	}
	if err := os.WriteFile(strings.TrimSuffix(main, ".vcl")+".test.vcl", []byte(tests.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// falco test exits 1 when a suite fails: its report says which.
	out, err := exec.Command(tools.falco, "test", "-json", "-I", include, main).Output()
	var report struct {
		Tests []struct {
			Suites []struct{ Name, Error string }
		}
	}
	if jsonErr := json.Unmarshal(out, &report); jsonErr != nil {
		t.Fatalf("falco test (%v) printed %s: %v", err, out, jsonErr)
	}
	ran := map[string]string{}
	for _, f := range report.Tests {
		for _, s := range f.Suites {
			ran[s.Name] = s.Error
		}
	}
	for i, c := range cases {
		verdict := map[bool]string{true: "the requester's", false: "someone else's"}[c.owned]
		switch failure, ok := ran[fmt.Sprint(i)]; {
		case !ok:
			t.Errorf("%s: falco did not run it", c.name)
		case failure != "":
			t.Errorf("%s (%s): the guard must take the page as %s: %s", c.name, mode, verdict, failure)
		}
	}
}

// readings are the ways a CDN may hand the guard v's header fields: as
// sent, or, for a field sent on several lines, joined on one (as
// HTTP/2's cookie crumbs are) or as the first line alone.
func readings(v stampvectors.Vector) map[string][][2]string {
	var repeated string
	seen := map[string]bool{}
	for _, h := range v.Headers {
		k := strings.ToLower(h[0])
		if seen[k] {
			repeated = k
		}
		seen[k] = true
	}
	if repeated == "" {
		return map[string][][2]string{"": v.Headers}
	}
	sep := map[bool]string{true: "; ", false: ", "}[repeated == "cookie"]
	joined, first := [][2]string{}, [][2]string{}
	at := map[string]int{}
	for _, h := range v.Headers {
		k := strings.ToLower(h[0])
		if i, ok := at[k]; ok {
			joined[i][1] += sep + h[1]
			continue
		}
		at[k] = len(joined)
		joined, first = append(joined, h), append(first, h)
	}
	return map[string][][2]string{" (lines joined)": joined, " (first line only)": first}
}

// TestFastlyVCLVectors holds the fastly-vcl guard, run by falco's
// interpreter, to every shared vector under its companion config: the
// guard takes the vector's stamp as the requester's exactly when the
// request is in the subset the guard reads as the fence does; a vector
// out of it (fastlyOutOfSubset) is not taken as the requester's (fails
// closed), and no request takes another identity's stamp as its own.
func TestFastlyVCLVectors(t *testing.T) {
	tools := buildFalco(t)
	vf, comp := loadVectors(t), companions(t)
	owned, refused := 0, 0
	for _, mode := range []string{OnMismatchPass, OnMismatchRefuse} {
		owned, refused = 0, 0
		for name, c := range comp {
			var cases []deliverCase
			for _, v := range vf.Vectors {
				if v.Config != name {
					continue
				}
				_, out := fastlyOutOfSubset[v.Name]
				for reading, headers := range readings(v) {
					read := v
					read.Headers = headers
					owned := !out && fenceIdentity(t, c, read) == v.Identity
					cases = append(cases,
						deliverCase{v.Name + reading, v.URL, headers, v.Stamp, owned},
						deliverCase{v.Name + reading + ", another's stamp", v.URL, headers, fence.OwnerStamp([]byte(vf.Key), v.Identity+"cookie\x00someone=else\x00"), false})
				}
			}
			for _, dc := range cases {
				if dc.owned {
					owned++
				} else {
					refused++
				}
			}
			runDeliverCases(t, tools, fastlyGuardFor(t, c, mode), map[string]string{testKeyName: vf.Key}, mode, cases)
		}
	}
	t.Logf("%d vectors, per mode: %d requests whose own stamp the guard must accept, %d stamps it must not (%d vectors out of the subset, and another's stamp on every request)",
		len(vf.Vectors), owned, refused, len(fastlyOutOfSubset))
}

// startSim serves s, with guard, through falco's interpreter on
// 127.0.0.1, and returns its base URL.
func startSim(t *testing.T, tools falcoTools, s service, guard []byte) string {
	t.Helper()
	main, include := writeService(t, s, guard)
	cmd := exec.Command(tools.sim, "-I", include, main)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("falco's interpreter did not start: %v\n%s", err, stderr.String())
	}
	return "http://" + strings.TrimSpace(addr)
}

// stampingOrigin is an origin behind the fence with owner stamps: /account
// is the requester's own page, stamped with the fence's identity under
// rules; /static/ is public and unstamped.
func stampingOrigin(t *testing.T, key string, rules fence.Config) *httptest.Server {
	t.Helper()
	p, err := fence.New(rules)
	if err != nil {
		t.Fatal(err)
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/static/") {
			w.Header().Set("Cache-Control", "public, max-age=60")
			fmt.Fprint(w, "body{}")
			return
		}
		owner := "anonymous"
		if c, err := r.Cookie("session"); err == nil {
			owner = c.Value
		}
		w.Header().Set("Cache-Control", "private, no-store")
		w.Header().Set(fence.DefaultStampHeader, fence.OwnerStamp([]byte(key), p.Identity(r.Header, r.URL)))
		fmt.Fprintf(w, "page of %s", owner)
	}))
	t.Cleanup(origin.Close)
	return origin
}

// edgeAnswer is what a visitor got from the service.
type edgeAnswer struct {
	status      int
	body, guard string
	hit         bool
	header      http.Header
}

// visit asks base for path as the visitor with the session cookie
// session ("" for none), with extra header fields.
func visit(t *testing.T, base, path, session string, extra ...string) edgeAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if session != "" {
		req.Header.Set("Cookie", "_ga=GA1.2.3; session="+session)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return edgeAnswer{resp.StatusCode, string(body), resp.Header.Get(GuardHeader), resp.Header.Get("X-Cache") == "HIT", resp.Header}
}

// TestFastlyVCLStopsLeak runs the guard in falco's interpreter, whose
// cache stands in for Fastly's, in a service that caches every page for
// everyone (testdata/vcl/service.vcl), in front of an origin that stamps
// as the fence does. Without the guard, Bob gets the page stored for
// Alice. With it he never does: refuse answers a 503 that no cache
// stores, pass fetches his own page past the cache (the restart, the
// pass and vcl_error run as on Fastly). Alice's stored page is still a
// hit, and so is a public asset; a client cannot ask for the second try
// itself.
func TestFastlyVCLStopsLeak(t *testing.T) {
	tools := buildFalco(t)
	key := loadVectors(t).Key
	rules := fence.Config{SessionCookies: []string{"session"}}
	origin := stampingOrigin(t, key, rules)
	port := origin.Listener.Addr().(*net.TCPAddr).Port
	items := map[string]string{testKeyName: key}

	bare := startSim(t, tools, service{Port: port, Items: items}, nil)
	visit(t, bare, "/account", "alice")
	if a := visit(t, bare, "/account", "bob"); a.body != "page of alice" || !a.hit {
		t.Fatalf("without the guard Bob got %q (hit %v): the service does not leak, so the test cannot show that the guard stops a leak", a.body, a.hit)
	}

	for _, mode := range []string{OnMismatchRefuse, OnMismatchPass} {
		t.Run(mode, func(t *testing.T) {
			guard, err := Generate("fastly-vcl", Config{Rules: rules, KeyName: testKeyName, OnMismatch: mode})
			if err != nil {
				t.Fatal(err)
			}
			edge := startSim(t, tools, service{Port: port, Items: items, Guard: true}, guard)
			if a := visit(t, edge, "/account", "alice"); a.status != 200 || a.body != "page of alice" {
				t.Fatalf("Alice: status %d, %q", a.status, a.body)
			}
			for _, who := range []struct{ name, session, want string }{{"bob", "bob", "page of bob"}, {"anonymous", "", "page of anonymous"}} {
				for _, extra := range [][]string{nil, {"Cache-Fence-Retry", "pass"}} {
					a := visit(t, edge, "/account", who.session, extra...)
					switch {
					case strings.Contains(a.body, "alice"):
						t.Errorf("%s (extra header %q) got Alice's page through the guard: status %d, guard %q", who.name, extra, a.status, a.guard)
					case mode == OnMismatchRefuse && (a.status != 503 || a.guard != "refused" || a.header.Get("Cache-Control") != "private, no-store"):
						t.Errorf("%s (extra header %q): status %d, guard %q, Cache-Control %q; want a 503 that no cache stores, refused", who.name, extra, a.status, a.guard, a.header.Get("Cache-Control"))
					case mode == OnMismatchPass && (a.status != 200 || a.guard != "passed" || a.body != who.want):
						t.Errorf("%s (extra header %q): status %d, guard %q, %q; want %q fetched past the cache, passed", who.name, extra, a.status, a.guard, a.body, who.want)
					}
				}
			}
			if a := visit(t, edge, "/account", "alice"); a.body != "page of alice" || !a.hit || a.guard != "" {
				t.Errorf("Alice again: %q, hit %v, guard %q; want her stored page, untouched", a.body, a.hit, a.guard)
			}
			visit(t, edge, "/static/app.css", "")
			if a := visit(t, edge, "/static/app.css", "bob"); a.status != 200 || !a.hit || a.guard != "" {
				t.Errorf("a public asset: status %d, hit %v, guard %q; want a plain hit", a.status, a.hit, a.guard)
			}
		})
	}
}

// TestFastlyVCLKeyRotation: the guard accepts a page stamped with the
// previous key until the time set for it (in either of std.time's
// formats the header comment names), then only the current key's; a key
// longer than SHA-256's block is hashed first, as HMAC does; without a key
// nothing is the requester's (fails closed).
func TestFastlyVCLKeyRotation(t *testing.T) {
	tools := buildFalco(t)
	vf := loadVectors(t)
	guard := fastlyGuardFor(t, companions(t)["ignore"], OnMismatchRefuse)
	stamped := func(key string, owned bool) []deliverCase {
		var cases []deliverCase
		for _, v := range vf.Vectors {
			if _, out := fastlyOutOfSubset[v.Name]; v.Config == "ignore" && !out && len(readings(v)) == 1 {
				cases = append(cases, deliverCase{v.Name, v.URL, v.Headers, fence.OwnerStamp([]byte(key), v.Identity), owned})
			}
		}
		return cases
	}
	current, long := "rotated-key-fedcba9876543210-012", strings.Repeat("a-long-key-", 8)
	previous, until := testKeyName+"_PREVIOUS", testKeyName+"_PREVIOUS_UNTIL"
	later, earlier := time.Now().Add(time.Hour), time.Now().Add(-time.Hour)
	for _, tc := range []struct {
		name  string
		items map[string]string
		cases []deliverCase
	}{
		{"previous key until a later time in seconds", map[string]string{testKeyName: current, previous: vf.Key, until: fmt.Sprint(later.Unix())},
			append(stamped(vf.Key, true), stamped(current, true)...)},
		{"previous key until a later time in GMT", map[string]string{testKeyName: current, previous: vf.Key, until: later.UTC().Format(time.DateTime)},
			stamped(vf.Key, true)},
		{"previous key past its time", map[string]string{testKeyName: current, previous: vf.Key, until: fmt.Sprint(earlier.Unix())},
			append(stamped(vf.Key, false), stamped(current, true)...)},
		{"previous key without a time", map[string]string{testKeyName: current, previous: vf.Key}, stamped(vf.Key, false)},
		{"key longer than a block", map[string]string{testKeyName: long}, stamped(long, true)},
		{"no key", map[string]string{}, stamped(vf.Key, false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runDeliverCases(t, tools, guard, tc.items, OnMismatchRefuse, tc.cases)
		})
	}
}
