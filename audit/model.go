// Package audit holds one model of what a shared cache does for a part of
// its configuration, the named checks that run on that model, and the
// report they make. The packages beside it turn each vendor's
// configuration format into this model; nothing here knows a format.
package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// The vendors whose configurations the audit reads.
const (
	CloudFront = "cloudfront"
	Cloudflare = "cloudflare"
	GoogleCDN  = "gcp"
	Fastly     = "fastly"
	Akamai     = "akamai"
	Nginx      = "nginx"
	Varnish    = "varnish"
)

// Setting is one configuration value as its format spells it, and where it
// is. Findings quote it, so a format must never put a secret in Value.
type Setting struct {
	File string
	Line int
	// Name is the setting's name or path as the format spells it:
	// "MinTTL", "edge_ttl.mode", "proxy_ignore_headers".
	Name string
	// Value is the value as written. For an unknown, it is the expression
	// that could not be resolved.
	Value string
	// Unknown says the value could not be resolved here: a Terraform
	// variable or reference, or a policy that was not given.
	Unknown bool
}

// Signal is a set of response header values that tell a cache not to
// store a response.
type Signal uint8

// The signals. A cache that obeys any one of them keeps the fence's
// rewritten responses out.
const (
	CacheControlPrivate Signal = 1 << iota
	CacheControlNoStore
	SurrogateControlNoStore
	EdgeControlNoStore
	XAccelExpiresZero
	ExpiresPast
)

// FenceSends are the signals every fenced response carries: no-store in
// every field some cache reads first (Cache-Control, Surrogate-Control,
// Edge-Control, X-Accel-Expires; CDN-Cache-Control too, which the CDNs
// that read it read before Cache-Control, so no signal of its own is
// needed). Expires: 0 is sent only in place of an origin's Expires, so a
// cache that obeys only that is not kept out by the fence.
const FenceSends = CacheControlPrivate | CacheControlNoStore | SurrogateControlNoStore | EdgeControlNoStore | XAccelExpiresZero

var signalNames = []string{
	"Cache-Control: private",
	"Cache-Control: no-store",
	"Surrogate-Control: no-store",
	"Edge-Control: no-store",
	"X-Accel-Expires: 0",
	"Expires: 0",
}

func (s Signal) String() string {
	var names []string
	for i, name := range signalNames {
		if s&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	return strings.Join(names, ", ")
}

// Scope is what one cache does for the requests that one part of its
// configuration covers: a path pattern, a rule expression, a location, a
// VCL subroutine. Each behaviour is recorded with the setting that causes
// it, or nil when the cache does not behave so.
type Scope struct {
	Vendor string
	File   string
	Line   int
	// Name says which part of the configuration it is, as a reader would
	// look for it: `behavior "/api/*"`, `location /account`.
	Name string
	// Static says why the scope matches only static-looking URLs, or is
	// empty. Such a scope that ignores the origin's headers shares a
	// personal page only through web cache deception (/account/x.css).
	Static string
	// Module is the nginx module whose directives the scope uses:
	// "fastcgi", "uwsgi", "scgi", or "" for proxy. Fixes name its
	// directives (fastcgi_ignore_headers, not proxy_ignore_headers).
	Module string
	// FilesOnly says the scope's origin serves stored files (a bucket):
	// nothing it serves depends on who asks, so no check applies.
	FilesOnly bool

	// Store makes the cache store responses whatever their Cache-Control
	// says; Obeys are the signals that still keep a response out.
	Store *Setting
	Obeys Signal
	// KeyedByUser says the cache key holds every cookie and the
	// Authorization header, so what Store keeps is shared only among
	// requests with the same credentials, or none.
	KeyedByUser bool
	// TTL gives responses a lifetime over the origin's max-age=0,
	// no-cache or past Expires, while private and no-store still count.
	TTL *Setting
	// Authorization stores responses to requests that carry an
	// Authorization header (RFC 9111 §3.5 forbids it).
	Authorization *Setting
	// Unkeyed forwards cookies to the origin but leaves them out of the
	// cache key while the cache stores responses.
	Unkeyed *Setting
	// ReplaysSetCookie stores Set-Cookie with the response and sends it on
	// hits; StripsSetCookie removes it and stores the rest.
	ReplaysSetCookie *Setting
	StripsSetCookie  *Setting
	// Collapses sends one origin response to concurrent requests whatever
	// the response says.
	Collapses *Setting
	// CachesByDefault stores responses that carry no Cache-Control at
	// all, HTML included.
	CachesByDefault *Setting
	// NoDeceptionArmor caches by URL without checking that the extension
	// matches the Content-Type.
	NoDeceptionArmor *Setting
}

// FenceStops says whether the fence's rewrite keeps personal responses
// out of this scope's cache: the cache honours private and no-store, or
// obeys another header the fence sends.
func (s *Scope) FenceStops() bool {
	return s.Store == nil || s.obeysFence()
}

// obeysFence says whether the cache obeys a signal the fence always sends.
func (s *Scope) obeysFence() bool { return s.Obeys&FenceSends != 0 }

// File is one input file.
type File struct {
	Path string
	Data []byte
}

// Skip is a part of a file that was read but not understood, and so not
// audited. A report with skips is never called clean.
type Skip struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	What string `json:"what"`
}

func (s Skip) String() string {
	return location(s.File, s.Line) + ": skipped " + s.What
}

// FileError is an input that could not be read or parsed.
type FileError struct {
	File string
	Line int
	Err  error
}

func (e *FileError) Error() string { return location(e.File, e.Line) + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

func location(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

// Config is what the audit learned from some files: the scopes of their
// caches, the settings as read (for drift), what it skipped, and the
// files it could not read.
type Config struct {
	Scopes []Scope
	// Settings is the normalised configuration: every value read, keyed
	// by file and path, without volatile fields.
	Settings []Setting
	Skipped  []Skip
	Errors   []error
}

// Add appends other's contents to c.
func (c *Config) Add(other *Config) {
	c.Scopes = append(c.Scopes, other.Scopes...)
	c.Settings = append(c.Settings, other.Settings...)
	c.Skipped = append(c.Skipped, other.Skipped...)
	c.Errors = append(c.Errors, other.Errors...)
}

// Skip records a part of file that was not understood.
func (c *Config) Skip(file string, line int, format string, args ...any) {
	c.Skipped = append(c.Skipped, Skip{File: file, Line: line, What: fmt.Sprintf(format, args...)})
}

// Fail records a file that could not be read or parsed.
func (c *Config) Fail(file string, line int, err error) {
	c.Errors = append(c.Errors, &FileError{File: file, Line: line, Err: err})
}

// secretWords mark names whose values may be credentials.
var secretWords = []string{"secret", "token", "password", "passwd", "apikey", "api_key",
	"access_key", "private_key", "authorization", "credential", "signature", "cookie_value"}

// LooksSecret says whether a setting of this name, or this text, may hold
// a credential, so that it is never echoed.
func LooksSecret(text string) bool {
	lower := strings.ToLower(text)
	for _, w := range secretWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return strings.HasPrefix(lower, "bearer ") || strings.HasPrefix(lower, "basic ")
}

// clearHeaders are the headers whose values settings show as written:
// their values are never credentials, and a cache audit needs to read
// them. Names are lower case with "-" for "_", as HeaderValue compares
// them (Akamai writes CACHE_CONTROL, nginx $http_x_forwarded_for).
var clearHeaders = map[string]bool{
	"cache-control": true, "surrogate-control": true, "cdn-cache-control": true, "edge-control": true,
	"x-accel-expires": true, "x-accel-buffering": true, "expires": true, "pragma": true, "vary": true,
	"host": true, "connection": true, "upgrade": true, "x-forwarded-for": true, "x-forwarded-host": true,
	"x-forwarded-proto": true, "x-forwarded-port": true, "x-forwarded-server": true, "x-real-ip": true,
	"forwarded": true, "x-cache-status": true, "content-type": true, "accept-encoding": true,
}

// onlyVariables matches a value made of nginx variables alone, with a
// port after them at most: "$host", "${host}:443", "$proxy_add_x_forwarded_for".
var onlyVariables = regexp.MustCompile(`^(\$\w+|\$\{\w+\})+(:(\d{1,5}|\$\w+))?$`)

// HeaderValue returns value, which a configuration sends as the value of
// a header (or compares a header with), as settings may show and store it.
// Such a value is often a credential whatever its header is called (the
// X-Origin-Verify secret that proves a request came through the CDN), so
// it is a digest unless it is empty, is only nginx variables, or every
// one of names is on a short list of headers whose values are never
// credentials (Cache-Control, Vary, Host, X-Forwarded-For...). Without a
// name, it is a digest.
func HeaderValue(value string, names ...string) string {
	if value == "" || onlyVariables.MatchString(value) {
		return value
	}
	if len(names) == 0 {
		return Digest(value)
	}
	for _, name := range names {
		n := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "_", "-")
		if !clearHeaders[n] && !strings.HasSuffix(n, "-cdn-cache-control") {
			return Digest(value)
		}
	}
	return value
}

// Digest is what settings show in place of a value that may be a secret:
// "sha256:" and the first 16 hex digits of its SHA-256, enough to see that
// it changed.
func Digest(value string) string {
	sum := sha256.Sum256([]byte(value))
	return "sha256:" + hex.EncodeToString(sum[:8])
}
