package fence

import (
	"iter"
	"strings"
)

// directive is one member of a comma-separated directive list, the shape
// shared by Cache-Control (RFC 9111 §5.2), the targeted fields of RFC 9213
// (Structured Field Dictionaries) and Surrogate-Control (W3C Edge
// Architecture). All strings point into the header value: reading a list
// allocates nothing.
type directive struct {
	name string
	// value is the text after "=", quotes included; "" when there is none.
	value    string
	hasValue bool
	// params is the member's parameters from the first ";" on: Structured
	// Field parameters, or Surrogate-Control's device targeting.
	params string
}

// isUnqualified reports a directive with no value and no parameters.
func (d directive) isUnqualified() bool { return !d.hasValue && d.params == "" }

// quoted reports whether the value is a quoted-string.
func (d directive) quoted() bool { return strings.HasPrefix(d.value, `"`) }

// unquoted returns the value without its quotes (escapes are left as they
// are: the values the rules compare never contain any).
func (d directive) unquoted() string {
	if d.quoted() && len(d.value) >= 2 {
		return d.value[1 : len(d.value)-1]
	}
	return d.value
}

// directives yields the members of a directive list split over any number
// of header lines, in order. The second value is false for a member that
// breaks the list syntax; iteration goes on after it, from the next comma.
// Empty members (",,") are skipped, as RFC 9110 §5.6.1 allows.
func directives(lines []string) iter.Seq2[directive, bool] {
	return func(yield func(directive, bool) bool) {
		for _, line := range lines {
			for rest := skipEmptyMembers(line); rest != ""; rest = skipEmptyMembers(rest) {
				var d directive
				var ok bool
				d, rest, ok = nextDirective(rest)
				if !yield(d, ok) {
					return
				}
			}
		}
	}
}

// skipEmptyMembers drops white space and empty list members ahead of the
// next member.
func skipEmptyMembers(s string) string {
	for s = trimOWS(s); s != "" && s[0] == ','; s = trimOWS(s[1:]) {
	}
	return s
}

// nextDirective reads one member from s, which starts at its name, and
// returns the text after its comma.
func nextDirective(s string) (d directive, rest string, ok bool) {
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	d.name, s = s[:i], s[i:]
	ok = d.name != ""
	if strings.HasPrefix(s, "=") {
		d.hasValue = true
		var valid bool
		d.value, s, valid = readValue(s[1:])
		ok = ok && valid
	}
	s = trimOWS(s)
	if strings.HasPrefix(s, ";") {
		end := skipToComma(s)
		d.params, s = s[:end], s[end:]
	}
	s = trimOWS(s)
	if s != "" && s[0] != ',' {
		// Something other than a comma follows: "max-age=60 max-age=0".
		// Caches disagree on what that means, so the member is broken.
		ok = false
		s = s[skipToComma(s):]
	}
	return d, s, ok
}

// readValue reads a quoted-string, or a run of visible characters up to a
// delimiter (a token, or a Structured Field bare item such as ?0 or
// :base64:). An empty or unterminated value is invalid.
func readValue(s string) (value, rest string, ok bool) {
	if strings.HasPrefix(s, `"`) {
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				return s[:i+1], s[i+1:], true
			}
		}
		return s, "", false
	}
	i := 0
	for i < len(s) && valueChars[s[i]] {
		i++
	}
	return s[:i], s[i:], i > 0
}

// skipToComma returns the index of the next comma outside a quoted-string,
// or len(s).
func skipToComma(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',':
			return i
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		}
	}
	return len(s)
}

// trimOWS trims optional white space (RFC 9110 §5.6.3): spaces and tabs.
func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return s != ""
}

// isTokenChar reports whether c may appear in an RFC 9110 token.
func isTokenChar(c byte) bool { return tokenChars[c] }

// tokenChars marks the bytes of RFC 9110 tokens: a table, since every
// directive of every response is read byte by byte.
var tokenChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()

// valueChars marks the bytes of an unquoted directive value: visible
// ASCII but the delimiters that end it.
var valueChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = ' ' < c && c < 0x7f && strings.IndexByte(`,;"`, byte(c)) < 0
	}
	return t
}()

// isDeltaSeconds reports an RFC 9111 §1.2.2 delta-seconds value: digits,
// possibly quoted (recipients accept both forms, §5.2).
func isDeltaSeconds(d directive) bool {
	v := d.unquoted()
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return v != ""
}

// cacheControl is what the rules need to know of a response's
// Cache-Control, read in one pass.
type cacheControl struct {
	present bool
	lines   int
	// invalid: the list syntax is broken, a member carries parameters, or
	// a directive the rules rely on has an argument caches read
	// differently (max-age=abc, a bare s-maxage).
	invalid bool
	// repeated: a directive name occurs twice (RFC 9111 §4.2.1 lets a
	// cache pick either).
	repeated bool
	public   bool
	// private and noCache are the unqualified forms; privateQualified and
	// noCacheQualified the forms with a field list, which still let a
	// shared cache store the body.
	private, privateQualified bool
	noCache, noCacheQualified bool
	noStore                   bool
	// maxAge and sMaxAge are the freshness lifetimes the response gives
	// every cache and shared caches (SharedStorable reads them).
	maxAge, sMaxAge age
}

// age is a max-age or s-maxage argument.
type age struct {
	set     bool
	seconds int64
}

// maxDeltaSeconds is what RFC 9111 §1.2.2 has a cache read a
// delta-seconds value as when it is larger than it can represent.
const maxDeltaSeconds = 1 << 31

// note records d's argument, unless an earlier one was recorded (RFC
// 9111 §4.2.1 reads the first), and reports whether it is delta-seconds.
func (a *age) note(d directive) bool {
	if !isDeltaSeconds(d) {
		return false
	}
	if !a.set {
		a.set = true
		for _, c := range []byte(d.unquoted()) {
			a.seconds = min(a.seconds*10+int64(c-'0'), maxDeltaSeconds)
		}
	}
	return true
}

// conflict reports directives that contradict each other or repeat, or a
// restriction split over several lines. RFC 9110 §5.3 makes several lines
// one list, and caches that read them so agree with it; but VCL such as
// `beresp.http.Cache-Control ~ "private"` sees only the first line, so a
// private, no-store or no-cache on another line may be missed. Lines that
// restrict nothing (nginx's `expires 1y;` beside `add_header Cache-Control
// public`) read the same either way.
func (cc cacheControl) conflict() bool {
	return cc.lines > 1 && cc.restricts() || cc.repeated || (cc.public && (cc.private || cc.privateQualified || cc.noStore))
}

// restricts reports a directive that limits storing or reuse: private,
// no-store, no-cache, qualified or not.
func (cc cacheControl) restricts() bool {
	return cc.private || cc.privateQualified || cc.noCache || cc.noCacheQualified || cc.noStore
}

// maxDirectives bounds the names compared for repeats; a longer
// Cache-Control is absurd and counted as repeating.
const maxDirectives = 16

// readCacheControl reads Cache-Control lines. Where the RFC 9111 grammar
// (token [ "=" ( token / quoted-string ) ]) accepts a member, it is valid,
// bare stale-while-revalidate included; unknown directives are ignored, as
// caches must (§5.2.3).
func readCacheControl(lines []string) cacheControl {
	cc := cacheControl{present: len(lines) > 0, lines: len(lines)}
	var seen [maxDirectives]string
	n := 0
	// A plain loop rather than the directives iterator: this runs on every
	// response.
	for _, line := range lines {
		for rest := skipEmptyMembers(line); rest != ""; rest = skipEmptyMembers(rest) {
			var d directive
			var ok bool
			d, rest, ok = nextDirective(rest)
			if !ok || d.params != "" || (d.hasValue && !d.quoted() && !isToken(d.value)) {
				cc.invalid = true
				continue
			}
			for _, s := range seen[:n] {
				cc.repeated = cc.repeated || len(s) == len(d.name) && strings.EqualFold(s, d.name)
			}
			if n == maxDirectives {
				cc.repeated = true
			} else {
				seen[n] = d.name
				n++
			}
			cc.note(d)
		}
	}
	return cc
}

// note records what one valid directive says. Names are told apart by
// length first: this runs for every directive of every response.
func (cc *cacheControl) note(d directive) {
	is := func(known string) bool {
		return len(d.name) == len(known) && (d.name == known || strings.EqualFold(d.name, known))
	}
	switch {
	case is("public"):
		cc.public = true
	case is("private"):
		cc.private = cc.private || !d.hasValue
		cc.privateQualified = cc.privateQualified || d.hasValue
	case is("no-cache"):
		cc.noCache = cc.noCache || !d.hasValue
		cc.noCacheQualified = cc.noCacheQualified || d.hasValue
	case is("no-store"):
		// An argument is meaningless here; every cache that reads the
		// name (nginx and Varnish by substring) refuses to store.
		cc.noStore = true
	case is("max-age"):
		cc.invalid = !cc.maxAge.note(d) || cc.invalid
	case is("s-maxage"):
		cc.invalid = !cc.sMaxAge.note(d) || cc.invalid
	case is("stale-while-revalidate"), is("stale-if-error"):
		// Next.js and Vercel send these bare on every ISR page.
		cc.invalid = cc.invalid || (d.hasValue && !isDeltaSeconds(d))
	}
}
