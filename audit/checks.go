package audit

import (
	"strconv"
	"strings"

	"github.com/cachefence/cachefence/alert"
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

// Check is one named rule on the model.
type Check struct {
	ID       string
	Severity Severity
	// Title names the risk in a few words.
	Title string
	// Leak says how a personal page leaks through the setting.
	Leak string
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
		ID: "stores_private", Severity: Critical,
		Title: "Stores responses marked private, no-store",
		Leak: "The cache stores responses even when the origin sends Cache-Control: private, no-store, " +
			"and obeys none of the other headers the fence sends, so one user's page is served to the next visitors.",
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
				"Do not ignore Cache-Control, X-Accel-Expires and Expires together on proxied dynamic locations."},
		},
		match: func(s *Scope) *Setting {
			if s.Store != nil && !s.obeysFence() && !s.KeyedByUser && dynamic(s) {
				return s.Store
			}
			return nil
		},
	},
	{
		ID: "stores_private_keyed", Severity: Medium,
		Title: "Stores private responses under a per-credential key",
		Leak: "The cache stores responses marked private, no-store, keyed by every cookie and Authorization: " +
			"they are shared among requests with the same credentials, or none, and a Set-Cookie sent to a first visit is replayed.",
		Vendors: []VendorRule{
			{CloudFront, "https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CachePolicyConfig.html",
				"Use a cache policy with MinTTL 0 on personal paths."},
			{Nginx, "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_ignore_headers",
				"Do not ignore Cache-Control, X-Accel-Expires and Expires together on proxied dynamic locations."},
		},
		match: func(s *Scope) *Setting {
			if s.Store != nil && !s.obeysFence() && s.KeyedByUser && dynamic(s) {
				return s.Store
			}
			return nil
		},
	},
	{
		ID: "ignores_private", Severity: High,
		Title: "Ignores Cache-Control private or no-store",
		Leak: "The cache stores responses whose Cache-Control says private or no-store; " +
			"only another header the fence also sends keeps a personal page out.",
		DefendedByFence: true,
		Vendors: []VendorRule{
			{Akamai, "https://techdocs.akamai.com/property-mgr/reference/latest-caching",
				"Use caching behavior NO_STORE or BYPASS_CACHE on dynamic paths, or CACHE_CONTROL with honorPrivate and honorNoStore true."},
			{Nginx, "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_ignore_headers",
				"Remove Cache-Control from proxy_ignore_headers on proxied dynamic locations."},
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
		ID: "caches_authorization", Severity: High,
		Title: "Stores responses to requests with Authorization",
		Leak: "A response to a request with an Authorization header can be stored and served to others; " +
			"RFC 9111 §3.5 forbids it unless the response says public, s-maxage or must-revalidate.",
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
		ID: "cookies_not_in_key", Severity: High,
		Title: "Forwards cookies that the cache key leaves out",
		Leak: "The origin receives each user's cookies and may personalise the page, but the cache key ignores them: " +
			"a stored or collapsed response is served to every user.",
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
		ID: "replays_set_cookie", Severity: High,
		Title: "Stores Set-Cookie and replays it on hits",
		Leak: "The cache stores a response with its Set-Cookie and sends that cookie to other users on hits: " +
			"one user's session can be handed to the next.",
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
		ID: "strips_set_cookie", Severity: High,
		Title: "Removes Set-Cookie and stores the response",
		Leak: "The cache removes Set-Cookie and stores the rest: a page that set a session is shared. " +
			"RFC 9111 §7.3 does not stop a cache from storing a response that sets a cookie; Varnish's builtin VCL, " +
			"nginx and Fastly's boilerplate refuse to, and this setting takes that refusal away.",
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
		ID: "overrides_freshness", Severity: High,
		Title: "Sets a TTL over max-age=0, no-cache or a past Expires",
		Leak: "The cache gives responses a lifetime even when the origin marks them stale (max-age=0, no-cache, a past Expires): " +
			"the 2017 leak. Only responses marked private or no-store stay out.",
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
		ID: "static_rule_ignores_headers", Severity: Medium,
		Title: "A static-looking rule ignores the origin's headers",
		Leak: "The rule matches static-looking URLs and stores whatever the origin answers there, private or not: " +
			"a link to /account/x.css can store the account page for everyone (web cache deception).",
		Vendors: []VendorRule{
			{CloudFront, "https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CachePolicyConfig.html",
				"Point static behaviors at a bucket origin, or use MinTTL 0; make the origin answer 404 to unknown suffixes."},
			{Cloudflare, "https://developers.cloudflare.com/cache/cache-security/cache-deception-armor/",
				"Turn on Cache Deception Armor, or respect the origin's headers; make the origin answer 404 to unknown suffixes."},
			{Akamai, "https://techdocs.akamai.com/property-mgr/reference/latest-caching",
				"Make the origin answer 404 to unknown suffixes."},
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
		ID: "collapses_uncacheable", Severity: Medium,
		Title: "Collapses concurrent requests whatever the response says",
		Leak: "Requests that arrive while the origin answers the first one get its response, even when it says no-cache or max-age=0: " +
			"the 2017 leak. AWS says only CachingDisabled turns collapsing off.",
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
		ID: "caches_by_default", Severity: Medium,
		Title: "Caches pages that carry no Cache-Control",
		Leak: "Pages the origin sends without Cache-Control, HTML included, are stored for a default TTL: " +
			"a personal page that forgot its headers is shared.",
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
		ID: "no_deception_armor", Severity: Low,
		Title: "Caches by URL without Cache Deception Armor",
		Leak: "The rule caches by URL without checking that the extension matches the Content-Type, " +
			"so /account/x.css may be stored if the origin's headers allow it.",
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
	msg := c.Leak
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
