package fence

import (
	"errors"
	"net/http"
	"path"
	"strings"
	"testing"
)

// reasons builds a set from a list, so that expected values read like the
// names printed in failure messages.
func reasons(rs ...Reason) Reasons {
	var set Reasons
	for _, r := range rs {
		set = set.With(r)
	}
	return set
}

// show formats a set for failure messages: verdict plus reason names.
func show(rs Reasons) string {
	return rs.Verdict() + " [" + rs.String() + "]"
}

const tagName = "X-Cache-Fence-Tag"

// tagPolicy is the default policy plus a tag header.
var tagPolicy = Policy{TagHeader: tagName}

type classifyCase struct {
	name    string
	status  int // 200 when zero
	policy  Policy
	reqHdr  http.Header
	path    string
	private bool
	public  bool
	resp    http.Header
	want    Reasons
}

// runClassify builds the Request through Policy.Request, as the Caddy
// module does, and compares the full reason set.
func runClassify(t *testing.T, cases []classifyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.policy.Validate(); err != nil {
				t.Fatalf("test policy does not validate: %v", err)
			}
			urlPath := tc.path
			if urlPath == "" {
				urlPath = "/"
			}
			req := tc.policy.Request(tc.reqHdr, urlPath, tc.private, tc.public)
			status := tc.status
			if status == 0 {
				status = http.StatusOK
			}
			got := tc.policy.Classify(req, status, tc.resp)
			if got != tc.want {
				t.Errorf("Classify(path=%q private=%v public=%v, request %v, response %v)\n got: %s\nwant: %s",
					urlPath, tc.private, tc.public, tc.reqHdr, tc.resp, show(got), show(tc.want))
			}
		})
	}
}

var (
	sessionCookie = http.Header{"Cookie": {"sid=abc123"}}
	htmlResponse  = http.Header{"Content-Type": {"text/html; charset=utf-8"}}
)

// TestClassifyPersonalisation covers rules 1-5 one at a time, each with the
// negatives that sit next to it.
func TestClassifyPersonalisation(t *testing.T) {
	runClassify(t, []classifyCase{
		{
			name: "no credentials, cacheable page is shared",
			resp: http.Header{"Content-Type": {"text/html"}, "Cache-Control": {"public, max-age=60"}},
			want: 0,
		},
		{
			name: "nil headers are shared",
			want: 0,
		},

		// Rule 1: Authorization.
		{
			name:   "authorization header",
			reqHdr: http.Header{"Authorization": {"Bearer abc"}},
			resp:   htmlResponse,
			want:   reasons(Authorization),
		},
		{
			// Presence is what counts: an empty value is still a credential
			// attempt the origin may act on.
			name:   "empty authorization header",
			reqHdr: http.Header{"Authorization": {""}},
			want:   reasons(Authorization),
		},
		{
			name:   "authorization on a static path",
			reqHdr: http.Header{"Authorization": {"Basic dTpw"}},
			path:   "/static/app.js",
			resp:   http.Header{"Content-Type": {"application/javascript"}},
			want:   reasons(Authorization),
		},
		{
			name:   "proxy-authorization is not authorization",
			reqHdr: http.Header{"Proxy-Authorization": {"Basic dTpw"}},
			want:   0,
		},

		// Rule 2: identifying cookie.
		{
			name:   "any cookie identifies under the zero policy",
			reqHdr: sessionCookie,
			resp:   htmlResponse,
			want:   reasons(SessionCookie),
		},
		{
			name:   "ignored cookie does not identify",
			policy: Policy{IgnoreCookies: []string{"_ga*"}},
			reqHdr: http.Header{"Cookie": {"_ga=GA1.2.3"}},
			want:   0,
		},
		{
			name:   "session cookie glob matches",
			policy: Policy{SessionCookies: []string{"sess*"}},
			reqHdr: http.Header{"Cookie": {"theme=dark; sessionid=abc"}},
			want:   reasons(SessionCookie),
		},
		{
			name:   "session cookie glob does not match",
			policy: Policy{SessionCookies: []string{"sess*"}},
			reqHdr: http.Header{"Cookie": {"theme=dark; _ga=1"}},
			want:   0,
		},
		{
			name:   "empty cookie header does not identify",
			reqHdr: http.Header{"Cookie": {""}},
			want:   0,
		},

		// Rule 3: Set-Cookie.
		{
			name: "set-cookie",
			resp: http.Header{"Set-Cookie": {"sid=abc; Path=/; HttpOnly"}, "Content-Type": {"text/html"}},
			want: reasons(SetCookie),
		},
		{
			name: "set-cookie with an empty value line",
			resp: http.Header{"Set-Cookie": {""}},
			want: reasons(SetCookie),
		},
		{
			// A cookie that arrives as a trailer never passes the header
			// check, so its announcement must be enough.
			name: "set-cookie announced as a trailer",
			resp: http.Header{"Trailer": {"Server-Timing, set-cookie"}},
			want: reasons(SetCookie),
		},
		{
			name: "set-cookie announced on a second trailer line",
			resp: http.Header{"Trailer": {"Server-Timing", "Set-Cookie"}},
			want: reasons(SetCookie),
		},
		{
			name: "trailer without set-cookie",
			resp: http.Header{"Trailer": {"Server-Timing, Set-Cookie2"}},
			want: 0,
		},

		// Rule 4: private path and private tag.
		{
			name:    "private path",
			private: true,
			resp:    htmlResponse,
			want:    reasons(PrivatePath),
		},
		{
			name:   "private tag",
			policy: tagPolicy,
			resp:   http.Header{tagName: {"private"}},
			want:   reasons(PrivateTag),
		},
		{
			name:   "private tag is trimmed and case-insensitive",
			policy: tagPolicy,
			resp:   http.Header{tagName: {"  PriVate\t"}},
			want:   reasons(PrivateTag),
		},
		{
			name:   "tag header name is canonicalised",
			policy: Policy{TagHeader: strings.ToLower(tagName)},
			resp:   http.Header{tagName: {"private"}},
			want:   reasons(PrivateTag),
		},
		{
			name:   "public tag without cookies is shared",
			policy: tagPolicy,
			resp:   http.Header{tagName: {"public"}},
			want:   0,
		},
		{
			// Without a configured tag header the origin's header means
			// nothing to the fence, whatever it says.
			name: "tag header ignored when not configured",
			resp: http.Header{tagName: {"maybe"}},
			want: 0,
		},

		// Rule 5: Vary on credentials.
		{
			name: "vary cookie",
			resp: http.Header{"Vary": {"Cookie"}},
			want: reasons(VaryCredentials),
		},
		{
			name: "vary authorization, lower case",
			resp: http.Header{"Vary": {"authorization"}},
			want: reasons(VaryCredentials),
		},
		{
			name: "vary cookie after another member",
			resp: http.Header{"Vary": {"Accept-Encoding, Cookie"}},
			want: reasons(VaryCredentials),
		},
		{
			name: "vary cookie on a second line",
			resp: http.Header{"Vary": {"Accept-Encoding", "Origin,COOKIE"}},
			want: reasons(VaryCredentials),
		},
		{
			name: "vary on unrelated fields",
			resp: http.Header{"Vary": {"Accept-Encoding, Origin"}},
			want: 0,
		},
		{
			// Member matching is exact, not substring.
			name: "vary on a field that merely contains cookie",
			resp: http.Header{"Vary": {"X-Cookie-Consent, Cookies"}},
			want: 0,
		},
	})
}

// TestClassifyAmbiguous covers rule 6 (fail closed) for Cache-Control, Vary
// and the tag header.
func TestClassifyAmbiguous(t *testing.T) {
	cc := func(lines ...string) http.Header { return http.Header{"Cache-Control": lines} }
	runClassify(t, []classifyCase{
		// Unambiguous Cache-Control values are not the fence's business.
		{name: "cache-control public max-age", resp: cc("public, max-age=3600"), want: 0},
		{name: "cache-control s-maxage with stale-while-revalidate", resp: cc("s-maxage=600, stale-while-revalidate=30"), want: 0},
		{name: "cache-control no-store", resp: cc("no-store"), want: 0},
		{name: "cache-control no-cache", resp: cc("no-cache"), want: 0},
		{
			// An unqualified private is honoured by every shared cache; the
			// fence only reacts when the request or response is personal.
			name: "cache-control plain private",
			resp: cc("private, max-age=0"),
			want: 0,
		},
		{name: "cache-control empty value", resp: cc(""), want: 0},

		// Conflicts.
		{name: "max-age repeated", resp: cc("max-age=60, max-age=0"), want: reasons(CacheControlConflict)},
		{name: "max-age repeated in another case", resp: cc("max-age=60, MAX-AGE=0"), want: reasons(CacheControlConflict)},
		{name: "max-age repeated without spaces", resp: cc("max-age=60,max-age=0"), want: reasons(CacheControlConflict)},
		{name: "no-store repeated", resp: cc("no-store, no-store"), want: reasons(CacheControlConflict)},
		{
			// cacheobject splits unquoted values at whitespace as well as
			// commas, so it reads two max-age directives here (MaxAge ends
			// up 0). Caches that split only at commas read max-age=60. The
			// repeat must be reported whatever separates the directives.
			name: "max-age repeated, separated by a space",
			resp: cc("max-age=60 max-age=0"),
			want: reasons(CacheControlConflict),
		},
		{name: "public with private", resp: cc("public, private"), want: reasons(CacheControlConflict)},
		{name: "public with private, upper case", resp: cc("Public, PRIVATE"), want: reasons(CacheControlConflict)},
		{name: "public with no-store", resp: cc("public, no-store"), want: reasons(CacheControlConflict)},
		{
			// VCL that tests `beresp.http.Cache-Control ~ "private"` sees
			// only the first line, so two lines are a conflict even when
			// each is fine alone.
			name: "two cache-control lines",
			resp: cc("public", "max-age=60"),
			want: reasons(CacheControlConflict),
		},
		{name: "two identical cache-control lines", resp: cc("no-store", "no-store"), want: reasons(CacheControlConflict)},

		// Invalid.
		{name: "max-age not a number", resp: cc("max-age=abc"), want: reasons(CacheControlInvalid)},
		{name: "max-age negative", resp: cc("max-age=-1"), want: reasons(CacheControlInvalid)},
		{name: "max-age without a value", resp: cc("public, max-age"), want: reasons(CacheControlInvalid)},
		{name: "no-store with an argument", resp: cc("no-store=1"), want: reasons(CacheControlInvalid)},
		{name: "unterminated quote", resp: cc(`private="Set-Cookie`), want: reasons(CacheControlInvalid)},
		{
			name: "invalid second line is both invalid and a conflict",
			resp: cc("public", "max-age=abc"),
			want: reasons(CacheControlInvalid, CacheControlConflict),
		},

		// Qualified: RFC 9111 lets a shared cache store the rest of the
		// response, which is exactly what the fence must prevent.
		{name: "private qualified with set-cookie", resp: cc(`private="Set-Cookie"`), want: reasons(CacheControlQualified)},
		{name: "no-cache qualified with set-cookie", resp: cc(`no-cache="Set-Cookie"`), want: reasons(CacheControlQualified)},
		{name: "private qualified with two fields", resp: cc(`max-age=60, private="Set-Cookie, X-User"`), want: reasons(CacheControlQualified)},
		{name: "private qualified with an unquoted token", resp: cc("private=Set-Cookie"), want: reasons(CacheControlQualified)},

		// Vary: *.
		{name: "vary star", resp: http.Header{"Vary": {"*"}}, want: reasons(VaryStar)},
		{name: "vary star among other members", resp: http.Header{"Vary": {"Accept-Encoding, *"}}, want: reasons(VaryStar)},
		{name: "vary star and cookie", resp: http.Header{"Vary": {"Cookie", " * "}}, want: reasons(VaryCredentials, VaryStar)},

		// Tag.
		{name: "tag maybe", policy: tagPolicy, resp: http.Header{tagName: {"maybe"}}, want: reasons(TagInvalid)},
		{name: "tag empty", policy: tagPolicy, resp: http.Header{tagName: {""}}, want: reasons(TagInvalid)},
		{name: "tag blank", policy: tagPolicy, resp: http.Header{tagName: {"   "}}, want: reasons(TagInvalid)},
		{
			// Both lines are reported: the private line alone would fence,
			// and the disagreement is its own reason.
			name:   "tag private and public lines",
			policy: tagPolicy,
			resp:   http.Header{tagName: {"private", "public"}},
			want:   reasons(PrivateTag, TagInvalid),
		},
		{
			name:   "tag private and public in one line",
			policy: tagPolicy,
			resp:   http.Header{tagName: {"private, public"}},
			want:   reasons(TagInvalid),
		},
		{
			name:   "tag public repeated is still public",
			policy: tagPolicy,
			reqHdr: sessionCookie,
			resp:   http.Header{tagName: {"public", "PUBLIC"}},
			want:   0,
		},
		{
			// An invalid line voids the public line: the cookie rule applies.
			name:   "tag public with an invalid line does not lift cookies",
			policy: tagPolicy,
			reqHdr: sessionCookie,
			resp:   http.Header{tagName: {"public", "maybe"}},
			want:   reasons(SessionCookie, TagInvalid),
		},
	})
}

// TestClassifyPathConfusion covers the web cache deception rule: a path a
// CDN would cache by extension, answered with a page or an API document.
func TestClassifyPathConfusion(t *testing.T) {
	ct := func(v string) http.Header { return http.Header{"Content-Type": {v}} }
	runClassify(t, []classifyCase{
		{name: "css path with html", path: "/account/x.css", resp: ct("text/html"), want: reasons(PathConfusion)},
		{name: "css path with html and charset", path: "/account/x.css", resp: ct("text/html; charset=utf-8"), want: reasons(PathConfusion)},
		{
			// Servers that cut the path at ';' (Tomcat, Spring path
			// parameters) serve /account; the CDN sees a .css file.
			name: "semicolon path parameter", path: "/account;x.css", resp: ct("text/html"), want: reasons(PathConfusion),
		},
		{name: "extension upper case", path: "/a.CSS", resp: ct("text/html"), want: reasons(PathConfusion)},
		{name: "content type upper case", path: "/account/x.css", resp: ct("TEXT/HTML"), want: reasons(PathConfusion)},
		{name: "png with json", path: "/profile/avatar.png", resp: ct("application/json"), want: reasons(PathConfusion)},
		{name: "woff2 with xhtml", path: "/account/font.woff2", resp: ct("application/xhtml+xml"), want: reasons(PathConfusion)},
		{name: "js with problem json", path: "/account/x.js", resp: ct("application/problem+json"), want: reasons(PathConfusion)},
		{name: "mjs with html", path: "/account/x.mjs", resp: ct("text/html"), want: reasons(PathConfusion)},
		{name: "source map with json", path: "/account/x.map", resp: ct("application/json"), want: reasons(PathConfusion)},
		{name: "dot-only name", path: "/account/.css", resp: ct("text/html"), want: reasons(PathConfusion)},

		{name: "javascript served as javascript", path: "/app.js", resp: ct("application/javascript"), want: 0},
		{name: "css served as css", path: "/style.css", resp: ct("text/css"), want: 0},
		{name: "image served as image", path: "/logo.png", resp: ct("image/png"), want: 0},
		{
			// json is not a static extension: an API answer at .json is
			// what the path says it is.
			name: "json path with json", path: "/api/x.json", resp: ct("application/json"), want: 0,
		},
		{name: "json path with problem json", path: "/api/x.json", resp: ct("application/problem+json"), want: 0},
		{name: "html path with html", path: "/index.html", resp: ct("text/html"), want: 0},
		{name: "no extension", path: "/account", resp: ct("text/html"), want: 0},
		{name: "dot in a directory only", path: "/v1.2/account", resp: ct("text/html"), want: 0},
		{name: "trailing slash", path: "/account/x.css/", resp: ct("text/html"), want: 0},
		{name: "extension must match exactly", path: "/account/x.cssx", resp: ct("text/html"), want: 0},
		{name: "bare +json is not a media type", path: "/account/x.css", resp: ct("+json"), want: 0},
		{name: "plain text is not dynamic", path: "/account/x.css", resp: ct("text/plain"), want: 0},
	})
}

// TestClassifyPublicLiftsOnlySessionCookie checks that a public path or a
// public tag lifts the cookie rule and nothing else.
func TestClassifyPublicLiftsOnlySessionCookie(t *testing.T) {
	withCookie := func(h http.Header) http.Header {
		h = h.Clone()
		h.Set("Cookie", "sid=abc123")
		return h
	}
	pub := http.Header{tagName: {"public"}}
	merge := func(a, b http.Header) http.Header {
		out := a.Clone()
		for k, v := range b {
			out[k] = append(out[k], v...)
		}
		return out
	}
	auth := http.Header{"Authorization": {"Bearer abc"}}
	runClassify(t, []classifyCase{
		{name: "cookie on public path", policy: tagPolicy, reqHdr: sessionCookie, public: true, resp: htmlResponse, want: 0},
		{name: "cookie with public tag", policy: tagPolicy, reqHdr: sessionCookie, resp: pub, want: 0},
		{name: "cookie with public tag, spaced and upper case", policy: tagPolicy, reqHdr: sessionCookie, resp: http.Header{tagName: {" PUBLIC "}}, want: 0},
		{name: "malformed cookie on public path", reqHdr: http.Header{"Cookie": {"garbage"}}, public: true, want: 0},

		{name: "authorization on public path", policy: tagPolicy, reqHdr: withCookie(auth), public: true, want: reasons(Authorization)},
		{name: "authorization with public tag", policy: tagPolicy, reqHdr: withCookie(auth), resp: pub, want: reasons(Authorization)},
		{name: "set-cookie on public path", policy: tagPolicy, reqHdr: sessionCookie, public: true, resp: http.Header{"Set-Cookie": {"a=b"}}, want: reasons(SetCookie)},
		{name: "set-cookie with public tag", policy: tagPolicy, reqHdr: sessionCookie, resp: merge(pub, http.Header{"Set-Cookie": {"a=b"}}), want: reasons(SetCookie)},
		{
			// A path in both lists stays private: public only speaks for
			// cookies.
			name: "private path that is also public", policy: tagPolicy, reqHdr: sessionCookie, private: true, public: true, want: reasons(PrivatePath),
		},
		{name: "private path with public tag", policy: tagPolicy, reqHdr: sessionCookie, private: true, resp: pub, want: reasons(PrivatePath)},
		{name: "private tag on public path", policy: tagPolicy, reqHdr: sessionCookie, public: true, resp: http.Header{tagName: {"private"}}, want: reasons(PrivateTag)},
		{name: "vary cookie on public path", policy: tagPolicy, reqHdr: sessionCookie, public: true, resp: http.Header{"Vary": {"Cookie"}}, want: reasons(VaryCredentials)},
		{name: "vary cookie with public tag", policy: tagPolicy, reqHdr: sessionCookie, resp: merge(pub, http.Header{"Vary": {"Cookie"}}), want: reasons(VaryCredentials)},
		{name: "vary star on public path", policy: tagPolicy, public: true, resp: http.Header{"Vary": {"*"}}, want: reasons(VaryStar)},
		{name: "cache-control conflict on public path", policy: tagPolicy, reqHdr: sessionCookie, public: true, resp: http.Header{"Cache-Control": {"public, private"}}, want: reasons(CacheControlConflict)},
		{name: "cache-control invalid with public tag", policy: tagPolicy, reqHdr: sessionCookie, resp: merge(pub, http.Header{"Cache-Control": {"max-age=abc"}}), want: reasons(CacheControlInvalid)},
		{name: "cache-control qualified with public tag", policy: tagPolicy, reqHdr: sessionCookie, resp: merge(pub, http.Header{"Cache-Control": {`private="Set-Cookie"`}}), want: reasons(CacheControlQualified)},
		{name: "path confusion on public path", policy: tagPolicy, reqHdr: sessionCookie, public: true, path: "/account/x.css", resp: htmlResponse, want: reasons(PathConfusion)},
		{name: "path confusion with public tag", policy: tagPolicy, reqHdr: sessionCookie, path: "/account/x.css", resp: merge(pub, htmlResponse), want: reasons(PathConfusion)},
		{name: "invalid tag on public path", policy: tagPolicy, reqHdr: sessionCookie, public: true, resp: http.Header{tagName: {"maybe"}}, want: reasons(TagInvalid)},
	})
}

// TestClassifyIncident2017 replays the response shape of the 2017 CDN
// incident: the origin said no-cache with an Expires in the past, the CDN
// stored it anyway and served one user's page to others. Freshness headers
// alone do not fence; the session cookie does.
func TestClassifyIncident2017(t *testing.T) {
	incident := http.Header{
		"Cache-Control": {"no-cache"},
		"Expires":       {"Thu, 01 Jan 1970 00:00:00 GMT"},
		"Content-Type":  {"text/html; charset=utf-8"},
	}
	maxAgeZero := http.Header{
		"Cache-Control": {"max-age=0"},
		"Expires":       {"Thu, 01 Jan 1970 00:00:00 GMT"},
		"Content-Type":  {"text/html"},
	}
	analytics := Policy{IgnoreCookies: []string{"_ga*", "_gid"}}
	runClassify(t, []classifyCase{
		{name: "no-cache with session cookie", path: "/account", reqHdr: http.Header{"Cookie": {"sessionid=8f1c"}}, resp: incident, want: reasons(SessionCookie)},
		{name: "no-cache without cookies", path: "/account", resp: incident, want: 0},
		{name: "no-cache with analytics cookies only", policy: analytics, path: "/account", reqHdr: http.Header{"Cookie": {"_ga=GA1.2.3; _gid=GA1.2.4"}}, resp: incident, want: 0},
		{name: "no-cache with analytics and session cookies", policy: analytics, path: "/account", reqHdr: http.Header{"Cookie": {"_ga=GA1.2.3; sessionid=8f1c"}}, resp: incident, want: reasons(SessionCookie)},
		{name: "max-age=0 with session cookie", path: "/account", reqHdr: http.Header{"Cookie": {"sessionid=8f1c"}}, resp: maxAgeZero, want: reasons(SessionCookie)},
		{name: "max-age=0 without cookies", path: "/account", resp: maxAgeZero, want: 0},
	})
}

// TestClassifyReportsEveryReason checks that rules do not short-circuit: a
// response that breaks all of them reports all of them.
func TestClassifyReportsEveryReason(t *testing.T) {
	runClassify(t, []classifyCase{{
		name:    "everything at once",
		policy:  tagPolicy,
		reqHdr:  http.Header{"Authorization": {"Bearer x"}, "Cookie": {"sid=1"}},
		path:    "/account/x.css",
		private: true,
		resp: http.Header{
			"Set-Cookie":    {"sid=2"},
			tagName:         {"private", "maybe"},
			"Vary":          {"Cookie, *"},
			"Cache-Control": {"public, private", `max-age=abc`, `no-cache="Set-Cookie"`},
			"Content-Type":  {"text/html"},
		},
		want: reasons(Authorization, SessionCookie, SetCookie, PrivatePath, PrivateTag,
			VaryCredentials, CacheControlInvalid, CacheControlConflict, CacheControlQualified,
			VaryStar, TagInvalid, PathConfusion),
	}})
}

// TestPolicyRequest checks the request facts, mostly the cookie scan.
func TestPolicyRequest(t *testing.T) {
	ignoring := Policy{IgnoreCookies: []string{"_ga*", "_gid", "consent"}}
	sessions := Policy{SessionCookies: []string{"sess*", "PHPSESSID"}}
	for _, tc := range []struct {
		name   string
		policy Policy
		cookie []string // Cookie lines; nil means no Cookie header
		want   bool
	}{
		{name: "no cookie header", policy: ignoring, cookie: nil, want: false},
		{name: "empty cookie header", policy: ignoring, cookie: []string{""}, want: false},
		{name: "only separators", policy: ignoring, cookie: []string{" ; ;;  "}, want: false},
		{name: "only ignored cookies", policy: ignoring, cookie: []string{"_ga=GA1.2.3; _gid=GA1.2.4; consent=yes"}, want: false},
		{name: "ignored cookies with spaces and a trailing separator", policy: ignoring, cookie: []string{"  _ga = 1 ;   _gid=2  ; "}, want: false},
		{name: "ignored cookie with an empty value", policy: ignoring, cookie: []string{"_ga="}, want: false},
		{name: "one unknown cookie among ignored ones", policy: ignoring, cookie: []string{"_ga=1; theme=dark; _gid=2"}, want: true},
		{
			// HTTP/2 clients may split Cookie into several fields.
			name: "unknown cookie on a second line", policy: ignoring, cookie: []string{"_ga=1", "sid=2"}, want: true,
		},
		{
			// A pair without '=' has no name to compare, so it is
			// identifying: fail closed.
			name: "malformed pair", policy: ignoring, cookie: []string{"_ga=1; garbage"}, want: true,
		},
		{name: "empty cookie name", policy: ignoring, cookie: []string{"=value"}, want: true},
		{name: "zero policy: any cookie identifies", policy: Policy{}, cookie: []string{"_ga=1"}, want: true},

		{name: "session glob matches", policy: sessions, cookie: []string{"_ga=1; sessionid=abc"}, want: true},
		{name: "session exact name matches", policy: sessions, cookie: []string{"PHPSESSID=abc"}, want: true},
		{name: "session names are case-sensitive", policy: sessions, cookie: []string{"phpsessid=abc"}, want: false},
		{name: "no session cookie among several pairs", policy: sessions, cookie: []string{"_ga=1; theme=dark;  lang=en "}, want: false},
		{name: "malformed pair identifies even with session globs", policy: sessions, cookie: []string{"theme=dark; sessionid"}, want: true},
		{
			// SessionCookies, when set, is the whole rule: IgnoreCookies is
			// not consulted, so a name in both still identifies.
			name:   "session globs win over ignore globs",
			policy: Policy{SessionCookies: []string{"sess*"}, IgnoreCookies: []string{"sess_analytics"}},
			cookie: []string{"sess_analytics=1"},
			want:   true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.cookie != nil {
				h["Cookie"] = tc.cookie
			}
			got := tc.policy.Request(h, "/p", false, false)
			if got.IdentifyingCookie != tc.want {
				t.Errorf("Request(Cookie %q).IdentifyingCookie = %v, want %v", tc.cookie, got.IdentifyingCookie, tc.want)
			}
		})
	}

	t.Run("fields are copied", func(t *testing.T) {
		h := http.Header{"Authorization": {""}}
		got := (&Policy{}).Request(h, "/a/b.css", true, true)
		want := Request{Path: "/a/b.css", Authorization: true, PrivatePath: true, PublicPath: true}
		if got != want {
			t.Errorf("Request() = %+v, want %+v", got, want)
		}
		got = (&Policy{}).Request(http.Header{}, "/", false, false)
		if got != (Request{Path: "/"}) {
			t.Errorf("Request(no headers) = %+v, want only the path", got)
		}
	})
}

// TestPolicyValidate checks that each bad option is rejected with a message
// naming the option and the value.
func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		policy  Policy
		wantErr []string // substrings of the error; nil means valid
		badGlob bool     // the error wraps path.ErrBadPattern
	}{
		{name: "zero policy", policy: Policy{}},
		{name: "full valid policy", policy: Policy{
			SessionCookies: []string{"sess*", "PHPSESSID", "auth_[a-z]*"},
			IgnoreCookies:  []string{"_ga*", `\*odd`},
			TagHeader:      tagName,
		}},
		{name: "lower-case tag header", policy: Policy{TagHeader: "x-route-tag"}},

		{name: "bad session glob", policy: Policy{SessionCookies: []string{"sess*", "["}}, wantErr: []string{"session_cookies", `"["`}, badGlob: true},
		{name: "bad ignore glob", policy: Policy{IgnoreCookies: []string{"_ga["}}, wantErr: []string{"ignore_cookies", `"_ga["`}, badGlob: true},
		{name: "trailing backslash glob", policy: Policy{IgnoreCookies: []string{`a\`}}, wantErr: []string{"ignore_cookies", `"a\\"`}, badGlob: true},
		{name: "empty session pattern", policy: Policy{SessionCookies: []string{""}}, wantErr: []string{"session_cookies", "empty"}},
		{name: "empty ignore pattern", policy: Policy{IgnoreCookies: []string{"_ga*", ""}}, wantErr: []string{"ignore_cookies", "empty"}},
		{name: "tag header with a space", policy: Policy{TagHeader: "X Tag"}, wantErr: []string{"tag_header", `"X Tag"`}},
		{name: "tag header with a colon", policy: Policy{TagHeader: "X-Tag:"}, wantErr: []string{"tag_header", `"X-Tag:"`}},
		{name: "tag header cache-control", policy: Policy{TagHeader: "Cache-Control"}, wantErr: []string{"tag_header", `"Cache-Control"`}},
		{name: "tag header cache-control lower case", policy: Policy{TagHeader: "cache-control"}, wantErr: []string{"tag_header", `"cache-control"`}},
		{name: "tag header set-cookie", policy: Policy{TagHeader: "Set-Cookie"}, wantErr: []string{"tag_header", `"Set-Cookie"`}},
		{name: "tag header cdn-cache-control", policy: Policy{TagHeader: "CDN-Cache-Control"}, wantErr: []string{"tag_header"}},
		{name: "tag header vary", policy: Policy{TagHeader: "Vary"}, wantErr: []string{"tag_header"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Validate()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tc.wantErr)
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Validate() = %q, want it to contain %q", err, s)
				}
			}
			if tc.badGlob && !errors.Is(err, path.ErrBadPattern) {
				t.Errorf("Validate() = %v, want it to wrap path.ErrBadPattern", err)
			}
		})
	}
}

// Inputs that origins and caches read differently from a naive parser; the
// fence must take the reading that fences.
func TestClassifyParserDifferentials(t *testing.T) {
	ignoreGA := Policy{IgnoreCookies: []string{"_ga*"}}
	sidOnly := Policy{SessionCookies: []string{"sid"}}
	css := http.Header{"Content-Type": {"text/css"}}
	runClassify(t, []classifyCase{
		{name: "no content type on a static-looking path is sniffed as a page",
			path: "/account/x.css", resp: http.Header{}, want: reasons(PathConfusion)},
		{name: "no content type on a 304 has no body to sniff",
			path: "/static/app.css", status: http.StatusNotModified, resp: http.Header{}, want: 0},
		{name: "no content type on a 204",
			path: "/static/app.css", status: http.StatusNoContent, resp: http.Header{}, want: 0},
		{name: "an explicitly empty content type is not sniffed",
			path: "/static/app.css", resp: http.Header{"Content-Type": nil}, want: 0},
		{name: "dot-dot segment does not lift the cookie rule",
			path: "/static/..;/account", public: true, reqHdr: sessionCookie, resp: css, want: reasons(SessionCookie)},
		{name: "path parameter does not lift the cookie rule",
			path: "/static/app.css;jsessionid=1", public: true, reqHdr: sessionCookie, resp: css, want: reasons(SessionCookie)},
		{name: "backslash does not lift the cookie rule",
			path: "/static\\..\\account", public: true, reqHdr: sessionCookie, resp: css, want: reasons(SessionCookie)},
		{name: "a plain public path lifts it",
			path: "/static/app.css", public: true, reqHdr: sessionCookie, resp: css, want: 0},
		{name: "comma-separated cookies (Rack splits on commas)", policy: ignoreGA,
			reqHdr: http.Header{"Cookie": {"_ga=1, sid=abc"}}, resp: htmlResponse, want: reasons(SessionCookie)},
		{name: "percent-encoded session cookie name (PHP and Rack decode it)", policy: sidOnly,
			reqHdr: http.Header{"Cookie": {"%73id=abc"}}, resp: htmlResponse, want: reasons(SessionCookie)},
		{name: "ignored cookies only, comma-separated", policy: ignoreGA,
			reqHdr: http.Header{"Cookie": {"_ga=1, _gat=2"}}, resp: htmlResponse, want: 0},
	})
}

// Cache-Control keeps shared caches out, but a targeted header lets the
// caches that read it in: fenced, since the outcome depends on the cache.
func TestClassifyTargetedOverride(t *testing.T) {
	resp := func(kv ...string) http.Header {
		h := http.Header{"Content-Type": {"text/html"}}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	runClassify(t, []classifyCase{
		{name: "private with Surrogate-Control max-age (Varnish stores it)",
			resp: resp("Cache-Control", "private", "Surrogate-Control", "max-age=3600"), want: reasons(TargetedOverride)},
		{name: "private with Surrogate-Control content=ESI (Varnish skips Cache-Control)",
			resp: resp("Cache-Control", "private", "Surrogate-Control", `content="ESI/1.0"`), want: reasons(TargetedOverride)},
		{name: "no-store with X-Accel-Expires (nginx stores it)",
			resp: resp("Cache-Control", "no-store", "X-Accel-Expires", "3600"), want: reasons(TargetedOverride)},
		{name: "private with CDN-Cache-Control max-age",
			resp: resp("Cache-Control", "private", "CDN-Cache-Control", "max-age=600"), want: reasons(TargetedOverride)},
		{name: "private with Akamai !no-store",
			resp: resp("Cache-Control", "private", "Edge-Control", "!no-store, max-age=1h"), want: reasons(TargetedOverride)},
		{name: "private with Edge-Control bypass-cache agrees",
			resp: resp("Cache-Control", "private", "Edge-Control", "bypass-cache"), want: 0},
		{name: "private with Surrogate-Control no-store agrees",
			resp: resp("Cache-Control", "private", "Surrogate-Control", "no-store"), want: 0},
		{name: "public with Surrogate-Control max-age agrees",
			resp: resp("Cache-Control", "public, max-age=60", "Surrogate-Control", "max-age=3600"), want: 0},
		{name: "no Cache-Control, X-Accel-Expires 0",
			resp: resp("X-Accel-Expires", "0"), want: 0},
	})
}
