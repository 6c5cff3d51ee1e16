package fence

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// DefaultStampHeader is the response header that carries the owner stamp
// unless configured otherwise.
const DefaultStampHeader = "Cache-Fence-Owner"

// GuardHeader is the response header the edge guard (cachefence edge)
// sets when it stopped a page stamped for someone else, with GuardRefused
// or GuardPassed. Probes and log watchers report it: the cache tried to
// deliver one user's page to another, and the guard stopped it.
const GuardHeader = "Cache-Fence-Guard"

// RequesterHeader is the header in which the edge hands the access log
// the requester digest: OwnerStamp(key, identity) of the request's
// identity, exactly the stamp the fence gives the requester (the stamp of
// "" for an anonymous one, as anonymous responses are stamped). The log
// then holds no credential: a digest proves who asked to whoever has the
// key, and gives away no session. SetCookieHeader says, in place of the
// value (a fresh session), that the response set a cookie.
const (
	RequesterHeader = "Cache-Fence-Requester"
	SetCookieHeader = "Cache-Fence-Set-Cookie"
)

// The edge guard's verdicts.
const (
	// GuardRefused: the guard answered a short 503 in the page's place.
	GuardRefused = "refused"
	// GuardPassed: the guard fetched the page again past the cache and
	// delivered it, now the requester's own.
	GuardPassed = "passed"
)

// stampVersion prefixes every stamp, so the format can change without a
// verifier mistaking one format for another.
const stampVersion = "v1."

// Identity returns the credentials a request carries, in a canonical form:
// the Authorization values, the identifying cookies (as the policy decides)
// sorted, then the credential headers sorted by name and the credential URL
// parameters sorted. It is secret material: only ever hash it.
func (p *Policy) Identity(h http.Header, u *url.URL) string {
	var cookies, headers, params []string
	for name, pair := range cookiePairs(h["Cookie"]) {
		if p.identifies(name) {
			cookies = append(cookies, pair)
		}
	}
	for name, values := range h {
		if p.isCredentialHeader(name) {
			for _, v := range values {
				headers = append(headers, name+": "+v)
			}
		}
	}
	for name, param := range urlParams(u.EscapedPath(), u.Path, u.RawQuery) {
		if p.isCredentialParam(name) {
			params = append(params, param)
		}
	}
	var b strings.Builder
	field := func(kind, v string) {
		b.WriteString(kind)
		b.WriteByte(0)
		b.WriteString(v)
		b.WriteByte(0)
	}
	for _, v := range h["Authorization"] {
		field("authorization", v)
	}
	for _, list := range []struct {
		kind   string
		values []string
	}{{"cookie", cookies}, {"header", headers}, {"param", params}} {
		slices.Sort(list.values)
		for _, v := range list.values {
			field(list.kind, v)
		}
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
