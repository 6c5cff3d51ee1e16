package catalog_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/alert"
	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/replay"
	"github.com/cachefence/cachefence/catalog"
	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/logs"
	"github.com/cachefence/cachefence/probe"
)

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// IDs are snake_case and unique across the tools, and every entry
// says all it must.
func TestEntries(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range catalog.All() {
		if !snakeCase.MatchString(e.ID) {
			t.Errorf("%q is not snake_case", e.ID)
		}
		if seen[e.ID] {
			t.Errorf("%s twice", e.ID)
		}
		seen[e.ID] = true
		if _, err := alert.ParseSeverity(string(e.Severity)); err != nil || e.Title == "" || e.Meaning == "" ||
			e.Remediation == "" || e.Doc == "" || !slices.Contains([]catalog.Tool{catalog.Audit, catalog.Probe, catalog.Logs, catalog.Fence, catalog.Run}, e.Tool) {
			t.Errorf("%s is incomplete: %+v", e.ID, e)
		}
	}
	if catalog.Lookup("no_such_thing") != nil {
		t.Error("Lookup finds what is not there")
	}
}

// The catalogue holds exactly what each tool raises: no entry without a
// rule behind it, no finding without an entry.
func TestEveryToolIsCatalogued(t *testing.T) {
	ids := func(tool catalog.Tool) []string {
		var out []string
		for _, e := range catalog.Of(tool) {
			out = append(out, e.ID)
		}
		slices.Sort(out)
		return out
	}
	var checks, reasons []string
	for _, c := range audit.Checks {
		checks = append(checks, c.ID)
	}
	checks = append(checks, audit.KindDrift)
	for _, r := range fence.AllReasons() {
		reasons = append(reasons, r.String())
	}
	for _, tc := range []struct {
		tool catalog.Tool
		ids  []string
	}{{catalog.Audit, checks}, {catalog.Probe, probe.Kinds}, {catalog.Logs, logs.Checks}, {catalog.Fence, reasons}, {catalog.Run, replay.Kinds}} {
		want := slices.Sorted(slices.Values(tc.ids))
		if got := ids(tc.tool); !slices.Equal(got, want) {
			t.Errorf("%s: catalogue has %v, the tool raises %v", tc.tool, got, want)
		}
	}
}

// Every entry's Doc names a section that exists, as GitHub anchors it,
// and that section names the ID.
func TestDocumented(t *testing.T) {
	for _, e := range catalog.All() {
		path, anchor, _ := strings.Cut(e.Doc, "#")
		data, err := os.ReadFile("../" + path)
		if err != nil {
			t.Errorf("%s: %v", e.ID, err)
			continue
		}
		section, ok := sectionOf(string(data), anchor)
		if !ok {
			t.Errorf("%s: %s has no heading anchored #%s", e.ID, path, anchor)
			continue
		}
		if !strings.Contains(section, "`"+e.ID+"`") && !strings.Contains(section, "### "+e.ID+"\n") {
			t.Errorf("%s: the section %s does not name it", e.ID, e.Doc)
		}
	}
}

// The README's table of the audit's checks is the catalogue's.
func TestREADMEChecks(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range audit.Checks {
		defended := "no"
		if c.DefendedByFence {
			defended = "yes"
		}
		row := "| [`" + c.ID + "`](" + c.Doc + ") | " + string(c.Severity) + " | " + c.Title + " | " + defended + " |"
		if !strings.Contains(string(data), row+"\n") {
			t.Errorf("README.md has no row %s", row)
		}
	}
}

// sectionOf returns the text under the heading whose GitHub anchor is
// anchor, up to the next heading of the same level or above.
func sectionOf(doc, anchor string) (string, bool) {
	lines := strings.Split(doc, "\n")
	levels := headingLevels(lines)
	for i, line := range lines {
		level := levels[i]
		if level == 0 || slug(line[level+1:]) != anchor {
			continue
		}
		end := len(lines)
		for j := i + 1; j < len(lines); j++ {
			if levels[j] > 0 && levels[j] <= level {
				end = j
				break
			}
		}
		return strings.Join(lines[i:end], "\n"), true
	}
	return "", false
}

// headingLevels gives each line's heading level, 0 for a line that is no
// heading: a "#" comment inside a code block is none.
func headingLevels(lines []string) []int {
	levels := make([]int, len(lines))
	inCode := false
	for i, line := range lines {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		level := len(line) - len(strings.TrimLeft(line, "#"))
		if !inCode && level > 0 && strings.HasPrefix(line[level:], " ") {
			levels[i] = level
		}
	}
	return levels
}

// slug is GitHub's anchor of a heading: lower case, punctuation other
// than - and _ dropped, spaces as -.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}
