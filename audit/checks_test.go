package audit

import (
	"github.com/cachefence/cachefence/catalog"
	"slices"
	"strings"
	"testing"
)

func severityOf(id string) Severity {
	for _, c := range Checks {
		if c.ID == id {
			return c.Severity
		}
	}
	return ""
}

func set(name, value string) *Setting {
	return &Setting{File: "cdn.json", Line: 7, Name: name, Value: value}
}

// Each check fires on the behaviour it names, and not on a scope that
// lacks it; defended_by_fence follows whether the cache obeys a header
// the fence sends.
func TestChecks(t *testing.T) {
	minTTL := set("MinTTL", "1")
	for _, tc := range []struct {
		name     string
		scope    Scope
		want     []string // check IDs, in Checks order
		defended []bool
	}{
		{"honours everything", Scope{Vendor: CloudFront}, nil, nil},
		{"stores private, obeys nothing", Scope{Vendor: CloudFront, Store: minTTL},
			[]string{"stores_private"}, []bool{false}},
		{"stores private, keyed per user", Scope{Vendor: CloudFront, Store: minTTL, KeyedByUser: true},
			[]string{"stores_private_keyed"}, []bool{false}},
		{"stores private, obeys Edge-Control", Scope{Vendor: Akamai, Store: set("behavior", "MAX_AGE"), Obeys: EdgeControlNoStore},
			[]string{"ignores_private"}, []bool{true}},
		{"stores private, obeys only Surrogate-Control, which the fence sends", Scope{Vendor: Varnish, Store: set("sub vcl_backend_response", "return (deliver)"), Obeys: SurrogateControlNoStore},
			[]string{"ignores_private"}, []bool{true}},
		{"stores private, obeys only Expires, which the fence only replaces", Scope{Vendor: Nginx, Store: set("proxy_ignore_headers", "Cache-Control X-Accel-Expires"), Obeys: ExpiresPast},
			[]string{"stores_private"}, []bool{false}},
		{"static rule stores private", Scope{Vendor: Cloudflare, Store: set("edge_ttl.mode", "override_origin"), Static: "extensions css"},
			[]string{"static_rule_ignores_headers"}, []bool{false}},
		{"static rule obeys the fence", Scope{Vendor: Akamai, Store: set("behavior", "MAX_AGE"), Obeys: EdgeControlNoStore, Static: "extensions css"},
			nil, nil},
		{"bucket", Scope{Vendor: GoogleCDN, Store: set("cacheMode", "FORCE_CACHE_ALL"), FilesOnly: true}, nil, nil},
		{"authorization", Scope{Vendor: Nginx, Authorization: set("proxy_cache", "one")},
			[]string{"caches_authorization"}, []bool{true}},
		{"authorization on a static scope", Scope{Vendor: Nginx, Authorization: set("proxy_cache", "one"), Static: "extensions css"}, nil, nil},
		{"unkeyed cookies", Scope{Vendor: CloudFront, Unkeyed: set("OriginRequestPolicyId", "AllViewer")},
			[]string{"cookies_not_in_key"}, []bool{true}},
		{"unkeyed cookies where private is ignored", Scope{Vendor: CloudFront, Store: minTTL, Unkeyed: set("OriginRequestPolicyId", "AllViewer")},
			[]string{"stores_private", "cookies_not_in_key"}, []bool{false, false}},
		{"replays Set-Cookie", Scope{Vendor: Nginx, ReplaysSetCookie: set("proxy_ignore_headers", "Set-Cookie")},
			[]string{"replays_set_cookie"}, []bool{true}},
		{"strips Set-Cookie", Scope{Vendor: Varnish, StripsSetCookie: set("sub vcl_backend_response", "unset")},
			[]string{"strips_set_cookie"}, []bool{true}},
		{"overrides freshness", Scope{Vendor: Varnish, TTL: set("sub vcl_backend_response", "set beresp.ttl = 5m")},
			[]string{"overrides_freshness"}, []bool{true}},
		{"collapses", Scope{Vendor: CloudFront, Collapses: set("MaxTTL", "86400")},
			[]string{"collapses_uncacheable"}, []bool{false}},
		{"caches by default", Scope{Vendor: Cloudflare, CachesByDefault: set("cache", "true")},
			[]string{"caches_by_default"}, []bool{true}},
		{"no deception armor, static too", Scope{Vendor: Cloudflare, NoDeceptionArmor: set("cache_deception_armor", "(not set)"), Static: "extensions css"},
			[]string{"no_deception_armor"}, []bool{true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			findings := Run([]Scope{tc.scope})
			var got []string
			var defended []bool
			for _, f := range findings {
				got = append(got, f.ID)
				defended = append(defended, f.DefendedByFence)
				if f.Fix == "" || f.Source == "" {
					t.Errorf("%s for %s has no fix or source", f.ID, f.Vendor)
				}
				if f.Kind != KindCheck || f.Severity != severityOf(f.ID) {
					t.Errorf("%s: kind %q, severity %q", f.ID, f.Kind, f.Severity)
				}
			}
			if !slices.Equal(got, tc.want) || !slices.Equal(defended, tc.defended) {
				t.Errorf("got %v defended %v, want %v defended %v", got, defended, tc.want, tc.defended)
			}
		})
	}
}

// An unknown value is reported under the check it could trigger, at its
// severity, saying it is unknown.
func TestUnknownIsReported(t *testing.T) {
	s := Scope{Vendor: CloudFront, Name: "default behavior",
		Store: &Setting{File: "main.tf", Line: 3, Name: "min_ttl", Value: "var.min_ttl", Unknown: true}}
	findings := Run([]Scope{s})
	if len(findings) != 1 {
		t.Fatalf("got %d findings, want 1", len(findings))
	}
	f := findings[0]
	if f.ID != "stores_private" || f.Severity != Critical || !f.Unknown || !strings.Contains(f.Message, "var.min_ttl") {
		t.Errorf("got %+v", f)
	}
}

// Every check documents each vendor it applies to, and the IDs are
// unique.
func TestChecksAreDocumented(t *testing.T) {
	ids := map[string]bool{}
	for _, c := range Checks {
		if ids[c.ID] {
			t.Errorf("check %s twice", c.ID)
		}
		ids[c.ID] = true
		if c.Title == "" || c.Meaning == "" || c.Tool != catalog.Audit || len(c.Vendors) == 0 || !slices.Contains(Severities, c.Severity) {
			t.Errorf("check %s is not fully documented", c.ID)
		}
		for _, v := range c.Vendors {
			if !strings.HasPrefix(v.Source, "https://") || v.Fix == "" {
				t.Errorf("check %s, vendor %s: source %q, fix %q", c.ID, v.Vendor, v.Source, v.Fix)
			}
		}
		// The severity says whether the fence can help: critical never.
		if c.Severity == Critical && c.DefendedByFence {
			t.Errorf("check %s is critical but defended by the fence", c.ID)
		}
	}
}

// A setting shared by several scopes is reported once, and as defended
// only if every scope defends it.
func TestSharedSettingOnce(t *testing.T) {
	occ := set("origin_cache_control", "false")
	findings := Run([]Scope{
		{Vendor: Cloudflare, Name: "rule a", Authorization: occ},
		{Vendor: Cloudflare, Name: "rule b", Authorization: occ, Store: set("edge_ttl.mode", "override_origin")},
	})
	var auth []Finding
	for _, f := range findings {
		if f.ID == "caches_authorization" {
			auth = append(auth, f)
		}
	}
	if len(auth) != 1 || auth[0].DefendedByFence {
		t.Errorf("got %+v, want one undefended caches_authorization", auth)
	}
}

func TestStatic(t *testing.T) {
	for pattern, want := range map[string]string{
		`*.css`:     "extensions css",
		`/static/*`: "path prefix /static/",
		`(http.request.uri.path matches "^/_next/static/")`:    "path prefix /_next/static/",
		`(http.request.uri.path matches "\\.(js|css|woff2)$")`: "extensions js, css, woff2",
		`http.request.uri.path.extension in {"css" "js"}`:      "extensions css, js",
		`~* \.(css|js|doc)$`:         "", // a .doc may be rendered per user
		`~* \.(css|js|woff2)$`:       "extensions css, js, woff2",
		`req.url.ext ~ "^(css|js)$"`: "extensions css, js",
		`fluidattacks.com/static/*`:  "path prefix /static/",
		`/api/*`:                     "",
		`true`:                       "",
		`/account/*.php`:             "",
		`\.(css|html)$`:              "",
		`(http.request.uri.path.extension in {"json" "webmanifest"})`:            "",
		`(starts_with(http.request.uri.path, "/static/")) or (http.host eq "x")`: "",
		`!(req.url ~ "\.(css|js)$")`:                                             "",
	} {
		if got := Static(pattern); got != want {
			t.Errorf("Static(%q) = %q, want %q", pattern, got, want)
		}
	}
}

// Each behaviour that a format can set, for each vendor whose format sets
// it, has a documented fix and source.
func TestEveryBehaviourIsDocumented(t *testing.T) {
	x := set("x", "y")
	behaviours := map[string]Scope{
		"Store":            {Store: x},
		"Store keyed":      {Store: x, KeyedByUser: true},
		"Store obeyed":     {Store: x, Obeys: EdgeControlNoStore},
		"Store static":     {Store: x, Static: "extensions css"},
		"TTL":              {TTL: x},
		"Authorization":    {Authorization: x},
		"Unkeyed":          {Unkeyed: x},
		"ReplaysSetCookie": {ReplaysSetCookie: x},
		"StripsSetCookie":  {StripsSetCookie: x},
		"Collapses":        {Collapses: x},
		"CachesByDefault":  {CachesByDefault: x},
		"NoDeceptionArmor": {NoDeceptionArmor: x},
	}
	// What each vendor's reader sets: see the packages beside this one.
	sets := map[string][]string{
		CloudFront: {"Store", "Store keyed", "Store static", "Unkeyed", "ReplaysSetCookie", "Collapses"},
		Cloudflare: {"Store", "Store static", "Authorization", "StripsSetCookie", "CachesByDefault", "NoDeceptionArmor"},
		GoogleCDN:  {"Store", "Store static"},
		Akamai:     {"Store obeyed", "Store static"},
		Fastly:     {"Store", "Store obeyed", "Store static", "TTL", "Unkeyed", "StripsSetCookie"},
		Varnish:    {"Store", "Store obeyed", "Store static", "TTL", "Authorization", "Unkeyed", "StripsSetCookie"},
		Nginx:      {"Store", "Store keyed", "Store obeyed", "Store static", "TTL", "Authorization", "Unkeyed", "ReplaysSetCookie", "StripsSetCookie"},
	}
	for vendor, names := range sets {
		for _, name := range names {
			s := behaviours[name]
			s.Vendor = vendor
			findings := Run([]Scope{s})
			if len(findings) == 0 {
				t.Errorf("%s %s: no finding", vendor, name)
			}
			for _, f := range findings {
				if f.Fix == "" || f.Source == "" {
					t.Errorf("%s %s: %s has no documented fix for %s", vendor, name, f.ID, vendor)
				}
			}
		}
	}
}
