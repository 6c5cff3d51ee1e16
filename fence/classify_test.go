package fence

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
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

// tagConfig is the default config plus a tag header.
var tagConfig = Config{TagHeader: tagName}

type classifyCase struct {
	name   string
	status int // 200 when zero
	config Config
	reqHdr http.Header
	// target is the request target as sent, path and query; "/" when
	// empty.
	target string
	// private and public force the path facts, to test a rule apart from
	// path matching; the config's path lists are matched as well.
	private bool
	public  bool
	resp    http.Header
	want    Reasons
}

// newPolicy builds the policy of a test config, failing the test if the
// config is invalid.
func newPolicy(t testing.TB, c Config) *Policy {
	t.Helper()
	p, err := New(c)
	if err != nil {
		t.Fatalf("test config does not validate: %v", err)
	}
	return p
}

// requestTo builds the request facts for a target as a server parses it.
func requestTo(t testing.TB, p *Policy, h http.Header, target string) Request {
	t.Helper()
	u, err := url.ParseRequestURI(cmp.Or(target, "/"))
	if err != nil {
		t.Fatalf("bad test target %q: %v", target, err)
	}
	return p.Request(h, u)
}

// runClassify builds the Request through Policy.Request, as the Caddy
// module does, and compares the full reason set.
func runClassify(t *testing.T, cases []classifyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPolicy(t, tc.config)
			req := requestTo(t, p, tc.reqHdr, tc.target)
			req.PrivatePath = req.PrivatePath || tc.private
			req.PublicPath = req.PublicPath || tc.public
			got := p.Classify(&req, cmp.Or(tc.status, http.StatusOK), tc.resp)
			if got != tc.want {
				t.Errorf("Classify(target=%q private=%v public=%v, request %v, response %v)\n got: %s\nwant: %s",
					tc.target, req.PrivatePath, req.PublicPath, tc.reqHdr, tc.resp, show(got), show(tc.want))
			}
		})
	}
}

// lastModified is what file servers send with a file.
const lastModified = "Mon, 23 Nov 2026 12:00:00 GMT"

// withFileMarks adds to h what S3 sends with every object.
func withFileMarks(h http.Header) http.Header {
	h = h.Clone()
	h.Set("Last-Modified", lastModified)
	h.Set("Etag", `"9b2cf535f27731c974343645a3985328"`)
	h.Set("Accept-Ranges", "bytes")
	return h
}

var (
	sessionCookie = http.Header{"Cookie": {"sid=abc123"}}
	htmlResponse  = http.Header{"Content-Type": {"text/html; charset=utf-8"}}
	cssFile       = http.Header{"Content-Type": {"text/css"}, "Last-Modified": {lastModified}}
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
			target: "/static/app.js",
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
			config: Config{IgnoreCookies: []string{"_ga*"}},
			reqHdr: http.Header{"Cookie": {"_ga=GA1.2.3"}},
			want:   0,
		},
		{
			name:   "session cookie glob matches",
			config: Config{SessionCookies: []string{"sess*"}},
			reqHdr: http.Header{"Cookie": {"theme=dark; sessionid=abc"}},
			want:   reasons(SessionCookie),
		},
		{
			name:   "session cookie glob does not match",
			config: Config{SessionCookies: []string{"sess*"}},
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

		// Rule 3: a credential handed out in a response header. Spring
		// Session's HeaderHttpSessionIdResolver.xAuthToken() sends a new
		// session's id as X-Auth-Token on the response that created it;
		// authenticationInfo() uses Authentication-Info.
		{
			name: "a session id in X-Auth-Token on an anonymous response",
			resp: http.Header{"X-Auth-Token": {"0a1b2c"}, "Content-Type": {"application/json"}},
			want: reasons(SetCredential),
		},
		{
			name: "a session id in Authentication-Info",
			resp: http.Header{"Authentication-Info": {"0a1b2c"}},
			want: reasons(SetCredential),
		},
		{
			name:   "a configured credential header on the response",
			config: Config{CredentialHeaders: []string{"X-Session"}},
			resp:   http.Header{"X-Session": {"s"}},
			want:   reasons(SetCredential),
		},
		{
			name: "Authorization on a response",
			resp: http.Header{"Authorization": {"Bearer x"}},
			want: reasons(SetCredential),
		},
		{
			name: "headers that carry no credential",
			resp: http.Header{"X-Request-Id": {"1"}, "X-Auth-Method": {"password"}, "Www-Authenticate": {"Bearer"}},
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
			config: tagConfig,
			resp:   http.Header{tagName: {"private"}},
			want:   reasons(PrivateTag),
		},
		{
			name:   "private tag is trimmed and case-insensitive",
			config: tagConfig,
			resp:   http.Header{tagName: {"  PriVate\t"}},
			want:   reasons(PrivateTag),
		},
		{
			name:   "tag header name is canonicalised",
			config: Config{TagHeader: strings.ToLower(tagName)},
			resp:   http.Header{tagName: {"private"}},
			want:   reasons(PrivateTag),
		},
		{
			name:   "public tag without cookies is shared",
			config: tagConfig,
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

		// Rule 5: Vary on credentials the request carried.
		{
			name:   "vary cookie with a session cookie",
			reqHdr: sessionCookie,
			resp:   http.Header{"Vary": {"Cookie"}},
			want:   reasons(SessionCookie, VaryCredentials),
		},
		{
			// Django and Drupal send Vary: Cookie on anonymous pages: a
			// cache keys them on the absent cookie, so they hold no one's
			// data.
			name: "vary cookie without a cookie",
			resp: http.Header{"Vary": {"Cookie"}},
			want: 0,
		},
		{
			name:   "vary cookie with only ignored cookies",
			config: Config{IgnoreCookies: []string{"_ga*"}},
			reqHdr: http.Header{"Cookie": {"_ga=GA1.2.3"}},
			resp:   http.Header{"Vary": {"Accept-Encoding, Cookie"}},
			want:   0,
		},
		{
			name:   "vary authorization, lower case",
			reqHdr: http.Header{"Authorization": {"Bearer x"}},
			resp:   http.Header{"Vary": {"authorization"}},
			want:   reasons(Authorization, VaryCredentials),
		},
		{
			name: "vary authorization without authorization",
			resp: http.Header{"Vary": {"Authorization"}},
			want: 0,
		},
		{
			name:   "vary cookie after another member",
			config: tagConfig,
			reqHdr: sessionCookie,
			resp:   http.Header{"Vary": {"Accept-Encoding, Cookie"}, tagName: {"public"}},
			want:   reasons(VaryCredentials),
		},
		{
			name:   "vary cookie on a second line",
			config: tagConfig,
			reqHdr: sessionCookie,
			resp:   http.Header{"Vary": {"Accept-Encoding", "Origin,COOKIE"}, tagName: {"public"}},
			want:   reasons(VaryCredentials),
		},
		{
			name: "vary on unrelated fields",
			resp: http.Header{"Vary": {"Accept-Encoding, Origin"}},
			want: 0,
		},
		{
			// Member matching is exact, not substring.
			name:   "vary on a field that merely contains cookie",
			config: tagConfig,
			reqHdr: sessionCookie,
			resp:   http.Header{"Vary": {"X-Cookie-Consent, Cookies"}, tagName: {"public"}},
			want:   0,
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
		{
			// What Next.js and Vercel send on every static and ISR page:
			// the RFC 9111 grammar accepts a bare directive.
			name: "bare stale-while-revalidate", resp: cc("s-maxage=31536000, stale-while-revalidate"), want: 0,
		},
		{name: "bare stale-if-error", resp: cc("max-age=60, stale-if-error"), want: 0},
		{name: "quoted max-age", resp: cc(`max-age="60"`), want: 0},
		{name: "unknown extension directive with a quoted value", resp: cc(`public, max-age=60, x-ext="a, b"`), want: 0},
		{name: "empty list members", resp: cc(", public,, max-age=60 ,"), want: 0},
		{name: "no-store with an argument is still no-store", resp: cc("no-store=1"), want: 0},

		// Conflicts.
		{name: "max-age repeated", resp: cc("max-age=60, max-age=0"), want: reasons(CacheControlConflict)},
		{name: "max-age repeated in another case", resp: cc("max-age=60, MAX-AGE=0"), want: reasons(CacheControlConflict)},
		{name: "max-age repeated without spaces", resp: cc("max-age=60,max-age=0"), want: reasons(CacheControlConflict)},
		{name: "no-store repeated", resp: cc("no-store, no-store"), want: reasons(CacheControlConflict)},
		{
			// Some parsers split at whitespace and read two max-ages,
			// others read max-age=60: not a list the grammar accepts.
			name: "max-age repeated, separated by a space",
			resp: cc("max-age=60 max-age=0"),
			want: reasons(CacheControlInvalid),
		},
		{name: "public with private", resp: cc("public, private"), want: reasons(CacheControlConflict)},
		{name: "public with private, upper case", resp: cc("Public, PRIVATE"), want: reasons(CacheControlConflict)},
		{name: "public with no-store", resp: cc("public, no-store"), want: reasons(CacheControlConflict)},
		{
			// nginx's static-asset recipe, `expires 1y;` plus
			// `add_header Cache-Control "public"`: RFC 9110 §5.3 makes the
			// lines one list, and a cache that reads only the first line
			// stores the file as well.
			name: "two cache-control lines that agree",
			resp: cc("max-age=31536000", "public"),
			want: 0,
		},
		{
			// VCL that tests `beresp.http.Cache-Control ~ "private"` sees
			// only the first line and misses the restriction on the second.
			name: "a restriction on the second line",
			resp: cc("max-age=60", "private"),
			want: reasons(CacheControlConflict),
		},
		{name: "no-cache on the second line", resp: cc("public, max-age=60", "no-cache"), want: reasons(CacheControlConflict)},
		{name: "lines that contradict", resp: cc("public", "private"), want: reasons(CacheControlConflict)},
		{name: "a directive repeated across lines", resp: cc("max-age=60", "max-age=0"), want: reasons(CacheControlConflict)},
		{name: "two identical cache-control lines", resp: cc("no-store", "no-store"), want: reasons(CacheControlConflict)},

		// Invalid.
		{name: "max-age not a number", resp: cc("max-age=abc"), want: reasons(CacheControlInvalid)},
		{name: "max-age negative", resp: cc("max-age=-1"), want: reasons(CacheControlInvalid)},
		{name: "max-age without a value", resp: cc("public, max-age"), want: reasons(CacheControlInvalid)},
		{name: "s-maxage without a value", resp: cc("s-maxage"), want: reasons(CacheControlInvalid)},
		{name: "stale-while-revalidate with a bad value", resp: cc("max-age=1, stale-while-revalidate=soon"), want: reasons(CacheControlInvalid)},
		{name: "a parameter on a directive", resp: cc("max-age=60;x"), want: reasons(CacheControlInvalid)},
		{name: "a value that is not a token", resp: cc("max-age=6/0"), want: reasons(CacheControlInvalid)},
		{name: "a name that is not a token", resp: cc("public, (max-age)=60"), want: reasons(CacheControlInvalid)},
		{name: "unterminated quote", resp: cc(`private="Set-Cookie`), want: reasons(CacheControlInvalid)},
		{name: "an invalid second line", resp: cc("public", "max-age=abc"), want: reasons(CacheControlInvalid)},

		// Qualified: RFC 9111 lets a shared cache store the rest of the
		// response, which is exactly what the fence must prevent.
		{name: "private qualified with set-cookie", resp: cc(`private="Set-Cookie"`), want: reasons(CacheControlQualified)},
		{name: "no-cache qualified with set-cookie", resp: cc(`no-cache="Set-Cookie"`), want: reasons(CacheControlQualified)},
		{name: "private qualified with two fields", resp: cc(`max-age=60, private="Set-Cookie, X-User"`), want: reasons(CacheControlQualified)},
		{name: "private qualified with an unquoted token", resp: cc("private=Set-Cookie"), want: reasons(CacheControlQualified)},

		// Vary: *.
		{name: "vary star", resp: http.Header{"Vary": {"*"}}, want: reasons(VaryStar)},
		{name: "vary star among other members", resp: http.Header{"Vary": {"Accept-Encoding, *"}}, want: reasons(VaryStar)},
		{name: "vary star and cookie", reqHdr: sessionCookie, resp: http.Header{"Vary": {"Cookie", " * "}}, want: reasons(SessionCookie, VaryCredentials, VaryStar)},

		// Tag.
		{name: "tag maybe", config: tagConfig, resp: http.Header{tagName: {"maybe"}}, want: reasons(TagInvalid)},
		{name: "tag empty", config: tagConfig, resp: http.Header{tagName: {""}}, want: reasons(TagInvalid)},
		{name: "tag blank", config: tagConfig, resp: http.Header{tagName: {"   "}}, want: reasons(TagInvalid)},
		{
			// Both lines are reported: the private line alone would fence,
			// and the disagreement is its own reason.
			name:   "tag private and public lines",
			config: tagConfig,
			resp:   http.Header{tagName: {"private", "public"}},
			want:   reasons(PrivateTag, TagInvalid),
		},
		{
			name:   "tag private and public in one line",
			config: tagConfig,
			resp:   http.Header{tagName: {"private, public"}},
			want:   reasons(TagInvalid),
		},
		{
			name:   "tag public repeated is still public",
			config: tagConfig,
			reqHdr: sessionCookie,
			resp:   http.Header{tagName: {"public", "PUBLIC"}},
			want:   0,
		},
		{
			// An invalid line voids the public line: the cookie rule applies.
			name:   "tag public with an invalid line does not lift cookies",
			config: tagConfig,
			reqHdr: sessionCookie,
			resp:   http.Header{tagName: {"public", "maybe"}},
			want:   reasons(SessionCookie, TagInvalid),
		},
	})
}

// TestClassifyPathConfusion covers the web cache deception rule: a path or
// query a CDN would cache by extension, answered with anything but a file
// of that type.
func TestClassifyPathConfusion(t *testing.T) {
	ct := func(v ...string) http.Header { return http.Header{"Content-Type": v} }
	runClassify(t, []classifyCase{
		{name: "css path with html", target: "/account/x.css", resp: ct("text/html"), want: reasons(PathConfusion)},
		{name: "css path with html and charset", target: "/account/x.css", resp: ct("text/html; charset=utf-8"), want: reasons(PathConfusion)},
		{
			// Servers that cut the path at ';' (Tomcat, Spring path
			// parameters) serve /account; the CDN sees a .css file.
			name: "semicolon path parameter", target: "/account;x.css", resp: ct("text/html"), want: reasons(PathConfusion),
		},
		{name: "encoded slash", target: "/account%2Fx.css", resp: ct("text/html"), want: reasons(PathConfusion)},
		{
			// VCL such as req.url ~ "\.css$" matches the query too.
			name: "extension at the end of the query", target: "/account?x.css", resp: ct("text/html"), want: reasons(PathConfusion),
		},
		{name: "extension upper case", target: "/a.CSS", resp: ct("text/html"), want: reasons(PathConfusion)},
		{name: "content type upper case", target: "/account/x.css", resp: ct("TEXT/HTML"), want: reasons(PathConfusion)},
		{name: "png with json", target: "/profile/avatar.png", resp: ct("application/json"), want: reasons(PathConfusion)},
		{name: "woff2 with xhtml", target: "/account/font.woff2", resp: ct("application/xhtml+xml"), want: reasons(PathConfusion)},
		{name: "js with problem json", target: "/account/x.js", resp: ct("application/problem+json"), want: reasons(PathConfusion)},
		{name: "mjs with html", target: "/account/x.mjs", resp: ct("text/html"), want: reasons(PathConfusion)},
		{name: "dot-only name", target: "/account/.css", resp: ct("text/html"), want: reasons(PathConfusion)},

		// The deny-list of HTML and JSON missed these: every type a file
		// server would not send for the extension is suspect.
		{name: "css with plain text", target: "/account/x.css", resp: ct("text/plain"), want: reasons(PathConfusion)},
		{name: "css with xml", target: "/account/x.css", resp: ct("application/xml"), want: reasons(PathConfusion)},
		{name: "png with csv", target: "/account/x.png", resp: ct("text/csv"), want: reasons(PathConfusion)},
		{name: "png with svg", target: "/account/x.png", resp: ct("image/svg+xml"), want: reasons(PathConfusion)},
		{name: "js with plain text", target: "/account/x.js", resp: ct("text/plain"), want: reasons(PathConfusion)},
		{name: "css with a bare +json", target: "/account/x.css", resp: ct("+json"), want: reasons(PathConfusion)},
		{name: "two content type lines", target: "/static/app.css", resp: ct("text/css", "text/html"), want: reasons(PathConfusion)},
		{name: "an empty content type", target: "/static/app.css", resp: ct(""), want: reasons(PathConfusion)},
		{name: "a content type of parameters only", target: "/static/app.css", resp: ct("; charset=utf-8"), want: reasons(PathConfusion)},

		{name: "javascript served as javascript", target: "/app.js", resp: ct("application/javascript"), want: 0},
		{name: "javascript served as text/javascript", target: "/app.mjs", resp: ct("text/javascript; charset=utf-8"), want: 0},
		{name: "css served as css", target: "/style.css", resp: ct("text/css"), want: 0},
		{name: "image served as image", target: "/logo.png", resp: ct("image/png"), want: 0},
		{name: "jpeg served as webp by an image optimiser", target: "/photo.jpg", resp: ct("image/webp"), want: 0},
		{name: "svg served as svg", target: "/logo.svg", resp: ct("image/svg+xml"), want: 0},
		{name: "csv served as csv", target: "/export.csv", resp: ct("text/csv"), want: 0},
		{name: "font served as octet-stream", target: "/f.woff2", resp: ct("application/octet-stream"), want: 0},
		{name: "font served as S3's binary/octet-stream", target: "/f.woff2", resp: ct("binary/octet-stream"), want: 0},
		{
			// Over-fencing: source maps are JSON, as file servers send
			// them.
			name: "source map served as json", target: "/static/app.js.map", resp: ct("application/json"), want: 0,
		},
		{
			// json is not a static extension: an API answer at .json is
			// what the path says it is.
			name: "json path with json", target: "/api/x.json", resp: ct("application/json"), want: 0,
		},
		{name: "json path with problem json", target: "/api/x.json", resp: ct("application/problem+json"), want: 0},
		{name: "html path with html", target: "/index.html", resp: ct("text/html"), want: 0},
		{name: "no extension", target: "/account", resp: ct("text/html"), want: 0},
		{name: "dot in a directory only", target: "/v1.2/account", resp: ct("text/html"), want: 0},
		{name: "trailing slash", target: "/account/x.css/", resp: ct("text/html"), want: 0},
		{name: "extension must match exactly", target: "/account/x.cssx", resp: ct("text/html"), want: 0},
		{name: "a version number in the query", target: "/page?v=1.2.3", resp: ct("text/html"), want: 0},
		{name: "redirect without a body type", target: "/old.css", status: http.StatusMovedPermanently, resp: http.Header{}, want: 0},

		// A compressed file sent with the type of what is inside: the AWS
		// CLI stores .tar.gz as application/x-tar (with Last-Modified,
		// ETag and Accept-Ranges, as S3 serves every object); Apache's
		// AddEncoding sends app.css.gz as text/css. Only with a file
		// server's marks, and only for an inner type CDNs cache too.
		{name: "tarball from object storage", target: "/releases/v1.tar.gz", resp: withFileMarks(ct("application/x-tar")), want: 0},
		{name: "precompressed stylesheet", target: "/app.css.gz", resp: withFileMarks(ct("text/css")), want: 0},
		{name: "tarball type without a file server's marks", target: "/account/x.tar.gz", resp: ct("application/x-tar"), want: reasons(PathConfusion)},
		{name: "a page inside .html.gz", target: "/account/x.html.gz", resp: withFileMarks(ct("text/html")), want: reasons(PathConfusion)},
		{name: "a page at .tar.gz", target: "/account/x.tar.gz", resp: withFileMarks(ct("text/html")), want: reasons(PathConfusion)},
		{name: "a type of neither extension", target: "/x.css.gz", resp: withFileMarks(ct("image/png")), want: reasons(PathConfusion)},
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
		{name: "cookie on public path", config: tagConfig, reqHdr: sessionCookie, public: true, resp: cssFile, want: 0},
		{name: "cookie with public tag", config: tagConfig, reqHdr: sessionCookie, resp: pub, want: 0},
		{name: "cookie with public tag, spaced and upper case", config: tagConfig, reqHdr: sessionCookie, resp: http.Header{tagName: {" PUBLIC "}}, want: 0},
		{name: "malformed cookie on public path", reqHdr: http.Header{"Cookie": {"garbage"}}, public: true, resp: cssFile, want: 0},

		{name: "authorization on public path", config: tagConfig, reqHdr: withCookie(auth), public: true, resp: cssFile, want: reasons(Authorization)},
		{name: "authorization with public tag", config: tagConfig, reqHdr: withCookie(auth), resp: pub, want: reasons(Authorization)},
		{name: "set-cookie on public path", config: tagConfig, reqHdr: sessionCookie, public: true, resp: merge(cssFile, http.Header{"Set-Cookie": {"a=b"}}), want: reasons(SetCookie)},
		{name: "set-cookie with public tag", config: tagConfig, reqHdr: sessionCookie, resp: merge(pub, http.Header{"Set-Cookie": {"a=b"}}), want: reasons(SetCookie)},
		{
			// A path in both lists stays private: public only speaks for
			// cookies.
			name: "private path that is also public", config: tagConfig, reqHdr: sessionCookie, private: true, public: true, resp: cssFile, want: reasons(PrivatePath),
		},
		{name: "private path with public tag", config: tagConfig, reqHdr: sessionCookie, private: true, resp: pub, want: reasons(PrivatePath)},
		{name: "private tag on public path", config: tagConfig, reqHdr: sessionCookie, public: true, resp: merge(cssFile, http.Header{tagName: {"private"}}), want: reasons(PrivateTag)},
		{name: "vary cookie on public path", config: tagConfig, reqHdr: sessionCookie, public: true, resp: merge(cssFile, http.Header{"Vary": {"Cookie"}}), want: reasons(VaryCredentials)},
		{name: "vary cookie with public tag", config: tagConfig, reqHdr: sessionCookie, resp: merge(pub, http.Header{"Vary": {"Cookie"}}), want: reasons(VaryCredentials)},
		{name: "vary star on public path", config: tagConfig, public: true, resp: merge(cssFile, http.Header{"Vary": {"*"}}), want: reasons(VaryStar)},
		{name: "cache-control conflict on public path", config: tagConfig, reqHdr: sessionCookie, public: true, resp: merge(cssFile, http.Header{"Cache-Control": {"public, max-age=60, max-age=0"}}), want: reasons(CacheControlConflict)},
		{name: "cache-control invalid with public tag", config: tagConfig, reqHdr: sessionCookie, resp: merge(pub, http.Header{"Cache-Control": {"max-age=abc"}}), want: reasons(CacheControlInvalid)},
		{name: "cache-control qualified with public tag", config: tagConfig, reqHdr: sessionCookie, resp: merge(pub, http.Header{"Cache-Control": {`private="Set-Cookie"`}}), want: reasons(CacheControlQualified)},
		{name: "path confusion with public tag", config: tagConfig, reqHdr: sessionCookie, target: "/account/x.css", resp: merge(pub, htmlResponse), want: reasons(PathConfusion)},
		{name: "invalid tag on public path", config: tagConfig, reqHdr: sessionCookie, public: true, resp: merge(cssFile, http.Header{tagName: {"maybe"}}), want: reasons(TagInvalid)},
		{name: "credential header on public path", reqHdr: withCookie(http.Header{"X-Api-Key": {"k"}}), public: true, resp: cssFile, want: reasons(CredentialHeader)},
		{name: "credential parameter on public path", reqHdr: sessionCookie, target: "/static/app.css?access_token=t", public: true, resp: cssFile, want: reasons(CredentialParam)},
	})
}

// TestClassifyPublicPathNeedsAPlainFile: a public path lifts the cookie rule
// only for a response that is plainly a static file as a file server sends
// it. Anything an application could have rendered for one user keeps the
// rule.
func TestClassifyPublicPathNeedsAPlainFile(t *testing.T) {
	public := Config{PublicPaths: []string{"/static/*", "*.js"}}
	file := func(contentType string, extra ...string) http.Header {
		h := http.Header{"Content-Type": {contentType}}
		for i := 0; i+1 < len(extra); i += 2 {
			h.Add(extra[i], extra[i+1])
		}
		return h
	}
	runClassify(t, []classifyCase{
		{name: "stylesheet", config: public, reqHdr: sessionCookie, target: "/static/app.css", resp: file("text/css", "Last-Modified", lastModified), want: 0},
		{name: "image", config: public, reqHdr: sessionCookie, target: "/static/logo.png", resp: file("image/png", "Accept-Ranges", "bytes"), want: 0},
		{name: "font without an extension", config: public, reqHdr: sessionCookie, target: "/static/font", resp: file("font/woff2", "Last-Modified", lastModified), want: 0},
		// No type is proof of a file server by itself: a Django view
		// behind a login returns the user's avatar as a FileResponse
		// (Content-Type, Content-Length, no Last-Modified, no
		// Accept-Ranges), and an application may render CSS per user.
		{name: "an image an application served per user", config: public, reqHdr: sessionCookie, target: "/static/avatar.png", resp: file("image/png", "Content-Length", "1234", "Etag", `"a1"`), want: reasons(SessionCookie)},
		{name: "a stylesheet without a file server's marks", config: public, reqHdr: sessionCookie, target: "/static/theme.css", resp: file("text/css"), want: reasons(SessionCookie)},
		{name: "a font without a file server's marks", config: public, reqHdr: sessionCookie, target: "/static/font", resp: file("font/woff2"), want: reasons(SessionCookie)},
		// Caddy's file_server sends no type for an extension it cannot
		// name, and keeps net/http from sniffing one.
		{name: "an untyped file from a file server", config: public, reqHdr: sessionCookie, target: "/static/app.js.map", resp: http.Header{"Content-Type": nil, "Last-Modified": {lastModified}}, want: 0},
		{name: "an untyped answer without a file server's marks", config: public, reqHdr: sessionCookie, target: "/static/app.js.map", resp: http.Header{"Content-Type": nil}, want: reasons(SessionCookie, PathConfusion)},
		{name: "an untyped page", config: public, reqHdr: sessionCookie, target: "/static/x.html", resp: http.Header{"Content-Type": nil, "Last-Modified": {lastModified}}, want: reasons(SessionCookie)},
		// django-sendfile's protected media: the view authorises, the file
		// server sends the file with its marks, the origin says private.
		{name: "a private file from a file server", config: public, reqHdr: sessionCookie, target: "/static/invoices/4711.pdf", resp: file("application/pdf", "Last-Modified", lastModified, "Cache-Control", "private"), want: reasons(SessionCookie)},
		{name: "a no-store file from a file server", config: public, reqHdr: sessionCookie, target: "/static/export.csv", resp: file("text/csv", "Last-Modified", lastModified, "Cache-Control", "no-store"), want: reasons(SessionCookie)},
		{name: "a compressed tarball sent with the type inside", config: public, reqHdr: sessionCookie, target: "/static/release.tar.gz", resp: file("application/x-tar", "Last-Modified", lastModified), want: 0},
		{name: "script from a file server", config: public, reqHdr: sessionCookie, target: "/static/app.js", resp: file("text/javascript", "Last-Modified", lastModified), want: 0},
		{name: "script from Go's http.FileServer with embed (Accept-Ranges only)", config: public, reqHdr: sessionCookie, target: "/static/app.js", resp: file("text/javascript", "Accept-Ranges", "bytes"), want: 0},
		{name: "json file from a file server", config: public, reqHdr: sessionCookie, target: "/static/data.json", resp: file("application/json", "Last-Modified", lastModified), want: 0},
		{name: "not modified", config: public, reqHdr: sessionCookie, target: "/static/app.js", status: http.StatusNotModified, resp: http.Header{}, want: 0},

		{
			// JSONP: the script is rendered per user by an endpoint that
			// happens to match *.js.
			name: "script from a dynamic endpoint", config: public, reqHdr: sessionCookie, target: "/api/user.js?callback=f",
			resp: file("application/javascript"), want: reasons(SessionCookie),
		},
		{name: "page under a public path", config: public, reqHdr: sessionCookie, target: "/static/help", resp: file("text/html; charset=utf-8"), want: reasons(SessionCookie)},
		{name: "plain text under a public path", config: public, reqHdr: sessionCookie, target: "/static/notes", resp: file("text/plain"), want: reasons(SessionCookie)},
		{name: "type that does not match the extension", config: public, reqHdr: sessionCookie, target: "/static/data.json", resp: file("text/html", "Last-Modified", lastModified), want: reasons(SessionCookie)},
		{name: "no content type", config: public, reqHdr: sessionCookie, target: "/static/font", resp: http.Header{}, want: reasons(SessionCookie)},
		{name: "two content types", config: public, reqHdr: sessionCookie, target: "/static/font", resp: file("font/woff2", "Content-Type", "text/html"), want: reasons(SessionCookie)},
		// Types an application renders per user need a file server's
		// markers, whatever the extension says.
		{name: "octet-stream at an .html path", config: public, reqHdr: sessionCookie, target: "/static/me.html", resp: file("application/octet-stream"), want: reasons(SessionCookie)},
		{name: "an invoice PDF", config: public, reqHdr: sessionCookie, target: "/static/invoice", resp: file("application/pdf"), want: reasons(SessionCookie)},
		{name: "protobuf", config: public, reqHdr: sessionCookie, target: "/static/me", resp: file("application/x-protobuf"), want: reasons(SessionCookie)},
		{name: "an SVG", config: public, reqHdr: sessionCookie, target: "/static/badge.svg", resp: file("image/svg+xml"), want: reasons(SessionCookie)},
		{name: "a PDF file from a file server", config: public, reqHdr: sessionCookie, target: "/static/manual.pdf", resp: file("application/pdf", "Last-Modified", lastModified), want: 0},
		{name: "a zip from a file server", config: public, reqHdr: sessionCookie, target: "/static/app.zip", resp: file("application/octet-stream", "Accept-Ranges", "bytes"), want: 0},
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
	analytics := Config{IgnoreCookies: []string{"_ga*", "_gid"}}
	runClassify(t, []classifyCase{
		{name: "no-cache with session cookie", target: "/account", reqHdr: http.Header{"Cookie": {"sessionid=8f1c"}}, resp: incident, want: reasons(SessionCookie)},
		{name: "no-cache without cookies", target: "/account", resp: incident, want: 0},
		{name: "no-cache with analytics cookies only", config: analytics, target: "/account", reqHdr: http.Header{"Cookie": {"_ga=GA1.2.3; _gid=GA1.2.4"}}, resp: incident, want: 0},
		{name: "no-cache with analytics and session cookies", config: analytics, target: "/account", reqHdr: http.Header{"Cookie": {"_ga=GA1.2.3; sessionid=8f1c"}}, resp: incident, want: reasons(SessionCookie)},
		{name: "max-age=0 with session cookie", target: "/account", reqHdr: http.Header{"Cookie": {"sessionid=8f1c"}}, resp: maxAgeZero, want: reasons(SessionCookie)},
		{name: "max-age=0 without cookies", target: "/account", resp: maxAgeZero, want: 0},
	})
}

// TestClassifyReportsEveryReason checks that rules do not short-circuit: a
// response that breaks all of them reports all of them.
func TestClassifyReportsEveryReason(t *testing.T) {
	runClassify(t, []classifyCase{{
		name:    "everything at once",
		config:  tagConfig,
		reqHdr:  http.Header{"Authorization": {"Bearer x"}, "Cookie": {"sid=1"}},
		target:  "/account/x.css",
		private: true,
		resp: http.Header{
			"Set-Cookie":    {"sid=2"},
			"X-Auth-Token":  {"t"},
			tagName:         {"private", "maybe"},
			"Vary":          {"Cookie, *"},
			"Cache-Control": {"public, private", `max-age=abc`, `no-cache="Set-Cookie"`},
			"Content-Type":  {"text/html"},
		},
		want: reasons(Authorization, SessionCookie, SetCookie, SetCredential, PrivatePath, PrivateTag,
			VaryCredentials, CacheControlInvalid, CacheControlConflict, CacheControlQualified,
			VaryStar, TagInvalid, PathConfusion),
	}})
}

// TestPolicyNew checks that each bad option is rejected with a message
// naming the option and the value.
func TestPolicyNew(t *testing.T) {
	for _, tc := range []struct {
		name    string
		config  Config
		wantErr []string // substrings of the error; nil means valid
		badGlob bool     // the error wraps path.ErrBadPattern
	}{
		{name: "zero config", config: Config{}},
		{name: "full valid config", config: Config{
			SessionCookies:    []string{"sess*", "PHPSESSID", "auth_[a-z]*"},
			IgnoreCookies:     []string{"_ga*", `\*odd`},
			CredentialHeaders: []string{"X-Api-Key", "authorization"},
			CredentialParams:  []string{"access_token", "SID"},
			PrivatePaths:      []string{"/account*", "*.private", "/a/*/b", "/exact"},
			PublicPaths:       []string{"/static/*", "*"},
			TagHeader:         tagName,
			StampKey:          []byte("0123456789abcdef"),
		}},
		{name: "lower-case tag header", config: Config{TagHeader: "x-route-tag"}},
		{name: "no credential headers at all", config: Config{CredentialHeaders: []string{}}},

		{name: "bad session glob", config: Config{SessionCookies: []string{"sess*", "["}}, wantErr: []string{"session_cookies", `"["`}, badGlob: true},
		{name: "bad ignore glob", config: Config{IgnoreCookies: []string{"_ga["}}, wantErr: []string{"ignore_cookies", `"_ga["`}, badGlob: true},
		{name: "trailing backslash glob", config: Config{IgnoreCookies: []string{`a\`}}, wantErr: []string{"ignore_cookies", `"a\\"`}, badGlob: true},
		{name: "empty session pattern", config: Config{SessionCookies: []string{""}}, wantErr: []string{"session_cookies", "empty"}},
		{name: "empty ignore pattern", config: Config{IgnoreCookies: []string{"_ga*", ""}}, wantErr: []string{"ignore_cookies", "empty"}},
		{name: "credential header with a space", config: Config{CredentialHeaders: []string{"X Key"}}, wantErr: []string{"credential_headers", `"X Key"`}},
		{name: "credential header cookie", config: Config{CredentialHeaders: []string{"cookie"}}, wantErr: []string{"credential_headers", "session_cookies"}},
		{name: "empty credential param", config: Config{CredentialParams: []string{""}}, wantErr: []string{"credential_params", `""`}},
		{name: "credential param with a delimiter", config: Config{CredentialParams: []string{"a=b"}}, wantErr: []string{"credential_params", `"a=b"`}},
		{name: "credential param too long", config: Config{CredentialParams: []string{strings.Repeat("a", 65)}}, wantErr: []string{"credential_params"}},
		{name: "private path without a slash", config: Config{PrivatePaths: []string{"account"}}, wantErr: []string{"private_paths", `"account"`, "must start with"}},
		{name: "private path with a bad glob", config: Config{PrivatePaths: []string{"/a/*/[x"}}, wantErr: []string{"private_paths", `"/a/*/[x"`, "glob"}},
		{name: "public path with a placeholder", config: Config{PublicPaths: []string{"/{http.request.host}/*"}}, wantErr: []string{"public_paths", "placeholder"}},
		{name: "tag header with a space", config: Config{TagHeader: "X Tag"}, wantErr: []string{"tag_header", `"X Tag"`}},
		{name: "tag header with a colon", config: Config{TagHeader: "X-Tag:"}, wantErr: []string{"tag_header", `"X-Tag:"`}},
		{name: "tag header cache-control", config: Config{TagHeader: "Cache-Control"}, wantErr: []string{"tag_header", `"Cache-Control"`}},
		{name: "tag header cache-control lower case", config: Config{TagHeader: "cache-control"}, wantErr: []string{"tag_header", `"cache-control"`}},
		{name: "tag header set-cookie", config: Config{TagHeader: "Set-Cookie"}, wantErr: []string{"tag_header", `"Set-Cookie"`}},
		{name: "tag header cdn-cache-control", config: Config{TagHeader: "CDN-Cache-Control"}, wantErr: []string{"tag_header"}},
		{name: "tag header of the vendor family", config: Config{TagHeader: "Vercel-CDN-Cache-Control"}, wantErr: []string{"tag_header"}},
		{name: "tag header vary", config: Config{TagHeader: "Vary"}, wantErr: []string{"tag_header"}},
		{name: "short stamp key", config: Config{StampKey: []byte("short")}, wantErr: []string{"owner_stamp", "16 bytes"}},
		{name: "stamp header that is the tag header", config: Config{StampKey: []byte("0123456789abcdef"), StampHeader: "x-tag", TagHeader: "X-Tag"}, wantErr: []string{"owner_stamp", "tag_header"}},
		{name: "stamp header with caching semantics", config: Config{StampKey: []byte("0123456789abcdef"), StampHeader: "Surrogate-Control"}, wantErr: []string{"owner_stamp", "Surrogate-Control"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.config)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("New() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New() = nil, want an error containing %q", tc.wantErr)
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("New() = %q, want it to contain %q", err, s)
				}
			}
			if tc.badGlob && !errors.Is(err, path.ErrBadPattern) {
				t.Errorf("New() = %v, want it to wrap path.ErrBadPattern", err)
			}
			if strings.Contains(err.Error(), "0123456789abcdef") || strings.Contains(err.Error(), "short") {
				t.Errorf("New() = %q: the error echoes the stamp key", err)
			}
		})
	}
}

// Inputs that origins and caches read differently from a naive parser; the
// fence must take the reading that fences.
func TestClassifyParserDifferentials(t *testing.T) {
	public := Config{PublicPaths: []string{"/static/*"}}
	runClassify(t, []classifyCase{
		{name: "no content type on a static-looking path is sniffed as a page",
			target: "/account/x.css", resp: http.Header{}, want: reasons(PathConfusion)},
		{name: "no content type on a 304 has no body to sniff",
			target: "/static/app.css", status: http.StatusNotModified, resp: http.Header{}, want: 0},
		{name: "no content type on a 204",
			target: "/static/app.css", status: http.StatusNoContent, resp: http.Header{}, want: 0},
		{name: "dot-dot segment does not lift the cookie rule", config: public,
			target: "/static/..;/account", reqHdr: sessionCookie, resp: cssFile, want: reasons(SessionCookie)},
		{name: "path parameter does not lift the cookie rule", config: public,
			target: "/static/app.css;v=1", reqHdr: sessionCookie, resp: cssFile, want: reasons(SessionCookie)},
		{name: "backslash does not lift the cookie rule", config: public,
			target: `/static\..\account`, reqHdr: sessionCookie, resp: cssFile, want: reasons(SessionCookie)},
		{name: "a plain public path lifts it", config: public,
			target: "/static/app.css", reqHdr: sessionCookie, resp: cssFile, want: 0},
		// Caddy's file_server: "do not allow Go to sniff the content-type".
		{name: "an untyped file server answer is not sniffed",
			target: "/static/app.js.map", resp: http.Header{"Content-Type": nil, "Last-Modified": {lastModified}, "Etag": {`"x"`}}, want: 0},
		{name: "an untyped answer without a file server's marks",
			target: "/account/x.map", resp: http.Header{"Content-Type": nil}, want: reasons(PathConfusion)},
		// Go's mime package names .css whatever the machine: no file
		// server built on it sends a stylesheet untyped.
		{name: "an untyped stylesheet, marks or not",
			target: "/account/x.css", resp: http.Header{"Content-Type": nil, "Last-Modified": {lastModified}}, want: reasons(PathConfusion)},
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
		{name: "private with Surrogate-Control content naming no-store (a value, not a directive)",
			resp: resp("Cache-Control", "private", "Surrogate-Control", `content="no-store"`), want: reasons(TargetedOverride)},
		{name: "private with Surrogate-Control no-store for one device only",
			resp: resp("Cache-Control", "private", "Surrogate-Control", "no-store;other-device, max-age=60"), want: reasons(TargetedOverride)},
		{name: "private with Surrogate-Control no-store-remote",
			resp: resp("Cache-Control", "private", "Surrogate-Control", "no-store-remote"), want: reasons(TargetedOverride)},
		{name: "private, no-store with X-Accel-Expires (nginx stores it)",
			resp: resp("Cache-Control", "private, no-store", "X-Accel-Expires", "3600"), want: reasons(TargetedOverride)},
		// RFC 9213's split: no-store for every other cache, ten minutes for
		// the CDN. Nothing in it says the page is one user's.
		{name: "no-store with CDN-Cache-Control max-age (RFC 9213's example)",
			resp: resp("Cache-Control", "no-store", "CDN-Cache-Control", "max-age=600"), want: 0},
		{name: "no-store with Surrogate-Control max-age (Fastly's split)",
			resp: resp("Cache-Control", "no-store", "Surrogate-Control", "max-age=3600"), want: 0},
		{name: "no-store with X-Accel-Expires",
			resp: resp("Cache-Control", "no-store", "X-Accel-Expires", "3600"), want: 0},
		{name: "private with X-Accel-Expires @epoch",
			resp: resp("Cache-Control", "private", "X-Accel-Expires", "@1893456000"), want: reasons(TargetedOverride)},
		{name: "private with CDN-Cache-Control max-age",
			resp: resp("Cache-Control", "private", "CDN-Cache-Control", "max-age=600"), want: reasons(TargetedOverride)},
		{name: "private with CDN-Cache-Control no-store=?0 (a false boolean)",
			resp: resp("Cache-Control", "private", "CDN-Cache-Control", "no-store=?0"), want: reasons(TargetedOverride)},
		{name: "private with an invalid CDN-Cache-Control",
			resp: resp("Cache-Control", "private", "CDN-Cache-Control", "No-Store"), want: reasons(TargetedOverride)},
		{name: "private with Vercel-CDN-Cache-Control max-age (Vercel reads it first)",
			resp: resp("Cache-Control", "private", "Vercel-CDN-Cache-Control", "max-age=3600"), want: reasons(TargetedOverride)},
		{name: "private with Netlify-CDN-Cache-Control",
			resp: resp("Cache-Control", "private", "Netlify-CDN-Cache-Control", "public, s-maxage=3600, durable"), want: reasons(TargetedOverride)},
		{name: "private with Akamai !no-store",
			resp: resp("Cache-Control", "private", "Edge-Control", "!no-store, max-age=1h"), want: reasons(TargetedOverride)},
		{name: "private with Edge-Control bypass-cache agrees",
			resp: resp("Cache-Control", "private", "Edge-Control", "bypass-cache"), want: 0},
		{name: "private with Surrogate-Control no-store agrees",
			resp: resp("Cache-Control", "private", "Surrogate-Control", "no-store"), want: 0},
		{name: "private with CDN-Cache-Control private agrees",
			resp: resp("Cache-Control", "private", "CDN-Cache-Control", "private"), want: 0},
		{name: "private with Vercel-CDN-Cache-Control no-store agrees",
			resp: resp("Cache-Control", "private", "Vercel-CDN-Cache-Control", "no-store"), want: 0},
		{name: "public with Surrogate-Control max-age agrees",
			resp: resp("Cache-Control", "public, max-age=60", "Surrogate-Control", "max-age=3600"), want: 0},
		{name: "no Cache-Control, X-Accel-Expires 0",
			resp: resp("X-Accel-Expires", "0"), want: 0},
	})
}
