package fence

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// targetedHeader is a response header through which some shared caches
// take their orders instead of Cache-Control. This table is the one list of
// them: the rules, the rewrite and the probe's judgement all read it.
type targetedHeader struct {
	name string
	// readers says which caches obey it, for evidence text.
	readers string
	// storing reports whether the header's lines let the caches that obey
	// it store the response.
	storing func(lines []string) bool
	// fenced is the value a fenced response always carries; "" when a
	// fenced response carries none (see fencedHeaders).
	fenced string
}

// targetedHeaders are the targeted headers the rules judge and the rewrite
// sets or removes:
//
//   - Surrogate-Control (W3C Edge Architecture): Varnish's builtin VCL
//     skips the Cache-Control check whenever it exists, even for
//     content="ESI/1.0", and Fastly prefers it over Cache-Control.
//   - CDN-Cache-Control (RFC 9213): a CDN that finds a valid targeted field
//     ignores Cache-Control and Expires.
//   - Cloudflare-CDN-Cache-Control: Cloudflare reads it first.
//   - Edge-Control: Akamai; an origin no-store overrides property rules,
//     and "!no-store" forces storage.
//   - X-Accel-Expires: nginx obeys a positive value over Cache-Control.
//
// Any other <Vendor>-CDN-Cache-Control (RFC 9213 §2: Vercel and Netlify
// read theirs first) is judged like CDN-Cache-Control and removed.
var targetedHeaders = [...]targetedHeader{
	{"Surrogate-Control", "Varnish's builtin VCL and Fastly", surrogateControlStoring, ""},
	{"Cdn-Cache-Control", "RFC 9213 CDNs", targetedFieldStoring, ""},
	{"Cloudflare-Cdn-Cache-Control", "Cloudflare", targetedFieldStoring, ""},
	{"Edge-Control", "Akamai", edgeControlStoring, "no-store"},
	{"X-Accel-Expires", "nginx proxy_cache", accelExpiresStoring, "0"},
}

// vendorTargetedSuffix ends the canonical name of every RFC 9213 targeted
// field: Vercel-Cdn-Cache-Control, Netlify-Cdn-Cache-Control, ...
const vendorTargetedSuffix = "-Cdn-Cache-Control"

// vendorTargeted describes a <Vendor>-CDN-Cache-Control not in the table.
var vendorTargeted = targetedHeader{"", "the vendor's CDN (RFC 9213)", targetedFieldStoring, ""}

// isVendorTargeted reports a canonical header name of the RFC 9213 family
// that the table does not list.
func isVendorTargeted(name string) bool {
	return len(name) > len(vendorTargetedSuffix) && strings.HasSuffix(name, vendorTargetedSuffix) &&
		name != "Cloudflare-Cdn-Cache-Control"
}

// storingTargeted reports whether any targeted header of h lets the caches
// that obey it store the response. The map is only walked for the vendor
// family when the table found nothing.
func storingTargeted(h http.Header) bool {
	for i := range targetedHeaders {
		t := &targetedHeaders[i]
		if lines := h[t.name]; len(lines) > 0 && t.storing(lines) {
			return true
		}
	}
	for name, lines := range h {
		if isVendorTargeted(name) && targetedFieldStoring(lines) {
			return true
		}
	}
	return false
}

// targetedFieldStoring judges an RFC 9213 targeted field. Only a valid
// Structured Field Dictionary holding no-store or private keeps CDNs out:
// an invalid or empty field is ignored by conforming CDNs (§2.1), which
// then obey Cache-Control, and read leniently by others.
func targetedFieldStoring(lines []string) bool {
	out := false
	for d, ok := range directives(lines) {
		if !ok || !isSFKey(d.name) || (d.hasValue && !isSFBareItem(d.value)) || !validSFParams(d.params) {
			return true
		}
		if (d.name == "no-store" || d.name == "private") && (!d.hasValue || d.value == "?1") {
			out = true
		}
	}
	return !out
}

// surrogateControlStoring judges Surrogate-Control. Only an untargeted
// no-store keeps every surrogate out: "no-store;abc" targets device abc
// alone, and content="no-store" is not a directive at all. no-store-remote
// still lets a surrogate near the origin store.
func surrogateControlStoring(lines []string) bool {
	for d, ok := range directives(lines) {
		if ok && strings.EqualFold(d.name, "no-store") && d.isUnqualified() {
			return false
		}
	}
	return true
}

// edgeControlStoring judges Akamai's Edge-Control: no-store or
// bypass-cache keep the edge out, unless !no-store forces storage.
func edgeControlStoring(lines []string) bool {
	out := false
	for d, ok := range directives(lines) {
		switch {
		case !ok:
			return true
		case strings.EqualFold(d.name, "!no-store"), strings.EqualFold(d.name, "!bypass-cache"):
			return true
		case strings.EqualFold(d.name, "no-store"), strings.EqualFold(d.name, "bypass-cache"):
			out = out || d.isUnqualified()
		}
	}
	return !out
}

// accelExpiresStoring judges nginx's X-Accel-Expires: only 0 disables
// caching; a number of seconds or @epoch sets a lifetime that overrides
// Cache-Control.
func accelExpiresStoring(lines []string) bool {
	for _, v := range lines {
		if strings.TrimSpace(v) != "0" {
			return true
		}
	}
	return false
}

// isSFKey reports a Structured Field key (RFC 8941 §3.1.2): lower case.
func isSFKey(s string) bool {
	if s == "" || !(s[0] == '*' || 'a' <= s[0] && s[0] <= 'z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("_-.*", c) >= 0) {
			return false
		}
	}
	return true
}

// isSFBareItem reports a Structured Field bare item (RFC 8941 §3.3):
// integer, decimal, string, token, byte sequence or boolean.
func isSFBareItem(s string) bool {
	switch {
	case s == "":
		return false
	case s == "?0" || s == "?1":
		return true
	case s[0] == '"':
		return len(s) >= 2 && s[len(s)-1] == '"'
	case s[0] == ':':
		return len(s) >= 2 && s[len(s)-1] == ':'
	case s[0] == '-' || '0' <= s[0] && s[0] <= '9':
		digits, dot := 0, false
		for i, c := range []byte(s) {
			switch {
			case i == 0 && c == '-':
			case '0' <= c && c <= '9':
				digits++
			case c == '.' && !dot:
				dot = true
			default:
				return false
			}
		}
		return digits > 0 && digits <= 15
	case s[0] == '*' || 'a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z':
		for i := 1; i < len(s); i++ {
			if !isTokenChar(s[i]) && s[i] != ':' && s[i] != '/' {
				return false
			}
		}
		return true
	}
	return false
}

// validSFParams reports Structured Field parameters: ";key[=bare-item]"...
func validSFParams(params string) bool {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params[1:], ";")
		if params != "" {
			params = ";" + params
		}
		key, value, hasValue := strings.Cut(trimOWS(p), "=")
		if !isSFKey(key) || (hasValue && !isSFBareItem(value)) {
			return false
		}
	}
	return true
}

// StorageProblems lists what in the response headers h lets some shared
// cache store the response, by the same rules that fence it, in words that
// quote what is there. An empty list means every cache the fence knows
// refuses to store it: Cache-Control holds an unqualified private and
// no-store, and no targeted header lets a cache in.
func StorageProblems(h http.Header) []string {
	var problems []string
	lines := h.Values("Cache-Control")
	cc := readCacheControl(lines)
	value := strings.Join(lines, ", ")
	switch {
	case !cc.present:
		problems = append(problems, "no Cache-Control: caches apply heuristics or default TTLs")
	case cc.invalid:
		problems = append(problems, fmt.Sprintf("Cache-Control %q does not parse the same way in every cache", value))
	case cc.lines > 1:
		problems = append(problems, fmt.Sprintf("Cache-Control is split over %d lines (%q): some caches read only the first", cc.lines, value))
	case !cc.private && !cc.noStore:
		problems = append(problems, fmt.Sprintf("Cache-Control %q lacks private and no-store", value))
	case !cc.noStore:
		problems = append(problems, fmt.Sprintf("Cache-Control %q lacks no-store", value))
	case !cc.private:
		problems = append(problems, fmt.Sprintf("Cache-Control %q lacks private", value))
	}
	if cc.privateQualified || cc.noCacheQualified {
		problems = append(problems, fmt.Sprintf("Cache-Control %q qualifies private or no-cache with field names, which lets a shared cache store the body", value))
	}
	judge := func(t *targetedHeader, name string, lines []string) {
		if len(lines) > 0 && t.storing(lines) {
			problems = append(problems, fmt.Sprintf("%s %q lets %s store it, whatever Cache-Control says", name, strings.Join(lines, ", "), t.readers))
		}
	}
	for i := range targetedHeaders {
		judge(&targetedHeaders[i], targetedHeaders[i].name, h.Values(targetedHeaders[i].name))
	}
	var vendors []string
	for name := range h {
		if isVendorTargeted(http.CanonicalHeaderKey(name)) {
			vendors = append(vendors, name)
		}
	}
	slices.Sort(vendors)
	for _, name := range vendors {
		judge(&vendorTargeted, http.CanonicalHeaderKey(name), h[name])
	}
	return problems
}
