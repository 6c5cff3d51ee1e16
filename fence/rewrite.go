package fence

import "net/http"

// unstorable is the header set that every shared cache this project knows
// reads as "do not store". Each targeted header is set rather than deleted:
// a cache that obeys one ignores Cache-Control, and an explicit no-store
// survives a cache that would fall back to heuristics.
//
//   - Cache-Control: private, no-store: RFC 9111 §5.2.2.5 and §5.2.2.7;
//     no-cache alone still lets a cache store and, with request collapsing,
//     serve the first user's page to everyone waiting.
//   - Surrogate-Control: no-store: W3C Edge Architecture; Varnish's builtin
//     VCL skips the Cache-Control check whenever this header exists, and
//     Fastly prefers it over Cache-Control.
//   - CDN-Cache-Control and Cloudflare-CDN-Cache-Control: no-store: RFC 9213;
//     a CDN that finds a valid targeted field ignores Cache-Control.
//   - Edge-Control: no-store: Akamai's origin no-store overrides property
//     caching rules.
//   - X-Accel-Expires: 0: nginx obeys it over Cache-Control; zero disables
//     caching.
//   - Expires: 0: an invalid date means already expired (RFC 9111 §5.3).
//   - Pragma: no-cache: for HTTP/1.0 caches (RFC 9111 §5.4).
var unstorable = [...][2]string{
	{"Cache-Control", "private, no-store"},
	{"Surrogate-Control", "no-store"},
	{"Cdn-Cache-Control", "no-store"},
	{"Cloudflare-Cdn-Cache-Control", "no-store"},
	{"Edge-Control", "no-store"},
	{"X-Accel-Expires", "0"},
	{"Expires", "0"},
	{"Pragma", "no-cache"},
}

// Rewrite makes the response with headers h unstorable by shared caches. It
// replaces every value of each header it controls, so exactly one line of
// each remains, and leaves all other headers (Set-Cookie included) alone.
func Rewrite(h http.Header) {
	// One backing array for all values: one allocation, not one per header.
	// Each slice is capped at its single value, so an append elsewhere
	// copies instead of overwriting its neighbour.
	values := new([len(unstorable)]string)
	for i, kv := range unstorable {
		values[i] = kv[1]
		h[kv[0]] = values[i : i+1 : i+1]
	}
}

// Canonicalize merges header lines stored under a non-canonical key
// ("set-cookie") into the canonical one ("Set-Cookie"). net/http sends such
// keys as they are, so rules that look up canonical keys would miss them.
// It allocates only when it finds one.
func Canonicalize(h http.Header) {
	for k, v := range h {
		if c := http.CanonicalHeaderKey(k); c != k {
			delete(h, k)
			h[c] = append(h[c], v...)
		}
	}
}
