package fence

import (
	"iter"
	"slices"
	"strings"

	"github.com/cachefence/cachefence/internal/escape"
)

// DefaultCredentialParams returns the URL parameters that carry
// credentials unless configured otherwise, in the query or as path
// parameters. Each call returns a new slice: changing it changes no
// default.
//
//   - access_token: OAuth 2.0 bearer tokens in the query (RFC 6750 §2.3,
//     which asks for Cache-Control: private on such responses), and its
//     relatives id_token and auth_token;
//   - api_key, apikey (Kong's default), subscription-key (Azure API
//     Management's default): API keys;
//   - private_token and job_token (GitLab's PRIVATE-TOKEN and JOB-TOKEN
//     in the query), x-plex-token (Plex Media Server): product tokens;
//   - jsessionid: Java servlet URL rewriting (";jsessionid=...");
//   - phpsessid: PHP's session.use_trans_sid;
//   - sid, sessionid, session_id: session ids put in links;
//   - token: one-time and magic-link tokens, whose pages are personal.
func DefaultCredentialParams() []string { return slices.Clone(defaultCredentialParams) }

var defaultCredentialParams = []string{
	"access_token", "id_token", "auth_token", "api_key", "apikey", "subscription-key",
	"private_token", "job_token", "x-plex-token",
	"jsessionid", "phpsessid", "sid", "sessionid", "session_id", "token",
}

// maxParamName bounds the parameter names compared; a configured name must
// be shorter, and a longer one in a URL cannot match.
const maxParamName = 64

// paramName writes into buf the name as frameworks read a parameter name
// sent as raw: percent-decoded with "+" as a space (every framework), with
// PHP's mangling (leading spaces dropped, " " and "." as "_", an array key
// "[...]" dropped, the name cut at a NUL), in lower case (the fence folds case to fail closed).
// ok is false when the name does not fit.
func paramName(raw string, buf *[maxParamName]byte) (name []byte, ok bool) {
	name = buf[:0]
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '%':
			if v, ok := escape.HexByte(raw, i+1); ok {
				c = v
				i += 2
			}
		case c == '+':
			c = ' '
		}
		switch {
		case c == 0:
			return name, true // PHP's C strings end the name here
		case c == ' ' && len(name) == 0:
			continue
		case c == ' ' || c == '.':
			c = '_'
		case c == '[':
			if strings.IndexByte(raw[i:], ']') > 0 {
				return name, true
			}
			c = '_'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if len(name) == maxParamName {
			return name, false
		}
		name = append(name, c)
	}
	return name, true
}

// urlParams yields the name and the whole name=value text of every query
// parameter (split on "&" and ";", as Rack and older servers do) and every
// path parameter (";name=value" in a segment, as the servlet containers
// read them) of the path as sent and the decoded path.
func urlParams(rawPath, decodedPath, rawQuery string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, p := range [...]string{rawPath, decodedPath} {
			for {
				i := strings.IndexByte(p, ';')
				if i < 0 {
					break
				}
				p = p[i+1:]
				param := p
				if j := strings.IndexAny(param, "/;"); j >= 0 {
					param = param[:j]
				}
				name, _, _ := strings.Cut(param, "=")
				if !yield(name, param) {
					return
				}
			}
		}
		for q := rawQuery; q != ""; {
			var param string
			if i := strings.IndexAny(q, "&;"); i >= 0 {
				param, q = q[:i], q[i+1:]
			} else {
				param, q = q, ""
			}
			name, _, _ := strings.Cut(param, "=")
			if !yield(name, param) {
				return
			}
		}
	}
}

// isCredentialParam reports whether a parameter sent under name carries a
// credential.
func (p *Policy) isCredentialParam(name string) bool {
	var buf [maxParamName]byte
	n, ok := paramName(name, &buf)
	return ok && len(n) > 0 && p.credentialParams[string(n)]
}

// hasCookielessSegment reports an ASP.NET cookieless-session path such as
// /(S(lit3py55t21z5v55vlm25s55))/page.aspx: the segment is the session.
func hasCookielessSegment(decodedPath string) bool {
	for seg := range strings.SplitSeq(decodedPath, "/") {
		if isCookielessSegment(seg) {
			return true
		}
	}
	return false
}

// RedactURI returns a request URI (the path and query of a request line)
// fit for a log line: the path as RedactPath leaves it, and the value of
// every query parameter that the policy reads as a credential, as
// frameworks read its name, replaced by REDACTED. Other parameters keep
// their values. A URI with neither is returned as it is.
func (p *Policy) RedactURI(uri string) string {
	path, query, hasQuery := strings.Cut(uri, "?")
	path = RedactPath(path)
	if !hasQuery {
		return path
	}
	var b strings.Builder
	b.Grow(len(uri))
	b.WriteString(path)
	b.WriteByte('?')
	for query != "" {
		// Split on "&" and ";", as urlParams does.
		param, sep := query, ""
		if i := strings.IndexAny(query, "&;"); i >= 0 {
			param, sep, query = query[:i], query[i:i+1], query[i+1:]
		} else {
			query = ""
		}
		if name, _, hasValue := strings.Cut(param, "="); hasValue && p.isCredentialParam(name) {
			param = name + "=REDACTED"
		}
		b.WriteString(param)
		b.WriteString(sep)
	}
	return b.String()
}
