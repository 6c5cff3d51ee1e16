// Package docs holds what the binary shows without the web: the audit's
// checks with their good and bad examples, as docs/audit.md shows them
// (a test keeps that section equal to the example files in
// audit/<vendor>/testdata/<check-id>/).
package docs

import (
	_ "embed"
	"strings"
)

//go:embed audit.md
var auditMD string

// Example is one example configuration: where it lives in the repository,
// its language for highlighting, and its text.
type Example struct {
	Path string
	Lang string
	Text string
}

// Examples are a check's examples for one vendor.
type Examples struct {
	Bad, Good Example
}

// AuditExamples returns the examples of check id by vendor, as the
// "Checks" section of docs/audit.md shows them.
func AuditExamples(id string) map[string]Examples {
	out := map[string]Examples{}
	var check, vendor, side, fence string
	var cur *Example
	var body strings.Builder
	for line := range strings.Lines(auditMD) {
		line = strings.TrimSuffix(line, "\n")
		switch {
		case cur != nil && fence == "":
			fence, cur.Lang = splitFence(line)
		case cur != nil && line != fence:
			body.WriteString(line + "\n")
		case cur != nil:
			cur.Text = body.String()
			body.Reset()
			ex := out[vendor]
			if side == "Bad" {
				ex.Bad = *cur
			} else {
				ex.Good = *cur
			}
			out[vendor] = ex
			cur, fence = nil, ""
		case strings.HasPrefix(line, "### "):
			check, vendor = strings.Trim(strings.TrimPrefix(line, "### "), "` "), ""
		case strings.HasPrefix(line, "#### "):
			vendor = strings.TrimSpace(strings.TrimPrefix(line, "#### "))
		case check == id && vendor != "" && (strings.HasPrefix(line, "Bad: `") || strings.HasPrefix(line, "Good: `")):
			var rest string
			side, rest, _ = strings.Cut(line, ": `")
			path, _, _ := strings.Cut(rest, "`")
			cur = &Example{Path: path}
		}
	}
	return out
}

// splitFence reads an opening code fence: the closing fence it needs, and
// its language.
func splitFence(line string) (string, string) {
	lang := strings.TrimLeft(line, "`")
	return line[:len(line)-len(lang)], lang
}
