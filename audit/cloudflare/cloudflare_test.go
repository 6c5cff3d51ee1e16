package cloudflare

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
)

func findings(t *testing.T, json string) []string {
	t.Helper()
	cfg := Read([]audit.File{{Path: "rules.json", Data: []byte(json)}})
	if len(cfg.Errors) > 0 {
		t.Fatal(cfg.Errors)
	}
	var out []string
	for _, f := range audit.Run(cfg.Scopes) {
		out = append(out, f.ID+" "+f.Scope)
	}
	return out
}

// Rules stack and the last match wins: a later rule for every request
// overrides an earlier one, a later rule for other requests does not, and
// a later rule's settings apply to what an earlier broad rule set.
func TestStacking(t *testing.T) {
	const rules = `{"phase": "http_request_cache_settings", "rules": [
  {"action": "set_cache_settings", "expression": "true", "description": "all",
   "action_parameters": {"cache": true, "cache_key": {"cache_deception_armor": true}}},
  {"action": "set_cache_settings", "expression": "(http.request.uri.path eq \"/feed\")", "description": "feed",
   "action_parameters": {"edge_ttl": {"mode": "override_origin", "default": 60}}},
  {"action": "set_cache_settings", "expression": "(http.request.uri.path eq \"/api\")", "description": "api",
   "action_parameters": {"edge_ttl": {"mode": "override_origin", "default": 60}}},
  {"action": "set_cache_settings", "expression": "(http.request.uri.path eq \"/api\")", "description": "api again",
   "action_parameters": {"cache": false}},
  {"action": "log", "expression": "true", "description": "not a cache rule"}
]}`
	got := findings(t, rules)
	want := []string{
		`caches_by_default cache rule "all" (true)`,
		// "all" makes /feed eligible, so its override stores private
		// pages; /api's override is undone by the later bypass.
		`stores_private cache rule "feed" ((http.request.uri.path eq "/feed"))`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	cfg := Read([]audit.File{{Path: "rules.json", Data: []byte(rules)}})
	if len(cfg.Skipped) != 1 || cfg.Skipped[0].What != `rule action "log"` {
		t.Errorf("skipped %+v", cfg.Skipped)
	}
}

// A ruleset of another phase changes nothing about caching, and says so.
func TestOtherPhase(t *testing.T) {
	cfg := Read([]audit.File{{Path: "waf.json", Data: []byte(`{"phase": "http_request_firewall_custom", "rules": []}`)}})
	if len(cfg.Scopes) != 0 || len(cfg.Skipped) != 1 {
		t.Errorf("scopes %+v, skipped %+v", cfg.Scopes, cfg.Skipped)
	}
}

// A TTL override without cache eligibility applies to Cloudflare's default
// cached extensions, which include pdf, csv, xlsx, docx and zip: files
// origins render per user. On a dynamic expression it stores them whatever
// the origin says, which no header of the fence stops: critical. Limited
// to static extensions by its own expression, it stays a static rule.
func TestOverrideWithoutEligibility(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`true`, []string{`stores_private cache rule "r" (true)`, `no_deception_armor cache rule "r" (true)`}},
		{`(starts_with(http.request.uri.path, \"/invoices/\"))`, []string{
			`stores_private cache rule "r" ((starts_with(http.request.uri.path, "/invoices/")))`,
			`no_deception_armor cache rule "r" ((starts_with(http.request.uri.path, "/invoices/")))`}},
		{`(http.request.uri.path.extension in {\"css\" \"js\"})`, []string{
			`static_rule_ignores_headers cache rule "r" ((http.request.uri.path.extension in {"css" "js"}))`,
			`no_deception_armor cache rule "r" ((http.request.uri.path.extension in {"css" "js"}))`}},
	}
	for _, tt := range tests {
		rules := `{"phase": "http_request_cache_settings", "rules": [{"action": "set_cache_settings", "description": "r",
  "expression": "` + tt.expr + `", "action_parameters": {"edge_ttl": {"mode": "override_origin", "default": 2592000}}}]}`
		if got := findings(t, rules); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q\nwant %q", tt.expr, got, tt.want)
		}
	}
	// The value says why the override reaches per-user files.
	cfg := Read([]audit.File{{Path: "rules.json", Data: []byte(`{"phase": "http_request_cache_settings", "rules": [
  {"action": "set_cache_settings", "expression": "true", "action_parameters": {"edge_ttl": {"mode": "override_origin"}}}]}`)}})
	if v := cfg.Scopes[0].Store.Value; !strings.Contains(v, "pdf") {
		t.Errorf("store value %q does not name the per-user extensions", v)
	}
}

// A Page Rule's Edge Cache TTL without Cache Everything likewise reaches
// the default cached extensions.
func TestPageRuleTTLWithoutCacheEverything(t *testing.T) {
	got := findings(t, `[{"targets": [{"constraint": {"value": "example.com/account/*"}}],
  "actions": [{"id": "edge_cache_ttl", "value": 86400}], "status": "active"}]`)
	want := []string{`stores_private page rule example.com/account/*`, `no_deception_armor page rule example.com/account/*`}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// Real rulesets, with the verdict a reader of Cloudflare's documentation
// gives them.
func TestRealFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		// /api and JSON eligible for cache while respecting the origin:
		// pages without Cache-Control are stored. Login, signup and user
		// pages stored for 30 days whatever the origin says.
		{"litomi.json", []string{
			"critical stores_private litomi.json:28",
			"low no_deception_armor litomi.json:20",
			"low no_deception_armor litomi.json:8",
			"medium caches_by_default litomi.json:15",
		}},
	}
	for _, tt := range tests {
		data, err := os.ReadFile(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		cfg := Read([]audit.File{{Path: tt.file, Data: data}})
		if len(cfg.Errors) > 0 || len(cfg.Skipped) > 0 {
			t.Fatalf("%s: errors %v, skipped %v", tt.file, cfg.Errors, cfg.Skipped)
		}
		got := []string{}
		for _, f := range audit.Run(cfg.Scopes) {
			got = append(got, fmt.Sprintf("%s %s %s:%d", f.Severity, f.ID, f.File, f.Line))
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q\nwant %q", tt.file, got, tt.want)
		}
	}
}
