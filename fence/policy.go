package fence

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Config is an operator's configuration of the rules. The zero value is the
// safest: every request cookie identifies a user, the default credential
// headers and URL parameters count, and there are no path lists and no
// tag header.
type Config struct {
	// SessionCookies are globs (path.Match syntax) naming the cookies that
	// identify a user, compared without regard to case. When empty, every
	// cookie not matched by IgnoreCookies does.
	SessionCookies []string
	// IgnoreCookies are globs naming cookies that never identify a user,
	// such as analytics or consent cookies, compared exactly.
	IgnoreCookies []string
	// CredentialHeaders are the request headers, besides Authorization
	// (which always counts), whose presence makes a response personal.
	// Nil means DefaultCredentialHeaders(). A name with "_" also matches
	// requests that spell it with "-", and the other way round, as CGI
	// and FastCGI read them.
	CredentialHeaders []string
	// CredentialParams are the URL parameter names (query or ";" path
	// parameters) that carry credentials. Nil means
	// DefaultCredentialParams().
	CredentialParams []string
	// PrivatePaths are path patterns, in the syntax of Caddy's path
	// matcher, whose responses are always personal. They match every form
	// of the path an origin may route the same way.
	PrivatePaths []string
	// PublicPaths are path patterns whose static files never depend on
	// request cookies. They match the path exactly as sent.
	PublicPaths []string
	// TagHeader is the response header through which the origin tags a
	// route "private" or "public". Empty means the origin sends no tag.
	TagHeader string
	// StampKey, when set, makes Apply stamp each fenced response with a
	// keyed digest of the requester's identity (see OwnerStamp).
	StampKey []byte
	// StampHeader names the stamp's header; empty means
	// DefaultStampHeader.
	StampHeader string
	// Report makes Apply rewrite and stamp nothing: it only classifies.
	Report bool
}

// DefaultCredentialHeaders returns the request headers that carry
// credentials or an identity asserted by a proxy, unless configured
// otherwise. Each call returns a new slice: changing it changes no default.
// Each name is documented by its product:
//
//   - API keys and session tokens: X-Api-Key (AWS API Gateway),
//     Ocp-Apim-Subscription-Key (Azure API Management), Apikey (Kong
//     key-auth), X-Auth-Token (OpenStack Keystone, Spring Session),
//     Authentication-Info (Spring Session), AspFilterSessionId (ASP.NET
//     cookieless sessions), X-Credential-Identifier (Kong, once
//     authenticated);
//   - tokens of self-hosted products and frameworks: Private-Token and
//     Job-Token (GitLab), X-Vault-Token (HashiCorp Vault), X-Consul-Token
//     (HashiCorp Consul), X-Nomad-Token (HashiCorp Nomad), X-JFrog-Art-Api
//     (JFrog Artifactory), Access-Token (devise_token_auth, whose client
//     and uid headers come only with it and are too generic to count
//     alone), X-Plex-Token (Plex Media Server), X-Emby-Token,
//     X-MediaBrowser-Token and X-Emby-Authorization (Jellyfin, Emby),
//     X-Parse-Session-Token (Parse Server), X-Rundeck-Auth-Token (Rundeck);
//   - identities asserted by a proxy in front of the origin:
//     Cf-Access-Jwt-Assertion and Cf-Access-Authenticated-User-Email
//     (Cloudflare Access), X-Goog-Iap-Jwt-Assertion and
//     X-Goog-Authenticated-User-* (Google IAP), X-Amzn-Oidc-* (AWS ALB),
//     X-Ms-Client-Principal* and X-Ms-Token-Aad-* (Azure App Service),
//     X-Forwarded-User and its kin and X-Auth-Request-* (oauth2-proxy),
//     Remote-User, Remote-Email and Remote-Name (Authelia),
//     X-Pomerium-Jwt-Assertion and X-Pomerium-Authorization (Pomerium),
//     X-Vouch-User and X-Vouch-Token (Vouch Proxy), X-Webauth-User
//     (Grafana's auth proxy), Tailscale-User-Login (Tailscale Serve),
//     X-Authentik-Username, -Uid, -Email and -Jwt (authentik's proxy
//     outpost), X-Remote-User (Kubernetes' request-header authentication),
//     SM_USER (CA SiteMinder, and the default of Spring Security's
//     RequestHeaderAuthenticationFilter);
//   - client certificates forwarded by a TLS-terminating proxy:
//     X-Forwarded-Client-Cert (Envoy);
//   - widespread conventions with no single owner: Api-Key, X-Access-Token,
//     X-Ssl-Client-Cert, Ssl-Client-Cert, X-Client-Cert.
//
// Products that take their tokens in Authorization (GitHub, Docker
// registries, npm, Heroku, Atlassian, Jenkins, Grafana's API keys) need no
// name here: Authorization always counts.
func DefaultCredentialHeaders() []string { return slices.Clone(defaultCredentialHeaders) }

var defaultCredentialHeaders = []string{
	"X-Api-Key", "Ocp-Apim-Subscription-Key", "Apikey", "X-Auth-Token", "Authentication-Info",
	"AspFilterSessionId", "X-Credential-Identifier",
	"Private-Token", "Job-Token", "X-Vault-Token", "X-Consul-Token", "X-Nomad-Token", "X-JFrog-Art-Api",
	"Access-Token", "X-Plex-Token", "X-Emby-Token", "X-MediaBrowser-Token", "X-Emby-Authorization",
	"X-Parse-Session-Token", "X-Rundeck-Auth-Token",
	"Cf-Access-Jwt-Assertion", "Cf-Access-Authenticated-User-Email",
	"X-Goog-Iap-Jwt-Assertion", "X-Goog-Authenticated-User-Email", "X-Goog-Authenticated-User-Id",
	"X-Amzn-Oidc-Data", "X-Amzn-Oidc-Accesstoken", "X-Amzn-Oidc-Identity",
	"X-Ms-Client-Principal", "X-Ms-Client-Principal-Id", "X-Ms-Client-Principal-Name", "X-Ms-Client-Principal-Idp",
	"X-Ms-Token-Aad-Access-Token", "X-Ms-Token-Aad-Id-Token",
	"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Preferred-Username", "X-Forwarded-Access-Token",
	"X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Preferred-Username", "X-Auth-Request-Access-Token",
	"Remote-User", "Remote-Email", "Remote-Name",
	"X-Pomerium-Jwt-Assertion", "X-Pomerium-Authorization",
	"X-Vouch-User", "X-Vouch-Token", "X-Webauth-User", "Tailscale-User-Login",
	"X-Authentik-Username", "X-Authentik-Uid", "X-Authentik-Email", "X-Authentik-Jwt",
	"X-Remote-User", "SM_USER",
	"X-Forwarded-Client-Cert",
	"Api-Key", "X-Access-Token", "X-Ssl-Client-Cert", "Ssl-Client-Cert", "X-Client-Cert",
}

// Policy is a checked Config, ready to classify. It is immutable and safe
// for concurrent use.
type Policy struct {
	sessionCookies    []cookieGlob // lower case
	ignoreCookies     []cookieGlob
	credentialHeaders map[string]bool // canonical names
	credentialHints   hintSet         // of credentialHeaders
	credentialParams  map[string]bool // as paramName writes them
	privatePaths      []pathPattern
	publicPaths       []pathPattern
	tagHeader         string // canonical
	stampKey          []byte
	stampHeader       string // canonical
	report            bool
}

// MinStampKey is the shortest owner-stamp key accepted: an HMAC key much
// shorter than the digest is guessable.
const MinStampKey = 16

// New checks c and returns its Policy. Each error names the option (in the
// Caddyfile's words) and the value.
func New(c Config) (*Policy, error) {
	p := &Policy{report: c.Report}
	for _, list := range []struct {
		option string
		globs  []string
		lower  bool
		into   *[]cookieGlob
	}{{"session_cookies", c.SessionCookies, true, &p.sessionCookies}, {"ignore_cookies", c.IgnoreCookies, false, &p.ignoreCookies}} {
		for _, g := range list.globs {
			if g == "" {
				return nil, fmt.Errorf("%s: empty cookie name pattern", list.option)
			}
			glob := g
			if list.lower {
				glob = strings.ToLower(g)
			}
			compiled, err := compileCookieGlob(glob)
			if err != nil {
				return nil, fmt.Errorf("%s: bad cookie name pattern %q: %w", list.option, g, err)
			}
			*list.into = append(*list.into, compiled)
		}
	}

	p.credentialHeaders = map[string]bool{}
	headers := c.CredentialHeaders
	if headers == nil {
		headers = defaultCredentialHeaders
	}
	for _, name := range headers {
		if !isToken(name) {
			return nil, fmt.Errorf("credential_headers: %q is not a valid header field name", name)
		}
		// Kept as isCredentialHeader reads a request's header: "_" as
		// "-". Canonical as configured, X_Api_Key would be X_api_key,
		// which no request is read as.
		if canonical := http.CanonicalHeaderKey(cgiDashes.Replace(name)); canonical == "Cookie" {
			return nil, errors.New("credential_headers: Cookie is judged cookie by cookie; use session_cookies or ignore_cookies")
		} else if canonical != "Authorization" {
			p.credentialHeaders[canonical] = true
			p.credentialHints.add(credentialHint(canonical))
		}
	}

	p.credentialParams = map[string]bool{}
	params := c.CredentialParams
	if params == nil {
		params = defaultCredentialParams
	}
	for _, name := range params {
		var buf [maxParamName]byte
		n, ok := paramName(name, &buf)
		if !ok || len(n) == 0 || strings.ContainsAny(name, "=&;/?#") {
			return nil, fmt.Errorf("credential_params: %q is not a parameter name of at most %d characters", name, maxParamName)
		}
		p.credentialParams[string(n)] = true
	}

	var err error
	if p.privatePaths, err = compilePathPatterns("private_paths", c.PrivatePaths); err != nil {
		return nil, err
	}
	if p.publicPaths, err = compilePathPatterns("public_paths", c.PublicPaths); err != nil {
		return nil, err
	}

	if c.TagHeader != "" {
		if err := CheckHeaderName(c.TagHeader); err != nil {
			return nil, fmt.Errorf("tag_header: %q: %w", c.TagHeader, err)
		}
		p.tagHeader = http.CanonicalHeaderKey(c.TagHeader)
	}
	if c.StampKey != nil {
		if len(c.StampKey) < MinStampKey {
			// Never echo the key, even a short one.
			return nil, fmt.Errorf("owner_stamp: key must be at least %d bytes, got %d", MinStampKey, len(c.StampKey))
		}
		header := cmp.Or(c.StampHeader, DefaultStampHeader)
		if err := CheckHeaderName(header); err != nil {
			return nil, fmt.Errorf("owner_stamp: header %q: %w", header, err)
		}
		p.stampHeader = http.CanonicalHeaderKey(header)
		if p.stampHeader == p.tagHeader {
			return nil, fmt.Errorf("owner_stamp: header %q is also the tag_header", header)
		}
		p.stampKey = c.StampKey
	}
	return p, nil
}

// IsCredentialHeader reports whether name, a header map key as net/http
// stores it, is one of the policy's credential headers (Authorization
// aside), read as the rules read a request's: "_" as "-".
func (p *Policy) IsCredentialHeader(name string) bool { return p.isCredentialHeader(name) }

// controlledHeaders carry caching or identity semantics of their own; a
// header of the fence's (route tag, owner stamp) under one of these names
// would be overwritten or would change what caches do. The targeted
// headers are added from their table.
var controlledHeaders = []string{
	"Cache-Control", "Expires", "Pragma", "Set-Cookie", "Vary", "Age",
	"Authorization", "Cookie", "Cache-Fence", "Cache-Status",
	// Removing any of these from every response would break responses.
	"Content-Type", "Content-Length", "Content-Encoding", "Content-Range", "Content-Language",
	"Content-Location", "Content-Disposition", "Transfer-Encoding", "Connection", "Upgrade",
	"Trailer", "Location", "Etag", "Last-Modified", "Date", "Server", "Link", "Www-Authenticate",
	"Strict-Transport-Security", "Content-Security-Policy", "Access-Control-Allow-Origin",
}

// CheckHeaderName accepts a header name for the fence's own use: a valid
// field name that caches and browsers give no meaning to.
func CheckHeaderName(name string) error {
	if !isToken(name) {
		return errors.New("not a valid header field name")
	}
	canonical := http.CanonicalHeaderKey(name)
	taken := isVendorTargeted(canonical)
	for _, t := range targetedHeaders {
		taken = taken || canonical == t.name
	}
	for _, c := range controlledHeaders {
		taken = taken || canonical == c
	}
	if taken {
		return errors.New("this header carries caching or identity semantics of its own; pick a dedicated name such as X-Cache-Fence-Tag")
	}
	return nil
}
