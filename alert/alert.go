// Package alert is the watch-mode plumbing that cachefence's checkers
// share (the probe, the config auditor, the log watcher): severities and a
// threshold, causes that fire and recover with a quiet period, at most one
// webhook message per run, retries of failed posts, and Prometheus metrics.
//
// A checker reports, each run, the causes it sees. A cause is keyed by what
// causes it (a kind and a URL, say), never by anything random per run, so
// the same incident keeps one key however it shows. The Watcher fires a
// cause the first run it is seen at or above the threshold, and resolves it
// once it has been absent, in complete runs, for the quiet period: a leak
// that shows in one run out of two stays one incident.
package alert

import (
	"fmt"
	"slices"
	"strings"
)

// Severity ranks a cause. The JSON form is the lower-case name.
type Severity string

// The severities, from the most to the least urgent: the scale of
// cachefence audit (critical, high, medium, low), plus info, for what no
// change on the site's side can clear and so never alerts by default.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
	Info     Severity = "info"
)

// severities lists them from the most to the least urgent.
var severities = []Severity{Critical, High, Medium, Low, Info}

// ParseSeverity reads a severity name, as --fail-on takes it.
func ParseSeverity(s string) (Severity, error) {
	if i := slices.Index(severities, Severity(strings.ToLower(s))); i >= 0 {
		return severities[i], nil
	}
	names := make([]string, len(severities))
	for i, sev := range severities {
		names[i] = string(sev)
	}
	return "", fmt.Errorf("unknown severity %q (want %s)", s, strings.Join(names, ", "))
}

// rank is higher for more urgent severities; an unknown one ranks lowest.
func (s Severity) rank() int {
	if i := slices.Index(severities, s); i >= 0 {
		return len(severities) - i
	}
	return 0
}

// AtLeast reports whether s is as urgent as min or more.
func (s Severity) AtLeast(min Severity) bool { return s.rank() >= min.rank() }

// Compare orders severities from the most urgent, for slices.SortFunc.
func Compare(a, b Severity) int { return b.rank() - a.rank() }

// Cause is one thing a checker found, as alerting sees it. It must hold no
// secret: it is posted, printed and exported.
type Cause struct {
	// Key is the same for the same cause in every run: a kind and what it
	// is about (a URL, a config scope), never anything random per run.
	Key      string   `json:"key"`
	Kind     string   `json:"kind"`
	Severity Severity `json:"severity"`
	// Summary is one line for people.
	Summary string `json:"summary"`
	// Detail is the checker's own record of it, posted as JSON.
	Detail any `json:"detail,omitempty"`
	// Always fires the cause whatever the threshold. It is for a checker
	// that reports itself blind (a probe whose test accounts no longer
	// log in), which hides causes of every severity, the most urgent
	// included.
	Always bool `json:"-"`
}

// Run is what one run of a checker found.
type Run struct {
	// Causes are all it found, at every severity; the metrics count them
	// all, and only those at or above the threshold fire.
	Causes []Cause
	// Errors counts what failed. A run with errors may have missed a
	// cause that is still there, so it cannot declare a recovery.
	Errors int
}
