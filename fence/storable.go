package fence

import (
	"fmt"
	"net/http"
	"strings"
)

// Storable is SharedStorable's verdict on a response.
type Storable struct {
	// OK reports that a shared cache may store the response, and that
	// every cache reads its headers so: RFC 9111 §3 allows it, and nothing
	// in them is read differently from cache to cache.
	OK bool
	// Why lists, when OK is false, what keeps a shared cache from storing
	// the response, or makes caches disagree, in words that quote the
	// headers (never a cookie).
	Why []string
	// MaxAge is the freshness lifetime Cache-Control gives a shared
	// cache, in seconds: s-maxage, else max-age (RFC 9111 §4.2.1). It is
	// -1 when Cache-Control gives neither, and says nothing of Expires or
	// heuristics. A storable response with a MaxAge of 0 is stored, but
	// every reuse waits for the origin.
	MaxAge int64
}

// heuristicallyCacheable holds the status codes RFC 9110 §15.1 makes
// cacheable by default: with them, a response needs no explicit freshness
// to be stored.
var heuristicallyCacheable = map[int]bool{
	200: true, 203: true, 204: true, 206: true, 300: true, 301: true, 308: true,
	404: true, 405: true, 410: true, 414: true, 501: true,
}

// SharedStorable judges whether a shared cache may store a response with
// status and headers h, sent for a GET without Authorization: by RFC 9111
// §3, with Cache-Control read as the fence reads it.
//
// It fails closed, towards "not storable", wherever caches read the
// headers differently: a Cache-Control the fence finds invalid or
// contradictory, a private or no-cache qualified with field names (many
// caches treat it as unqualified), Vary: *, or a Set-Cookie (RFC 9111 §7.3
// lets a cache store it; nginx, Varnish's builtin VCL and Cloudflare do
// not, and the fence fences it). That is the direction both of its callers
// need: a public page judged "not storable" is one that some cache will not
// store (cachefence probe's not_cacheable), and a response served from
// storage although judged "not storable" is one the origin did not plainly
// let caches share (cachefence logs' cached_personal).
//
// To ask the opposite question, whether some shared cache may store a
// personal page, use StorageProblems: it also weighs the targeted headers
// that caches read before Cache-Control.
func SharedStorable(status int, h http.Header) Storable {
	lines := h.Values("Cache-Control")
	cc := readCacheControl(lines)
	value := strings.Join(lines, ", ")
	s := Storable{MaxAge: -1}
	switch {
	case cc.sMaxAge.set:
		s.MaxAge = cc.sMaxAge.seconds
	case cc.maxAge.set:
		s.MaxAge = cc.maxAge.seconds
	}
	if cc.invalid {
		s.Why = append(s.Why, fmt.Sprintf("Cache-Control %q does not parse the same way in every cache", value))
	}
	if cc.conflict() {
		s.Why = append(s.Why, fmt.Sprintf("Cache-Control %q holds directives that caches resolve differently: contradictory, repeated, or a restriction on one of several lines", value))
	}
	var forbids []string
	if cc.private {
		forbids = append(forbids, "private")
	}
	if cc.noStore {
		forbids = append(forbids, "no-store")
	}
	if forbids != nil {
		s.Why = append(s.Why, fmt.Sprintf("Cache-Control %q says %s", value, strings.Join(forbids, " and ")))
	}
	if cc.privateQualified || cc.noCacheQualified {
		s.Why = append(s.Why, fmt.Sprintf("Cache-Control %q qualifies private or no-cache with field names, which many caches read as unqualified", value))
	}
	for member := range listMembers(h.Values("Vary")) {
		if member == "*" {
			s.Why = append(s.Why, fmt.Sprintf("Vary %q holds *: no stored response can be reused (RFC 9111 §4.1), and nginx and Varnish do not store it", strings.Join(h.Values("Vary"), ", ")))
			break
		}
	}
	if len(h.Values("Set-Cookie")) > 0 || announcesSetCookie(h.Values("Trailer")) {
		s.Why = append(s.Why, "it sets a cookie: cache_fence fences it, and most CDNs do not store it")
	}
	explicit := cc.public || cc.maxAge.set || cc.sMaxAge.set || len(h.Values("Expires")) > 0
	switch {
	case status < 200:
		s.Why = append(s.Why, fmt.Sprintf("status %d is not a final response", status))
	case !heuristicallyCacheable[status] && !explicit:
		s.Why = append(s.Why, fmt.Sprintf("status %d is not cacheable by default and no explicit freshness is given", status))
	}
	s.OK = len(s.Why) == 0
	return s
}
