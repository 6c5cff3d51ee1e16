// Package catalog is the one list of what cachefence reports: the audit's
// checks, the probe's and the logs' findings, the fence's reasons, and
// what audit --run saw. Each entry has one snake_case ID, unique across
// the tools, and the words
// every output uses for it (text, JSON, SARIF, alerts), so that a finding
// means the same wherever it is read. The rules that raise them live with
// each tool; this package only names and explains them.
package catalog

import (
	"slices"

	"github.com/cachefence/cachefence/alert"
)

// Tool is the part of cachefence that raises an entry.
type Tool string

// The tools.
const (
	Audit Tool = "audit" // cachefence audit: a setting in the CDN's configuration
	Probe Tool = "probe" // cachefence probe: what the site served to test accounts
	Logs  Tool = "logs"  // cachefence logs: a record of the CDN's access log
	Fence Tool = "fence" // the cache_fence handler: why a response was fenced
	Run   Tool = "run"   // cachefence audit --run: what a running Varnish or nginx served to whom
)

// Repository is where Doc paths are published; helpUri and alerts link
// there.
const Repository = "https://github.com/cachefence/cachefence/blob/main/"

// Entry is one thing cachefence reports.
type Entry struct {
	// ID is snake_case, unique in the catalogue, and stable: baselines,
	// alert keys, metric labels and SARIF fingerprints use it.
	ID       string
	Tool     Tool
	Severity alert.Severity
	// Title names it in a few words.
	Title string
	// Meaning says what was seen and how a personal page leaks through it.
	Meaning string
	// Remediation says what to do, whatever the vendor; the audit adds a
	// vendor's own fix.
	Remediation string
	// Doc is the section that documents it: a path from the repository's
	// root and an anchor.
	Doc string
}

// DocURL is the entry's section on the web.
func (e *Entry) DocURL() string { return Repository + e.Doc }

// Words are an entry's words as a JSON finding carries them beside its
// ID, so that a reader needs no lookup.
type Words struct {
	Title       string `json:"title"`
	Remediation string `json:"remediation"`
	Doc         string `json:"doc"`
}

// Words returns the entry's words for a JSON finding.
func (e *Entry) Words() Words { return Words{e.Title, e.Remediation, e.DocURL()} }

// Lookup returns the entry with id, or nil.
func Lookup(id string) *Entry {
	if i := slices.IndexFunc(entries, func(e *Entry) bool { return e.ID == id }); i >= 0 {
		return entries[i]
	}
	return nil
}

// Must returns the entry with id; the tools name their entries with it
// at init, so a typo fails every test at once.
func Must(id string) *Entry {
	e := Lookup(id)
	if e == nil {
		panic("catalog: no entry " + id)
	}
	return e
}

// All returns every entry, in the catalogue's order: by tool, worst
// first.
func All() []*Entry { return slices.Clone(entries) }

// Of returns the entries of one tool, in order.
func Of(t Tool) []*Entry {
	var out []*Entry
	for _, e := range entries {
		if e.Tool == t {
			out = append(out, e)
		}
	}
	return out
}

// Anchors of the documents the entries point at.
const (
	auditDoc  = "docs/audit.md#"
	probeDoc  = "docs/probe.md#finding-kinds"
	logsDoc   = "docs/logs.md#checks"
	reasonDoc = "README.md#the-decision"
)

// Remediations that several fence reasons share.
const (
	fixIdentity = "Nothing to fix when the page is personal. If it is not (a public page that receives a credential), " +
		"the fence cannot lift this: stop sending the credential to that URL."
	fixAmbiguous = "Send one unambiguous Cache-Control (a single line; public, max-age or s-maxage for shared pages; " +
		"private, no-store for personal ones)."
)

var entries = []*Entry{
	// The audit's checks, worst first. Meaning is the leak; the vendors'
	// fixes are in package audit.
	{ID: "stores_private", Tool: Audit, Severity: alert.Critical,
		Title: "Stores responses marked private, no-store",
		Meaning: "The cache stores responses even when the origin sends Cache-Control: private, no-store, " +
			"and obeys none of the other headers the fence sends, so one user's page is served to the next visitors.",
		Remediation: "Make the cache honour private and no-store on every path that can serve a personal page; the fence cannot help here.",
		Doc:         auditDoc + "stores_private"},
	{ID: "stores_private_keyed", Tool: Audit, Severity: alert.Medium,
		Title: "Stores private responses under a per-credential key",
		Meaning: "The cache stores responses marked private, no-store, keyed by every cookie and Authorization: " +
			"they are shared among requests with the same credentials, or none, and a Set-Cookie sent to a first visit is replayed.",
		Remediation: "Make the cache honour private and no-store on personal paths.",
		Doc:         auditDoc + "stores_private_keyed"},
	{ID: "ignores_private", Tool: Audit, Severity: alert.High,
		Title: "Ignores Cache-Control private or no-store",
		Meaning: "The cache stores responses whose Cache-Control says private or no-store; " +
			"only another header the fence also sends keeps a personal page out.",
		Remediation: "Make the cache honour private and no-store; until then keep cache_fence in front of every personal route.",
		Doc:         auditDoc + "ignores_private"},
	{ID: "caches_authorization", Tool: Audit, Severity: alert.High,
		Title: "Stores responses to requests with Authorization",
		Meaning: "A response to a request with an Authorization header can be stored and served to others; " +
			"RFC 9111 §3.5 forbids it unless the response says public, s-maxage or must-revalidate.",
		Remediation: "Pass requests that carry Authorization, as RFC 9111 §3.5 asks.",
		Doc:         auditDoc + "caches_authorization"},
	{ID: "cookies_not_in_key", Tool: Audit, Severity: alert.High,
		Title: "Forwards cookies that the cache key leaves out",
		Meaning: "The origin receives each user's cookies and may personalise the page, but the cache key ignores them: " +
			"a stored or collapsed response is served to every user.",
		Remediation: "Pass requests with a session cookie, or put the session cookie in the cache key.",
		Doc:         auditDoc + "cookies_not_in_key"},
	{ID: "replays_set_cookie", Tool: Audit, Severity: alert.High,
		Title: "Stores Set-Cookie and replays it on hits",
		Meaning: "The cache stores a response with its Set-Cookie and sends that cookie to other users on hits: " +
			"one user's session can be handed to the next.",
		Remediation: "Do not store responses that set cookies, or strip Set-Cookie only on static paths.",
		Doc:         auditDoc + "replays_set_cookie"},
	{ID: "strips_set_cookie", Tool: Audit, Severity: alert.High,
		Title: "Removes Set-Cookie and stores the response",
		Meaning: "The cache removes Set-Cookie and stores the rest: a page that set a session is shared. " +
			"RFC 9111 §7.3 does not stop a cache from storing a response that sets a cookie; Varnish's builtin VCL, " +
			"nginx and Fastly's boilerplate refuse to, and this setting takes that refusal away.",
		Remediation: "Remove Set-Cookie only under a condition that limits it to static URLs.",
		Doc:         auditDoc + "strips_set_cookie"},
	{ID: "overrides_freshness", Tool: Audit, Severity: alert.High,
		Title: "Sets a TTL over max-age=0, no-cache or a past Expires",
		Meaning: "The cache gives responses a lifetime even when the origin marks them stale (max-age=0, no-cache, a past Expires): " +
			"the 2017 leak. Only responses marked private or no-store stay out.",
		Remediation: "Set a TTL only on static URLs, or only when the origin sent no freshness of its own.",
		Doc:         auditDoc + "overrides_freshness"},
	{ID: "static_rule_ignores_headers", Tool: Audit, Severity: alert.Medium,
		Title: "A static-looking rule ignores the origin's headers",
		Meaning: "The rule matches static-looking URLs and stores whatever the origin answers there, private or not: " +
			"a link to /account/x.css can store the account page for everyone (web cache deception).",
		Remediation: "Keep honouring private and no-store on static rules too, and make the origin answer 404 to unknown suffixes.",
		Doc:         auditDoc + "static_rule_ignores_headers"},
	{ID: "collapses_uncacheable", Tool: Audit, Severity: alert.Medium,
		Title: "Collapses concurrent requests whatever the response says",
		Meaning: "Requests that arrive while the origin answers the first one get its response, even when it says no-cache or max-age=0: " +
			"the 2017 leak. AWS says only CachingDisabled turns collapsing off.",
		Remediation: "Turn request collapsing off on personal paths.",
		Doc:         auditDoc + "collapses_uncacheable"},
	{ID: "caches_by_default", Tool: Audit, Severity: alert.Medium,
		Title: "Caches pages that carry no Cache-Control",
		Meaning: "Pages the origin sends without Cache-Control, HTML included, are stored for a default TTL: " +
			"a personal page that forgot its headers is shared.",
		Remediation: "Limit caching without Cache-Control to static paths, or bypass the cache on the session cookie.",
		Doc:         auditDoc + "caches_by_default"},
	{ID: "no_deception_armor", Tool: Audit, Severity: alert.Low,
		Title: "Caches by URL without Cache Deception Armor",
		Meaning: "The rule caches by URL without checking that the extension matches the Content-Type, " +
			"so /account/x.css may be stored if the origin's headers allow it.",
		Remediation: "Turn on the CDN's check that the extension matches the Content-Type.",
		Doc:         auditDoc + "no_deception_armor"},
	{ID: "drift", Tool: Audit, Severity: alert.Low,
		Title:       "Changed since the baseline",
		Meaning:     "A cache setting changed since the baseline was written; a change that is dangerous is also reported by its check.",
		Remediation: "Review the change; when it is intended, write a new baseline (--write-baseline).",
		Doc:         "docs/audit.md#drift"},

	// The probe's findings.
	{ID: "leak", Tool: Probe, Severity: alert.Critical,
		Title: "A personal page reached someone else",
		Meaning: "A page of one identity reached another identity or an anonymous visitor: its markers, its session " +
			"cookie, or an owner stamp made for someone else.",
		Remediation: "Stop the cache from storing personal pages now: put cache_fence in front of the origin, and fix " +
			"the cache rule the finding's mechanisms point at (cachefence audit names it).",
		Doc: probeDoc},
	{ID: "cached", Tool: Probe, Severity: alert.High,
		Title: "A personal page came from a shared cache",
		Meaning: "An identity's own page came from a shared cache's storage: personal data is stored where other people's " +
			"requests are answered, one change of cache key away from a leak.",
		Remediation: "Make the cache pass personal pages; the fence's private, no-store is obeyed by caches that follow RFC 9111.",
		Doc:         probeDoc},
	{ID: "guard_stopped", Tool: Probe, Severity: alert.High,
		Title: "The edge guard stopped a page meant for someone else",
		Meaning: "A response carried Cache-Fence-Guard: the edge guard (cachefence edge) found the cache delivering " +
			"a page stamped for another requester and refused it or fetched it again past the cache. Nothing leaked, " +
			"but the cache stores personal pages and hands them across users; only the guard stands in the way.",
		Remediation: "Fix the cache rule that stores personal pages (cachefence audit names it) and purge: the guard " +
			"defends the delivery, the CDN must still be fixed.",
		Doc: probeDoc},
	{ID: "logged_out_page", Tool: Probe, Severity: alert.Medium,
		Title: "A signed-in user got the logged-out page",
		Meaning: "A signed-in identity got, from storage, exactly the page the anonymous visitor got: the cache keys " +
			"without the session. Not a privacy leak, but a broken site.",
		Remediation: "Make the cache pass, or key on, the session cookie the identity carries. The fence cannot fix a cache key.",
		Doc:         probeDoc},
	{ID: "unsafe_headers", Tool: Probe, Severity: alert.Low,
		Title: "A personal page's headers let a shared cache store it",
		Meaning: "A personal page's headers let some shared cache store it, by the fence's own rules: no private and " +
			"no-store, or a targeted header that lets the caches reading it in.",
		Remediation: "Fix the origin's headers, or put cache_fence in front of it.",
		Doc:         probeDoc},
	{ID: "not_cacheable", Tool: Probe, Severity: alert.Low,
		Title:       "A public page is not cached",
		Meaning:     "A public URL is not served from storage, or its headers keep a shared cache from storing it.",
		Remediation: "Let the cache store it (public, a positive s-maxage, no Set-Cookie), or take it out of public_urls.",
		Doc:         probeDoc},
	{ID: "edge_headers", Tool: Probe, Severity: alert.Info,
		Title:       "The edge rewrote a personal page's headers",
		Meaning:     "The edge delivers a personal page with headers the origin did not send, and they let downstream caches store it.",
		Remediation: "Review the edge's header rewrite if downstream caches matter to you.",
		Doc:         probeDoc},
	{ID: "probe_untrusted", Tool: Probe, Severity: alert.High,
		Title:       "The probe's result cannot be trusted",
		Meaning:     "An identity was never recognised, or owner stamps verify with no key: the probe is blind to leaks.",
		Remediation: "Fix the test accounts' credentials or markers, or the owner_stamp key, named in the alert.",
		Doc:         "docs/probe.md#watch-mode"},

	// The logs' findings.
	{ID: "stamp_mismatch", Tool: Logs, Severity: alert.Critical,
		Title: "A page stamped for one user was served to another",
		Meaning: "The response carried the fence's owner stamp, and the requester's identity is another one: " +
			"one log line is proof of a leak.",
		Remediation: "Stop the cache from storing personal pages now (cachefence audit names the setting), and purge it.",
		Doc:         logsDoc},
	{ID: "cached_personal", Tool: Logs, Severity: alert.High,
		Title: "A personal response was served from cache",
		Meaning: "The cache served from storage a response that was personal: stamped, on a private path, setting a " +
			"cookie, or with headers by which no shared cache may store it.",
		Remediation: "Make the cache pass personal responses; check with cachefence audit which setting stores them.",
		Doc:         logsDoc},
	{ID: "collapse_suspected", Tool: Logs, Severity: alert.High,
		Title: "Requests of several users were collapsed",
		Meaning: "In a log without response headers, requesters with different identities got hits on one private " +
			"path within a short window after one miss: request collapsing, the 2017 mechanism.",
		Remediation: "Turn request collapsing off on personal paths (CloudFront: CachingDisabled).",
		Doc:         logsDoc},
	{ID: "guard_stopped_leak", Tool: Logs, Severity: alert.High,
		Title: "The edge guard stopped a page stamped for someone else",
		Meaning: "The edge guard (cachefence edge) logged that the cache was about to deliver a page stamped for " +
			"another requester, and refused it or fetched it again past the cache: the leak was stopped at delivery, " +
			"but the cache stores personal pages and hands them across users.",
		Remediation: "Fix the cache rule that stores personal pages (cachefence audit names it) and purge: the guard " +
			"defends the delivery, the CDN must still be fixed.",
		Doc: logsDoc},

	// What audit --run saw a running cache serve.
	{ID: "run_leak", Tool: Run, Severity: alert.Critical,
		Title: "The running cache served one user's page to another",
		Meaning: "cachefence audit --run ran the configuration against a synthetic origin, and a second user or an " +
			"anonymous visitor received the page made for the first user: proof, not an opinion. The finding says " +
			"whether the same requests leaked when the origin's headers were the fence's rewrite.",
		Remediation: "Make the configuration pass (or key on) requests that carry the credential, and honour private " +
			"and no-store; where the finding says the fence's rewrite stops it, put cache_fence in front of the origin meanwhile.",
		Doc: "docs/audit-run.md#run_leak"},

	// The fence's reasons: why a response was fenced. They are no risk,
	// so their severity is info; their remediation says what to do when
	// the fence is too strict.
	{ID: "authorization", Tool: Fence, Severity: alert.Info, Title: "The request has Authorization",
		Meaning: "The request carried an Authorization header, so the page may be that user's.", Remediation: fixIdentity, Doc: reasonDoc},
	{ID: "credential_header", Tool: Fence, Severity: alert.Info, Title: "The request has a credential header",
		Meaning:     "The request carried a configured credential header (an API key, a token, an identity from a proxy).",
		Remediation: "Nothing to fix when the page is personal; otherwise review credential_headers.", Doc: reasonDoc},
	{ID: "credential_param", Tool: Fence, Severity: alert.Info, Title: "The URL carries a credential",
		Meaning:     "The URL carries a credential: a credential parameter in the query or the path, or a cookieless session.",
		Remediation: "Move credentials out of URLs; otherwise review credential_params.", Doc: reasonDoc},
	{ID: "session_cookie", Tool: Fence, Severity: alert.Info, Title: "The request has an identifying cookie",
		Meaning: "The request carried a cookie that identifies a user, and nothing lifted the rule.",
		Remediation: "If the page does not depend on cookies, tag the route public; for static files, add the path to " +
			"public_paths; list analytics cookies in ignore_cookies or name the session in session_cookies.", Doc: reasonDoc},
	{ID: "set_cookie", Tool: Fence, Severity: alert.Info, Title: "The response sets a cookie",
		Meaning:     "The response sets a cookie, which a cache would replay or strip for everyone.",
		Remediation: "Do not set cookies on pages meant to be shared.", Doc: reasonDoc},
	{ID: "set_credential", Tool: Fence, Severity: alert.Info, Title: "The response hands out a credential",
		Meaning:     "The response carries a credential header (a new session's X-Auth-Token, Authentication-Info).",
		Remediation: "Do not hand out credentials on pages meant to be shared.", Doc: reasonDoc},
	{ID: "private_path", Tool: Fence, Severity: alert.Info, Title: "The path is private",
		Meaning: "The request path matches private_paths.", Remediation: "Review private_paths if a shared page is fenced.", Doc: reasonDoc},
	{ID: "private_tag", Tool: Fence, Severity: alert.Info, Title: "The origin tagged the route private",
		Meaning: "The origin's tag header says private.", Remediation: "Tag the route public if it is shared.", Doc: reasonDoc},
	{ID: "vary_credentials", Tool: Fence, Severity: alert.Info, Title: "The response varies on the credentials sent",
		Meaning:     "The response's Vary names Cookie or Authorization, and the request carried them: it depends on who asks.",
		Remediation: "Remove Cookie or Authorization from Vary on shared pages.", Doc: reasonDoc},
	{ID: "cache_control_invalid", Tool: Fence, Severity: alert.Info, Title: "Cache-Control cannot be parsed",
		Meaning:     "The response's Cache-Control breaks RFC 9111's grammar, or has arguments caches read differently.",
		Remediation: fixAmbiguous, Doc: reasonDoc},
	{ID: "cache_control_conflict", Tool: Fence, Severity: alert.Info, Title: "Cache-Control contradicts itself",
		Meaning:     "Cache-Control directives repeat or contradict each other, or a restriction sits on one of several lines.",
		Remediation: fixAmbiguous, Doc: reasonDoc},
	{ID: "cache_control_qualified", Tool: Fence, Severity: alert.Info, Title: "Qualified private or no-cache",
		Meaning:     `private="..." or no-cache="...", which still let a shared cache store the body.`,
		Remediation: fixAmbiguous, Doc: reasonDoc},
	{ID: "vary_star", Tool: Fence, Severity: alert.Info, Title: "Vary: *",
		Meaning:     "Vary: *, which some caches store and others do not.",
		Remediation: "Name the request headers the response varies on.", Doc: reasonDoc},
	{ID: "targeted_override", Tool: Fence, Severity: alert.Info, Title: "A targeted header stores a private page",
		Meaning:     "Cache-Control says private while Surrogate-Control, a CDN-Cache-Control, Edge-Control or X-Accel-Expires lets the caches that read it store the response.",
		Remediation: "Drop the targeted header from personal pages, or drop private from shared ones.", Doc: reasonDoc},
	{ID: "tag_invalid", Tool: Fence, Severity: alert.Info, Title: "The origin's tag is neither private nor public",
		Meaning:     "The tag header is empty, repeated, or says neither private nor public.",
		Remediation: "Send the tag header once, as private or public.", Doc: reasonDoc},
	{ID: "path_confusion", Tool: Fence, Severity: alert.Info, Title: "A static-looking path that is no file",
		Meaning:     "The path names a type CDNs cache by extension and the response is not plainly a file of that type (web cache deception).",
		Remediation: "Make the origin answer 404 to unknown suffixes; serve real files with their type and a file server's marks.", Doc: reasonDoc},
	{ID: "error_response", Tool: Fence, Severity: alert.Info, Title: "An error response",
		Meaning:     "The handler chain returned an error, and Caddy writes the error page.",
		Remediation: "Nothing to fix in the fence: error pages are fenced so that no cache keeps them.", Doc: reasonDoc},
	{ID: "internal_error", Tool: Fence, Severity: alert.High, Title: "The fence failed while deciding",
		Meaning:     "A panic inside the fence while it decided; the response was fenced, as it fails closed.",
		Remediation: "Report it with the log line (it holds no secret); the response was fenced meanwhile.", Doc: reasonDoc},
}
