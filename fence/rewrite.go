package fence

import (
	"net/http"
	"strings"
)

// fencedHeader is one header of a fenced response: the value it carries,
// and whether it is always sent or only replaces an origin's value. An
// empty value means the header is removed.
type fencedHeader struct {
	name, value string
	always      bool
}

// fencedHeaders is what a fenced response carries. Each header either keeps
// a cache out or is removed where its absence means the same to every cache
// that reads it; the README's table gives the sources:
//
//   - Cache-Control: private, no-store, always: RFC 9111 §5.2.2.5 and
//     §5.2.2.7; no-cache alone still lets a cache store and, with request
//     collapsing, serve the first user's page to everyone waiting.
//   - the targeted headers of targetedHeaders: those that defend against a
//     cache configured to ignore Cache-Control (Akamai's Edge-Control:
//     no-store overrides fixed-TTL property rules; nginx obeys
//     X-Accel-Expires: 0 under proxy_ignore_headers Cache-Control) are
//     always sent; the others (Surrogate-Control and the RFC 9213 family)
//     are removed, since a cache that finds none falls back on
//     Cache-Control, and a Surrogate-Control, even a no-store one, makes
//     Cloudflare ignore Cache-Control.
//   - Expires: 0 replaces an origin's Expires: an invalid date means
//     already expired (RFC 9111 §5.3); with none, none is added.
//   - Pragma: no-cache replaces an origin's Pragma, which a response may
//     carry for HTTP/1.0 caches (RFC 9111 §5.4).
var fencedHeaders = func() (f [len(targetedHeaders) + 3]fencedHeader) {
	f[0] = fencedHeader{"Cache-Control", "private, no-store", true}
	for i, t := range targetedHeaders {
		f[i+1] = fencedHeader{t.name, t.fenced, t.fenced != ""}
	}
	f[len(f)-2] = fencedHeader{"Expires", "0", false}
	f[len(f)-1] = fencedHeader{"Pragma", "no-cache", false}
	return f
}()

// rewriteValues backs the values Rewrite sets, one array per response: a
// handler that later changes a value in place changes only its own
// response, and each slice is capped at its one value, so an append copies.
type rewriteValues [len(fencedHeaders)]string

// Rewrite makes the response with headers h unstorable by shared caches.
// It sets the headers of fencedHeaders to exactly one line each, removes
// the targeted headers whose absence keeps caches on Cache-Control (every
// <Vendor>-CDN-Cache-Control included), and leaves all other headers
// (Set-Cookie included) alone. It allocates the values once; Policy.Apply,
// which keeps them with the request, does not allocate.
func Rewrite(h http.Header) {
	rewrite(h, new(rewriteValues), true)
}

// rewrite is Rewrite with the values' storage given, and the map walked
// for <Vendor>-CDN-Cache-Control fields only when vendors says some may be
// there.
func rewrite(h http.Header, values *rewriteValues, vendors bool) {
	for i, f := range fencedHeaders {
		if f.value == "" {
			delete(h, f.name)
			continue
		}
		if _, sent := h[f.name]; f.always || sent {
			values[i] = f.value
			h[f.name] = values[i : i+1 : i+1]
		}
	}
	if vendors {
		for name := range h {
			if isVendorTargeted(name) {
				delete(h, name)
			}
		}
	}
}

// Altered returns the name of a header that no longer says what Rewrite
// set on a fenced response whose headers are h, or "" if all still do: a
// fenced header with another value or several lines, an Expires or Pragma
// with another value, or a targeted header that Rewrite removed, present
// again. A handler that adds CDN-Cache-Control: max-age=600 after the
// fence undoes it for every cache that obeys that header first.
func Altered(h http.Header) string {
	for _, f := range fencedHeaders {
		v := h[f.name]
		var kept bool
		switch {
		case f.value == "":
			kept = len(v) == 0
		case f.always:
			kept = len(v) == 1 && v[0] == f.value
		default:
			kept = len(v) == 0 || len(v) == 1 && v[0] == f.value
		}
		if !kept {
			return f.name
		}
	}
	for name := range h {
		if isFencedName(name) || !endsLikeCachingHeader(name) {
			continue
		}
		c := http.CanonicalHeaderKey(name)
		if isVendorTargeted(c) || c != name && isFencedName(c) {
			return name
		}
	}
	return ""
}

// endsLikeCachingHeader reports a name that ends, in any case, as a
// fenced or targeted header does: "control", "expires" or "pragma". It
// spares the common fields a closer look; most fail at the last byte.
func endsLikeCachingHeader(name string) bool {
	for _, end := range [...]string{"control", "expires", "pragma"} {
		if n := len(name) - len(end); n >= 0 && name[len(name)-1]|0x20 == end[len(end)-1] && strings.EqualFold(name[n:], end) {
			return true
		}
	}
	return false
}

func isFencedName(name string) bool {
	for _, f := range fencedHeaders {
		if f.name == name {
			return true
		}
	}
	return false
}

// canonicalize merges header lines stored under a non-canonical key
// ("set-cookie") into the canonical one ("Set-Cookie"): net/http sends such
// keys as they are, so rules that look up canonical keys would miss them.
// It allocates only when it finds one, and reports whether a
// <Vendor>-CDN-Cache-Control field is among the keys.
func canonicalize(h http.Header) (vendors bool) {
	for k, v := range h {
		if c := http.CanonicalHeaderKey(k); c != k {
			delete(h, k)
			h[c] = append(h[c], v...)
			k = c
		}
		vendors = vendors || isVendorTargeted(k)
	}
	return vendors
}
