package docs

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
)

var update = flag.Bool("update", false, "rewrite the checks section of audit.md from the catalogue and the example files")

// The markers around the section of audit.md this test writes.
const (
	checksBegin = "<!-- Generated from the catalogue and audit/<vendor>/testdata/<check-id>/: go test ./docs -update -->\n"
	checksEnd   = "<!-- End of the generated checks. -->\n"
)

// languages name the code fence's language by extension.
var languages = map[string]string{".json": "json", ".tf": "hcl", ".vcl": "vcl", ".conf": "nginx"}

// checksSection renders every check: its catalogue entry, then per vendor
// the fix and the bad and good example files.
func checksSection(t *testing.T) string {
	var b strings.Builder
	b.WriteString(checksBegin)
	for _, c := range audit.Checks {
		defended := "no: fix it at the CDN"
		if c.DefendedByFence {
			defended = "yes, where the cache obeys one of the fence's headers"
		}
		b.WriteString("\n### " + c.ID + "\n\n")
		b.WriteString("**" + c.Title + "** · severity " + string(c.Severity) + " · defended by the fence: " + defended + "\n\n")
		b.WriteString(c.Meaning + "\n\n" + c.Remediation + "\n")
		for _, v := range c.Vendors {
			b.WriteString("\n#### " + v.Vendor + "\n\n")
			b.WriteString("Fix: " + v.Fix + " ([source](" + v.Source + "))\n")
			for _, side := range []string{"Bad", "Good"} {
				paths, _ := filepath.Glob(filepath.Join("..", "audit", v.Vendor, "testdata", c.ID, strings.ToLower(side)+".*"))
				if len(paths) != 1 {
					continue // TestExamples in audit/load says what is missing
				}
				data, err := os.ReadFile(paths[0])
				if err != nil {
					t.Fatal(err)
				}
				fence := "```"
				for strings.Contains(string(data), fence) {
					fence += "`"
				}
				text := string(data)
				if !strings.HasSuffix(text, "\n") {
					text += "\n"
				}
				b.WriteString("\n" + side + ": `" + filepath.ToSlash(strings.TrimPrefix(paths[0], "../")) + "`\n\n")
				b.WriteString(fence + languages[filepath.Ext(paths[0])] + "\n" + text + fence + "\n")
			}
		}
	}
	b.WriteString("\n" + checksEnd)
	return b.String()
}

// audit.md's checks section is what the catalogue and the example files
// say, so the docs, `cachefence audit explain` (which reads this
// section) and the tested examples cannot drift apart.
func TestAuditChecksSection(t *testing.T) {
	doc, err := os.ReadFile("audit.md")
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(doc), checksBegin)
	_, after, ok2 := strings.Cut(rest, checksEnd)
	if !ok1 || !ok2 {
		t.Fatal("audit.md has no generated checks section (its markers are missing)")
	}
	want := checksSection(t)
	if checksBegin+rest[:len(rest)-len(after)] == want {
		return
	}
	if !*update {
		t.Fatal("audit.md's checks section is stale: run go test ./docs -update")
	}
	if err := os.WriteFile("audit.md", []byte(before+want+after), 0o644); err != nil {
		t.Fatal(err)
	}
}

// AuditExamples reads back exactly the files the section was made from.
func TestAuditExamples(t *testing.T) {
	n := 0
	for _, c := range audit.Checks {
		for vendor, ex := range AuditExamples(c.ID) {
			for _, e := range []Example{ex.Bad, ex.Good} {
				data, err := os.ReadFile(filepath.Join("..", e.Path))
				if err != nil || string(data) != e.Text && string(data)+"\n" != e.Text {
					t.Errorf("%s %s: example %q does not read back as its file (%v)", c.ID, vendor, e.Path, err)
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Error("no example read from audit.md")
	}
}
