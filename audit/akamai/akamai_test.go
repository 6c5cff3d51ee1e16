package akamai

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
)

// tree is a PAPI rule tree whose default rule has these caching options
// and, after them, these other behaviors.
func ruleTree(caching string, behaviors ...string) []byte {
	all := append([]string{`{"name": "caching", "options": {` + caching + `}}`}, behaviors...)
	return []byte(`{"rules": {"name": "default", "behaviors": [` + strings.Join(all, ",") + `]}}`)
}

func deleteHeader(name string) string {
	return `{"name": "modifyIncomingResponseHeader", "options": {"action": "DELETE", "standardDeleteHeaderName": "` + name + `"}}`
}

// What a caching behavior makes the edge store, and what still keeps a
// response out, as the caching behavior's reference documents its options.
func TestCaching(t *testing.T) {
	cases := []struct {
		name     string
		data     []byte
		store    string // the setting that makes it store, or ""
		obeys    audit.Signal
		findings []string
	}{
		{"no store", ruleTree(`"behavior": "NO_STORE"`), "", audit.EdgeControlNoStore, nil},
		{"max age", ruleTree(`"behavior": "MAX_AGE", "ttl": "1d"`), "behaviors[0].options.behavior", audit.EdgeControlNoStore,
			[]string{"ignores_private"}},
		{"max age zero", ruleTree(`"behavior": "MAX_AGE", "ttl": "0s"`), "", audit.EdgeControlNoStore, nil},
		{"honours cache-control", ruleTree(`"behavior": "CACHE_CONTROL", "honorPrivate": true`), "",
			audit.EdgeControlNoStore | audit.CacheControlPrivate | audit.CacheControlNoStore, nil},
		// Without enhancedRfcSupport, honorPrivate still applies: Akamai's
		// web template writes it so.
		{"private ignored without enhanced support", ruleTree(`"behavior": "CACHE_CONTROL_AND_EXPIRES", "enhancedRfcSupport": false, "honorPrivate": false`),
			"behaviors[0].options.honorPrivate", audit.EdgeControlNoStore | audit.CacheControlNoStore, []string{"ignores_private"}},
		// honorNoStore applies only with enhancedRfcSupport.
		{"no-store option without enhanced support", ruleTree(`"behavior": "CACHE_CONTROL", "honorNoStore": false`), "",
			audit.EdgeControlNoStore | audit.CacheControlPrivate | audit.CacheControlNoStore, nil},
		{"both ignored", ruleTree(`"behavior": "CACHE_CONTROL", "enhancedRfcSupport": true, "honorPrivate": false, "honorNoStore": false`),
			"behaviors[0].options.honorPrivate", audit.EdgeControlNoStore, []string{"ignores_private"}},
		{"no-store ignored", ruleTree(`"behavior": "CACHE_CONTROL", "enhancedRfcSupport": true, "honorNoStore": false`),
			"behaviors[0].options.honorNoStore", audit.EdgeControlNoStore | audit.CacheControlPrivate, []string{"ignores_private"}},
		{"expires", ruleTree(`"behavior": "EXPIRES", "honorPrivate": false`), "",
			audit.EdgeControlNoStore | audit.CacheControlPrivate | audit.CacheControlNoStore, nil},
		// A rule that deletes Edge-Control from the origin's response
		// before the edge reads it takes the fence's last word away.
		{"edge-control deleted", ruleTree(`"behavior": "CACHE_CONTROL", "enhancedRfcSupport": true, "honorPrivate": false, "honorNoStore": false`, deleteHeader("EDGE_CONTROL")),
			"behaviors[0].options.honorPrivate", 0, []string{"stores_private"}},
		{"cache-control deleted", ruleTree(`"behavior": "CACHE_CONTROL"`, deleteHeader("CACHE_CONTROL")),
			"behaviors[1].options.standardDeleteHeaderName", audit.EdgeControlNoStore, []string{"ignores_private"}},
		{"custom header deleted", ruleTree(`"behavior": "MAX_AGE", "ttl": "1h"`,
			`{"name": "modifyIncomingResponseHeader", "options": {"action": "DELETE", "standardDeleteHeaderName": "OTHER", "customHeaderName": "Edge-Control"}}`),
			"behaviors[0].options.behavior", 0, []string{"stores_private"}},
		{"other header deleted", ruleTree(`"behavior": "MAX_AGE", "ttl": "1h"`, deleteHeader("CONTENT_TYPE")),
			"behaviors[0].options.behavior", audit.EdgeControlNoStore, []string{"ignores_private"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Read([]audit.File{{Path: "rules.json", Data: c.data}})
			if len(cfg.Errors) > 0 || len(cfg.Skipped) > 0 || len(cfg.Scopes) != 1 {
				t.Fatalf("errors %v, skipped %v, %d scopes", cfg.Errors, cfg.Skipped, len(cfg.Scopes))
			}
			s := cfg.Scopes[0]
			store := ""
			if s.Store != nil {
				store = s.Store.Name
			}
			if store != c.store || s.Obeys != c.obeys {
				t.Errorf("store %q, obeys %q; want %q, %q", store, s.Obeys, c.store, c.obeys)
			}
			var ids []string
			for _, f := range audit.Run(cfg.Scopes) {
				ids = append(ids, f.ID)
			}
			if !slices.Equal(ids, c.findings) {
				t.Errorf("findings %v, want %v", ids, c.findings)
			}
		})
	}
}

// A header deletion in a parent rule still runs in its children, whose
// own caching behavior overrides the parent's.
func TestInheritedHeaderDeletion(t *testing.T) {
	data := []byte(`{"rules": {"name": "default",
  "behaviors": [` + deleteHeader("EDGE_CONTROL") + `, {"name": "caching", "options": {"behavior": "NO_STORE"}}],
  "children": [{"name": "Pages", "behaviors": [{"name": "caching", "options": {"behavior": "MAX_AGE", "ttl": "5m"}}]}]}}`)
	cfg := Read([]audit.File{{Path: "rules.json", Data: data}})
	var got []string
	for _, f := range audit.Run(cfg.Scopes) {
		got = append(got, fmt.Sprintf("%s %s %s:%d", f.ID, f.Scope, f.File, f.Line))
	}
	want := []string{"stores_private rule default > Pages rules.json:3"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// The `akamai property-manager` snippets: main.json includes its child
// rules from files beside it. An include that is not among the files
// given, that is a whole tree, or that includes itself, is reported as
// skipped, and the rest is still audited.
func TestIncludes(t *testing.T) {
	main := []byte(`{"rules": {"name": "default",
  "behaviors": [{"name": "caching", "options": {"behavior": "NO_STORE"}}],
  "children": ["#include:Pages.json", "#include:Missing.json", "#include:../outside.json",
    "#include:Tree.json", "#include:Loop.json"]}}`)
	pages := []byte(`{"name": "Pages",
  "behaviors": [{"name": "caching", "options": {"behavior": "CACHE_CONTROL", "honorPrivate": false}}],
  "children": ["#include:Account.json"]}`)
	account := []byte(`{"name": "Account", "children": [],
  "behaviors": [{"name": "downstreamCache", "options": {"behavior": "BUST"}}]}`)
	loop := []byte(`{"name": "Loop", "behaviors": [], "children": ["#include:Loop.json"]}`)
	cfg := Read([]audit.File{
		{Path: "snippets/main.json", Data: main},
		{Path: "snippets/Pages.json", Data: pages},
		{Path: "snippets/Account.json", Data: account},
		{Path: "snippets/Loop.json", Data: loop},
		{Path: "snippets/Tree.json", Data: ruleTree(`"behavior": "NO_STORE"`)},
	})
	var got []string
	for _, s := range cfg.Scopes {
		line := s.Name + " " + s.File
		if s.Store != nil {
			line += fmt.Sprintf(" stores: %s:%d %s", s.Store.File, s.Store.Line, s.Store.Name)
		}
		got = append(got, line)
	}
	want := []string{
		"rule default snippets/main.json",
		"rule default > Pages snippets/Pages.json stores: snippets/Pages.json:2 behaviors[0].options.honorPrivate",
		"rule default > Pages > Account snippets/Account.json stores: snippets/Pages.json:2 behaviors[0].options.honorPrivate",
		"rule default > Loop snippets/Loop.json",
		"rule default snippets/Tree.json",
	}
	if !slices.Equal(got, want) {
		t.Errorf("scopes\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var skipped []string
	for _, s := range cfg.Skipped {
		skipped = append(skipped, s.String())
	}
	wantSkipped := []string{
		"snippets/main.json:3: skipped included rule Missing.json: no rule snippet of that name among the paths given",
		"snippets/main.json:3: skipped included rule ../outside.json: no rule snippet of that name among the paths given",
		"snippets/main.json:4: skipped included rule Tree.json: no rule snippet of that name among the paths given",
		"snippets/Loop.json:1: skipped included rule Loop.json: includes nest too deeply or in a cycle",
	}
	if !slices.Equal(skipped, wantSkipped) {
		t.Errorf("skipped %q, want %q", skipped, wantSkipped)
	}
}
