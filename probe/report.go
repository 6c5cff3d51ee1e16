package probe

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/cachefence/cachefence/alert"
)

// Exit codes of `cachefence probe`.
const (
	ExitClean    = 0 // nothing found
	ExitFindings = 1 // something found
	ExitError    = 2 // the probe could not run, or not completely
)

// ExitCode maps a report to the exit code: findings win over errors, since
// what was found is real even when other requests failed.
func (r *Report) ExitCode() int {
	switch {
	case len(r.Findings) > 0:
		return ExitFindings
	case len(r.Errors) > 0:
		return ExitError
	}
	return ExitClean
}

// WriteText writes one line per finding and per error, then a summary.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, f := range r.Findings {
		who := f.Receiver
		if f.Owner != "" && f.Owner != f.Receiver {
			who = f.Owner + " -> " + cmp.Or(f.Receiver, "?")
		}
		fmt.Fprintf(&b, "%-8s %-14s %-14s %s  %s  %s\n",
			strings.ToUpper(f.Severity), f.Kind, f.Check, f.URL, who, f.Evidence)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "ERROR    %s\n", e)
	}
	switch {
	case len(r.Findings) == 0 && len(r.Errors) == 0:
		fmt.Fprintf(&b, "clean: no findings in %d requests (%s)\n", r.Requests, r.Duration)
	default:
		fmt.Fprintf(&b, "%d findings, %d errors in %d requests (%s)\n", len(r.Findings), len(r.Errors), r.Requests, r.Duration)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// AlertRun is the report as the watch mode's alerting sees it.
func (r *Report) AlertRun() alert.Run {
	run := alert.Run{Errors: len(r.Errors)}
	for _, f := range r.Findings {
		run.Causes = append(run.Causes, alert.Cause{Key: f.Key(), Kind: f.Kind, Severity: alert.Severity(f.Severity),
			Summary: fmt.Sprintf("%s (%s check) on %s", f.Kind, f.Check, f.URL), Detail: f})
	}
	return run
}
