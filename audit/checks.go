package audit

import (
	"strconv"
	"strings"

	"github.com/cachefence/cachefence/alert"
	"github.com/cachefence/cachefence/catalog"
)

// Severity ranks a finding by what the setting does beyond a faithful RFC
// 9111 shared cache. It is the alerting scale, so that --fail-on means the
// same for audit, probe and logs.
type Severity = alert.Severity

// The severities, worst first.
const (
	// Critical: a personal response can be stored or collapsed and served
	// to another user even when the origin sends private, no-store. The
	// fence cannot help; it must be fixed at the CDN.
	Critical = alert.Critical
	// High: the cache stores or shares more than RFC 9111 lets a shared
	// cache. The fence's rewrite defends every route it covers.
	High = alert.High
	// Medium and Low: weaker risks.
	Medium = alert.Medium
	Low    = alert.Low
)

// Severities lists the severities a check can have, worst first.
var Severities = []Severity{Critical, High, Medium, Low}

// VendorRule is how a check applies to one vendor: where the vendor
// documents the behaviour, and how to fix it there.
type VendorRule struct {
	Vendor string
	Source string
	Fix    string
}

// Check is one named rule on the model: its catalogue entry (ID,
// severity, title, the leak as Meaning), and how each vendor fixes it.
type Check struct {
	*catalog.Entry
	// DefendedByFence says whether the fence's rewrite stops the leak
	// where the cache honours one of the headers it sends.
	DefendedByFence bool
	Vendors         []VendorRule
	// match returns the setting that triggers the check on s, or nil.
	match func(s *Scope) *Setting
}

// Rule returns the check's rule for vendor, and whether it has one.
func (c *Check) Rule(vendor string) (VendorRule, bool) {
	for _, r := range c.Vendors {
		if r.Vendor == vendor {
			return r, true
		}
	}
	return VendorRule{}, false
}

// dynamic says whether s may serve personal pages through any URL.
func dynamic(s *Scope) bool { return s.Static == "" }

// Checks are all the checks, worst first.
var Checks = []*Check{
	{
		Entry: catalog.Must("stores_private"),
		Vendors: []VendorRule{
			{CloudFront, "https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CachePolicyConfig.html",
				"Use a cache policy with MinTTL 0 (the managed CachingDisabled on personal paths)."},
			{Cloudflare, "https://developers.cloudflare.com/cache/how-to/cache-rules/settings/",
				"Use edge_ttl mode respect_origin (or bypass the cache) on personal paths; drop status-code TTLs and Page Rule Edge Cache TTLs there."},
			{GoogleCDN, "https://cloud.google.com/cdn/docs/caching#cache-modes",
				"Use cacheMode USE_ORIGIN_HEADERS or CACHE_ALL_STATIC on backends that serve per-user content."},
			{Fastly, "https://www.fastly.com/documentation/reference/vcl/subroutines/fetch/",
				`In vcl_fetch, before any return(deliver) or TTL, pass when beresp.http.Cache-Control ~ "(private|no-store)".`},
			{Varnish, "https://varnish-cache.org/docs/trunk/users-guide/vcl-built-in-code.html",
				"Do not return from vcl_backend_response before the built-in checks, or repeat them: mark private/no-store responses uncacheable."},
			{Nginx, "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_ignore_headers",
				"Do not ignore Cache-Control, X-Accel-Expires and Expires together on dynamic locations."},
		},
		match: func(s *Scope) *Setting {
			if s.Store != nil && !s.obeysFence() && !s.KeyedByUser && dynamic(s) {
				return s.Store
			}
			return nil
		},
	},
	{
		Entry: catalog.Must("stores_private_keyed"),
		Vendors: []VendorRule{
			{CloudFront, "https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CachePolicyConfig.html",
				"Use a cache policy with MinTTL 0 on personal paths."},
			{Nginx, "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_ignore_headers",
				"Do not ignore Cache-Control, X-Accel-Expires and Expires together on dynamic locations."},
		},
		match: func(s *Scope) *Setting {
			if s.Store != nil && !s.obeysFence() && s.KeyedByUser && dynamic(s) {
				return s.Store
			}
			return nil
		},
	},
	{
		Entry:           catalog.Must("ignores_private"),
		DefendedByFence: true,
		Vendors: []VendorRule{
			{Akamai, "https://techdocs.akamai.com/property-mgr/reference/latest-caching",
				"Use caching behavior NO_STORE or BYPASS_CACHE on dynamic paths, or CACHE_CONTROL with honorPrivate and honorNoStore true."},
			{Nginx, "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_ignore_headers",
				"Remove Cache-Control from proxy_ignore_headers on dynamic locations."},
			{Fastly, "https://www.fastly.com/documentation/reference/vcl/subroutines/fetch/",
				`Pass in vcl_fetch when beresp.http.Cache-Control ~ "(private|no-store)", not on private alone.`},
			{Varnish, "https://varnish-cache.org/docs/trunk/users-guide/vcl-built-in-code.html",
				"Let the built-in vcl_beresp_control run, or check private and no-store yourself."},
		},
		match: func(s *Scope) *Setting {
			if s.Store != nil && s.obeysFence() && dynamic(s) {
				return s.Store
			}
			return nil
		},
	},
	{
		Entry:           catalog.Must("caches_authorization"),
		DefendedByFence: true,
		Vendors: []VendorRule{
			{Nginx, "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_no_cache",
				"Add proxy_no_cache $http_authorization and proxy_cache_bypass $http_authorization."},
			{Varnish, "https://varnish-cache.org/docs/trunk/users-guide/vcl-built-in-code.html",
				"Do not return(hash) from vcl_recv before the built-in vcl_req_authorization check, and do not unset Authorization."},
			{Cloudflare, "https://developers.cloudflare.com/cache/concepts/cache-control/",
				"Turn Origin Cache Control on (origin_cache_control true)."},
		},
		match: func(s *Scope) *Setting {
			if dynamic(s) {
				return s.Authorization
			}
			return nil
		},
	},
	{
		Entry:           catalog.Must("cookies_not_in_key"),
		DefendedByFence: true,
		Vendors: []VendorRule{
			{CloudFront, "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/controlling-origin-requests.html",
				"Put the session cookie in the cache policy, or use CachingDisabled on paths whose origin request policy forwards cookies."},
			{Nginx, "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_cache_key",
				"Add proxy_no_cache and proxy_cache_bypass on the session cookie ($cookie_NAME), or put it in proxy_cache_key."},
			{Varnish, "https://varnish-cache.org/docs/trunk/users-guide/vcl-built-in-code.html",
				"Let the built-in vcl_req_cookie pass requests with cookies, or hash the session cookie."},
			{Fastly, "https://www.fastly.com/documentation/reference/http/http-headers/Cookie/",
				"Pass requests with a session cookie in vcl_recv, or add the cookie to the hash."},
		},
		match: func(s *Scope) *Setting {
			if dynamic(s) {
				return s.Unkeyed
			}
			return nil
		},
	},
	{
		Entry:           catalog.Must("replays_set_cookie"),
		DefendedByFence: true,
		Vendors: []VendorRule{
			{CloudFront, "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Cookies.html",
				"Do not cache paths that forward cookies (CachingDisabled), or mark every Set-Cookie response private, no-store."},
			{Nginx, "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_hide_header",
				"Remove Set-Cookie from proxy_ignore_headers, or add proxy_hide_header Set-Cookie."},
		},
		match: func(s *Scope) *Setting {
			if dynamic(s) {
				return s.ReplaysSetCookie
			}
			return nil
		},
	},
	{
		Entry:           catalog.Must("strips_set_cookie"),
		DefendedByFence: true,
		Vendors: []VendorRule{
			{Cloudflare, "https://developers.cloudflare.com/cache/concepts/cache-behavior/",
				"Turn Origin Cache Control on, and do not use Edge TTL overrides on pages that set cookies."},
			{Varnish, "https://varnish-cache.org/docs/trunk/users-guide/vcl-built-in-code.html",
				"Unset beresp.http.Set-Cookie only under a condition that limits it to static URLs."},
			{Nginx, "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_ignore_headers",
				"Remove Set-Cookie from proxy_ignore_headers on dynamic locations."},
			{Fastly, "https://www.fastly.com/documentation/reference/vcl/subroutines/fetch/",
				"Unset beresp.http.Set-Cookie only under a condition that limits it to static URLs."},
		},
		match: func(s *Scope) *Setting {
			if dynamic(s) {
				return s.StripsSetCookie
			}
			return nil
		},
	},
	{
		Entry:           catalog.Must("overrides_freshness"),
		DefendedByFence: true,
		Vendors: []VendorRule{
			{Varnish, "https://varnish-cache.org/docs/trunk/users-guide/vcl-built-in-code.html",
				"Set beresp.ttl only under a condition on static URLs or on the origin's headers."},
			{Fastly, "https://www.fastly.com/documentation/guides/concepts/edge-state/cache/cache-freshness/",
				"Set beresp.ttl only when the origin sent no Cache-Control, Surrogate-Control or Expires."},
			{Nginx, "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_ignore_headers",
				"Remove Expires from proxy_ignore_headers on dynamic locations."},
		},
		match: func(s *Scope) *Setting {
			if dynamic(s) {
				return s.TTL
			}
			return nil
		},
	},
	{
		Entry: catalog.Must("static_rule_ignores_headers"),
		Vendors: []VendorRule{
			{CloudFront, "https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CachePolicyConfig.html",
				"Point static behaviors at a bucket origin, or use MinTTL 0; make the origin answer 404 to unknown suffixes."},
			{Cloudflare, "https://developers.cloudflare.com/cache/cache-security/cache-deception-armor/",
				"Turn on Cache Deception Armor, or respect the origin's headers; make the origin answer 404 to unknown suffixes."},
			{Akamai, "https://techdocs.akamai.com/property-mgr/reference/latest-caching",
				"Do not delete or rewrite Edge-Control or Cache-Control with a Modify Incoming Response Header behavior; make the origin answer 404 to unknown suffixes."},
			{Varnish, "https://varnish-cache.org/docs/trunk/users-guide/vcl-built-in-code.html",
				"Keep the private/no-store check for static URLs too."},
			{Fastly, "https://www.fastly.com/documentation/reference/vcl/subroutines/fetch/",
				"Keep the private/no-store check for static URLs too."},
			{GoogleCDN, "https://cloud.google.com/cdn/docs/caching#cache-modes",
				"Use CACHE_ALL_STATIC, which checks the Content-Type."},
			{Nginx, "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_ignore_headers",
				"Keep obeying Cache-Control on static locations too, or serve them with root rather than proxy_pass."},
		},
		match: func(s *Scope) *Setting {
			if s.Store != nil && !s.obeysFence() && !dynamic(s) {
				return s.Store
			}
			return nil
		},
	},
	{
		Entry: catalog.Must("collapses_uncacheable"),
		Vendors: []VendorRule{
			{CloudFront, "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/RequestAndResponseBehaviorCustomOrigin.html#request-custom-traffic-spikes",
				"Use the managed CachingDisabled policy (4135ea2d-6df8-44a3-9df3-4b5a84be39ad) on personal paths."},
		},
		match: func(s *Scope) *Setting {
			if dynamic(s) {
				return s.Collapses
			}
			return nil
		},
	},
	{
		Entry:           catalog.Must("caches_by_default"),
		DefendedByFence: true,
		Vendors: []VendorRule{
			{Cloudflare, "https://developers.cloudflare.com/cache/how-to/cache-rules/settings/#eligible-for-cache",
				"Limit Eligible for cache (Cache Everything) to static paths, or bypass the cache on the session cookie."},
		},
		match: func(s *Scope) *Setting {
			if dynamic(s) {
				return s.CachesByDefault
			}
			return nil
		},
	},
	{
		Entry:           catalog.Must("no_deception_armor"),
		DefendedByFence: true,
		Vendors: []VendorRule{
			{Cloudflare, "https://developers.cloudflare.com/cache/cache-security/cache-deception-armor/",
				"Set cache_key.cache_deception_armor true (Page Rules: cache_deception_armor on)."},
		},
		match: func(s *Scope) *Setting { return s.NoDeceptionArmor },
	},
}

// Run runs every check on every scope. A setting that several scopes
// share (a rule that stacks onto others) is reported once, as defended
// only if it is defended in every scope.
func Run(scopes []Scope) []Finding {
	var findings []Finding
	seen := map[[5]string]int{}
	for i := range scopes {
		s := &scopes[i]
		if s.FilesOnly {
			continue
		}
		for _, c := range Checks {
			set := c.match(s)
			if set == nil {
				continue
			}
			// A vendor the check does not document still gets the finding,
			// without a fix; TestEveryBehaviourIsDocumented keeps it from
			// happening.
			rule, _ := c.Rule(s.Vendor)
			f := newFinding(c, rule, s, set)
			key := [5]string{f.ID, f.File, strconv.Itoa(f.Line), f.Setting, f.Value}
			if i, ok := seen[key]; ok {
				findings[i].DefendedByFence = findings[i].DefendedByFence && f.DefendedByFence
				continue
			}
			seen[key] = len(findings)
			findings = append(findings, f)
		}
	}
	return findings
}

func newFinding(c *Check, rule VendorRule, s *Scope, set *Setting) Finding {
	msg := c.Meaning
	switch {
	case set.Unknown:
		msg = "Unknown here, so not assumed safe: " + set.Name + " is " + set.Value +
			". If it resolves to a dangerous value: " + msg
	case s.Store != nil && s.obeysFence() && set == s.Store:
		msg += " Still obeyed here: " + s.Obeys.String() + "."
	}
	if s.Static != "" {
		msg += " (Scope limited to " + s.Static + ".)"
	}
	return Finding{
		ID: c.ID, Kind: KindCheck, Severity: c.Severity, Vendor: s.Vendor,
		File: set.File, Line: set.Line, Scope: s.Name, ScopeFile: s.File, ScopeLine: s.Line,
		Setting: set.Name, Value: set.Value, Unknown: set.Unknown,
		Message: msg, Fix: s.directives(rule.Fix), Source: s.directives(rule.Source),
		DefendedByFence: c.DefendedByFence && s.FenceStops(),
	}
}

// directives names the directives of the scope's nginx module in text
// written for proxy_pass: fastcgi_ignore_headers in a fastcgi_cache scope.
func (s *Scope) directives(text string) string {
	if s.Module == "" {
		return text
	}
	return strings.NewReplacer("proxy_", s.Module+"_", "_proxy_module", "_"+s.Module+"_module").Replace(text)
}

// checkOf returns the check with id, or nil.
func checkOf(id string) *Check {
	for _, c := range Checks {
		if c.ID == id {
			return c
		}
	}
	return nil
}
