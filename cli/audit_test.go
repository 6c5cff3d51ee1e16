package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/internal/sarif/schema"
)

// fixture returns the absolute path of an audit fixture.
func fixture(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "audit", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAudit runs the audit command as a user does, from one build.
func TestAudit(t *testing.T) {
	bin := buildCachefence(t)
	t.Run("command line", func(t *testing.T) { auditCommandLine(t, bin) })
	t.Run("formats", func(t *testing.T) { auditFormats(t, bin) })
	t.Run("baseline and secrets", func(t *testing.T) { auditBaselineAndSecrets(t, bin) })
	t.Run("watch mode", func(t *testing.T) { auditWatch(t, bin) })
}

// With --every, the first run fires the findings at or above --fail-on to
// the webhook in one message, each saying where to fix it.
func auditWatch(t *testing.T, bin string) {
	hook, url := startHookServer(t)
	proxy := fixture(t, "cloudfront/testdata/proxy")
	startCommand(t, bin, "audit", "--every", "1h", "--webhook", url, proxy)
	msgs := hook.wait(t, 1)
	m := msgs[0]
	if m.Source != "audit" || len(m.Firing) == 0 || len(m.Resolved) != 0 {
		t.Fatalf("first message %+v: want the audit firing its findings", m)
	}
	for _, c := range m.Firing {
		if !c.Severity.AtLeast(audit.High) {
			t.Errorf("%s (%s) fired below --fail-on high", c.Kind, c.Severity)
		}
	}
	found := false
	for _, c := range m.Firing {
		found = found || (c.Kind == "stores_private" && c.Severity == audit.Critical && strings.HasSuffix(c.Summary, "fix at the CDN"))
	}
	if !found {
		t.Errorf("no critical stores_private cause to fix at the CDN among %+v", m.Firing)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(hook.messages()); n != 1 {
		t.Errorf("%d messages after one run, want 1", n)
	}
}

// Exit 0 clean, 1 findings at or above --fail-on, 2 when it cannot run,
// and usage errors that name the flag.
func auditCommandLine(t *testing.T, bin string) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte("{\n  \"DistributionConfig\": \n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "v1.json"), []byte(`{"version": 1, "files": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	safe := fixture(t, "cloudfront/testdata/safe")
	proxy := fixture(t, "cloudfront/testdata/proxy")
	akamai := fixture(t, "akamai/testdata/waa-dynamic.json")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"audit", safe}, 0, "clean: no findings in 2 scopes"},
		{[]string{"audit", proxy}, 1, "CRITICAL stores_private  " + proxy + "/cache-policy.json:11  distribution default behavior\n"},
		{[]string{"audit", "--fail-on", "critical", akamai}, 0, "3 high (0 to fix at the CDN)"},
		{[]string{"audit", "--fail-on", "high", akamai}, 1, "HIGH     ignores_private"},
		{[]string{"audit", "notes.txt"}, 2, "notes.txt: unknown format; known kinds: terraform, cloudfront, cloudflare, gcp, akamai, fastly, varnish, nginx"},
		{[]string{"audit", "broken.json"}, 2, "ERROR    broken.json:3: invalid character '}'"},
		{[]string{"audit", "--kind", "nginx", "notes.txt"}, 2, `ERROR    notes.txt:1: a directive is not terminated by ";"`},
		{[]string{"audit"}, 2, "cachefence audit: no path given"},
		{[]string{"audit", "--bogus", safe}, 2, "cachefence audit: unknown flag: --bogus"},
		{[]string{"audit", "--format", "xml", safe}, 2, `cachefence audit: --format "xml": want text, json or sarif`},
		{[]string{"audit", "--fail-on", "severe", safe}, 2, `cachefence audit: --fail-on "severe": want critical, high, medium or low`},
		{[]string{"audit", "--kind", "azure", safe}, 2, `cachefence audit: --kind "azure": want one of terraform, cloudfront`},
		{[]string{"audit", "--baseline", "missing.json", safe}, 2, "cachefence audit: --baseline: open missing.json"},
		{[]string{"audit", "--baseline", "v1.json", safe}, 2, "cachefence audit: --baseline v1.json: a baseline of version 1 may hold header values in clear"},
		{[]string{"audit", "--help"}, 0, "\n  cachefence audit [--kind <kind>]"},
		{[]string{"audit", "--every", "10s", safe}, 2, "cachefence audit: --every 10s: at least 1m0s"},
		{[]string{"audit", "--every", "1h", "--write-baseline", "b.json", safe}, 2, "cachefence audit: --write-baseline goes with a single run"},
		{[]string{"audit", "--webhook", "http://127.0.0.1:1/hook", safe}, 2, "cachefence audit: --webhook and --metrics need --every"},
		{[]string{"audit", "explain", "stores_private", "--vendor", "cloudfront"}, 0,
			"stores_private (audit, critical): Stores responses marked private, no-store\n"},
		{[]string{"audit", "explain", "stores_private", "--vendor", "nginx"}, 0,
			"\n  Bad (audit/nginx/testdata/stores_private/bad.conf):\n"},
		{[]string{"audit", "explain", "cookies_not_in_key"}, 0, "Add --vendor for its bad and good example."},
		{[]string{"audit", "explain", "leak"}, 0, "leak (probe, critical): A personal page reached someone else"},
		{[]string{"audit", "explain", "session_cookie"}, 0, "What to do: If the page does not depend on cookies, tag the route public"},
		{[]string{"audit", "explain", "nope"}, 2, `cachefence audit: no check or finding "nope"; known: stores_private, `},
		{[]string{"audit", "explain", "leak", "--vendor", "nginx"}, 2, "cachefence audit: --vendor: leak is no audit check"},
		{[]string{"audit", "explain", "no_deception_armor", "--vendor", "nginx"}, 2, `cachefence audit: --vendor "nginx": no_deception_armor names a fix for cloudflare`},
		{[]string{"audit", "--vendor", "nginx", safe}, 2, "cachefence audit: --vendor goes with explain"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out := runCachefence(t, bin, dir, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want %d, with %q in:\n%s", code, tc.code, tc.want, out)
			}
		})
	}
}

// JSON and SARIF are documents a machine can read; JSON has the fields
// the issue names.
func auditFormats(t *testing.T, bin string) {
	proxy := fixture(t, "cloudfront/testdata/proxy")
	code, out := runCachefence(t, bin, t.TempDir(), "audit", "--format", "json", proxy)
	var report struct {
		Findings []map[string]any
		Errors   []string
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil || code != 1 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	first := report.Findings[0]
	for key, want := range map[string]any{"id": "stores_private", "severity": "critical", "line": 11.0,
		"scope": "distribution default behavior", "setting": "MinTTL", "defended_by_fence": false} {
		if first[key] != want {
			t.Errorf("%s = %v, want %v", key, first[key], want)
		}
	}
	for _, key := range []string{"file", "message", "fix"} {
		if s, _ := first[key].(string); s == "" {
			t.Errorf("%s is empty", key)
		}
	}
	// SARIF, as GitHub code scanning is given it: valid by the schema,
	// URIs relative to --root.
	code, out = runCachefence(t, bin, t.TempDir(), "audit", "--format", "sarif", "--root", filepath.Dir(proxy), proxy)
	var sarif struct {
		Version string
		Runs    []struct {
			Results []struct {
				RuleID    string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI, URIBaseID string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &sarif); err != nil || code != 1 || sarif.Version != "2.1.0" ||
		len(sarif.Runs[0].Results) != len(report.Findings) {
		t.Fatalf("exit %d, %v, SARIF:\n%s", code, err, out)
	}
	if err := schema.Validate([]byte(out)); err != nil {
		t.Errorf("not SARIF 2.1.0: %v", err)
	}
	if loc := sarif.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation; loc.URI != "proxy/cache-policy.json" || loc.URIBaseID != "SRCROOT" {
		t.Errorf("first result at %+v, want proxy/cache-policy.json from SRCROOT", loc)
	}
}

// A baseline records the configuration; a later change is a drift
// finding with before and after, and the dangerous value is reported by
// its check as well. Secrets never leave the files: not in findings,
// errors or the baseline, whether they look like one (a bearer token) or
// not (the origin secret of an X-Origin-Verify header).
func auditBaselineAndSecrets(t *testing.T, bin string) {
	dir := t.TempDir()
	const secret = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0"
	const origin, rotated = "q8Zr7uVb2KpX4mN9wT3e", "Jd3kQ9wLm2Xp7RtV5yBn"
	conf := func(ttl, verify string) string {
		return "server {\n  location / {\n    proxy_pass http://app;\n    proxy_set_header Authorization \"" + secret + "\";\n" +
			"    proxy_cache one;\n    proxy_cache_valid 200 " + ttl + ";\n    proxy_ignore_headers Cache-Control X-Accel-Expires Expires;\n" +
			"    proxy_no_cache $http_authorization $cookie_sid;\n    proxy_set_header Host $host;\n" +
			"    proxy_set_header X-Origin-Verify " + verify + ";\n  }\n}\n"
	}
	site := filepath.Join(dir, "site.conf")
	if err := os.WriteFile(site, []byte(conf("1m", origin)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := runCachefence(t, bin, dir, "audit", "--write-baseline", "base.json", "site.conf")
	if code != 1 || !strings.Contains(out, "CRITICAL stores_private  site.conf:7") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if err := os.WriteFile(site, []byte(conf("1h", origin)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = runCachefence(t, bin, dir, "audit", "--baseline", "base.json", "--format", "json", "site.conf")
	var report struct{ Findings []map[string]any }
	if err := json.Unmarshal([]byte(out), &report); err != nil || code != 1 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	var drift map[string]any
	for _, f := range report.Findings {
		if f["kind"] == "drift" {
			drift = f
		}
	}
	if drift == nil || drift["setting"] != "server > location / > proxy_cache_valid" || drift["before"] != "200 1m" || drift["after"] != "200 1h" {
		t.Errorf("drift %v in:\n%s", drift, out)
	}
	base, err := os.ReadFile(filepath.Join(dir, "base.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "json", "sarif"} {
		_, out := runCachefence(t, bin, dir, "audit", "--baseline", "base.json", "--format", format, "site.conf")
		if strings.Contains(out, "eyJhbGciOiJIUzI1NiJ9") || strings.Contains(out, origin) {
			t.Errorf("%s output shows the secret:\n%s", format, out)
		}
	}
	if strings.Contains(string(base), "eyJhbGciOiJIUzI1NiJ9") || strings.Contains(string(base), origin) {
		t.Errorf("the baseline holds the secret:\n%s", base)
	}
	if !strings.Contains(string(base), `"Host $host"`) || !strings.Contains(string(base), `"X-Origin-Verify sha256:`) {
		t.Errorf("the baseline does not show Host $host and the origin secret's header:\n%s", base)
	}

	// Rotating the origin secret alone is drift, shown as digests.
	if err := os.WriteFile(site, []byte(conf("1m", rotated)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "json", "sarif"} {
		_, out := runCachefence(t, bin, dir, "audit", "--baseline", "base.json", "--format", format, "site.conf")
		if strings.Contains(out, origin) || strings.Contains(out, rotated) {
			t.Errorf("%s output shows the secret:\n%s", format, out)
		}
		if want := "X-Origin-Verify " + audit.Digest(rotated); !strings.Contains(out, want) {
			t.Errorf("%s output does not show the new secret as %s:\n%s", format, want, out)
		}
	}
}
