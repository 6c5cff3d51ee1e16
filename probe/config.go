// Package probe checks a site through its CDN with test identities and
// reports what a stranger could see, one finding per cause: personal pages
// leaked to another identity or to anonymous visitors, personal pages
// stored in a shared cache, the logged-out page served to signed-in
// identities, caching headers that let a shared cache store a personal
// page (judged by package fence's rules, where they are set), and public
// pages that are not cacheable. docs/probe.md describes it for users.
package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/cachefence/cachefence/cachestatus"
	"github.com/cachefence/cachefence/fence"
)

// Config is the probe's configuration, read from a JSON file.
type Config struct {
	// BaseURL is the site as the public reaches it, through its CDN.
	BaseURL string `json:"base_url"`
	// OriginURL, when set, is the origin the CDN fetches from (scheme and
	// host only). The probe then also fetches the personal URLs there and
	// judges the origin's own headers, where they are set.
	OriginURL string `json:"origin_url,omitempty"`
	// ConnectTo, when set, is the address ("host" or "host:port") that
	// connections to BaseURL's host go to, while requests still carry the
	// public Host (and TLS name): a staging edge, or one PoP.
	ConnectTo string `json:"connect_to,omitempty"`
	// Identities are the test accounts; at least two.
	Identities []Identity `json:"identities"`
	// PersonalURLs are paths (or absolute URLs on the same host) of pages
	// that must never reach anyone but their owner.
	PersonalURLs []string `json:"personal_urls"`
	// PublicURLs are paths that should stay cacheable.
	PublicURLs []string `json:"public_urls,omitempty"`
	// Checks names the checks to run: personal, collapse, path_confusion,
	// public. Default all.
	Checks []string `json:"checks,omitempty"`
	// RequestHeaders are sent with every request, anonymous ones included,
	// such as a WAF bypass token. Their values are secrets.
	RequestHeaders map[string]string `json:"request_headers,omitempty"`
	// CacheStatusHeaders names the site's own cache-status headers and the
	// words they use, e.g. {"X-Micro-Cache": {"hit": ["HIT"], "miss":
	// ["MISS"], "pass": ["BYPASS"]}}. One named like a known header
	// replaces it.
	CacheStatusHeaders map[string]cachestatus.Words `json:"cache_status_headers,omitempty"`
	// Timeout bounds each request. Default 10s.
	Timeout Duration `json:"timeout,omitempty"`
	// Concurrency bounds the requests in flight. Default 4.
	Concurrency int `json:"concurrency,omitempty"`
	// CollapseRounds is how many times identities fire at the same instant
	// in the collapse check. Default 3.
	CollapseRounds int `json:"collapse_rounds,omitempty"`
	// OwnerStamp, when set, verifies cache_fence's owner stamps.
	OwnerStamp *OwnerStamp `json:"owner_stamp,omitempty"`
}

// The checks, as Config.Checks names them.
const (
	CheckPersonal      = "personal"
	CheckCollapse      = "collapse"
	CheckPathConfusion = "path_confusion"
	CheckPublic        = "public"
)

// allChecks lists the checks in the order they are documented.
var allChecks = []string{CheckPersonal, CheckCollapse, CheckPathConfusion, CheckPublic}

// Identity is one test account.
type Identity struct {
	// Name is how reports refer to it; never a secret.
	Name string `json:"name"`
	// Cookies log it in: name to value.
	Cookies map[string]string `json:"cookies,omitempty"`
	// Headers log it in, e.g. Authorization.
	Headers map[string]string `json:"headers,omitempty"`
	// Markers are strings that appear only on this identity's own pages,
	// such as the account's name or email.
	Markers []string `json:"markers"`
}

// OwnerStamp mirrors the cache_fence owner_stamp option.
type OwnerStamp struct {
	// Key is the same secret key as cache_fence's.
	Key string `json:"key"`
	// Header names the stamp header. Default Cache-Fence-Owner.
	Header string `json:"header,omitempty"`
	// SessionCookies, IgnoreCookies, CredentialHeaders and
	// CredentialParams mirror cache_fence's options, so that the probe
	// computes identities as the fence does.
	SessionCookies    []string `json:"session_cookies,omitempty"`
	IgnoreCookies     []string `json:"ignore_cookies,omitempty"`
	CredentialHeaders []string `json:"credential_headers,omitempty"`
	CredentialParams  []string `json:"credential_params,omitempty"`
}

// policy is the fence policy that computes identities as the fence does.
func (s *OwnerStamp) policy() (*fence.Policy, error) {
	return fence.New(fence.Config{
		SessionCookies:    s.SessionCookies,
		IgnoreCookies:     s.IgnoreCookies,
		CredentialHeaders: s.CredentialHeaders,
		CredentialParams:  s.CredentialParams,
	})
}

// Duration is a time.Duration written in JSON as Caddy writes durations:
// "10s", "1m30s", "1d".
type Duration time.Duration

// MarshalJSON writes the duration as a string such as "10s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads "10s", "1m30s", "1d" and the like. It fails with a
// *json.UnmarshalTypeError, which the decoder completes with the field's
// path, so that LoadConfig can name the field.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		if v, err := caddy.ParseDuration(s); err == nil {
			*d = Duration(v)
			return nil
		}
	}
	return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[Duration]()}
}

// envReference matches ${NAME}, the only way to bring a secret in from the
// environment.
var envReference = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Look-alikes of ${NAME} that would be sent as they are: $NAME, alone or
// after an auth scheme as in "Bearer $TOKEN", and Caddy's {env.NAME},
// pasted from a Caddyfile. The first group is the reference, the second
// the variable's name.
var (
	bareReference  = regexp.MustCompile(`^(?:[A-Za-z]+ )?(\$([A-Za-z_][A-Za-z0-9_]*))$`)
	caddyReference = regexp.MustCompile(`(\{env\.([^{}]*)\})`)
)

// LoadConfig reads a config file, replacing ${NAME} with the value of the
// environment variable NAME in secret fields (cookie and header values,
// markers, request headers, the stamp key), then checks it.
func LoadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading probe config: %w", err)
	}
	cfg, err := decodeConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("probe config %s: %w", path, err)
	}
	if err := cfg.expandSecrets(os.LookupEnv); err != nil {
		return nil, fmt.Errorf("probe config %s: %w", path, err)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("probe config %s: %w", path, err)
	}
	return cfg, nil
}

// decodeConfig reads exactly one JSON object with known fields only.
func decodeConfig(raw []byte) (*Config, error) {
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Type == reflect.TypeFor[Duration]() {
			return nil, fmt.Errorf("%s: invalid duration %s (want a duration such as \"10s\")", typeErr.Field, typeErr.Value)
		}
		return nil, err
	}
	// A second object would otherwise be ignored, and with it whatever
	// the author meant by it.
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON object")
	}
	return &cfg, nil
}

// expandSecrets replaces ${NAME} references in the secret fields, and
// refuses look-alikes of them, which would be sent as written.
func (c *Config) expandSecrets(lookup func(string) (string, bool)) error {
	var missing []string
	err := c.eachSecret(func(field string, v *string) error {
		for _, re := range []*regexp.Regexp{bareReference, caddyReference} {
			if m := re.FindStringSubmatch(*v); m != nil {
				return fmt.Errorf("%s: %s is not expanded; write ${%s} to read the environment variable", field, m[1], m[2])
			}
		}
		*v = envReference.ReplaceAllStringFunc(*v, func(ref string) string {
			name := envReference.FindStringSubmatch(ref)[1]
			value, ok := lookup(name)
			if !ok || value == "" {
				missing = append(missing, name)
			}
			return value
		})
		return nil
	})
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("environment variables not set or empty: %s", strings.Join(missing, ", "))
	}
	return nil
}

// eachSecret calls fn on each secret field in a fixed order, with the
// field's name for errors; fn may change the value.
func (c *Config) eachSecret(fn func(field string, v *string) error) error {
	for i := range c.Identities {
		id := &c.Identities[i]
		for _, kind := range []struct {
			name   string
			values map[string]string
		}{{"cookie", id.Cookies}, {"header", id.Headers}} {
			for _, k := range slices.Sorted(maps.Keys(kind.values)) {
				v := kind.values[k]
				if err := fn(fmt.Sprintf("identity %q: %s %q", id.Name, kind.name, k), &v); err != nil {
					return err
				}
				kind.values[k] = v
			}
		}
		for j := range id.Markers {
			if err := fn(fmt.Sprintf("identity %q: markers[%d]", id.Name, j), &id.Markers[j]); err != nil {
				return err
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.RequestHeaders)) {
		v := c.RequestHeaders[k]
		if err := fn(fmt.Sprintf("request_headers %q", k), &v); err != nil {
			return err
		}
		c.RequestHeaders[k] = v
	}
	if c.OwnerStamp != nil {
		return fn("owner_stamp.key", &c.OwnerStamp.Key)
	}
	return nil
}

// validate checks the config and fills in defaults. Its errors name the
// field and, for anything not secret, the value.
func (c *Config) validate() error {
	base, err := url.Parse(c.BaseURL)
	switch {
	case err == nil && base.User != nil:
		return userinfoError("base_url", c.BaseURL)
	case err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "":
		return fmt.Errorf("base_url %q: want an absolute http or https URL", redactURL(c.BaseURL))
	}
	if c.OriginURL != "" {
		u, err := url.Parse(c.OriginURL)
		switch {
		case err == nil && u.User != nil:
			return userinfoError("origin_url", c.OriginURL)
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			strings.Trim(u.Path, "/") != "" || u.RawQuery != "":
			return fmt.Errorf("origin_url %q: want a scheme and host only, such as \"http://10.0.0.5:8080\"", redactURL(c.OriginURL))
		}
	}
	if c.ConnectTo != "" {
		if _, _, err := c.dialOverride(); err != nil {
			return err
		}
	}
	if len(c.Identities) < 2 {
		return fmt.Errorf("identities: want at least two test accounts, got %d", len(c.Identities))
	}
	names := map[string]bool{Anonymous: true}
	for i, id := range c.Identities {
		if id.Name == "" {
			return fmt.Errorf("identities[%d]: name is required", i)
		}
		if names[id.Name] {
			return fmt.Errorf("identities[%d]: name %q is used twice, or is reserved", i, id.Name)
		}
		names[id.Name] = true
		if len(id.Cookies) == 0 && len(id.Headers) == 0 {
			return fmt.Errorf("identity %q: needs cookies or headers that log it in", id.Name)
		}
		if err := checkCredentials(id); err != nil {
			return fmt.Errorf("identity %q: %w", id.Name, err)
		}
		if len(id.Markers) == 0 {
			return fmt.Errorf("identity %q: needs at least one marker that appears only on its own pages", id.Name)
		}
		for _, m := range id.Markers {
			if len(m) < 4 {
				// A short marker matches by chance and reports false leaks.
				return fmt.Errorf("identity %q: marker %q is too short to be unique (want 4 characters or more)", id.Name, m)
			}
		}
	}
	if len(c.PersonalURLs) == 0 {
		return errors.New("personal_urls: want at least one")
	}
	for _, list := range [][]string{c.PersonalURLs, c.PublicURLs} {
		for _, u := range list {
			if _, err := c.resolve(u); err != nil {
				return err
			}
		}
	}
	if err := c.checkChecks(); err != nil {
		return err
	}
	if err := c.checkRequestHeaders(); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(c.CacheStatusHeaders)) {
		w := c.CacheStatusHeaders[name]
		if !isToken(name) {
			return fmt.Errorf("cache_status_headers: header name %q is not a valid token", name)
		}
		if len(w.Hit)+len(w.Miss)+len(w.Pass) == 0 {
			return fmt.Errorf("cache_status_headers %q: want at least one of hit, miss, pass", name)
		}
	}
	if c.Timeout == 0 {
		c.Timeout = Duration(10 * time.Second)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("timeout %s: must be positive", time.Duration(c.Timeout))
	}
	if c.Concurrency == 0 {
		c.Concurrency = 4
	}
	if c.Concurrency < 0 || c.Concurrency > 64 {
		return fmt.Errorf("concurrency %d: want 1 to 64", c.Concurrency)
	}
	if c.CollapseRounds == 0 {
		c.CollapseRounds = 3
	}
	if c.CollapseRounds < 0 || c.CollapseRounds > 20 {
		return fmt.Errorf("collapse_rounds %d: want 1 to 20 (leave collapse out of checks to turn it off)", c.CollapseRounds)
	}
	if c.OwnerStamp != nil {
		if len(c.OwnerStamp.Key) < fence.MinStampKey {
			return fmt.Errorf("owner_stamp: key must be at least %d bytes, got %d", fence.MinStampKey, len(c.OwnerStamp.Key))
		}
		if name := c.OwnerStamp.Header; name != "" {
			if err := fence.CheckHeaderName(name); err != nil {
				return fmt.Errorf("owner_stamp: header %q: %w", name, err)
			}
		}
		if _, err := c.OwnerStamp.policy(); err != nil {
			return fmt.Errorf("owner_stamp: %w", err)
		}
	}
	return nil
}

// checkChecks fills in the default checks and refuses unknown or repeated
// names.
func (c *Config) checkChecks() error {
	if c.Checks == nil {
		c.Checks = slices.Clone(allChecks)
		return nil
	}
	if len(c.Checks) == 0 {
		return fmt.Errorf("checks: empty; omit it to run all of %s", strings.Join(allChecks, ", "))
	}
	seen := map[string]bool{}
	for _, name := range c.Checks {
		if !slices.Contains(allChecks, name) {
			return fmt.Errorf("checks: unknown check %q (want %s)", name, strings.Join(allChecks, ", "))
		}
		if seen[name] {
			return fmt.Errorf("checks: %q is listed twice", name)
		}
		seen[name] = true
	}
	return nil
}

// runs reports whether the config runs the named check.
func (c *Config) runs(check string) bool { return slices.Contains(c.Checks, check) }

// checkRequestHeaders refuses extra request headers that would carry
// credentials: anonymous requests carry them too, and the fence would
// then fence, and stamp, every response as someone's.
func (c *Config) checkRequestHeaders() error {
	var credentials []string // nil: the fence's defaults
	if c.OwnerStamp != nil {
		credentials = c.OwnerStamp.CredentialHeaders
	}
	rules, err := fence.New(fence.Config{CredentialHeaders: credentials})
	if err != nil {
		return fmt.Errorf("owner_stamp: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(c.RequestHeaders)) {
		if err := checkHeader(name, c.RequestHeaders[name]); err != nil {
			return fmt.Errorf("request_headers: %w", err)
		}
		canonical := http.CanonicalHeaderKey(name)
		switch {
		case canonical == "Cookie" || canonical == "Authorization":
			return fmt.Errorf("request_headers %q: credentials belong to identities", name)
		case canonical == "Host":
			return fmt.Errorf("request_headers %q: use connect_to to reach another address with the public Host", name)
		case rules.IsCredentialHeader(canonical):
			return fmt.Errorf("request_headers %q: the fence counts it as a credential, so every request would be someone's", name)
		}
	}
	return nil
}

// dialOverride says which connections connect_to redirects: from is the
// base URL's host:port as the transport dials it, to is connect_to, with
// the base URL's port when it names none.
func (c *Config) dialOverride() (from, to string, err error) {
	base, err := url.Parse(c.BaseURL)
	if err != nil {
		return "", "", err
	}
	port := base.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[base.Scheme]
	}
	host, p, err := net.SplitHostPort(c.ConnectTo)
	if err != nil {
		host, p = c.ConnectTo, port
	}
	if host == "" || strings.ContainsAny(host, "/[] ") || p == "" {
		return "", "", fmt.Errorf("connect_to %q: want an address such as \"203.0.113.7\" or \"203.0.113.7:443\"", c.ConnectTo)
	}
	return net.JoinHostPort(base.Hostname(), port), net.JoinHostPort(host, p), nil
}

// checkCredentials refuses cookies and headers that a request would not
// carry as written. A bad name fails every request. A cookie value outside
// RFC 6265's cookie-octets is split (';'), or dropped or quoted by servers
// and by net/http, so the identity would not be logged in. Errors never
// show a value.
func checkCredentials(id Identity) error {
	for _, name := range slices.Sorted(maps.Keys(id.Cookies)) {
		if !isToken(name) {
			return fmt.Errorf("cookie name %q is not a valid token", name)
		}
		if i := strings.IndexFunc(id.Cookies[name], isNotCookieOctet); i >= 0 {
			return fmt.Errorf("cookie %q: the value has %s, which a cookie value cannot hold", name, describeByte(id.Cookies[name][i]))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(id.Headers)) {
		if err := checkHeader(name, id.Headers[name]); err != nil {
			return err
		}
	}
	return nil
}

// checkHeader refuses a header that a request cannot carry as written.
// The error never shows the value.
func checkHeader(name, value string) error {
	if !isToken(name) {
		return fmt.Errorf("header name %q is not a valid token", name)
	}
	if i := strings.IndexFunc(value, isNotFieldValueByte); i >= 0 {
		return fmt.Errorf("header %q: the value has %s, which a header value cannot hold", name, describeByte(value[i]))
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token, as header and cookie
// names must be.
func isToken(s string) bool {
	return s != "" && strings.IndexFunc(s, isNotTokenChar) < 0
}

func isNotTokenChar(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return false
	}
	return !strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}

// isNotCookieOctet reports whether r is outside RFC 6265's cookie-octet:
// controls, space, '"', ',', ';', '\\' and anything past ASCII.
func isNotCookieOctet(r rune) bool {
	return r <= ' ' || r >= 0x7f || strings.ContainsRune(`",;\`, r)
}

// isNotFieldValueByte reports whether r is a control character other than
// tab, which net/http refuses in a header value.
func isNotFieldValueByte(r rune) bool {
	return r < ' ' && r != '\t' || r == 0x7f
}

// describeByte names b for an error about a secret value: enough to find
// it, without quoting the value.
func describeByte(b byte) string {
	switch {
	case b == '\n' || b == '\r':
		return "a line break"
	case b == ' ':
		return "a space"
	case b < ' ' || b == 0x7f:
		return "a control character"
	case b >= 0x80:
		return "a non-ASCII character"
	}
	return fmt.Sprintf("%q", b)
}

// resolve turns a configured URL into an absolute one on the base URL's
// host; the probe never goes anywhere else.
func (c *Config) resolve(ref string) (*url.URL, error) {
	base, err := url.Parse(c.BaseURL)
	if err != nil {
		return nil, err
	}
	u, err := base.Parse(ref)
	switch {
	case err != nil:
		// Not err itself, which quotes ref.
		return nil, fmt.Errorf("url %q: not a valid URL", redactURL(ref))
	case u.User != nil:
		return nil, userinfoError("url", ref)
	case u.Host != base.Host:
		return nil, fmt.Errorf("url %q: not on %s; the probe only checks the base URL's host", redactURL(ref), base.Host)
	}
	return u, nil
}

// userinfoError refuses a configured URL that carries a user name or
// password (user:pass@): findings, logs and webhooks would show it, and
// every request, anonymous ones included, would send it as Basic
// credentials.
func userinfoError(field, raw string) error {
	return fmt.Errorf("%s %q: remove the user name and password; give credentials to identities instead, "+
		"as cookies or headers read from the environment with ${NAME}, since a URL is shown in findings, logs and webhooks", field, redactURL(raw))
}

// schemePrefix matches "https://" and the like at the start of a URL.
var schemePrefix = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// redactURL is a configured URL as an error may show it: without what
// precedes its last "@" after the scheme, which may be a user name and
// password, whether or not the URL parses (a password may hold a "/").
func redactURL(raw string) string {
	start := len(schemePrefix.FindString(raw))
	if at := strings.LastIndex(raw[start:], "@"); at >= 0 {
		return raw[:start] + "…" + raw[start+at:]
	}
	return raw
}
