package fence

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
)

// DefaultStampHeader is the response header that carries the owner stamp
// unless configured otherwise.
const DefaultStampHeader = "Cache-Fence-Owner"

// stampVersion prefixes every stamp, so the format can change without a
// verifier mistaking one format for another.
const stampVersion = "v1."

// Identity returns the credentials a request carries, in a canonical form:
// the Authorization value, then the identifying cookies (as the policy
// decides) sorted by name. It is secret material: only ever hash it.
func (p *Policy) Identity(h http.Header) string {
	var pairs []string
	for name, pair := range cookiePairs(h["Cookie"]) {
		if p.identifies(name) {
			pairs = append(pairs, pair)
		}
	}
	slices.Sort(pairs)
	var b strings.Builder
	for _, v := range h["Authorization"] {
		b.WriteString("authorization\x00")
		b.WriteString(v)
		b.WriteByte(0)
	}
	for _, pair := range pairs {
		b.WriteString("cookie\x00")
		b.WriteString(pair)
		b.WriteByte(0)
	}
	return b.String()
}

// OwnerStamp returns a keyed digest (HMAC-SHA256) of identity, for a
// response header: whoever holds the key can check that a page was
// rendered for the identity that received it, while the header reveals
// nothing about the identity itself.
func OwnerStamp(key []byte, identity string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(identity))
	return stampVersion + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// VerifyOwnerStamp reports whether stamp was made with key for identity,
// in constant time.
func VerifyOwnerStamp(key []byte, identity, stamp string) bool {
	return hmac.Equal([]byte(stamp), []byte(OwnerStamp(key, identity)))
}
