package load

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/internal/sarif/schema"
)

// The SARIF of an audit of every fixture and example at once is valid by
// the schema and in the shape GitHub code scanning takes: every result
// located at a file under the root, by uriBaseId, with a fingerprint, and
// no two results with the same fingerprint.
func TestSARIFOfAllTestdata(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	report := audit.NewReport(Paths([]string{root}, ""), nil)
	if len(report.Findings) < 50 {
		t.Fatalf("only %d findings in all the testdata", len(report.Findings))
	}
	var b bytes.Buffer
	if err := report.WriteSARIF(&b, root); err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(b.Bytes()); err != nil {
		t.Fatalf("not SARIF 2.1.0: %v", err)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID              string
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
		}
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, r := range log.Runs[0].Results {
		loc := r.Locations[0].PhysicalLocation.ArtifactLocation
		if loc.URIBaseID != "SRCROOT" || strings.HasPrefix(loc.URI, "/") || strings.Contains(loc.URI, "..") || len(r.Locations) > 10 {
			t.Errorf("%s at %+v", r.RuleID, loc)
		}
		fp := r.PartialFingerprints["cachefence/v1"]
		if other, ok := seen[fp]; ok || fp == "" {
			t.Errorf("%s at %s: fingerprint %q, also of %s", r.RuleID, loc.URI, fp, other)
		}
		seen[fp] = r.RuleID + " " + loc.URI
	}
}
