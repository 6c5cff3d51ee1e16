package audit

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/cachefence/cachefence/alert"
)

// The kinds of finding.
const (
	KindCheck = "check" // a check matched a setting
	KindDrift = "drift" // a setting changed since the baseline
)

// Exit codes of `cachefence audit`, as for `cachefence probe`.
const (
	ExitClean    = 0 // no finding at or above --fail-on
	ExitFindings = 1 // findings at or above --fail-on
	ExitError    = 2 // the audit could not run, or not on every file
)

// Finding is one risky setting, or one change since the baseline. It
// holds no secret: settings that may hold one are hidden before this.
type Finding struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Severity Severity `json:"severity"`
	Vendor   string   `json:"vendor,omitempty"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Scope    string   `json:"scope"`
	// ScopeFile and ScopeLine are where the scope is, which may be
	// another file than the setting's: a Terraform distribution whose
	// cache policy is in another file.
	ScopeFile string `json:"scope_file,omitempty"`
	ScopeLine int    `json:"scope_line,omitempty"`
	Setting   string `json:"setting"`
	Value     string `json:"value"`
	// Unknown says the value could not be resolved; the finding says
	// what happens if it is dangerous.
	Unknown         bool   `json:"unknown,omitempty"`
	Message         string `json:"message"`
	Fix             string `json:"fix"`
	DefendedByFence bool   `json:"defended_by_fence"`
	Source          string `json:"source,omitempty"`
	// Before and After are a drift's values; an absent side is nil.
	Before *string `json:"before,omitempty"`
	After  *string `json:"after,omitempty"`
}

// Report is the result of one audit.
type Report struct {
	Findings []Finding `json:"findings"`
	// Errors are files that could not be read or parsed: file:line: why.
	Errors []string `json:"errors"`
	// Skipped are parts of files that were read but not understood.
	Skipped []Skip `json:"skipped"`
	// Scopes counts the parts of configurations audited.
	Scopes int `json:"scopes"`
}

// NewReport runs the checks on cfg and adds drift, if any, sorted worst
// first; among equals, what the fence does not defend comes first.
func NewReport(cfg *Config, drift []Finding) *Report {
	// Empty lists, not null, for JSON readers.
	r := &Report{Findings: append(append([]Finding{}, Run(cfg.Scopes)...), drift...), Errors: []string{},
		Skipped: append([]Skip{}, cfg.Skipped...), Scopes: len(cfg.Scopes)}
	for _, err := range cfg.Errors {
		r.Errors = append(r.Errors, err.Error())
	}
	// Files that hold no cache configuration the audit reads (a module
	// call, a resource it does not know, only skipped parts) prove
	// nothing: that is an error, never a pass.
	if len(cfg.Scopes) == 0 && len(cfg.Errors) == 0 {
		r.Errors = append(r.Errors, NothingAudited)
	}
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		if c := alert.Compare(a.Severity, b.Severity); c != 0 {
			return c
		}
		if a.DefendedByFence != b.DefendedByFence {
			if a.DefendedByFence {
				return 1
			}
			return -1
		}
		return cmp.Or(strings.Compare(a.File, b.File), a.Line-b.Line, strings.Compare(a.ID, b.ID))
	})
	return r
}

// NothingAudited is the error of a run that found no cache configuration
// to audit in the paths given.
const NothingAudited = "nothing was audited: the paths hold no cache configuration that cachefence audit reads (see what was skipped)"

// ExitCode maps the report to the exit code: errors win, since an audit
// that could not read a file cannot vouch for it.
func (r *Report) ExitCode(failOn Severity) int {
	if len(r.Errors) > 0 {
		return ExitError
	}
	for _, f := range r.Findings {
		if f.Severity.AtLeast(failOn) {
			return ExitFindings
		}
	}
	return ExitClean
}

// AlertRun is the report as alerting sees it: one cause per finding, keyed
// by check, file, scope and setting, which stay the same from one run to
// the next while the setting does.
func (r *Report) AlertRun() alert.Run {
	run := alert.Run{Errors: len(r.Errors)}
	for _, f := range r.Findings {
		where := "the fence defends it"
		if !f.DefendedByFence {
			where = "fix at the CDN"
		}
		run.Causes = append(run.Causes, alert.Cause{
			Key:      strings.Join([]string{f.ID, f.File, f.Scope, f.Setting}, "|"),
			Kind:     f.ID,
			Severity: f.Severity,
			Summary:  fmt.Sprintf("%s: %s in %s (%s = %s); %s", f.ID, f.Scope, f.File, f.Setting, f.Value, where),
			Detail:   f,
		})
	}
	return run
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the findings worst first, then what was skipped, the
// errors and a summary.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%-8s %s  %s  %s\n", strings.ToUpper(string(f.Severity)), f.ID,
			location(f.File, f.Line), f.Scope)
		if f.ScopeFile != "" && f.ScopeFile != f.File {
			fmt.Fprintf(&b, "  (the scope is at %s)\n", location(f.ScopeFile, f.ScopeLine))
		}
		switch {
		case f.Kind == KindDrift:
			fmt.Fprintf(&b, "  %s: %s -> %s\n", f.Setting, side(f.Before), side(f.After))
		case f.Unknown:
			fmt.Fprintf(&b, "  %s = %s (unknown)\n", f.Setting, f.Value)
		default:
			fmt.Fprintf(&b, "  %s = %s\n", f.Setting, f.Value)
		}
		fmt.Fprintf(&b, "  %s\n", f.Message)
		if f.Fix != "" {
			fmt.Fprintf(&b, "  fix: %s\n", f.Fix)
		}
		if f.Kind == KindCheck {
			if f.DefendedByFence {
				b.WriteString("  the fence's rewrite defends the routes it covers\n")
			} else {
				b.WriteString("  fix at the CDN: the fence's headers cannot stop this\n")
			}
		}
		b.WriteString("\n")
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "SKIPPED  %s\n", s)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "ERROR    %s\n", e)
	}
	b.WriteString(r.summary())
	_, err := io.WriteString(w, b.String())
	return err
}

func side(v *string) string {
	if v == nil {
		return "(absent)"
	}
	return *v
}

func (r *Report) summary() string {
	counts := map[Severity]int{}
	undefended := 0
	for _, f := range r.Findings {
		counts[f.Severity]++
		if f.Kind == KindCheck && !f.DefendedByFence {
			undefended++
		}
	}
	var parts []string
	for _, s := range Severities {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	switch {
	case len(r.Findings) == 0 && len(r.Errors) == 0 && len(r.Skipped) == 0:
		return fmt.Sprintf("clean: no findings in %d scopes\n", r.Scopes)
	case len(r.Findings) == 0 && len(r.Errors) == 0:
		return fmt.Sprintf("no findings in %d scopes, but %s skipped: not audited\n", r.Scopes, plural(len(r.Skipped), "part was", "parts were"))
	}
	findings := "no findings"
	if len(parts) > 0 {
		findings = strings.Join(parts, ", ") + fmt.Sprintf(" (%d to fix at the CDN)", undefended)
	}
	return fmt.Sprintf("%s in %d scopes; %d skipped, %d errors\n", findings, r.Scopes, len(r.Skipped), len(r.Errors))
}

// plural writes n with the singular or the plural words.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
