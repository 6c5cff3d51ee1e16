package fence

import (
	"errors"
	"fmt"
	"iter"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/pquerna/cachecontrol/cacheobject"
)

// Policy is an operator's configuration of the rules. The zero value is the
// safest: every request cookie identifies a user and there is no tag header.
type Policy struct {
	// SessionCookies are globs (path.Match syntax) naming the cookies that
	// identify a user. When empty, every cookie not matched by IgnoreCookies
	// does.
	SessionCookies []string
	// IgnoreCookies are globs naming cookies that never identify a user,
	// such as analytics or consent cookies.
	IgnoreCookies []string
	// TagHeader is the response header through which the origin tags a
	// route "private" or "public". Empty means the origin sends no tag.
	TagHeader string
}

// Validate reports the first setting that cannot work, naming it.
func (p *Policy) Validate() error {
	for _, list := range []struct {
		option string
		globs  []string
	}{{"session_cookies", p.SessionCookies}, {"ignore_cookies", p.IgnoreCookies}} {
		for _, g := range list.globs {
			if g == "" {
				return fmt.Errorf("%s: empty cookie name pattern", list.option)
			}
			if _, err := path.Match(g, ""); err != nil {
				return fmt.Errorf("%s: bad cookie name pattern %q: %w", list.option, g, err)
			}
		}
	}
	if p.TagHeader != "" {
		if err := CheckHeaderName(p.TagHeader); err != nil {
			return fmt.Errorf("tag_header: %q: %w", p.TagHeader, err)
		}
	}
	return nil
}

// controlledHeaders carry caching or identity semantics of their own; a
// header of the fence's (route tag, owner stamp) under one of these names
// would be overwritten or would change what caches do.
var controlledHeaders = []string{
	"Cache-Control", "Surrogate-Control", "Cdn-Cache-Control", "Cloudflare-Cdn-Cache-Control",
	"Edge-Control", "X-Accel-Expires", "Expires", "Pragma", "Set-Cookie", "Vary", "Age",
	"Authorization", "Cookie", "Cache-Fence", "Cache-Status",
	// Removing any of these from every response would break responses.
	"Content-Type", "Content-Length", "Content-Encoding", "Content-Range", "Content-Language",
	"Content-Location", "Content-Disposition", "Transfer-Encoding", "Connection", "Upgrade",
	"Trailer", "Location", "Etag", "Last-Modified", "Date", "Server", "Link", "Www-Authenticate",
	"Strict-Transport-Security", "Content-Security-Policy", "Access-Control-Allow-Origin",
}

// CheckHeaderName accepts a header name for the fence's own use: a valid
// field name that caches and browsers give no meaning to.
func CheckHeaderName(name string) error {
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return errors.New("not a valid header field name")
		}
	}
	canonical := http.CanonicalHeaderKey(name)
	for _, c := range controlledHeaders {
		if canonical == c {
			return errors.New("this header carries caching or identity semantics of its own; pick a dedicated name such as X-Cache-Fence-Tag")
		}
	}
	return nil
}

// Request holds what the rules need to know about a request. Build it with
// Policy.Request before the handler chain runs: handlers further in may
// rewrite the request headers, but the client sent what it sent.
type Request struct {
	// Path is the decoded request path, used to spot path confusion.
	Path string
	// Authorization: the request had an Authorization header, any value.
	Authorization bool
	// IdentifyingCookie: the request had a cookie that identifies a user.
	IdentifyingCookie bool
	// PrivatePath: the path matched a configured private path.
	PrivatePath bool
	// PublicPath: the path matched a configured public path, and is not
	// ambiguous.
	PublicPath bool
}

// Request extracts the facts the rules need from a request's headers. The
// path matches are computed by the caller, who owns the path-pattern syntax.
func (p *Policy) Request(h http.Header, urlPath string, privatePath, publicPath bool) Request {
	_, auth := h["Authorization"]
	return Request{
		Path:              urlPath,
		Authorization:     auth,
		IdentifyingCookie: p.identifyingCookie(h["Cookie"]),
		PrivatePath:       privatePath,
		PublicPath:        publicPath && !ambiguousPath(urlPath),
	}
}

// ambiguousPath reports a decoded path that origins resolve differently
// from path matchers: a dot-dot segment (/static/..;/account, which Tomcat
// and Jetty serve as /account), a path parameter, or a backslash. A public
// path match on such a path proves nothing.
func ambiguousPath(urlPath string) bool {
	return strings.Contains(urlPath, "..") || strings.ContainsAny(urlPath, ";\\")
}

// identifyingCookie reports whether any cookie identifies a user.
func (p *Policy) identifyingCookie(lines []string) bool {
	for name := range cookiePairs(lines) {
		if p.identifies(name) {
			return true
		}
	}
	return false
}

// cookiePairs yields the name and the whole name=value pair of every cookie
// in Cookie header lines, without allocating. Pairs are split on ";" and
// also on ",", as some frameworks (Rack) do, so that "_ga=1, sid=x" cannot
// hide a session cookie. A pair with no "=", an empty name, or a name with
// a "%" (which PHP and Rack decode into another name) yields the name "".
func cookiePairs(lines []string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, line := range lines {
			for line != "" {
				var pair string
				if i := strings.IndexAny(line, ";,"); i >= 0 {
					pair, line = line[:i], line[i+1:]
				} else {
					pair, line = line, ""
				}
				if pair = strings.TrimSpace(pair); pair == "" {
					continue
				}
				name, _, ok := strings.Cut(pair, "=")
				if name = strings.TrimSpace(name); !ok || strings.Contains(name, "%") {
					name = ""
				}
				if !yield(name, pair) {
					return
				}
			}
		}
	}
}

// identifies reports whether the cookie called name identifies a user. A
// cookie without a name cannot be matched, so it counts: fail closed.
func (p *Policy) identifies(name string) bool {
	if name == "" {
		return true
	}
	if len(p.SessionCookies) > 0 {
		return matchAny(p.SessionCookies, name)
	}
	return !matchAny(p.IgnoreCookies, name)
}

func matchAny(globs []string, name string) bool {
	for _, g := range globs {
		// Validate rejected bad patterns, so an error here cannot happen.
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// Classify returns the reasons to fence the response to req whose status
// and headers are status and resp. The empty set means the response may be
// shared.
//
// A public tag or public path only lifts the cookie rule: it never overrides
// Authorization, Set-Cookie, or an ambiguity.
func (p *Policy) Classify(req Request, status int, resp http.Header) Reasons {
	var rs Reasons
	if req.Authorization {
		rs = rs.With(Authorization)
	}
	if len(resp["Set-Cookie"]) > 0 || announcesSetCookie(resp["Trailer"]) {
		rs = rs.With(SetCookie)
	}
	if req.PrivatePath {
		rs = rs.With(PrivatePath)
	}
	tagPrivate, tagPublic, tagInvalid := p.tag(resp)
	if tagPrivate {
		rs = rs.With(PrivateTag)
	}
	if tagInvalid {
		rs = rs.With(TagInvalid)
	}
	if req.IdentifyingCookie && !req.PublicPath && !tagPublic {
		rs = rs.With(SessionCookie)
	}
	rs |= varyReasons(resp["Vary"])
	rs |= cacheControlReasons(resp["Cache-Control"])
	if targetedOverride(resp) {
		rs = rs.With(TargetedOverride)
	}
	if pathConfused(req.Path, status, resp) {
		rs = rs.With(PathConfusion)
	}
	return rs
}

// tag reads the origin's route tag. Several lines that disagree, an empty
// value, or any word but private/public make the tag invalid.
func (p *Policy) tag(resp http.Header) (private, public, invalid bool) {
	if p.TagHeader == "" {
		return false, false, false
	}
	for _, v := range resp[http.CanonicalHeaderKey(p.TagHeader)] {
		switch v = strings.TrimSpace(v); {
		case strings.EqualFold(v, "private"):
			private = true
		case strings.EqualFold(v, "public"):
			public = true
		default:
			invalid = true
		}
	}
	if private && public {
		invalid = true
	}
	return private, public && !invalid, invalid
}

// listMembers yields the trimmed members of a comma-separated header field
// split over any number of lines (RFC 9110 §5.6.1), without allocating.
func listMembers(lines []string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, line := range lines {
			for line != "" {
				var member string
				member, line, _ = strings.Cut(line, ",")
				if member = strings.TrimSpace(member); member != "" && !yield(member) {
					return
				}
			}
		}
	}
}

func announcesSetCookie(trailers []string) bool {
	for name := range listMembers(trailers) {
		if strings.EqualFold(name, "Set-Cookie") {
			return true
		}
	}
	return false
}

func varyReasons(lines []string) Reasons {
	var rs Reasons
	for field := range listMembers(lines) {
		switch {
		case field == "*":
			rs = rs.With(VaryStar)
		case strings.EqualFold(field, "Cookie"), strings.EqualFold(field, "Authorization"):
			rs = rs.With(VaryCredentials)
		}
	}
	return rs
}

// cacheControlReasons finds the Cache-Control forms that caches read
// differently. Several lines are ambiguous on their own: VCL such as
// `beresp.http.Cache-Control ~ "private"` sees only the first line.
func cacheControlReasons(lines []string) Reasons {
	var rs Reasons
	if len(lines) > 1 {
		rs = rs.With(CacheControlConflict)
	}
	for _, line := range lines {
		rs |= cacheControlMemo.reasons(line)
	}
	return rs
}

// cacheControlLineReasons judges one Cache-Control value.
func cacheControlLineReasons(line string) Reasons {
	var rs Reasons
	cc, err := cacheobject.ParseResponseCacheControl(line)
	if err != nil {
		return rs.With(CacheControlInvalid)
	}
	if cc.Public && (cc.PrivatePresent || cc.NoStore) {
		rs = rs.With(CacheControlConflict)
	}
	if len(cc.Private) > 0 || len(cc.NoCache) > 0 {
		rs = rs.With(CacheControlQualified)
	}
	if repeatsDirective(line) {
		rs = rs.With(CacheControlConflict)
	}
	return rs
}

// lineMemo remembers the judgement of each Cache-Control value. A site
// sends a handful of distinct values, so after warm-up the classifier
// neither parses nor allocates for them. It is bounded in entries and key
// length; past the bounds, values are judged afresh each time.
type lineMemo struct {
	mu sync.RWMutex
	m  map[string]Reasons
}

const (
	memoEntries  = 4096
	memoValueLen = 256
)

var cacheControlMemo = &lineMemo{m: make(map[string]Reasons)}

func (lm *lineMemo) reasons(line string) Reasons {
	if len(line) > memoValueLen {
		return cacheControlLineReasons(line)
	}
	lm.mu.RLock()
	rs, ok := lm.m[line]
	lm.mu.RUnlock()
	if ok {
		return rs
	}
	rs = cacheControlLineReasons(line)
	lm.mu.Lock()
	if len(lm.m) < memoEntries {
		lm.m[strings.Clone(line)] = rs
	}
	lm.mu.Unlock()
	return rs
}

// storingTargeted reports, for each targeted header, whether a value lets
// the caches that obey it store the response. Those caches ignore
// Cache-Control: Varnish's builtin VCL skips it whenever Surrogate-Control
// exists (even content="ESI/1.0"), RFC 9213 CDNs read CDN-Cache-Control,
// Akamai reads Edge-Control, nginx stores on a positive X-Accel-Expires.
var storingTargeted = []struct {
	header  string
	storing func(value string) bool
}{
	{"Surrogate-Control", lacksNoStore},
	{"Cdn-Cache-Control", lacksNoStore},
	{"Cloudflare-Cdn-Cache-Control", lacksNoStore},
	{"Edge-Control", func(v string) bool { return lacksNoStore(v) && !containsFold(v, "bypass-cache") }},
	{"X-Accel-Expires", func(v string) bool { return strings.TrimSpace(v) != "0" }},
}

func lacksNoStore(v string) bool { return !containsFold(v, "no-store") || containsFold(v, "!no-store") }

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// targetedOverride reports a response whose Cache-Control keeps shared
// caches out (private or no-store) while a targeted header lets some of
// them in: which one wins depends on the cache, so fail closed.
func targetedOverride(resp http.Header) bool {
	overridden := false
	for _, t := range storingTargeted {
		for _, v := range resp[t.header] {
			overridden = overridden || t.storing(v)
		}
	}
	if !overridden {
		return false
	}
	for _, line := range resp["Cache-Control"] {
		if cc, err := cacheobject.ParseResponseCacheControl(line); err == nil && (cc.PrivatePresent || cc.NoStore) {
			return true
		}
	}
	return false
}

// maxDirectives bounds the directives compared for repeats; a longer
// Cache-Control is absurd and treated as a conflict.
const maxDirectives = 16

// repeatsDirective reports whether a directive name occurs twice in one
// Cache-Control value (RFC 9111 §4.2.1 lets a cache pick either, or treat
// the response as stale, so caches disagree).
func repeatsDirective(value string) bool {
	var seen [maxDirectives]string
	n := 0
	for i := 0; i < len(value); {
		c := value[i]
		if c == ' ' || c == '\t' || c == ',' {
			i++
			continue
		}
		start := i
		for i < len(value) && isTokenChar(value[i]) {
			i++
		}
		name := value[start:i]
		if i < len(value) && value[i] == '=' {
			i = skipDirectiveValue(value, i+1)
		}
		if name == "" { // a stray character the parser accepted; skip it
			i++
			continue
		}
		for _, s := range seen[:n] {
			if strings.EqualFold(s, name) {
				return true
			}
		}
		if n == maxDirectives {
			return true
		}
		seen[n] = name
		n++
	}
	return false
}

// skipDirectiveValue returns the index just past a token or quoted-string
// that starts at i. An unquoted value ends at a comma or whitespace, as in
// pquerna/cachecontrol, so that "max-age=60 max-age=0" is seen as the two
// directives the parser reads.
func skipDirectiveValue(value string, i int) int {
	if i < len(value) && value[i] == '"' {
		for i++; i < len(value); i++ {
			switch value[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return i
	}
	for i < len(value) && value[i] != ',' && value[i] != ' ' && value[i] != '\t' {
		i++
	}
	return i
}

// isTokenChar reports whether c may appear in an RFC 9110 token.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// staticExtensions are the file extensions that CDNs cache by default
// whatever the origin says, after Cloudflare's list of default cached file
// extensions (developers.cloudflare.com/cache/concepts/default-cache-behavior/),
// plus "mjs" and "map".
var staticExtensions = []string{
	"7z", "avi", "avif", "apk", "bin", "bmp", "bz2", "class", "css", "csv", "doc", "docx", "dmg",
	"ejs", "eot", "eps", "exe", "flac", "gif", "gz", "ico", "iso", "jar", "jpeg", "jpg", "js",
	"map", "mid", "midi", "mjs", "mkv", "mp3", "mp4", "ogg", "otf", "pdf", "pict", "pls", "png",
	"ppt", "pptx", "ps", "rar", "svg", "svgz", "swf", "tar", "tif", "tiff", "ttf", "webm",
	"webp", "woff", "woff2", "xls", "xlsx", "zip", "zst",
}

// pathConfused reports a path that a cache would take for a static file
// while the response is a page or an API answer: the web cache deception
// set-up (/account/x.css, /account;x.css, /account%2Fx.css). A body with no
// Content-Type at all counts too: net/http sniffs it after the fence has
// decided, and a page sniffs as text/html.
func pathConfused(urlPath string, status int, resp http.Header) bool {
	if !staticExtension(extension(urlPath)) {
		return false
	}
	ct, present := resp["Content-Type"]
	if !present {
		return status >= 200 && status <= 299 && status != http.StatusNoContent
	}
	return len(ct) > 0 && dynamicType(ct[0])
}

func staticExtension(ext string) bool {
	if ext == "" {
		return false
	}
	for _, s := range staticExtensions {
		if strings.EqualFold(ext, s) {
			return true
		}
	}
	return false
}

// extension returns what follows the last dot of the last path segment.
func extension(urlPath string) string {
	seg := urlPath[strings.LastIndexByte(urlPath, '/')+1:]
	dot := strings.LastIndexByte(seg, '.')
	if dot < 0 {
		return ""
	}
	return seg[dot+1:]
}

// dynamicType reports HTML and JSON media types, the ones a personal page or
// API answer comes in.
func dynamicType(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	switch {
	case strings.EqualFold(mt, "text/html"), strings.EqualFold(mt, "application/xhtml+xml"),
		strings.EqualFold(mt, "application/json"):
		return true
	}
	// Structured syntax suffix, e.g. application/problem+json (RFC 6839).
	return len(mt) > 5 && strings.EqualFold(mt[len(mt)-5:], "+json")
}
