package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/cachefence/cachefence/internal/sarif/schema"
	"slices"
	"strings"
	"testing"
)

func sampleConfig() *Config {
	return &Config{Scopes: []Scope{
		{Vendor: Nginx, Name: "location /", Authorization: &Setting{File: "a.conf", Line: 9, Name: "proxy_cache", Value: "one"}},
		{Vendor: Akamai, Name: "rule default", Store: &Setting{File: "b.json", Line: 3, Name: "behavior", Value: "MAX_AGE"}, Obeys: EdgeControlNoStore},
		{Vendor: CloudFront, Name: "behavior /api/*", Collapses: &Setting{File: "c.json", Line: 5, Name: "MaxTTL", Value: "60"}},
		{Vendor: CloudFront, Name: "default behavior", Store: &Setting{File: "c.json", Line: 4, Name: "MinTTL", Value: "1"}},
	}}
}

// Worst first; among equals, what the fence does not defend first.
func TestReportOrder(t *testing.T) {
	r := NewReport(sampleConfig(), nil)
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.ID)
	}
	want := "stores_private caches_authorization ignores_private collapses_uncacheable"
	if strings.Join(got, " ") != want {
		t.Errorf("order %v, want %s", got, want)
	}
}

func TestExitCode(t *testing.T) {
	r := NewReport(sampleConfig(), nil)
	for failOn, want := range map[Severity]int{Critical: ExitFindings, High: ExitFindings, Low: ExitFindings} {
		if got := r.ExitCode(failOn); got != want {
			t.Errorf("--fail-on %s: exit %d, want %d", failOn, got, want)
		}
	}
	medium := NewReport(&Config{Scopes: sampleConfig().Scopes[2:3]}, nil)
	if got := medium.ExitCode(High); got != ExitClean {
		t.Errorf("a medium finding with --fail-on high: exit %d, want 0", got)
	}
	if got := medium.ExitCode(Medium); got != ExitFindings {
		t.Errorf("a medium finding with --fail-on medium: exit %d, want 1", got)
	}
	broken := NewReport(&Config{Errors: []error{&FileError{File: "x.json", Line: 2, Err: errors.New("bad")}}}, nil)
	if got := broken.ExitCode(Low); got != ExitError {
		t.Errorf("an unreadable file: exit %d, want 2", got)
	}
	if broken.Errors[0] != "x.json:2: bad" {
		t.Errorf("error %q, want file:line: message", broken.Errors[0])
	}
}

// Files that hold nothing the audit reads are an error, never a pass,
// whether something was skipped or not.
func TestNothingAudited(t *testing.T) {
	for _, cfg := range []*Config{{}, {Skipped: []Skip{{File: "main.tf", What: "module cdn"}}}} {
		r := NewReport(cfg, nil)
		if r.ExitCode(Low) != ExitError || !slices.Contains(r.Errors, NothingAudited) || strings.Contains(r.summary(), "clean") {
			t.Errorf("%+v: exit %d, errors %q, summary %q", cfg, r.ExitCode(Low), r.Errors, r.summary())
		}
	}
}

// The JSON has findings, errors and skipped arrays, even empty, and each
// finding the fields the issue names.
func TestJSONFields(t *testing.T) {
	var b bytes.Buffer
	if err := NewReport(&Config{Scopes: []Scope{{Vendor: Nginx, Name: "location /"}}}, nil).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	for _, empty := range []string{`"findings": []`, `"errors": []`, `"skipped": []`} {
		if !strings.Contains(b.String(), empty) {
			t.Errorf("no %s in a clean report:\n%s", empty, b.String())
		}
	}
	b.Reset()
	if err := NewReport(sampleConfig(), nil).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var out struct{ Findings []map[string]any }
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"id", "severity", "file", "line", "scope", "setting", "message", "fix", "defended_by_fence"} {
		if _, ok := out.Findings[0][key]; !ok {
			t.Errorf("finding has no %q: %v", key, out.Findings[0])
		}
	}
}

// The text report leads with what must be fixed at the CDN, and never
// calls a partly read configuration clean.
func TestText(t *testing.T) {
	var b bytes.Buffer
	if err := NewReport(sampleConfig(), nil).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if !strings.HasPrefix(text, "CRITICAL stores_private  c.json:4  default behavior\n") ||
		!strings.Contains(text, "fix at the CDN") || !strings.Contains(text, "1 critical, 2 high, 1 medium (2 to fix at the CDN)") {
		t.Errorf("text:\n%s", text)
	}
	b.Reset()
	skipped := &Config{Skipped: []Skip{{File: "nginx.conf", Line: 3, What: "include x.conf"}}}
	if err := NewReport(skipped, nil).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "clean") || !strings.Contains(b.String(), "SKIPPED  nginx.conf:3: skipped include x.conf") {
		t.Errorf("partly read, text:\n%s", b.String())
	}
}

// SARIF: version 2.1.0 by the schema, one rule per check and drift with
// a security-severity, and results that point at their rule, file and
// line.
func TestSARIF(t *testing.T) {
	var b bytes.Buffer
	if err := NewReport(sampleConfig(), nil).WriteSARIF(&b, ""); err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID         string
						Properties map[string]any
					}
				}
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if log.Version != "2.1.0" || len(run.Tool.Driver.Rules) != len(Checks)+1 {
		t.Fatalf("version %q, %d rules", log.Version, len(run.Tool.Driver.Rules))
	}
	for _, rule := range run.Tool.Driver.Rules {
		if rule.Properties["security-severity"] == nil {
			t.Errorf("rule %s has no security-severity", rule.ID)
		}
	}
	first := run.Results[0]
	loc := first.Locations[0].PhysicalLocation
	if first.RuleID != "stores_private" || run.Tool.Driver.Rules[first.RuleIndex].ID != first.RuleID ||
		first.Level != "error" || loc.ArtifactLocation.URI != "c.json" || loc.Region.StartLine != 4 {
		t.Errorf("first result %+v", first)
	}
}

// Drift: changes are findings with before and after; volatile fields do
// not count; secrets are never written or shown.
func TestDrift(t *testing.T) {
	before := &Config{Settings: []Setting{
		{File: "dist.json", Name: "DefaultCacheBehavior.MinTTL", Value: "0"},
		{File: "dist.json", Name: "Comment", Value: "api"},
		{File: "svc.json", Name: "logging.token", Value: "s3cr3t-token"},
	}}
	base := NewBaseline(before)
	var saved bytes.Buffer
	if err := base.Write(&saved); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(saved.String(), "s3cr3t") {
		t.Fatalf("the baseline holds a secret:\n%s", saved.String())
	}
	read, err := ReadBaseline(&saved)
	if err != nil {
		t.Fatal(err)
	}
	after := &Config{Settings: []Setting{
		{File: "dist.json", Line: 12, Name: "DefaultCacheBehavior.MinTTL", Value: "1"},
		{File: "dist.json", Name: "Comment", Value: "api"},
		{File: "svc.json", Name: "logging.token", Value: "n3w-token"},
		{File: "new.json", Name: "x", Value: "y"},
	}}
	drift := read.Drift(after)
	got := map[string]Finding{}
	for _, f := range drift {
		if f.Kind != KindDrift || f.ID != "drift" {
			t.Errorf("drift finding %+v", f)
		}
		got[f.File+" "+f.Setting] = f
	}
	if len(got) != 3 {
		t.Errorf("got %d changes, want 3: %+v", len(got), drift)
	}
	if f := got["dist.json DefaultCacheBehavior.MinTTL"]; *f.Before != "0" || *f.After != "1" || f.Line != 12 {
		t.Errorf("MinTTL change %+v", f)
	}
	if f := got["svc.json logging.token"]; *f.Before != Digest("s3cr3t-token") || *f.After != Digest("n3w-token") {
		t.Errorf("a secret's change shows %q -> %q, want their digests", *f.Before, *f.After)
	}
	if _, ok := got["new.json (file)"]; !ok {
		t.Errorf("a file new since the baseline is not reported")
	}
	if !Volatile("ETag") || !Volatile("LastModifiedTime") || Volatile("MinTTL") {
		t.Error("Volatile is wrong about ETag, LastModifiedTime or MinTTL")
	}
}
