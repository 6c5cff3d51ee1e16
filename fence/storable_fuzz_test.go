package fence

import (
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pquerna/cachecontrol"
	"github.com/pquerna/cachecontrol/cacheobject"

	"github.com/cachefence/cachefence/internal/rfcgrammar"
)

// pquernaStorable is the oracle: github.com/pquerna/cachecontrol, an
// independent reading of RFC 7234 (RFC 9111's predecessor) for a shared
// cache and a GET without Authorization. It reads only the first
// Cache-Control line, so it is given every line joined into one list, as
// RFC 9110 §5.3 reads them. An error means it cannot read the headers,
// which a caller must take as "not storable".
func pquernaStorable(status int, h http.Header) bool {
	req, err := http.NewRequest(http.MethodGet, "/", nil)
	if err != nil {
		panic(err)
	}
	if lines := h.Values("Cache-Control"); len(lines) > 1 {
		h = h.Clone()
		h.Set("Cache-Control", strings.Join(lines, ", "))
	}
	reasons, _, err := cachecontrol.CachableResponse(req, &http.Response{StatusCode: status, Header: h},
		cachecontrol.Options{PrivateCache: false})
	return err == nil && len(reasons) == 0
}

// difference is a deliberate difference between SharedStorable and the
// oracle: on the responses it applies to, the fence's verdict may differ
// from pquerna's, in the direction given.
type difference struct {
	name, why string
	// fence is the fence's verdict where it differs: "storable", "not
	// storable", or "either" when the oracle reads other headers.
	fence   string
	applies func(status int, h http.Header) bool
	// status and header are an example it explains.
	status int
	header http.Header
}

// Verdicts of a difference.
const (
	storable    = "storable"
	notStorable = "not storable"
	either      = "either"
)

// member returns a matcher for a Cache-Control member named by the
// regular expression name, followed by what the expression after says.
// Matching is independent of the fence's tokenizer, and loose: it may see a
// member inside a quoted string, which only widens what a difference
// explains.
func member(name, after string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)(?:^|,)[ \t]*(?:` + name + `)[ \t]*` + after)
}

var (
	qualifiedNoCache = member("no-cache", "=")
	argumentToFlag   = member("public|must-revalidate|proxy-revalidate|no-transform|immutable", "=")
	bareStale        = member("stale-while-revalidate|stale-if-error", "(?:,|$)")
)

// repeatsDirective reports whether h's Cache-Control names a directive
// twice.
func repeatsDirective(h http.Header) bool {
	seen := map[string]bool{}
	for _, line := range h.Values("Cache-Control") {
		for m := range strings.SplitSeq(line, ",") {
			name, _, _ := strings.Cut(m, "=")
			name = strings.ToLower(strings.Trim(name, " \t"))
			if name != "" && seen[name] {
				return true
			}
			seen[name] = true
		}
	}
	return false
}

// anyLine reports whether re matches one of h's Cache-Control lines.
func anyLine(h http.Header, re *regexp.Regexp) bool {
	return slices.ContainsFunc(h.Values("Cache-Control"), re.MatchString)
}

// differences lists every deliberate difference from the oracle. Each
// fails closed (the fence says "not storable" where caches read the
// headers differently) or follows RFC 9111 where pquerna, written for RFC
// 7234, does not.
var differences = []difference{{
	name:  "invalid Cache-Control",
	why:   "A Cache-Control that the RFC 9111 §5.2 grammar rejects (max-age=60 max-age=0, a parameter, a stray quote) is read one way by pquerna's lenient lexer and other ways by other caches: the fence fails closed.",
	fence: notStorable,
	applies: func(_ int, h http.Header) bool {
		return slices.ContainsFunc(h.Values("Cache-Control"), func(line string) bool { return !rfcgrammar.CacheControlValid(line) })
	},
	status: 200, header: http.Header{"Cache-Control": {"public, max-age=60 max-age=0"}},
}, {
	name:    "a directive given twice",
	why:     "RFC 9111 §4.2.1 lets a cache use either of two values of a directive (pquerna keeps the last, nginx the first): the fence fails closed.",
	fence:   notStorable,
	applies: func(_ int, h http.Header) bool { return repeatsDirective(h) },
	status:  200, header: http.Header{"Cache-Control": {"max-age=60, max-age=0"}},
}, {
	name:  "several Cache-Control lines",
	why:   "The oracle reads them joined into one list, as RFC 9110 §5.3 allows, and so does the fence when they restrict nothing; but a VCL regex sees only the first line, so where they carry private, no-store or no-cache the fence fails closed.",
	fence: notStorable,
	applies: func(_ int, h http.Header) bool {
		lines := h.Values("Cache-Control")
		return len(lines) > 1 && slices.ContainsFunc(lines, func(line string) bool {
			return slices.ContainsFunc(rfcgrammar.DirectiveNames(line), func(name string) bool {
				return name == "private" || name == "no-store" || name == "no-cache"
			})
		})
	},
	status: 200, header: http.Header{"Cache-Control": {"max-age=60", "no-cache"}},
}, {
	name:    "no-cache with field names",
	why:     `RFC 9111 §5.2.2.4 lets a shared cache store a response with no-cache="Set-Cookie", but nginx and Varnish's builtin VCL match "no-cache" and refuse it: caches disagree, so the fence fails closed (pquerna already reads a qualified private as private).`,
	fence:   notStorable,
	applies: func(_ int, h http.Header) bool { return anyLine(h, qualifiedNoCache) },
	status:  200, header: http.Header{"Cache-Control": {`no-cache="Set-Cookie"`}},
}, {
	name:  "Vary: *",
	why:   "pquerna does not read Vary. RFC 9111 §4.1 makes a response with Vary: * never reusable, and nginx and Varnish's builtin VCL do not store it.",
	fence: notStorable,
	applies: func(_ int, h http.Header) bool {
		for _, line := range h.Values("Vary") {
			for m := range strings.SplitSeq(line, ",") {
				if strings.Trim(m, " \t") == "*" {
					return true
				}
			}
		}
		return false
	},
	status: 200, header: http.Header{"Vary": {"Accept-Encoding, *"}},
}, {
	name:  "Set-Cookie",
	why:   "RFC 9111 §7.3 lets a cache store a response that sets a cookie, and pquerna does; nginx, Varnish's builtin VCL and Cloudflare do not, and the fence fences it (rule 3), so it is no page caches share.",
	fence: notStorable,
	applies: func(_ int, h http.Header) bool {
		return len(h.Values("Set-Cookie")) > 0 || slices.ContainsFunc(h.Values("Trailer"), func(v string) bool {
			return strings.Contains(strings.ToLower(v), "set-cookie")
		})
	},
	status: 200, header: http.Header{"Set-Cookie": {"visitor=1"}},
}, {
	name:    "interim response",
	why:     "RFC 9111 §3 stores final responses only; pquerna lets a 1xx with explicit freshness through.",
	fence:   notStorable,
	applies: func(status int, _ http.Header) bool { return status < 200 },
	status:  100, header: http.Header{"Cache-Control": {"max-age=60"}},
}, {
	name:    "status 308",
	why:     "RFC 9110 §15.1 makes 308 cacheable by default; pquerna's list is RFC 7231's, which predates 308.",
	fence:   storable,
	applies: func(status int, _ http.Header) bool { return status == 308 },
	status:  308, header: http.Header{},
}, {
	name:  "an empty Expires",
	why:   `RFC 9111 §3 counts an Expires field as explicit freshness, and §5.3 reads an invalid one, "" included, as already expired; pquerna counts only a non-empty first value.`,
	fence: storable,
	applies: func(_ int, h http.Header) bool {
		v := h.Values("Expires")
		return len(v) > 0 && v[0] == ""
	},
	status: 302, header: http.Header{"Expires": {""}},
}, {
	name:    "an argument to a directive that takes none",
	why:     "pquerna refuses public=x, must-revalidate=x and the like; the RFC 9111 §5.2 grammar allows an argument on any directive, and every cache still reads the directive's name.",
	fence:   storable,
	applies: func(_ int, h http.Header) bool { return anyLine(h, argumentToFlag) },
	status:  200, header: http.Header{"Cache-Control": {"public=yes"}},
}, {
	name:    "bare stale-while-revalidate or stale-if-error",
	why:     "Valid by the RFC 9111 grammar, sent by Next.js and Vercel on every ISR page; pquerna refuses it.",
	fence:   storable,
	applies: func(_ int, h http.Header) bool { return anyLine(h, bareStale) },
	status:  200, header: http.Header{"Cache-Control": {"s-maxage=600, stale-while-revalidate"}},
}, {
	name:  "a Date or Last-Modified that does not parse",
	why:   "pquerna refuses the response; whether a cache may store it does not depend on those fields.",
	fence: storable,
	applies: func(_ int, h http.Header) bool {
		for _, name := range []string{"Date", "Last-Modified"} {
			if v := h.Get(name); v != "" {
				if _, err := http.ParseTime(v); err != nil {
					return true
				}
			}
		}
		return false
	},
	status: 200, header: http.Header{"Date": {"yesterday"}},
}}

// Every listed difference is real: on its example, the fence and pquerna
// disagree, the fence in the direction listed.
func TestSharedStorableDifferences(t *testing.T) {
	for _, d := range differences {
		t.Run(d.name, func(t *testing.T) {
			ours, oracle := SharedStorable(d.status, d.header).OK, pquernaStorable(d.status, d.header)
			if !d.applies(d.status, d.header) {
				t.Errorf("the example %d %v is not a case of the difference", d.status, d.header)
			}
			if ours == oracle {
				t.Errorf("on %d %v, the fence and pquerna agree (%v): no difference to list", d.status, d.header, ours)
			}
			if d.fence != either && (d.fence == storable) != ours {
				t.Errorf("on %d %v, the fence says storable %v, the difference says %s", d.status, d.header, ours, d.fence)
			}
		})
	}
}

// explained returns the listed difference that explains the fence's
// verdict, or nil.
func explained(status int, h http.Header, ours bool) *difference {
	for i, d := range differences {
		if (d.fence == either || (d.fence == storable) == ours) && d.applies(status, h) {
			return &differences[i]
		}
	}
	return nil
}

// parseHeaderBlock reads "Name: value" lines as a client would receive
// them: names canonical, values trimmed of white space.
func parseHeaderBlock(block string) http.Header {
	h := http.Header{}
	for line := range strings.SplitSeq(block, "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok {
			h.Add(strings.TrimSpace(name), strings.Trim(value, " \t"))
		}
	}
	return h
}

// FuzzSharedStorable holds SharedStorable to pquerna/cachecontrol: where
// they disagree, a listed difference must explain the fence's verdict.
// Where both read one valid Cache-Control line, they must also agree on
// the shared lifetime. The header is "Name: value" lines.
//
// The seeds in testdata/fuzz/FuzzSharedStorable cover each difference and
// each rule of the judge.
func FuzzSharedStorable(f *testing.F) {
	for _, d := range differences {
		var b strings.Builder
		for name, values := range d.header {
			for _, v := range values {
				b.WriteString(name + ": " + v + "\n")
			}
		}
		f.Add(d.status, b.String())
	}
	f.Fuzz(func(t *testing.T, status int, block string) {
		h := parseHeaderBlock(block)
		got := SharedStorable(status, h)
		if got.OK != (len(got.Why) == 0) {
			t.Fatalf("OK %v with reasons %q", got.OK, got.Why)
		}
		if oracle := pquernaStorable(status, h); got.OK != oracle && explained(status, h, got.OK) == nil {
			t.Fatalf("status %d, header %q: the fence says storable %v (%q), pquerna %v, and no listed difference explains it", status, h, got.OK, got.Why, oracle)
		}
		lines := h.Values("Cache-Control")
		// A difference that excuses "storable" (308, a bare
		// stale-while-revalidate, a bad Date...) never excuses it beside
		// a private or no-store, which every reading obeys or fails
		// closed on.
		for _, line := range lines {
			for _, name := range rfcgrammar.DirectiveNames(line) {
				if got.OK && rfcgrammar.CacheControlValid(line) && (name == "private" || name == "no-store") {
					t.Fatalf("status %d, header %q: the fence says storable beside %s", status, h, name)
				}
			}
		}
		if len(lines) != 1 || !rfcgrammar.CacheControlValid(lines[0]) || repeatsDirective(h) {
			return
		}
		cd, err := cacheobject.ParseResponseCacheControl(lines[0])
		if err != nil {
			return
		}
		want := int64(cd.MaxAge)
		if cd.SMaxAge != -1 {
			want = int64(cd.SMaxAge)
		}
		// pquerna caps delta-seconds at 2^31-1, RFC 9111 §1.2.2 at 2^31.
		if min(got.MaxAge, math.MaxInt32) != want {
			t.Fatalf("Cache-Control %q: the fence's shared lifetime is %d, pquerna's %d", lines[0], got.MaxAge, want)
		}
	})
}
