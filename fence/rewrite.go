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

// fencedHeaders is what a fenced response carries: no-store in every field
// that some cache reads first, so that no cache has a reason to look
// elsewhere. The README's table gives the sources:
//
//   - Cache-Control: private, no-store, always: RFC 9111 §5.2.2.5 and
//     §5.2.2.7; no-cache alone still lets a cache store and, with request
//     collapsing, serve the first user's page to everyone waiting.
//   - the targeted headers of targetedHeaders, each saying no-store in the
//     field some cache reads before Cache-Control, always sent:
//     Surrogate-Control: no-store (Varnish's builtin VCL, Fastly, custom
//     VCL that reads only it), CDN-Cache-Control: no-store (RFC 9213
//     CDNs; Cloudflare decides on it, so the Surrogate-Control beside it
//     cannot turn Cloudflare away from a no-store), Edge-Control: no-store
//     (Akamai, over fixed-TTL property rules) and X-Accel-Expires: 0
//     (nginx, also under proxy_ignore_headers Cache-Control). Every
//     <Vendor>-CDN-Cache-Control, Cloudflare's included, is removed: a
//     leftover max-age there would win over all of these.
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

// headerSet is a set of fencedHeaders, by index.
type headerSet uint16

func (s headerSet) has(i int) bool { return s&(1<<i) != 0 }

// A headerSet holds every fenced header (this fails to compile otherwise).
const _ = uint(16 - len(fencedHeaders))

// Rewrite makes the response with headers h unstorable by shared caches.
// It sets the headers of fencedHeaders to exactly one line each, removes
// every <Vendor>-CDN-Cache-Control, and leaves all other headers
// (Set-Cookie included) alone; lines under a non-canonical key
// ("cache-control") are merged into the canonical one first. Its one
// allocation is the values' array.
func Rewrite(h http.Header) {
	present, vendors := canonicalize(h)
	rewrite(h, new(rewriteValues), present, vendors)
}

// rewrite is Rewrite on a canonical map, with the values' storage given,
// the fenced headers present and whether a <Vendor>-CDN-Cache-Control is:
// the map is touched only where it changes.
func rewrite(h http.Header, values *rewriteValues, present headerSet, vendors bool) {
	for i, f := range fencedHeaders {
		switch {
		case f.value == "":
			if present.has(i) {
				delete(h, f.name)
			}
		case f.always || present.has(i):
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
// fence undoes it for every cache that obeys that header first. Of
// several, the first of fencedHeaders is named, else the first name in
// order. It walks the map once, and looks closer only at names that end
// as a caching header does.
func Altered(h http.Header) string {
	var seen headerSet
	first, other := len(fencedHeaders), ""
	for name := range h {
		if !endsLikeCachingHeader(name) {
			continue
		}
		i := fencedIndex(name)
		if i < 0 {
			c := http.CanonicalHeaderKey(name)
			if (isVendorTargeted(c) || c != name && fencedIndex(c) >= 0) && (other == "" || name < other) {
				other = name
			}
			continue
		}
		seen |= 1 << i
		if v := h[name]; fencedHeaders[i].value == "" || len(v) != 1 || v[0] != fencedHeaders[i].value {
			first = min(first, i)
		}
	}
	for i, f := range fencedHeaders {
		if f.always && !seen.has(i) {
			first = min(first, i)
		}
	}
	if first < len(fencedHeaders) {
		return fencedHeaders[first].name
	}
	return other
}

// canonicalize merges header lines stored under a non-canonical key
// ("set-cookie") into the canonical one ("Set-Cookie"): net/http sends such
// keys as they are, so rules that look up canonical keys would miss them.
// It allocates only when it finds one. It reports which fenced headers
// are present, and whether a <Vendor>-CDN-Cache-Control field is.
func canonicalize(h http.Header) (present headerSet, vendors bool) {
	for k := range h {
		if !isCanonicalKey(k) {
			if c := http.CanonicalHeaderKey(k); c != k {
				v := h[k]
				delete(h, k)
				h[c] = append(h[c], v...)
				k = c
			}
		}
		if endsLikeCachingHeader(k) {
			if i := fencedIndex(k); i >= 0 {
				present |= 1 << i
			} else if isVendorTargeted(k) {
				vendors = true
			}
		}
	}
	return present, vendors
}

// isCanonicalKey reports a key that CanonicalHeaderKey returns as it is
// because it is already canonical: the test that spares every usual key
// the full check.
func isCanonicalKey(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
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

// fencedIndex returns the index in fencedHeaders of a canonical name, or
// -1.
func fencedIndex(name string) int {
	for i, f := range fencedHeaders {
		if len(f.name) == len(name) && f.name == name {
			return i
		}
	}
	return -1
}
