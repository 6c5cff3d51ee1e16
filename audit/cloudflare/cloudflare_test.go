package cloudflare

import (
	"slices"
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
