package probe

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/catalog"
	"github.com/cachefence/cachefence/internal/sarif/schema"
)

// A report's JSON carries each finding's words from the catalogue, and its
// SARIF is valid, locates each finding at its URL, and keeps what cannot
// be trusted as errors.
func TestReportWords(t *testing.T) {
	r := &Report{site: "https://www.example.com/", Untrusted: []string{"alice never saw her own page"},
		Findings: []Finding{
			{Severity: severityOf(KindLeak), Kind: KindLeak, URL: "https://www.example.com/account",
				Pairs: []Pair{{"alice", "bob"}}, Mechanisms: []string{MechSequential}, Evidence: []string{"marker 1 of alice"}},
			{Severity: severityOf(KindNotCacheable), Kind: KindNotCacheable, URL: "https://www.example.com/"},
		}}
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Findings []struct{ Kind, Severity, Title, Remediation, Doc string }
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, f := range doc.Findings {
		e := catalog.Must(f.Kind)
		if f.Severity != string(e.Severity) || f.Title != e.Title || f.Remediation != e.Remediation || f.Doc != e.DocURL() {
			t.Errorf("JSON finding %+v, want the words of %+v", f, e)
		}
	}
	b.Reset()
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "A personal page reached someone else. To do: Stop the cache") {
		t.Errorf("the text report does not say what a leak is:\n%s", b.String())
	}
	b.Reset()
	if err := r.WriteSARIF(&b); err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(b.Bytes()); err != nil {
		t.Fatalf("not SARIF 2.1.0: %v\n%s", err, b.String())
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID    string
				Locations []struct {
					PhysicalLocation struct{ ArtifactLocation struct{ URI string } }
				}
			}
			Invocations []struct {
				ExecutionSuccessful        bool
				ToolExecutionNotifications []struct{ Message struct{ Text string } }
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if len(run.Results) != 2 || run.Results[0].RuleID != KindLeak ||
		run.Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI != "https://www.example.com/account" {
		t.Errorf("results %+v", run.Results)
	}
	if inv := run.Invocations[0]; inv.ExecutionSuccessful || len(inv.ToolExecutionNotifications) != 1 {
		t.Errorf("an untrusted run's invocation %+v", inv)
	}
}
