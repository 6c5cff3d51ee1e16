package probe

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cachefence/cachefence/alert"
	"github.com/cachefence/cachefence/catalog"
	"github.com/cachefence/cachefence/internal/sarif"
)

// The kinds of finding, with their severities. docs/probe.md says what to
// do about each.
const (
	// KindLeak (critical): a page or session cookie of one identity
	// reached another identity or an anonymous visitor.
	KindLeak = "leak"
	// KindCached (high): an identity's own page came from a shared cache:
	// personal data is stored where others' requests are answered.
	KindCached = "cached"
	// KindGuardStopped (high): the edge guard (cachefence edge) stopped a
	// page stamped for someone else on its way to an identity: it said so
	// in fence.GuardHeader. Nothing leaked, but the cache hands personal
	// pages across users, and only the guard stands in the way.
	KindGuardStopped = "guard_stopped"
	// KindLoggedOutPage (medium): a signed-in identity got the anonymous
	// page: the cache keys without the session. Not a privacy leak, but a
	// broken site.
	KindLoggedOutPage = "logged_out_page"
	// KindUnsafeHeaders (low): a personal page's headers let a shared
	// cache store it, judged where they are set: at origin_url, or at the
	// edge when there is no origin_url.
	KindUnsafeHeaders = "unsafe_headers"
	// KindNotCacheable (low): a public page is not stored by the
	// cache, or its headers forbid it.
	KindNotCacheable = "not_cacheable"
	// KindEdgeHeaders (info): the edge delivers a personal page with
	// headers that let downstream caches store it, though the origin's
	// are safe: the edge rewrote them. No origin change clears it.
	KindEdgeHeaders = "edge_headers"
	// KindUntrusted (high), an alert only, never a finding: a run whose
	// result cannot be trusted (Report.Untrusted). The probe is blind to
	// leaks until the test accounts or the stamp key are fixed.
	KindUntrusted = "probe_untrusted"
)

// Kinds are the kinds of finding, worst first; the catalogue holds their
// severities and words.
var Kinds = []string{KindLeak, KindCached, KindGuardStopped, KindLoggedOutPage, KindUnsafeHeaders, KindNotCacheable, KindEdgeHeaders, KindUntrusted}

// severityOf is a kind's severity, from the catalogue.
func severityOf(kind string) alert.Severity { return catalog.Must(kind).Severity }

// The mechanisms through which a page reached someone.
const (
	// MechSequential: a stored copy answered a later request (a hit).
	MechSequential = "sequential"
	// MechCollapsed: requests arriving together got one origin response,
	// with no hit visible, or the cache said collapsed (RFC 9211).
	MechCollapsed = "collapsed"
	// MechPathConfusion: under a static-looking suffix.
	MechPathConfusion = "path_confusion"
	// MechOrigin: the origin itself answered with it (origin_url): an
	// origin-side cache, or the application.
	MechOrigin = "origin"
)

// Exit codes of `cachefence probe`.
const (
	ExitClean    = 0 // nothing at or above the threshold
	ExitFindings = 1 // findings at or above the threshold
	ExitError    = 2 // the probe could not run, not completely, or its result cannot be trusted
)

// Finding is one cause the probe found: one kind on one URL, whoever it
// showed to and however often. It holds no secret: identities are named,
// markers are numbered, cookies are named without their values.
type Finding struct {
	Severity alert.Severity `json:"severity"`
	Kind     string         `json:"kind"`
	// URL is the configured URL, never a path-confusion variant.
	URL string `json:"url"`
	// Pairs say whose page reached whom: for a leak, another identity's
	// page (Owner may be Anonymous for a session cookie minted for an
	// anonymous visitor, or "someone else" for a stamp of an unknown
	// identity); for cached, the identity's own (Owner == Receiver); for
	// logged_out_page, the anonymous page (Owner == Anonymous).
	Pairs []Pair `json:"pairs,omitempty"`
	// Mechanisms say how: sequential, collapsed, path_confusion.
	Mechanisms []string `json:"mechanisms,omitempty"`
	// Suffixes are the path-confusion suffixes that showed it, with
	// "<token>" for the random token of each run.
	Suffixes []string `json:"suffixes,omitempty"`
	// Evidence says what was seen, in words that quote it.
	Evidence []string `json:"evidence"`
}

// MarshalJSON writes the finding with its catalogue entry's title,
// remediation and documentation, so that a JSON reader needs no lookup.
func (f Finding) MarshalJSON() ([]byte, error) {
	type plain Finding
	return json.Marshal(struct {
		plain
		catalog.Words
	}{plain(f), catalog.Must(f.Kind).Words()})
}

// Pair is one identity's page reaching one receiver.
type Pair struct {
	Owner    string `json:"owner"`
	Receiver string `json:"receiver"`
}

// String writes the pair as "owner -> receiver".
func (p Pair) String() string { return p.Owner + " -> " + p.Receiver }

// key is the same for the same cause in every run: its kind and URL.
func (f Finding) key() string { return f.Kind + " " + f.URL }

// summary is one line for alerts: where, who, how.
func (f Finding) summary() string {
	var b strings.Builder
	b.WriteString(f.URL)
	if len(f.Pairs) > 0 {
		b.WriteString(": ")
		for i, p := range f.Pairs {
			if i > 0 {
				b.WriteString(", ")
			}
			switch f.Kind {
			case KindLeak:
				fmt.Fprintf(&b, "%s's page reached %s", p.Owner, p.Receiver)
			case KindCached:
				fmt.Fprintf(&b, "%s's own page came from a shared cache", p.Receiver)
			case KindLoggedOutPage:
				fmt.Fprintf(&b, "%s got the logged-out page", p.Receiver)
			}
		}
	} else if len(f.Evidence) > 0 {
		b.WriteString(": " + f.Evidence[0])
	}
	if len(f.Mechanisms) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(f.Mechanisms, ", "))
	}
	return b.String()
}

// Report is the result of one run.
type Report struct {
	Started  time.Time `json:"started"`
	Duration string    `json:"duration"`
	Requests int       `json:"requests"`
	Findings []Finding `json:"findings"`
	// Untrusted says why this run's result cannot be trusted: an identity
	// never recognised, owner stamps that no key verifies. Its silence
	// means nothing, and stamp evidence was not used.
	Untrusted []string `json:"untrusted,omitempty"`
	// Errors are requests that failed; a run with errors is incomplete.
	Errors []string `json:"errors,omitempty"`

	// site is the base URL, which keys what is about no single URL.
	site string
}

// ExitCode maps a report to the exit code for the threshold failOn. A run
// that cannot be trusted exits ExitError whatever it found. Otherwise
// findings win over request errors, since what was found is real even
// when other requests failed.
func (r *Report) ExitCode(failOn alert.Severity) int {
	switch {
	case len(r.Untrusted) > 0:
		return ExitError
	case slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Severity.AtLeast(failOn) }):
		return ExitFindings
	case len(r.Errors) > 0:
		return ExitError
	}
	return ExitClean
}

// AlertRun is the report as the watch mode's alerting sees it: a cause per
// finding, and for a run that cannot be trusted, one more of its own
// (KindUntrusted). That one is keyed by the site alone, so it fires once
// however the reasons change, and resolves once runs are trusted again; it
// fires whatever the threshold, since a blind probe misses leaks too. Such
// a run also counts as incomplete: it resolves nothing.
func (r *Report) AlertRun() alert.Run {
	run := alert.Run{Errors: len(r.Errors) + len(r.Untrusted)}
	for _, f := range r.Findings {
		run.Causes = append(run.Causes, alert.Cause{Key: f.key(), Kind: f.Kind, Severity: f.Severity,
			Summary: f.summary(), Detail: f})
	}
	if len(r.Untrusted) > 0 {
		// The reasons name identities and counts, never a credential.
		f := Finding{Severity: severityOf(KindUntrusted), Kind: KindUntrusted, URL: r.site, Evidence: r.Untrusted}
		run.Causes = append(run.Causes, alert.Cause{Key: f.key(), Kind: f.Kind, Severity: f.Severity,
			Summary: fmt.Sprintf("%s: the probe cannot be trusted, so leaks go unseen: %s", r.site, strings.Join(r.Untrusted, "; ")),
			Detail:  f, Always: true})
	}
	return run
}

// WriteText writes what cannot be trusted first, then one block per
// finding and a line per error, then a summary.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, u := range r.Untrusted {
		fmt.Fprintf(&b, "UNTRUSTED %s\n", u)
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%-8s %s %s", strings.ToUpper(string(f.Severity)), f.Kind, f.URL)
		if len(f.Pairs) > 0 {
			names := make([]string, len(f.Pairs))
			for i, p := range f.Pairs {
				names[i] = p.String()
			}
			fmt.Fprintf(&b, "  [%s]", strings.Join(names, ", "))
		}
		if len(f.Mechanisms) > 0 {
			fmt.Fprintf(&b, "  via %s", strings.Join(f.Mechanisms, ", "))
		}
		if len(f.Suffixes) > 0 {
			fmt.Fprintf(&b, "  suffixes %s", strings.Join(f.Suffixes, " "))
		}
		b.WriteString("\n")
		for _, e := range f.Evidence {
			fmt.Fprintf(&b, "         %s\n", e)
		}
		e := catalog.Must(f.Kind)
		fmt.Fprintf(&b, "         %s. To do: %s %s\n", e.Title, e.Remediation, e.DocURL())
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "ERROR    %s\n", e)
	}
	switch {
	case len(r.Untrusted) > 0:
		fmt.Fprintf(&b, "this run cannot be trusted: %d findings, %d errors in %d requests (%s)\n", len(r.Findings), len(r.Errors), r.Requests, r.Duration)
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

// WriteSARIF writes the report as SARIF 2.1.0: a rule per kind, a result
// per finding located at its URL, and what cannot be trusted and the
// failed requests as notifications.
func (r *Report) WriteSARIF(w io.Writer) error {
	run := sarif.Run{Tool: "cachefence probe", Rules: catalog.Of(catalog.Probe), Errors: slices.Concat(r.Untrusted, r.Errors)}
	for _, f := range r.Findings {
		run.Results = append(run.Results, sarif.Result{ID: f.Kind, Message: f.summary(), File: f.URL, Identity: f.key(),
			Severity: f.Severity, Properties: map[string]any{"severity": f.Severity, "mechanisms": f.Mechanisms}})
	}
	return sarif.Write(w, run)
}

// sortFindings orders findings by severity, then kind and URL.
func sortFindings(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int {
		return cmp.Or(alert.Compare(a.Severity, b.Severity), cmp.Compare(a.key(), b.key()))
	})
}
