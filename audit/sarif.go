package audit

import (
	"io"
	"strings"

	"github.com/cachefence/cachefence/catalog"
	"github.com/cachefence/cachefence/internal/sarif"
)

// WriteSARIF writes the report as SARIF 2.1.0: a rule per catalogue entry
// of the audit, with each vendor's fix in its help, and URIs relative to
// root (the working directory when "").
func (r *Report) WriteSARIF(w io.Writer, root string) error {
	run := sarif.Run{Tool: "cachefence audit", Rules: catalog.Of(catalog.Audit), Help: vendorFixes, Root: root,
		Errors: r.Errors}
	for _, s := range r.Skipped {
		run.Warnings = append(run.Warnings, s.String())
	}
	for _, f := range r.Findings {
		run.Results = append(run.Results, sarif.Result{ID: f.ID, Message: sarifMessage(f), File: f.File, Line: f.Line,
			Identity: strings.Join([]string{f.Vendor, f.Scope, f.Setting}, "\x00"), Severity: f.Severity,
			Properties: map[string]any{"severity": f.Severity, "scope": f.Scope, "setting": f.Setting,
				"defended_by_fence": f.DefendedByFence}})
	}
	return sarif.Write(w, run)
}

// vendorFixes is the Markdown of a check's fix per vendor.
func vendorFixes(e *catalog.Entry) string {
	c := checkOf(e.ID)
	if c == nil {
		return ""
	}
	var b strings.Builder
	if c.DefendedByFence {
		b.WriteString("\nThe fence's rewrite defends the routes it covers, where the cache honours one of its headers.\n")
	}
	b.WriteString("\n| Vendor | Fix |\n|---|---|\n")
	for _, v := range c.Vendors {
		b.WriteString("| " + v.Vendor + " | " + strings.ReplaceAll(v.Fix, "|", `\|`) + " ([source](" + v.Source + ")) |\n")
	}
	return b.String()
}

func sarifMessage(f Finding) string {
	what := f.Setting + " = " + f.Value
	if f.Kind == KindDrift {
		what = f.Setting + ": " + side(f.Before) + " -> " + side(f.After)
	}
	msg := f.Scope + ": " + what + ". " + f.Message
	if f.Fix != "" {
		msg += " Fix: " + f.Fix
	}
	return msg
}
