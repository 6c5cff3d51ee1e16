// Package akamai turns an Akamai Property Manager rule tree into the
// audit's model. It reads the PAPI JSON (GET .../versions/{v}/rules, or
// `akamai property-manager` output), and the akamai_property_rules_builder
// blocks of Terraform.
package akamai

import (
	"strings"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/tree"
)

// Kind is the name of this format for --kind.
const Kind = "akamai"

// Detect says whether a JSON document is a PAPI rule tree.
func Detect(root *tree.Node) bool {
	rules := root.Get("rules")
	return rules != nil && rules.Get("behaviors") != nil && rules.Get("name") != nil
}

// Rule is one rule of a tree: its behaviors and criteria by normalised
// name, in order, and its children.
type Rule struct {
	Name      string
	Line      int
	Behaviors []Item
	Criteria  []Item
	// MatchAny is set when any criterion suffices (criteriaMustSatisfy
	// "any"), rather than all.
	MatchAny bool
	Children []*Rule
}

// Item is a behavior or criterion: its name, normalised, and its options.
type Item struct {
	Name    string
	Options *tree.Node
}

// Read reads PAPI rule tree JSON files.
func Read(files []audit.File) *audit.Config {
	return tree.ReadAll(files, func(cfg *audit.Config, file string, root *tree.Node) {
		if !Detect(root) {
			cfg.Skip(file, 0, "JSON without a rule tree")
			return
		}
		cfg.Scopes = append(cfg.Scopes, Scopes(file, root.Get("rules"), FromPAPI(root.Get("rules")))...)
	})
}

// FromPAPI reads a PAPI rule.
func FromPAPI(n *tree.Node) *Rule {
	r := &Rule{Name: n.Get("name").Str(), Line: n.Line, MatchAny: n.Get("criteriaMustSatisfy").Str() == "any"}
	for _, b := range n.Get("behaviors").List() {
		r.Behaviors = append(r.Behaviors, Item{tree.Normalize(b.Get("name").Str()), b.Get("options")})
	}
	for _, c := range n.Get("criteria").List() {
		r.Criteria = append(r.Criteria, Item{tree.Normalize(c.Get("name").Str()), c.Get("options")})
	}
	for _, c := range n.Get("children").List() {
		r.Children = append(r.Children, FromPAPI(c))
	}
	return r
}

// Scopes returns one scope per rule, with the behaviors it inherits as
// Property Manager applies them: a child's behaviors override its
// parent's, and a later sibling without criteria overrides an earlier one
// for every request.
func Scopes(file string, base *tree.Node, root *Rule) []audit.Scope {
	var out []audit.Scope
	var walk func(r *Rule, path string, inherited map[string]*tree.Node, later []*Rule)
	walk = func(r *Rule, path string, inherited map[string]*tree.Node, later []*Rule) {
		eff := map[string]*tree.Node{}
		for k, v := range inherited {
			eff[k] = v
		}
		for _, b := range r.Behaviors {
			eff[b.Name] = b.Options
		}
		for _, l := range later {
			if len(l.Criteria) == 0 {
				for _, b := range l.Behaviors {
					eff[b.Name] = b.Options
				}
			}
		}
		out = append(out, scope(file, base, r, path, eff))
		for i, c := range r.Children {
			walk(c, path+" > "+c.Name, eff, r.Children[i+1:])
		}
	}
	walk(root, root.Name, nil, nil)
	return out
}

func scope(file string, base *tree.Node, r *Rule, path string, eff map[string]*tree.Node) audit.Scope {
	s := audit.Scope{Vendor: audit.Akamai, File: file, Line: r.Line, Name: "rule " + path, Static: static(r)}
	caching := eff["caching"]
	if caching == nil {
		return s
	}
	// The origin's Edge-Control: no-store overrides every caching
	// behavior, and the fence sends it.
	s.Obeys = audit.EdgeControlNoStore
	mode := caching.Get("behavior")
	switch mode.Str() {
	case "MAX_AGE":
		if ttl := caching.Get("ttl"); ttl == nil || !isZero(ttl.Str()) {
			s.Store = mode.Setting(file, base)
			s.Store.Value += " (ttl " + ttl.Str() + ")"
		}
	case "CACHE_CONTROL", "CACHE_CONTROL_AND_EXPIRES", "EXPIRES":
		if !caching.Get("enhancedRfcSupport").IsTrue() {
			break
		}
		for _, opt := range []string{"honorPrivate", "honorNoStore"} {
			if h := caching.Get(opt); h.IsFalse() || (h != nil && h.Kind == tree.Unknown) {
				s.Store = h.Setting(file, base)
				break
			}
		}
	default:
		if mode != nil && mode.Kind == tree.Unknown {
			s.Store = mode.Setting(file, base)
		}
	}
	return s
}

func isZero(ttl string) bool {
	return strings.TrimRight(ttl, "0smhd") == "" && strings.ContainsAny(ttl, "0")
}

// static says why a rule matches only static files: a file extension
// criterion, or a path criterion on static-looking patterns.
func static(r *Rule) string {
	var reasons []string
	for _, c := range r.Criteria {
		var why string
		switch c.Name {
		case "fileextension":
			if c.Options.Get("matchOperator").Str() == "IS_ONE_OF" {
				why = audit.Static("\\.(" + strings.Join(c.Options.Get("values").Strings(), "|") + ")$")
			}
		case "path":
			if c.Options.Get("matchOperator").Str() == "MATCHES_ONE_OF" {
				why = allStatic(c.Options.Get("values").Strings())
			}
		}
		switch {
		case why != "" && !r.MatchAny:
			return why // one static criterion limits a rule that needs all
		case why == "" && r.MatchAny:
			return "" // one dynamic criterion widens a rule that needs any
		}
		reasons = append(reasons, why)
	}
	if r.MatchAny && len(reasons) > 0 {
		return strings.Join(reasons, "; ")
	}
	return ""
}

func allStatic(patterns []string) string {
	var whys []string
	for _, p := range patterns {
		why := audit.Static(p)
		if why == "" {
			return ""
		}
		whys = append(whys, why)
	}
	return strings.Join(whys, "; ")
}
