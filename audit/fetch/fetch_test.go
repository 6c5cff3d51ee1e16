package fetch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/load"
)

// verdicts lists what an audit of cfg finds, as severity, check and
// scope: what a fetched configuration and its exported files share,
// whatever their file names and lines. Each scope is checked alone: a
// report lists a setting that several scopes share once, and a policy
// fetched is one file where a managed one is known by its ID in each
// behavior.
func verdicts(t *testing.T, cfg *audit.Config) []string {
	t.Helper()
	if len(cfg.Errors) > 0 {
		t.Fatalf("errors reading: %v", cfg.Errors)
	}
	var out []string
	for _, s := range cfg.Scopes {
		for _, f := range audit.Run([]audit.Scope{s}) {
			out = append(out, fmt.Sprintf("%s %s %s", f.Severity, f.ID, f.Scope))
		}
	}
	slices.Sort(out)
	return out
}

// sameAsFiles checks that files, fetched, audit as the exported files
// under paths do.
func sameAsFiles(t *testing.T, files []audit.File, paths ...string) {
	t.Helper()
	got, want := verdicts(t, load.Files(files, "")), verdicts(t, load.Paths(paths, ""))
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("fetched, the audit finds\n%s\nwant, as from %v,\n%s", strings.Join(got, "\n"), paths, strings.Join(want, "\n"))
	}
}

// noSecret fails if any of texts holds any of secrets.
func noSecret(t *testing.T, texts []string, secrets ...string) {
	t.Helper()
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("a secret shows in %q", text)
			}
		}
	}
}

// failed checks a fetch's error: with want, that there is one and it
// says each of want; without, that there is none. It reports whether
// there was one.
func failed(t *testing.T, files []audit.File, err error, want []string) bool {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatal(err)
	case want != nil && err == nil:
		t.Fatalf("no error; files %v", files)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	return err != nil
}

// texts are what a fetch shows: its files' names and contents, and its
// error.
func texts(files []audit.File, err error) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Path, string(f.Data))
	}
	if err != nil {
		out = append(out, err.Error())
	}
	return out
}

// Parse tells sources from paths, and refuses a source it cannot fetch
// before any run, naming what to set.
func TestParse(t *testing.T) {
	t.Setenv("FENCE_EMPTY_TOKEN", "")
	o := Options{CloudflareTokenEnv: "FENCE_EMPTY_TOKEN",
		CloudFront: func(context.Context) (CloudFrontAPI, error) { return nil, errors.New("no client in this test") }}
	for _, tc := range []struct {
		arg, name, err string
	}{
		{"audit/cloudfront/testdata/proxy", "", ""},
		{"./cloudfront:E2QWRUHAPOMQZL", "", ""},
		{"cloudfront:", "", "cloudfront:: want cloudfront:DISTRIBUTION_ID"},
		{"cloudfront:E2/../../x", "", "want cloudfront:DISTRIBUTION_ID"},
		{"cloudfront:E2QWRUHAPOMQZL", "", "cloudfront:E2QWRUHAPOMQZL: no client in this test"},
		{"cloudflare:023e105f4ecef8ad9ca31a8372d0c353", "", "$FENCE_EMPTY_TOKEN is empty"},
		{"cloudflare:zone?x=1", "", "want cloudflare:ZONE_ID"},
		{"cmd:", "", "cmd: names no command"},
		{"cmd:terraform show -json", "cmd:terraform", ""},
	} {
		src, err := Parse(context.Background(), tc.arg, o)
		name := ""
		if src != nil {
			name = src.Name()
		}
		if name != tc.name || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Parse(%q) = %q, %v; want %q, %q", tc.arg, name, err, tc.name, tc.err)
		}
	}
}
