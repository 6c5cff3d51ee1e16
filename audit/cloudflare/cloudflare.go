// Package cloudflare turns Cloudflare Cache Rules (a ruleset of phase
// http_request_cache_settings) and Page Rules into the audit's model. It
// reads the API's JSON, with or without its {"result": ...} envelope, and
// the same structures as Terraform writes them.
package cloudflare

import (
	"fmt"
	"strings"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/tree"
)

// Kind is the name of this format for --kind.
const Kind = "cloudflare"

// CachePhase is the phase of Cache Rules.
const CachePhase = "http_request_cache_settings"

// Detect says whether a JSON document is a Cloudflare ruleset or Page Rules export.
func Detect(root *tree.Node) bool {
	body := unwrap(root)
	return body.Get("phase") != nil || isPageRules(body)
}

// unwrap removes the API's envelope.
func unwrap(root *tree.Node) *tree.Node {
	if r := root.Get("result"); r != nil && root.Get("success") != nil {
		return r
	}
	return root
}

func isPageRules(n *tree.Node) bool {
	items := n.List()
	return n.Kind == tree.Array && len(items) > 0 && items[0].Get("targets") != nil && items[0].Get("actions") != nil
}

// Read reads ruleset and Page Rules JSON files.
func Read(files []audit.File) *audit.Config {
	return tree.ReadAll(files, func(cfg *audit.Config, file string, root *tree.Node) {
		body := unwrap(root)
		switch {
		case isPageRules(body):
			for _, r := range body.Items {
				cfg.Add(PageRule(file, r))
			}
		case body.Get("phase") != nil:
			cfg.Add(Ruleset(file, body))
		default:
			cfg.Skip(file, 0, "JSON that is neither a ruleset nor Page Rules")
		}
	})
}

// defaultExtensionsNote qualifies a TTL override on a rule that does not
// make every response eligible for cache. It then applies only to
// Cloudflare's default cached extensions
// (https://developers.cloudflare.com/cache/concepts/default-cache-behavior/),
// but those include pdf, csv, xls(x), doc(x), zip and images: invoices,
// exports and avatars that origins render per user. So the scope is as
// dynamic as the rule's expression; it is not made static here.
const defaultExtensionsNote = " (without cache eligibility it applies to Cloudflare's default cached extensions, " +
	"which include pdf, csv, xlsx, docx, zip and images: files origins render per user)"

// rule is one cache rule's own settings; nil where it sets nothing.
type rule struct {
	expr, name                         string
	line                               int
	cache, mode, statusTTL, occ, armor *tree.Node
}

// Ruleset returns the scopes of a ruleset: one per enabled rule, with the
// settings of every rule that also matches its requests stacked in order,
// the last one winning, as Cloudflare documents. A rule covers another
// when its expression matches every request ("true") or is the same.
func Ruleset(file string, rs *tree.Node) *audit.Config {
	cfg := &audit.Config{}
	if phase := rs.Get("phase").Str(); phase != CachePhase {
		cfg.Skip(file, rs.Line, "ruleset of phase %q: only %s rules change caching", phase, CachePhase)
		return cfg
	}
	var rules []rule
	for _, r := range rs.Get("rules").List() {
		if r.Get("enabled").IsFalse() {
			continue
		}
		if a := r.Get("action").Str(); a != "set_cache_settings" {
			cfg.Skip(file, r.Line, "rule action %q", a)
			continue
		}
		ap := r.Get("action_parameters")
		rules = append(rules, rule{
			expr: r.Get("expression").Str(), name: r.Get("description").Str(), line: r.Line,
			cache: ap.Get("cache"), mode: ap.Get("edge_ttl", "mode"), statusTTL: ap.Get("edge_ttl", "status_code_ttl"),
			occ: ap.Get("origin_cache_control"), armor: ap.Get("cache_key", "cache_deception_armor"),
		})
	}
	for i, r := range rules {
		eff := rule{expr: r.expr, name: r.name, line: r.line}
		for j, other := range rules {
			if j == i || covers(other.expr, r.expr) {
				eff.stack(other)
			}
		}
		cfg.Scopes = append(cfg.Scopes, eff.scope(file, rs))
	}
	return cfg
}

func covers(outer, inner string) bool {
	outer = strings.TrimSpace(outer)
	return outer == "" || outer == "true" || outer == "(true)" || outer == strings.TrimSpace(inner)
}

// stack lets the settings that other sets override e's.
func (e *rule) stack(other rule) {
	for _, f := range []struct{ dst, src **tree.Node }{
		{&e.cache, &other.cache}, {&e.mode, &other.mode}, {&e.statusTTL, &other.statusTTL},
		{&e.occ, &other.occ}, {&e.armor, &other.armor},
	} {
		if *f.src != nil {
			*f.dst = *f.src
		}
	}
}

func (e *rule) scope(file string, base *tree.Node) audit.Scope {
	s := audit.Scope{Vendor: audit.Cloudflare, File: file, Line: e.line,
		Name: fmt.Sprintf("cache rule %q (%s)", e.name, e.expr), Static: audit.Static(e.expr)}
	if e.cache.IsFalse() {
		return s // bypass: nothing is stored
	}
	eligible := e.cache.IsTrue()
	if e.cache != nil && e.cache.Kind == tree.Unknown {
		eligible = true
	}
	override := e.mode != nil && (e.mode.Str() == "override_origin" || e.mode.Kind == tree.Unknown)
	store := e.mode
	if !override {
		if st := positiveStatusTTL(e.statusTTL); st != nil {
			override, store = true, st
		}
	}
	switch {
	case override:
		s.Store = store.Setting(file, base)
		if !eligible {
			s.Store.Value += defaultExtensionsNote
		}
	case eligible:
		s.CachesByDefault = e.cache.Setting(file, base)
	}
	if e.occ.IsFalse() || (e.occ != nil && e.occ.Kind == tree.Unknown) {
		occ := e.occ.Setting(file, base)
		s.Authorization, s.StripsSetCookie = occ, occ
	}
	if (eligible || override) && !e.armor.IsTrue() {
		if e.armor != nil {
			s.NoDeceptionArmor = e.armor.Setting(file, base)
		} else {
			s.NoDeceptionArmor = &audit.Setting{File: file, Line: e.line, Name: "cache_key.cache_deception_armor", Value: "(not set)"}
		}
	}
	return s
}

// positiveStatusTTL returns the first status-code TTL that caches (a
// value above 0, or unknown), which ignores Cache-Control as
// override_origin does; 0 means no-cache and -1 no-store.
func positiveStatusTTL(list *tree.Node) *tree.Node {
	for _, st := range list.List() {
		v := st.Get("value")
		if n, ok := v.Int(); (ok && n > 0) || (v != nil && v.Kind == tree.Unknown) {
			return v
		}
	}
	return nil
}

// PageRule returns the scope of one Page Rule. Page Rules do not stack:
// the first matching rule by priority applies alone.
func PageRule(file string, pr *tree.Node) *audit.Config {
	cfg := &audit.Config{}
	if pr.Get("status").Str() == "disabled" {
		return cfg
	}
	target := strings.Trim(pr.Get("target").Str(), `"`)
	for _, t := range pr.Get("targets").List() {
		target = t.Get("constraint", "value").Str()
	}
	s := audit.Scope{Vendor: audit.Cloudflare, File: file, Line: pr.Line,
		Name: "page rule " + target, Static: audit.Static(target)}
	actions := pageActions(pr.Get("actions"))
	level, ttl := actions["cachelevel"], actions["edgecachettl"]
	if level.Str() == "bypass" {
		cfg.Scopes = append(cfg.Scopes, s)
		return cfg
	}
	everything := level.Str() == "cache_everything" || (level != nil && level.Kind == tree.Unknown)
	if n, ok := ttl.Int(); (ok && n > 0) || (ttl != nil && ttl.Kind == tree.Unknown) {
		s.Store = ttl.Setting(file, pr)
		if !everything {
			s.Store.Value += defaultExtensionsNote
		}
		if bypass := actions["bypasscacheoncookie"]; bypass != nil {
			s.Store.Value += " (bypass_cache_on_cookie " + bypass.Str() + ": other cookies are served from the cache)"
		}
	} else if everything {
		s.CachesByDefault = level.Setting(file, pr)
	}
	if occ := actions["origincachecontrol"]; occ.Str() == "off" || occ.IsFalse() {
		set := occ.Setting(file, pr)
		s.Authorization, s.StripsSetCookie = set, set
	}
	if armor := actions["cachedeceptionarmor"]; (everything || s.Store != nil) && armor.Str() != "on" && !armor.IsTrue() {
		if armor != nil {
			s.NoDeceptionArmor = armor.Setting(file, pr)
		} else {
			s.NoDeceptionArmor = &audit.Setting{File: file, Line: pr.Line, Name: "cache_deception_armor", Value: "(not set)"}
		}
	}
	cfg.Scopes = append(cfg.Scopes, s)
	return cfg
}

// pageActions maps a Page Rule's actions by normalised name: the API
// lists {"id", "value"} pairs, Terraform writes one block of attributes.
func pageActions(actions *tree.Node) map[string]*tree.Node {
	out := map[string]*tree.Node{}
	for _, a := range actions.List() {
		if id := a.Get("id"); id != nil && a.Kind == tree.Object && actions.Kind == tree.Array && a.Get("value") != nil {
			// Named by the action's id, not "actions[1].value".
			v := *a.Get("value")
			v.Path = strings.TrimSuffix(v.Path, ".value") + "." + id.Str()
			out[tree.Normalize(id.Str())] = &v
			continue
		}
		for _, m := range a.Members {
			out[tree.Normalize(m.Key)] = m
		}
	}
	return out
}
