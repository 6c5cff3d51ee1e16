package fence

import (
	"iter"
	"net/http"
	"net/url"
	"strings"
)

// Request holds what the rules need to know about a request. Build it with
// Policy.Request before the handler chain runs: handlers further in may
// rewrite the request, but the cache in front saw what the client sent.
type Request struct {
	// RawPath is the path as the client sent it, escapes included; Path is
	// it decoded; RawQuery is the query as sent.
	RawPath, Path, RawQuery string
	// Authorization: the request had an Authorization header, any value.
	Authorization bool
	// CredentialHeader: the request had a configured credential header.
	CredentialHeader bool
	// CredentialParam: the URL carries a credential parameter or an
	// ASP.NET cookieless session.
	CredentialParam bool
	// IdentifyingCookie: a cookie identifies a user, as some framework
	// reads it.
	IdentifyingCookie bool
	// PrivatePath: some form of the path matches a private path.
	PrivatePath bool
	// PublicPath: the path as sent matches a public path exactly.
	PublicPath bool

	// identity is the credentials, for the owner stamp; set only when the
	// policy stamps.
	identity string
}

// Request extracts the facts the rules need from a request's headers and
// URL. For a request received by a server, u is its URL as parsed from the
// request line (not one rewritten by a handler since).
func (p *Policy) Request(h http.Header, u *url.URL) Request {
	req := Request{RawPath: u.EscapedPath(), Path: u.Path, RawQuery: u.RawQuery}
	p.readCredentialHeaders(&req, h)
	for name := range urlParams(req.RawPath, req.Path, req.RawQuery) {
		if p.isCredentialParam(name) {
			req.CredentialParam = true
			break
		}
	}
	req.CredentialParam = req.CredentialParam || hasCookielessSegment(req.Path)
	for name := range cookiePairs(h["Cookie"]) {
		if p.identifies(name) {
			req.IdentifyingCookie = true
			break
		}
	}
	req.PrivatePath = matchLenient(p.privatePaths, req.RawPath)
	req.PublicPath = matchStrict(p.publicPaths, req.RawPath)
	if p.stampKey != nil {
		req.identity = p.Identity(h, u)
	}
	return req
}

// Recheck adds to req the credential headers that handlers inside the
// chain put on the request since Request read it: Caddy's forward_auth
// copies the identity an auth server returns (Remote-User) onto the
// request, for the origin to read. Call it with the request's headers just
// before Apply. Every name is looked at again, however many headers the
// chain removed and added (forward_auth removes a client's copies of the
// headers it copies, then adds what the auth server returned); the filter
// in isCredentialHeader keeps that walk cheap.
func (p *Policy) Recheck(req *Request, h http.Header) {
	if !req.Authorization || !req.CredentialHeader {
		p.readCredentialHeaders(req, h)
	}
}

// readCredentialHeaders sets req.Authorization and req.CredentialHeader
// when h holds them.
func (p *Policy) readCredentialHeaders(req *Request, h http.Header) {
	if _, ok := h["Authorization"]; ok {
		req.Authorization = true
	}
	for name := range h {
		if req.CredentialHeader {
			return
		}
		req.CredentialHeader = p.isCredentialHeader(name)
	}
}

// isCredentialHeader reports a configured credential header, given its
// name as a header map key. "_" and "." count as "-": CGI and FastCGI
// (Caddy's php_fastcgi, PHP-FPM) turn "-" into "_", and PHP turns "." into
// "_" too, so a PHP origin reads X_Api_Key and X.Api.Key as X-Api-Key.
func (p *Policy) isCredentialHeader(name string) bool {
	if name == "" || !p.credentialHints.has(credentialHint(name)) {
		return false
	}
	if strings.ContainsAny(name, "_.") {
		name = http.CanonicalHeaderKey(cgiDashes.Replace(name))
	}
	return p.credentialHeaders[name]
}

// cgiDashes reads a header name's "_" and "." as the "-" they stand for
// once CGI and PHP have read the name.
var cgiDashes = strings.NewReplacer("_", "-", ".", "-")

// Classify returns the reasons to fence the response to req whose status
// and headers are status and resp. The empty set means the response may be
// shared.
//
// A public tag, or a public path answered with a plainly static file, only
// lifts the cookie rule: it never overrides credentials, Set-Cookie or an
// ambiguity.
func (p *Policy) Classify(req *Request, status int, resp http.Header) Reasons {
	var rs Reasons
	if req.Authorization {
		rs = rs.With(Authorization)
	}
	if req.CredentialHeader {
		rs = rs.With(CredentialHeader)
	}
	if req.CredentialParam {
		rs = rs.With(CredentialParam)
	}
	if len(resp["Set-Cookie"]) > 0 || announcesSetCookie(resp["Trailer"]) {
		rs = rs.With(SetCookie)
	}
	if p.setsCredential(resp) {
		rs = rs.With(SetCredential)
	}
	if req.PrivatePath {
		rs = rs.With(PrivatePath)
	}
	tagPrivate, tagPublic, tagInvalid := p.tag(resp)
	if tagPrivate {
		rs = rs.With(PrivateTag)
	}
	if tagInvalid {
		rs = rs.With(TagInvalid)
	}
	cc := readCacheControl(resp["Cache-Control"])
	// A public path speaks for files, but a file the origin marks private
	// or no-store is one user's (a download a view authorised, sent by the
	// file server through X-Accel-Redirect, with its marks).
	if req.IdentifyingCookie && !tagPublic && !(req.PublicPath && !cc.private && !cc.noStore && plainlyStatic(req, status, resp)) {
		rs = rs.With(SessionCookie)
	}
	rs |= varyReasons(resp["Vary"], req)
	if cc.invalid {
		rs = rs.With(CacheControlInvalid)
	}
	if cc.conflict() {
		rs = rs.With(CacheControlConflict)
	}
	if cc.privateQualified || cc.noCacheQualified {
		rs = rs.With(CacheControlQualified)
	}
	// private says the page is one user's; a targeted header that lets a
	// cache store it anyway leaves the outcome to the cache. no-store
	// alone beside one is RFC 9213's split (no other cache stores, the CDN
	// does), which says nothing personal.
	if cc.private && storingTargeted(resp) {
		rs = rs.With(TargetedOverride)
	}
	if pathConfused(req, status, resp) {
		rs = rs.With(PathConfusion)
	}
	return rs
}

// setsCredential reports a response that carries a configured credential
// header: Spring Session's HeaderHttpSessionIdResolver sends a new
// session's id as X-Auth-Token (or Authentication-Info) on the response
// that created it, to a client that sent no credential yet. Authorization
// counts too, as on a request.
func (p *Policy) setsCredential(resp http.Header) bool {
	if _, ok := resp["Authorization"]; ok {
		return true
	}
	for name := range resp {
		if p.isCredentialHeader(name) {
			return true
		}
	}
	return false
}

// tag reads the origin's route tag. Several lines that disagree, an empty
// value, or any word but private/public make the tag invalid.
func (p *Policy) tag(resp http.Header) (private, public, invalid bool) {
	if p.tagHeader == "" {
		return false, false, false
	}
	for _, v := range resp[p.tagHeader] {
		switch v = strings.TrimSpace(v); {
		case strings.EqualFold(v, "private"):
			private = true
		case strings.EqualFold(v, "public"):
			public = true
		default:
			invalid = true
		}
	}
	if private && public {
		invalid = true
	}
	return private, public && !invalid, invalid
}

// listMembers yields the trimmed members of a comma-separated header field
// split over any number of lines (RFC 9110 §5.6.1), without allocating.
func listMembers(lines []string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, line := range lines {
			for line != "" {
				var member string
				member, line, _ = strings.Cut(line, ",")
				if member = trimOWS(member); member != "" && !yield(member) {
					return
				}
			}
		}
	}
}

func announcesSetCookie(trailers []string) bool {
	for name := range listMembers(trailers) {
		if strings.EqualFold(name, "Set-Cookie") {
			return true
		}
	}
	return false
}

// varyReasons: Vary: * is stored by some caches and refused by others.
// Vary on Cookie or Authorization says the response depends on them, which
// matters only when the request carried them: Django and Drupal send
// Vary: Cookie on every anonymous page, and a cache that keys on the
// absent Cookie stores only the anonymous page.
func varyReasons(lines []string, req *Request) Reasons {
	var rs Reasons
	for field := range listMembers(lines) {
		switch {
		case field == "*":
			rs = rs.With(VaryStar)
		case strings.EqualFold(field, "Cookie") && req.IdentifyingCookie,
			strings.EqualFold(field, "Authorization") && req.Authorization:
			rs = rs.With(VaryCredentials)
		}
	}
	return rs
}

// hintSet is a set of credentialHint values: a 256-bit filter that
// rejects most request header names (Accept, User-Agent, ...) before a
// map lookup.
type hintSet [4]uint64

func (s *hintSet) add(h uint8)     { s[h/64] |= 1 << (h % 64) }
func (s hintSet) has(h uint8) bool { return s[h/64]&(1<<(h%64)) != 0 }

// credentialHint folds a non-empty header name to 8 bits from its length
// and its first and last bytes, case folded and "_" read as "-", so that
// every spelling isCredentialHeader takes for one name gives one value.
func credentialHint(name string) uint8 {
	fold := func(c byte) int {
		if c == '_' || c == '.' {
			c = '-'
		}
		return int(c | 0x20)
	}
	return uint8(len(name)*31 + fold(name[0])*7 + fold(name[len(name)-1]))
}
