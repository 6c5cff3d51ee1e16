package fence

import "net/http"

// unstorable is the header set that every shared cache this project knows
// reads as "do not store", each header with the one value it gets:
//
//   - Cache-Control: private, no-store: RFC 9111 §5.2.2.5 and §5.2.2.7;
//     no-cache alone still lets a cache store and, with request collapsing,
//     serve the first user's page to everyone waiting.
//   - the targeted headers of targetedHeaders, in their no-store form: a
//     cache that obeys one ignores Cache-Control, so each is set rather
//     than left to a cache's fallback.
//   - Expires: 0: an invalid date means already expired (RFC 9111 §5.3).
//   - Pragma: no-cache: for HTTP/1.0 caches (RFC 9111 §5.4).
var unstorable = func() (u [len(targetedHeaders) + 3][2]string) {
	u[0] = [2]string{"Cache-Control", "private, no-store"}
	for i, t := range targetedHeaders {
		u[i+1] = [2]string{t.name, t.fenced}
	}
	u[len(u)-2] = [2]string{"Expires", "0"}
	u[len(u)-1] = [2]string{"Pragma", "no-cache"}
	return u
}()

// Rewrite makes the response with headers h unstorable by shared caches. It
// replaces every value of each header it controls, so exactly one line of
// each remains, sets any other <Vendor>-CDN-Cache-Control the origin sent
// to no-store, and leaves all other headers (Set-Cookie included) alone.
func Rewrite(h http.Header) {
	// One backing array for all values: one allocation, not one per header.
	// Each slice is capped at its single value, so an append elsewhere
	// copies instead of overwriting its neighbour.
	values := new([len(unstorable) + 1]string)
	for i, kv := range unstorable {
		values[i] = kv[1]
		h[kv[0]] = values[i : i+1 : i+1]
	}
	last := len(values) - 1
	values[last] = vendorTargeted.fenced
	for name := range h {
		if isVendorTargeted(name) {
			h[name] = values[last : last+1 : last+1]
		}
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
