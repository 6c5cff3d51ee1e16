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
//     content="ESI/1.0", and Fastly prefers it over Cache-Control. A
//     fenced response says no-store here, for the caches configured on
//     this header alone.
//   - CDN-Cache-Control (RFC 9213): a CDN that finds a valid targeted field
//     ignores Cache-Control and Expires. A fenced response says no-store
//     here too: Cloudflare decides on it, so the Surrogate-Control beside
//     it, which otherwise turns Cloudflare away from Cache-Control, cannot.
//   - Cloudflare-CDN-Cache-Control: Cloudflare reads it first; removed
//     from a fenced response, so Cloudflare reads CDN-Cache-Control.
//   - Edge-Control: Akamai; an origin no-store overrides property rules,
//     and "!no-store" forces storage.
//   - X-Accel-Expires: nginx obeys a positive value over Cache-Control.
//
// Any other <Vendor>-CDN-Cache-Control (RFC 9213 §2: Vercel and Netlify
// read theirs first) is judged like CDN-Cache-Control and removed.
var targetedHeaders = [...]targetedHeader{
	{"Surrogate-Control", "Varnish's builtin VCL and Fastly", surrogateControlStoring, "no-store"},
	{"Cdn-Cache-Control", "RFC 9213 CDNs", targetedFieldStoring, "no-store"},
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
// RFC 8941 Dictionary (§4.2.2) whose no-store or private is Boolean true
// keeps CDNs out: an invalid or empty field is ignored by conforming CDNs
// (RFC 9213 §2.1), which then obey Cache-Control, and read leniently by
// others. The lines are one value joined by commas (RFC 8941 §4.2), a key
// given twice takes its last value (§4.2.2), and a directive's parameters
// are ignored (RFC 9213 §2), so "no-store;x=1" is a no-store. RFC 9213 §2
// has no-store always Boolean true: no-store=?0 or no-store=1 is a value
// a CDN should not consume, so it keeps no one out; private="Set-Cookie"
// names fields and lets the CDN store the rest.
//
// The reading is RFC 8941, stricter in three places where parsers differ,
// so that the fence never counts on a field some CDN would ignore: the
// RFC 9651 Date and Display String are invalid, a byte sequence must be
// padded base64, and numbers have at most 14 digits (see sfReader.number).
func targetedFieldStoring(lines []string) bool {
	if len(lines) == 0 {
		return true
	}
	r := sfReader{line: lines[0], more: lines[1:]}
	r.skipSP()
	noStore, private := false, false
	for !r.eof() {
		key := r.key()
		var isTrue, ok bool
		switch {
		case key == "":
		case !strings.HasPrefix(r.line, "="):
			isTrue, ok = true, r.params()
		case strings.HasPrefix(r.line, "=("):
			r.line = r.line[1:]
			ok = r.innerList()
		default:
			r.line = r.line[1:]
			isTrue, ok = r.item()
		}
		if !ok {
			return true
		}
		switch key {
		case "no-store":
			noStore = isTrue
		case "private":
			private = isTrue
		}
		r.skipOWS()
		switch {
		case r.eof():
			return !noStore && !private
		case r.line == "":
			// The comma that joins two lines.
			r.line, r.more = r.more[0], r.more[1:]
		case r.line[0] == ',':
			r.line = r.line[1:]
		default:
			return true
		}
		r.skipOWS()
		if r.eof() {
			return true // a trailing comma
		}
	}
	return true // empty
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

// sfReader reads the lines of a Structured Field as the one value RFC 8941
// §4.2 makes of them, the lines joined by commas, without joining them:
// reading allocates nothing. Between members, that comma separates them;
// inside a member, only a String can hold it, and anything else that
// reaches the end of a line meets a comma it does not allow, so the other
// methods read the current line alone.
type sfReader struct {
	line string   // what is left of the current line
	more []string // the lines after it
}

// eof reports the end of the value.
func (r *sfReader) eof() bool { return r.line == "" && len(r.more) == 0 }

// skipSP drops the spaces that RFC 8941 allows after "(", between the
// items of an inner list and after ";": spaces only, not tabs.
func (r *sfReader) skipSP() {
	for r.line != "" && r.line[0] == ' ' {
		r.line = r.line[1:]
	}
}

// skipOWS drops the spaces and tabs allowed around a Dictionary's commas.
func (r *sfReader) skipOWS() {
	for r.line != "" && (r.line[0] == ' ' || r.line[0] == '\t') {
		r.line = r.line[1:]
	}
}

// key reads a key (RFC 8941 §4.2.3.3): lower case letters, digits and
// "_-.*", not starting with a digit or a punctuation mark but "*". It
// returns "" when none is there.
func (r *sfReader) key() string {
	s := r.line
	if s == "" || s[0] != '*' && (s[0] < 'a' || s[0] > 'z') {
		return ""
	}
	i := 1
	for i < len(s) && sfChars[s[i]]&sfKey != 0 {
		i++
	}
	r.line = s[i:]
	return s[:i]
}

// params reads the parameters after an item or inner list (RFC 8941
// §4.2.3.2): ";" and spaces, a key, and "=" and a bare item unless the
// parameter is true.
func (r *sfReader) params() bool {
	for strings.HasPrefix(r.line, ";") {
		r.line = r.line[1:]
		r.skipSP()
		if r.key() == "" {
			return false
		}
		if strings.HasPrefix(r.line, "=") {
			r.line = r.line[1:]
			if _, ok := r.bareItem(); !ok {
				return false
			}
		}
	}
	return true
}

// item reads an item (RFC 8941 §4.2.3) and reports whether its value is
// Boolean true.
func (r *sfReader) item() (isTrue, ok bool) {
	isTrue, ok = r.bareItem()
	return isTrue, ok && r.params()
}

// innerList reads an inner list (RFC 8941 §4.2.1.2): items separated by
// spaces between parentheses, then its parameters.
func (r *sfReader) innerList() bool {
	r.line = r.line[1:] // "("
	for {
		r.skipSP()
		if strings.HasPrefix(r.line, ")") {
			r.line = r.line[1:]
			return r.params()
		}
		if _, ok := r.item(); !ok {
			return false
		}
		if !strings.HasPrefix(r.line, " ") && !strings.HasPrefix(r.line, ")") {
			return false
		}
	}
}

// bareItem reads a bare item (RFC 8941 §4.2.3.1): an Integer, Decimal,
// String, Token, Byte Sequence or Boolean, and reports whether it is
// Boolean true. The Date ("@") and Display String ("%") of RFC 9651 are
// not RFC 8941 items, which RFC 9213 targeted fields are made of, and a
// CDN parsing RFC 8941 ignores a field holding one.
func (r *sfReader) bareItem() (isTrue, ok bool) {
	if r.line == "" {
		return false, false
	}
	switch c := r.line[0]; {
	case c == '"':
		return false, r.str()
	case c == '?':
		if len(r.line) < 2 || r.line[1] != '0' && r.line[1] != '1' {
			return false, false
		}
		isTrue, r.line = r.line[1] == '1', r.line[2:]
		return isTrue, true
	case c == ':':
		return false, r.byteSequence()
	case c == '-' || '0' <= c && c <= '9':
		return false, r.number()
	case c == '*' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		i := 1
		for i < len(r.line) && sfChars[r.line[i]]&sfToken != 0 {
			i++
		}
		r.line = r.line[i:]
		return false, true
	}
	return false, false
}

// sfMaxDigits bounds the digits of an Integer or Decimal. RFC 8941 allows
// 15 (up to 12 before a decimal point and 3 after it), but httpsfv, for
// one, rejects a number of that size unless it ends the field: a number
// that fills the bound is invalid to some parsers, and no cache directive
// needs one.
const sfMaxDigits = 14

// number reads an Integer or Decimal (RFC 8941 §4.2.4): an optional "-",
// digits, and for a Decimal "." and one to three digits.
func (r *sfReader) number() bool {
	s := strings.TrimPrefix(r.line, "-")
	whole := countDigits(s)
	n, end := whole, whole
	if strings.HasPrefix(s[end:], ".") {
		fraction := countDigits(s[end+1:])
		if whole > 12 || fraction == 0 || fraction > 3 {
			return false
		}
		n, end = whole+fraction, end+1+fraction
	}
	r.line = s[end:]
	return whole > 0 && n <= sfMaxDigits
}

// countDigits returns the number of decimal digits s starts with.
func countDigits(s string) int {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

// byteSequence reads a Byte Sequence (RFC 8941 §4.2.7): base64 between
// colons. RFC 8941 asks parsers to accept it without its "=" padding, but
// those built on a strict decoder (httpsfv: Go's base64.StdEncoding)
// refuse it, so the fence takes only padded base64.
func (r *sfReader) byteSequence() bool {
	s := r.line[1:]
	n := 0
	for n < len(s) && sfChars[s[n]]&sfBase64 != 0 {
		n++
	}
	if n == len(s) || s[n] != ':' {
		return false
	}
	b64, data := s[:n], strings.TrimRight(s[:n], "=")
	r.line = s[n+1:]
	return len(b64)%4 == 0 && len(b64)-len(data) <= 2 && strings.IndexByte(data, '=') < 0
}

// str reads a String (RFC 8941 §4.2.5): printable ASCII between double
// quotes, with \" and \\ the only escapes. It is the one item that can
// span lines: the comma joining them is part of it.
func (r *sfReader) str() bool {
	s := r.line[1:]
	for {
		i := 0
		for i < len(s) && sfChars[s[i]]&sfUnescaped != 0 {
			i++
		}
		switch {
		case i == len(s):
			if len(r.more) == 0 {
				return false
			}
			s, r.more = r.more[0], r.more[1:]
		case s[i] == '"':
			r.line = s[i+1:]
			return true
		case s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
			s = s[i+2:]
		default:
			return false
		}
	}
}

// The classes of sfChars.
const (
	sfKey       = 1 << iota // after a key's first character (RFC 8941 §3.1.2)
	sfToken                 // after a Token's first character (§3.3.4)
	sfBase64                // in a Byte Sequence (§3.3.5)
	sfUnescaped             // in a String as it is (§3.3.3)
)

// sfChars classes the bytes of Structured Fields: a table, since the
// targeted field of every fenced response is read byte by byte.
var sfChars = func() (t [256]uint8) {
	for c := range 256 {
		lower, digit := 'a' <= c && c <= 'z', '0' <= c && c <= '9'
		alpha := lower || 'A' <= c && c <= 'Z'
		if lower || digit || strings.IndexByte("_-.*", byte(c)) >= 0 {
			t[c] |= sfKey
		}
		if isTokenChar(byte(c)) || c == ':' || c == '/' {
			t[c] |= sfToken
		}
		if alpha || digit || c == '+' || c == '/' || c == '=' {
			t[c] |= sfBase64
		}
		if ' ' <= c && c <= '~' && c != '"' && c != '\\' {
			t[c] |= sfUnescaped
		}
	}
	return t
}()

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
