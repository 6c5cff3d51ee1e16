// Package fence decides whether an HTTP response may be stored by a shared
// cache, and rewrites the headers of one that may not.
//
// Everything here is a function of request and response headers only: no
// I/O, no logging, no Caddy. A plain net/http server can use it (package
// fencehttp does) as well as the Caddy module in this repository.
package fence

import "strings"

// Reason is one cause for fencing a response. The set is closed and small,
// so reasons are safe to use as metric labels.
type Reason uint8

// The reasons, in the order they are reported. Rules 1-5 say the response is
// personalised; the rest say it is ambiguous, and fencing is the safe answer.
const (
	// Authorization: the request carried an Authorization header.
	Authorization Reason = iota
	// CredentialHeader: the request carried a configured credential
	// header: an API key, a token, an identity asserted by a proxy.
	CredentialHeader
	// CredentialParam: the URL carries a credential: an access_token in
	// the query, a ;jsessionid= path parameter, an ASP.NET cookieless
	// session.
	CredentialParam
	// SessionCookie: the request carried a cookie that identifies a user,
	// and neither a public tag nor a public path serving a plainly static
	// file lifted the rule.
	SessionCookie
	// SetCookie: the response sets a cookie.
	SetCookie
	// SetCredential: the response hands out a credential in a configured
	// credential header, as Spring Session's header mode does with a new
	// session's X-Auth-Token: as personal as a Set-Cookie.
	SetCredential
	// PrivatePath: the request path matches a configured private path.
	PrivatePath
	// PrivateTag: the origin tagged the route private.
	PrivateTag
	// VaryCredentials: the response varies on Cookie or Authorization, and
	// the request carried them.
	VaryCredentials
	// CacheControlInvalid: the response's Cache-Control cannot be parsed.
	CacheControlInvalid
	// CacheControlConflict: Cache-Control directives repeat or contradict
	// each other, or are split over several header lines.
	CacheControlConflict
	// CacheControlQualified: private="..." or no-cache="...", which still let
	// a shared cache store the body.
	CacheControlQualified
	// VaryStar: Vary: *, which some caches store and others do not.
	VaryStar
	// TargetedOverride: Cache-Control says private while a
	// targeted header (Surrogate-Control, a CDN-Cache-Control of RFC 9213,
	// Edge-Control, X-Accel-Expires) lets the caches that read it store the
	// response.
	TargetedOverride
	// TagInvalid: the origin's tag header says neither private nor public.
	TagInvalid
	// PathConfusion: the path (or the end of the query) names a file type
	// that CDNs cache by default, and the response is not plainly a file of
	// that type (web cache deception).
	PathConfusion
	// ErrorResponse: the handler chain returned an error; Caddy writes the
	// error page.
	ErrorResponse
	// InternalError: the fence itself failed while deciding.
	InternalError

	numReasons
)

var reasonNames = [numReasons]string{
	Authorization:         "authorization",
	CredentialHeader:      "credential_header",
	CredentialParam:       "credential_param",
	SessionCookie:         "session_cookie",
	SetCookie:             "set_cookie",
	SetCredential:         "set_credential",
	PrivatePath:           "private_path",
	PrivateTag:            "private_tag",
	VaryCredentials:       "vary_credentials",
	CacheControlInvalid:   "cache_control_invalid",
	CacheControlConflict:  "cache_control_conflict",
	CacheControlQualified: "cache_control_qualified",
	VaryStar:              "vary_star",
	TargetedOverride:      "targeted_override",
	TagInvalid:            "tag_invalid",
	PathConfusion:         "path_confusion",
	ErrorResponse:         "error_response",
	InternalError:         "internal_error",
}

// String returns the reason's snake_case name.
func (r Reason) String() string {
	if r >= numReasons {
		return "unknown"
	}
	return reasonNames[r]
}

// AllReasons returns every reason, in report order.
func AllReasons() []Reason {
	all := make([]Reason, numReasons)
	for i := range all {
		all[i] = Reason(i)
	}
	return all
}

// Reasons is a set of reasons. The zero value is the empty set: a response
// with no reasons is shared, any other is fenced.
type Reasons uint32

// With returns the set plus r.
func (rs Reasons) With(r Reason) Reasons { return rs | 1<<r }

// Has reports whether r is in the set.
func (rs Reasons) Has(r Reason) bool { return rs&(1<<r) != 0 }

// Fenced reports whether the set holds any reason, that is whether the
// response must be made unstorable.
func (rs Reasons) Fenced() bool { return rs != 0 }

// Verdict returns "fenced" or "shared".
func (rs Reasons) Verdict() string {
	if rs.Fenced() {
		return "fenced"
	}
	return "shared"
}

// List returns the reasons in the set, in report order.
func (rs Reasons) List() []Reason {
	var list []Reason
	for r := Reason(0); r < numReasons; r++ {
		if rs.Has(r) {
			list = append(list, r)
		}
	}
	return list
}

// Names returns the names of the reasons in the set, in report order.
func (rs Reasons) Names() []string {
	list := rs.List()
	names := make([]string, len(list))
	for i, r := range list {
		names[i] = r.String()
	}
	return names
}

// String returns the names joined by commas, or "" for the empty set.
func (rs Reasons) String() string { return strings.Join(rs.Names(), ",") }
