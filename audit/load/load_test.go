package load

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachefence/cachefence/audit"
)

// fixtures are configurations adapted from real public ones (each names
// its source in its first line, or in a .source file beside it), with the
// findings expected of each: severity, check, file:line, and whether the
// fence defends it ("defended") or it must be fixed at the CDN ("cdn").
var fixtures = []struct {
	path string
	want []string
}{
	{"../cloudfront/testdata/proxy", []string{
		"critical stores_private cache-policy.json:11 cdn",
		"critical stores_private distribution.json:53 cdn",
		"high replays_set_cookie cache-policy.json:20 cdn",
		"high cookies_not_in_key distribution.json:38 cdn",
		"high cookies_not_in_key distribution.json:54 cdn",
		"high replays_set_cookie distribution.json:54 cdn",
		"medium collapses_uncacheable cache-policy.json:10 cdn",
		"medium collapses_uncacheable distribution.json:53 cdn",
	}},
	{"../cloudfront/testdata/safe", []string{}},
	// Its cache policy 83da9c7e is AWS's managed UseOriginCacheControlHeaders:
	// MinTTL 0, every cookie in the key, so Set-Cookie is stored with it.
	{"../cloudfront/testdata/unresolved", []string{
		"high replays_set_cookie distribution.json:18 defended",
		"high replays_set_cookie distribution.json:33 defended",
		"medium collapses_uncacheable distribution.json:18 cdn",
		"medium collapses_uncacheable distribution.json:30 cdn",
	}},
	{"../cloudflare/testdata/ruleset.json", []string{
		"critical stores_private ruleset.json:30 cdn",
		"high caches_authorization ruleset.json:64 cdn",
		"high strips_set_cookie ruleset.json:64 cdn",
		"medium static_rule_ignores_headers ruleset.json:15 cdn",
		"low no_deception_armor ruleset.json:24 cdn",
	}},
	{"../cloudflare/testdata/pagerules.json", []string{
		"critical stores_private pagerules.json:8 cdn",
		"medium static_rule_ignores_headers pagerules.json:22 cdn",
		"low no_deception_armor pagerules.json:3 cdn",
	}},
	{"../gcp/testdata/backend-services.json", []string{
		"critical stores_private backend-services.json:19 cdn",
	}},
	{"../gcp/testdata/backend-bucket.json", []string{}},
	// Its "Static Content" rule keeps pdf, doc, txt and zip a day whatever
	// Cache-Control says: files origins render per user (invoices, exports).
	// Akamai still obeys Edge-Control, which the fence sends.
	{"../akamai/testdata/waa.json", []string{"high ignores_private waa.json:64 defended"}},
	{"../akamai/testdata/waa-dynamic.json", []string{
		"high ignores_private waa-dynamic.json:64 defended",
		"high ignores_private waa-dynamic.json:177 defended",
		"high ignores_private waa-dynamic.json:205 defended",
	}},
	{"../fastly/testdata/pypi-main.vcl", []string{
		"high cookies_not_in_key pypi-main.vcl:53 defended",
		"high ignores_private pypi-main.vcl:181 defended",
	}},
	{"../fastly/testdata/service.json", []string{
		"critical stores_private service.json:17 cdn",
		"high overrides_freshness service.json:17 cdn",
		"high cookies_not_in_key service.json:5 defended",
		"medium static_rule_ignores_headers service.json:16 cdn",
	}},
	{"../varnish/testdata/lempress.vcl", []string{
		"high strips_set_cookie lempress.vcl:21 defended",
	}},
	{"../varnish/testdata/eksiscloud", []string{
		"high strips_set_cookie be_end.vcl:32 defended",
	}},
	{"../varnish/testdata/early-return.vcl", []string{
		"critical stores_private early-return.vcl:24 cdn",
		"high overrides_freshness early-return.vcl:22 cdn",
		"high caches_authorization early-return.vcl:13 defended",
		"high cookies_not_in_key early-return.vcl:13 defended",
		"medium static_rule_ignores_headers early-return.vcl:20 cdn",
	}},
	{"../varnish/testdata/safe.vcl", []string{}},
	{"../nginx/testdata/stupid", []string{
		"high caches_authorization proxy_cache.conf:4 defended",
		"high cookies_not_in_key proxy_cache.conf:4 defended",
	}},
	{"../nginx/testdata/stupid-guarded", []string{}},
	{"../nginx/testdata/team3-proxy", []string{
		"high caches_authorization default.conf:15 defended",
		"high cookies_not_in_key default.conf:15 defended",
		"high ignores_private default.conf:16 defended",
		"high replays_set_cookie default.conf:16 defended",
	}},
	{"../terraform/testdata/droposhado", []string{
		"high replays_set_cookie aws-cloudfront-cache-policy.tf:11 cdn",
		"medium stores_private_keyed aws-cloudfront-cache-policy.tf:6 cdn",
		"medium collapses_uncacheable aws-cloudfront-cache-policy.tf:7 cdn",
	}},
	{"../terraform/testdata/fluidattacks", []string{
		"critical stores_private cache.tf:12 cdn",
		"critical stores_private cache.tf:29 cdn",
		"low no_deception_armor cache.tf:4 cdn",
		"low no_deception_armor cache.tf:21 cdn",
	}},
	{"../terraform/testdata/cloudflare-provider", []string{
		"critical stores_private rulesetcachesettingsedgettlrespectorigin.tf:19 cdn",
		// A TTL override without cache eligibility still reaches Cloudflare's
		// default cached extensions, pdf and csv among them: as dynamic as
		// its expression.
		"critical stores_private rulesetcachesettingsnocacheforstatus.tf:14 cdn",
		"low no_deception_armor rulesetcachesettingsedgettlrespectorigin.tf:10 cdn",
		"low no_deception_armor rulesetcachesettingsnocacheforstatus.tf:10 cdn",
	}},
	{"../terraform/testdata/gcp-docs", []string{}},
	{"../terraform/testdata/gcp-force", []string{
		"critical stores_private main.tf:6 cdn",
		"critical stores_private main.tf:24 cdn",
	}},
	{"../terraform/testdata/show/state.json", []string{
		"critical stores_private state.json:20 cdn",
		"high cookies_not_in_key state.json:48 cdn",
		"high replays_set_cookie state.json:48 cdn",
		"medium collapses_uncacheable state.json:19 cdn",
	}},
	{"../terraform/testdata/show/plan.json", []string{
		"critical stores_private plan.json:18 cdn",
	}},
}

// Each fixture is read through kind detection, without errors or skips,
// and gives exactly its expected findings.
func TestFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(strings.TrimPrefix(fx.path, "../"), func(t *testing.T) {
			cfg := Paths([]string{fx.path}, "")
			if len(cfg.Errors) > 0 || len(cfg.Skipped) > 0 {
				t.Fatalf("errors %v, skipped %v", cfg.Errors, cfg.Skipped)
			}
			if len(cfg.Scopes) == 0 {
				t.Fatal("no scope read")
			}
			got := []string{}
			for _, f := range audit.NewReport(cfg, nil).Findings {
				where := "cdn"
				if f.DefendedByFence {
					where = "defended"
				}
				got = append(got, strings.Join([]string{string(f.Severity), f.ID, filepath.Base(f.File) + ":" + itoa(f.Line), where}, " "))
			}
			if !slices.Equal(got, append([]string{}, fx.want...)) {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(fx.want, "\n\t"))
			}
		})
	}
}

// The safe configurations have no high or critical finding.
func TestSafeFixtures(t *testing.T) {
	for _, path := range []string{"../cloudfront/testdata/safe", "../gcp/testdata/backend-bucket.json",
		"../varnish/testdata/safe.vcl", "../nginx/testdata/stupid-guarded",
		"../terraform/testdata/gcp-docs", "../cloudfront/testdata/openai-proxy", "../gcp/testdata/url-map.json",
		"../terraform/testdata/wing-website", "../varnish/testdata/purgery.vcl"} {
		r := audit.NewReport(Paths([]string{path}, ""), nil)
		if code := r.ExitCode(audit.High); code != audit.ExitClean {
			t.Errorf("%s: exit %d, findings %+v, errors %v", path, code, r.Findings, r.Errors)
		}
	}
}

// Every fixture names the public configuration it was adapted from.
func TestFixturesNameTheirSource(t *testing.T) {
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(path, "testdata") || strings.Contains(path, "/fuzz/") ||
			strings.HasSuffix(path, ".source") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if isExample(path) {
			return nil // written here for docs/audit.md, as its examples
		}
		first, _, _ := strings.Cut(string(data), "\n")
		if strings.HasPrefix(first, "# Source: ") {
			return nil
		}
		if _, err := os.Stat(path + ".source"); err != nil {
			t.Errorf("%s names no source: no \"# Source:\" first line, no .source file", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// isExample says whether path is a check's good or bad example:
// <vendor>/testdata/<check-id>/{bad,good}.<ext>.
func isExample(path string) bool {
	dir, file := filepath.Split(path)
	id := filepath.Base(dir)
	base := strings.TrimSuffix(file, filepath.Ext(file))
	return filepath.Base(filepath.Dir(filepath.Clean(dir))) == "testdata" && (base == "bad" || base == "good") &&
		slices.ContainsFunc(audit.Checks, func(c *audit.Check) bool { return c.ID == id })
}

func itoa(i int) string { return strconv.Itoa(i) }

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Files that cannot be audited are errors that say why and where: an
// unknown format names the kinds known, a parse error its line.
func TestErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, kind, want string
	}{
		{"notes.txt", "just some text\n", "", "notes.txt: unknown format; known kinds: terraform, cloudfront, cloudflare, gcp, akamai, fastly, varnish, nginx"},
		{"dist.json", "{\n  \"DistributionConfig\": {\n    \"Origins\": [1,]\n  }\n}\n", "", "dist.json:3: invalid character ']'"},
		{"other.json", "{\"hello\": \"world\"}\n", "", "other.json: unknown format"},
		{"main.tf", "resource \"aws_cloudfront_cache_policy\" \"p\" {\n  min_ttl = \n}\n", "", "main.tf:2: Invalid expression"},
		{"nginx.conf", "http {\n  server {\n    location / {\n      proxy_pass http://a\n    }\n  }\n}\n", "", "nginx.conf:4: a directive is not terminated"},
		{"bad.vcl", "vcl 4.1;\nsub vcl_recv {\n  if (req.url {\n}\n", "", "bad.vcl:3: if: condition is not closed"},
		{"forced.txt", "{\"rules\": {\"name\": \"default\", \"behaviors\": []}}", "varnish", "forced.txt:1: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, dir, tc.name, tc.content)
			cfg := Paths([]string{path}, tc.kind)
			if len(cfg.Errors) != 1 || !strings.Contains(cfg.Errors[0].Error(), tc.want) {
				t.Errorf("errors %v, want one with %q", cfg.Errors, tc.want)
			}
		})
	}
	if cfg := Paths([]string{filepath.Join(dir, "missing.json")}, ""); len(cfg.Errors) != 1 {
		t.Errorf("a missing file: errors %v", cfg.Errors)
	}
	if cfg := Paths([]string{dir}, "bogus"); len(cfg.Errors) != 1 || !strings.Contains(cfg.Errors[0].Error(), `unknown kind "bogus"`) {
		t.Errorf("--kind bogus: errors %v", cfg.Errors)
	}
}

// In a directory, files of no known kind are skipped and said so; other
// files (READMEs) and hidden directories (.terraform) are passed over.
func TestDirectory(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "README.md", "# CDN\n")
	write(t, dir, ".terraform/modules/m/main.tf", "resource \"google_compute_backend_service\" \"x\" {\n  enable_cdn = true\n  cdn_policy { cache_mode = \"FORCE_CACHE_ALL\" }\n}\n")
	write(t, dir, "notes.json", "{\"note\": 1}\n")
	write(t, dir, "cdn/backend.json", "{\"kind\": \"compute#backendService\", \"name\": \"app\", \"enableCDN\": true, \"cdnPolicy\": {\"cacheMode\": \"FORCE_CACHE_ALL\"}}\n")
	cfg := Paths([]string{dir}, "")
	if len(cfg.Errors) > 0 || len(cfg.Skipped) != 1 || !strings.HasSuffix(cfg.Skipped[0].File, "notes.json") {
		t.Errorf("errors %v, skipped %v", cfg.Errors, cfg.Skipped)
	}
	if len(cfg.Scopes) != 1 || cfg.Scopes[0].Name != "backend app" {
		t.Errorf("scopes %+v", cfg.Scopes)
	}
}

// --kind reads a file whatever its name says.
func TestForcedKind(t *testing.T) {
	path := write(t, t.TempDir(), "edge.txt", "vcl 4.1;\nbackend d { .host = \"127.0.0.1\"; }\nsub vcl_recv {\n  return (hash);\n}\n")
	if k, err := Detect(path, []byte("vcl 4.1;")); k != "varnish" || err != nil {
		t.Errorf("Detect = %q, %v; want varnish by content", k, err)
	}
	cfg := Paths([]string{path}, "varnish")
	if len(cfg.Errors) > 0 || len(audit.Run(cfg.Scopes)) != 2 {
		t.Errorf("errors %v, findings %+v", cfg.Errors, audit.Run(cfg.Scopes))
	}
}

// A FIFO, named or met in a directory (through a link too), is not opened:
// opening one waits for a writer, and the audit once hung there.
func TestNotRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "edge.vcl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(fifo, filepath.Join(dir, "link.vcl")); err != nil {
		t.Fatal(err)
	}
	for _, paths := range [][]string{{fifo}, {dir}} {
		done := make(chan *audit.Config)
		go func() { done <- Paths(paths, "") }()
		select {
		case cfg := <-done:
			if len(cfg.Errors) == 0 || !strings.Contains(fmt.Sprint(cfg.Errors), "not a regular file") {
				t.Errorf("%v: errors %v, want the FIFO named", paths, cfg.Errors)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v: the audit hangs on a FIFO", paths)
		}
	}
}

// A link in a directory given that points out of it is skipped, never
// read; a link that stays inside is read.
func TestLinksOutOfADirectory(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "cdn")
	secret := write(t, base, "outside/secret.vcl", "vcl 4.1; TOKEN=s3cr3t {\n")
	write(t, dir, "real/ok.conf", "http { server { location / { proxy_pass http://app; } } }\n")
	for link, target := range map[string]string{"out.vcl": secret, "in.conf": filepath.Join(dir, "real", "ok.conf")} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Paths([]string{dir}, "")
	var skipped []string
	for _, s := range cfg.Skipped {
		skipped = append(skipped, s.String())
	}
	if len(cfg.Errors) > 0 || !slices.ContainsFunc(skipped, func(s string) bool { return strings.Contains(s, "out.vcl: skipped a link out") }) {
		t.Errorf("errors %v, skipped %q", cfg.Errors, skipped)
	}
	for _, s := range append(skipped, fmt.Sprint(cfg.Errors)) {
		if strings.Contains(s, "s3cr3t") || strings.Contains(s, "in.conf") {
			t.Errorf("%q: the link out was read, or the one inside was not", s)
		}
	}
}

// Files reads files held in memory, fetched rather than found on disk,
// through the same detection and readers as Paths: the same findings
// from the same bytes, and a file of no known kind is an error.
func TestFiles(t *testing.T) {
	dir := "../cloudfront/testdata/proxy"
	var files []audit.File
	for _, name := range []string{"distribution.json", "cache-policy.json"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, audit.File{Path: filepath.Join(dir, name), Data: data})
	}
	findings := func(cfg *audit.Config) []string {
		var out []string
		for _, f := range audit.NewReport(cfg, nil).Findings {
			out = append(out, fmt.Sprintf("%s %s %s:%d", f.Severity, f.ID, f.File, f.Line))
		}
		return out
	}
	got, want := findings(Files(files, "")), findings(Paths([]string{dir}, ""))
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("Files found %v\nPaths found %v", got, want)
	}
	cfg := Files([]audit.File{{Path: "cmd:echo", Data: []byte("hello\n")}}, "")
	if len(cfg.Errors) != 1 || !strings.Contains(cfg.Errors[0].Error(), "cmd:echo: unknown format") {
		t.Errorf("errors %v, want cmd:echo of an unknown format", cfg.Errors)
	}
}
