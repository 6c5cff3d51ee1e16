package sarif

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/alert"
	"github.com/cachefence/cachefence/catalog"
	"github.com/cachefence/cachefence/internal/sarif/schema"
)

type sarifLog struct {
	Runs []struct {
		OriginalURIBaseIDs map[string]struct{ URI string } `json:"originalUriBaseIds"`
		Tool               struct {
			Driver struct {
				Rules []struct {
					ID      string
					HelpURI string `json:"helpUri"`
					Help    struct{ Markdown string }
				}
			}
		}
		Results []struct {
			RuleID              string
			RuleIndex           int
			PartialFingerprints map[string]string
			Locations           []struct {
				PhysicalLocation struct {
					ArtifactLocation struct {
						URI       string
						URIBaseID string `json:"uriBaseId"`
					}
				}
			}
		}
		Invocations []struct {
			ExecutionSuccessful bool
		}
	}
}

func write(t *testing.T, r Run) (sarifLog, []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, r); err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(b.Bytes()); err != nil {
		t.Fatalf("not SARIF 2.1.0: %v\n%s", err, b.String())
	}
	var log sarifLog
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	return log, b.Bytes()
}

// URIs are relative to the declared root, never "../": a file outside it
// is an absolute file: URI, a URL stays a URL.
func TestLocations(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	if err := os.MkdirAll("cdn", 0o755); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(filepath.Dir(root), "elsewhere.vcl")
	log, raw := write(t, Run{Tool: "cachefence audit", Rules: catalog.Of(catalog.Audit), Root: "cdn",
		Results: []Result{
			{ID: "stores_private", File: "cdn/dist.json", Line: 3, Severity: alert.Critical},
			{ID: "ignores_private", File: filepath.Join(root, "cdn", "a b.vcl"), Severity: alert.High},
			{ID: "drift", File: outside, Severity: alert.Low},
			{ID: "leak", File: "https://www.example.com/account", Severity: alert.Critical},
		}, Errors: []string{"x.json: not JSON"}})
	if strings.Contains(string(raw), "../") || strings.Contains(string(raw), `..\\`) {
		t.Errorf("a URI climbs out of the root:\n%s", raw)
	}
	run := log.Runs[0]
	if got, want := run.OriginalURIBaseIDs[RootID].URI, "file://"+filepath.ToSlash(filepath.Join(root, "cdn"))+"/"; got != want {
		t.Errorf("root %q, want %q", got, want)
	}
	want := []struct{ uri, base string }{
		{"dist.json", RootID}, {"a%20b.vcl", RootID},
		{"file://" + filepath.ToSlash(outside), ""}, {"https://www.example.com/account", ""},
	}
	for i, w := range want {
		loc := run.Results[i].Locations[0].PhysicalLocation.ArtifactLocation
		if loc.URI != w.uri || loc.URIBaseID != w.base {
			t.Errorf("result %d at %+v, want %+v", i, loc, w)
		}
	}
	if run.Invocations[0].ExecutionSuccessful {
		t.Error("a run with errors is called successful")
	}
}

// Rules link to their own section; results point at their rule; the
// fingerprint follows the finding's identity, not its line.
func TestRulesAndFingerprints(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	results := func(file string, line int, identity string) []Result {
		return []Result{{ID: "cookies_not_in_key", File: file, Line: line, Identity: identity, Severity: alert.High}}
	}
	rules := catalog.Of(catalog.Audit)
	a, _ := write(t, Run{Tool: "t", Rules: rules, Results: results("cdn/d.json", 3, "behavior /")})
	b, _ := write(t, Run{Tool: "t", Rules: rules, Results: results("./cdn/d.json", 40, "behavior /")})
	c, _ := write(t, Run{Tool: "t", Rules: rules, Results: results("cdn/d.json", 3, "behavior /api")})
	d, _ := write(t, Run{Tool: "t", Rules: rules, Results: results("cdn/e.json", 3, "behavior /")})
	e, _ := write(t, Run{Tool: "t", Rules: rules, Root: dir, Results: results(filepath.Join(dir, "cdn", "d.json"), 7, "behavior /")})
	fp := func(l sarifLog) string { return l.Runs[0].Results[0].PartialFingerprints[FingerprintKey] }
	if fp(a) == "" || fp(a) != fp(b) || fp(a) != fp(e) || fp(a) == fp(c) || fp(a) == fp(d) {
		t.Errorf("fingerprints %q (line 3), %q (./, line 40), %q (absolute, line 7), %q (other scope), %q (other file)",
			fp(a), fp(b), fp(e), fp(c), fp(d))
	}
	run := a.Runs[0]
	if len(run.Tool.Driver.Rules) != len(rules) {
		t.Fatalf("%d rules, want %d", len(run.Tool.Driver.Rules), len(rules))
	}
	res := run.Results[0]
	if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
		t.Errorf("result %s points at rule %d", res.RuleID, res.RuleIndex)
	}
	for i, r := range run.Tool.Driver.Rules {
		if r.HelpURI != rules[i].DocURL() || !strings.HasSuffix(r.HelpURI, "#"+r.ID) ||
			!strings.Contains(r.Help.Markdown, rules[i].Title) {
			t.Errorf("rule %s: helpUri %q, markdown %q", r.ID, r.HelpURI, r.Help.Markdown)
		}
	}
}

// The schema check itself rejects what is not SARIF.
func TestSchemaRejects(t *testing.T) {
	for _, bad := range []string{`{}`, `{"version":"2.1.0","runs":[{"tool":{}}]}`, `{"version":"2.0.0","runs":[]}`} {
		if schema.Validate([]byte(bad)) == nil {
			t.Errorf("%s passes the SARIF schema", bad)
		}
	}
}
