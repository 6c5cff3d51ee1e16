package replay

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/cachefence/cachefence/catalog"
)

// KindLeak is the catalogue ID of a leaking cell.
const KindLeak = "run_leak"

// Kinds are the catalogue IDs a run raises.
var Kinds = []string{KindLeak}

var leakEntry = catalog.Must(KindLeak)

// Cell is one cell of the matrix and what the replay saw in it.
type Cell struct {
	// Origin names what the origin answered with (docs/audit-run.md).
	Origin string `json:"origin"`
	// Credential, Timing and Path are the request's dimensions.
	Credential string `json:"credential"`
	Timing     string `json:"timing"`
	Path       string `json:"path"`
	// URL is the path requested, and FencedURL the path of the same cell
	// with the fence's rewrite.
	URL       string `json:"url"`
	FencedURL string `json:"fenced_url"`
	// Reached says whether the first user got its own page from the
	// origin: a cell whose requests the server answers itself (a file on
	// disk, a redirect) cannot leak.
	Reached bool `json:"reached"`
	// LeakedTo lists who else got the first user's page: SecondUser,
	// Anonymous.
	LeakedTo []string `json:"leaked_to"`
	// FencedReached and FencedLeakedTo are the same, for the same cell
	// with the fence's rewrite of the origin's headers.
	FencedReached  bool     `json:"fenced_reached"`
	FencedLeakedTo []string `json:"fenced_leaked_to"`

	id, fencedID string
}

// Report is what a run saw.
type Report struct {
	File   string `json:"file"`
	Server string `json:"server"`
	// SessionCookie is the cookie's name (the value is never shown), and
	// CookieFrom where it came from: "flag", "configuration" or
	// "default".
	SessionCookie    string `json:"session_cookie"`
	CookieFrom       string `json:"session_cookie_from"`
	CredentialHeader string `json:"credential_header"`
	// Notes say what the run changed in the configuration or left out
	// of it, beyond the addresses and paths it always changes.
	Notes    []string   `json:"notes"`
	Cells    []*Cell    `json:"cells"`
	Findings []*Finding `json:"findings"`
}

// Finding is a leaking cell.
type Finding struct {
	ID       string        `json:"id"`
	Severity string        `json:"severity"`
	Cell     *Cell         `json:"cell"`
	Words    catalog.Words `json:"words"`
	// Fenced says that the leak was seen with the fence's rewrite of the
	// origin's headers, and not with the headers themselves.
	Fenced bool `json:"fenced"`
	// DefendedByFence says whether the same cell with the fence's
	// rewrite leaked to no one.
	DefendedByFence bool `json:"defended_by_fence"`
	// OriginSends is the origin's headers in the cell, and Reproduce the
	// requests that showed the leak, with placeholders for the cache's
	// address and the credentials.
	OriginSends []string `json:"origin_sends"`
	Reproduce   []string `json:"reproduce"`
}

// findings makes a finding of each leak: a cell that leaked as the origin
// sent it, and one that leaked only with the fence's rewrite, which is
// the fence's full rewrite leaking, where the origin's own headers did
// not.
func (r *Report) findings() {
	r.Findings = nil
	for _, c := range r.Cells {
		switch {
		case len(c.LeakedTo) > 0:
			f := r.finding(c, false, c.URL)
			f.DefendedByFence = c.FencedReached && len(c.FencedLeakedTo) == 0
			r.Findings = append(r.Findings, f)
		case len(c.FencedLeakedTo) > 0:
			r.Findings = append(r.Findings, r.finding(c, true, c.FencedURL))
		}
	}
}

func (r *Report) finding(c *Cell, fenced bool, url string) *Finding {
	f := &Finding{ID: leakEntry.ID, Severity: string(leakEntry.Severity), Cell: c, Words: leakEntry.Words(),
		Fenced: fenced, Reproduce: r.reproduce(c, url)}
	v := variants[slices.IndexFunc(variants, func(v variant) bool { return v.name == c.Origin })]
	h := v.headersFor(fenced, r.SessionCookie+"=NEW_SESSION_OF_USER_A")
	for _, name := range sortedKeys(h) {
		for _, value := range h[name] {
			f.OriginSends = append(f.OriginSends, name+": "+value)
		}
	}
	if len(h) == 0 {
		f.OriginSends = []string{v.says}
	}
	return f
}

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// reproduce returns the curl commands that show a cell's leak, against
// $CACHE, with placeholder credentials: the run's own are synthetic, but
// a reader pastes these against a real site.
func (r *Report) reproduce(c *Cell, path string) []string {
	cred := func(user string) string {
		if c.Credential == CredentialCookie {
			return fmt.Sprintf(`-H "Cookie: %s=$%s_SESSION" `, r.SessionCookie, user)
		}
		return fmt.Sprintf(`-H "%s: %s" `, r.CredentialHeader, credentialValue(r.CredentialHeader, "$"+user+"_TOKEN"))
	}
	url := "\"$CACHE" + path + "\""
	first := "curl -s " + cred("USER_A") + url
	second := "curl -s " + cred("USER_B") + url
	anon := "curl -s " + url
	if c.Timing == Sequential {
		return []string{first, second, anon}
	}
	return []string{
		fmt.Sprintf("# the origin takes %s to answer; the others ask while the first waits", Hold),
		first + " &", "sleep 0.1", second + " &", anon + " &", "wait",
	}
}

// ExitCode is 1 when a cell leaked, else 0, as the audit's exit codes.
func (r *Report) ExitCode() int {
	if len(r.Findings) > 0 {
		return 1
	}
	return 0
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the matrix as a table, then each finding with its
// requests.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "cachefence audit --run %s (%s): session cookie %q (%s), credential header %s\n",
		r.File, r.Server, r.SessionCookie, r.CookieFrom, r.CredentialHeader)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORIGIN SENDS\tCREDENTIAL\tTIMING\tPATH\tLEAKED TO\tWITH THE FENCE'S REWRITE")
	for _, c := range r.Cells {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Origin, c.Credential, c.Timing, c.Path,
			outcome(c.Reached, c.LeakedTo), outcome(c.FencedReached, c.FencedLeakedTo))
	}
	tw.Flush()
	fmt.Fprintf(&b, "\n%d of %d cells leaked.\n", len(r.Findings), len(r.Cells))
	for _, f := range r.Findings {
		origin, url, leaked, fence := f.Cell.Origin, f.Cell.URL, f.Cell.LeakedTo, "the fence's rewrite stops it"
		switch {
		case f.Fenced:
			origin, url, leaked = "the fence's rewrite of "+origin, f.Cell.FencedURL, f.Cell.FencedLeakedTo
			fence = "the origin's own headers did not leak, the fence's rewrite of them did"
		case !f.DefendedByFence:
			fence = "the fence's rewrite does not stop it: fix the cache"
		}
		fmt.Fprintf(&b, "\n%s %s: %s\n  %s %s %s %s: leaked to %s; %s\n  origin sends: %s\n  reproduce (CACHE is the cache's address):\n",
			f.Severity, f.ID, f.Words.Title, origin, f.Cell.Credential, f.Cell.Timing, url,
			strings.Join(leaked, ", "), fence, strings.Join(f.OriginSends, "; "))
		for _, cmd := range f.Reproduce {
			fmt.Fprintf(&b, "    %s\n", cmd)
		}
		fmt.Fprintf(&b, "  %s\n", f.Words.Doc)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// outcome is a cell's result in words.
func outcome(reached bool, leaked []string) string {
	switch {
	case len(leaked) > 0:
		return "LEAKED to " + strings.Join(leaked, ", ")
	case !reached:
		return "no personal page"
	}
	return "no leak"
}
