// Package akamai turns an Akamai Property Manager rule tree into the
// audit's model. It reads the PAPI JSON (GET .../versions/{v}/rules, or
// `akamai property-manager` output), and the akamai_property_rules_builder
// blocks of Terraform.
package akamai

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/tree"
)

// Kind is the name of this format for --kind.
const Kind = "akamai"

// Detect says whether a JSON document is a PAPI rule tree, or one rule
// of it on its own: a snippet that an `akamai property-manager` main.json
// includes with "#include:name.json".
func Detect(root *tree.Node) bool {
	if rules := root.Get("rules"); rules != nil {
		return isRule(rules)
	}
	name := root.Get("name")
	return isRule(root) && name != nil && name.Kind == tree.String
}

func isRule(n *tree.Node) bool {
	isArray := func(m *tree.Node) bool { return m != nil && m.Kind == tree.Array }
	return n.Get("name") != nil && (isArray(n.Get("behaviors")) || isArray(n.Get("children")))
}

// Rule is one rule of a tree: its behaviors and criteria by normalised
// name, in order, and its children.
type Rule struct {
	Name string
	// File is the file the rule is written in, if not the tree's.
	File      string
	Line      int
	Behaviors []Item
	Criteria  []Item
	// MatchAny is set when any criterion suffices (criteriaMustSatisfy
	// "any"), rather than all.
	MatchAny bool
	Children []*Rule
}

// Item is a behavior or criterion: its name, normalised, and its
// options, and the file they are in if not the tree's.
type Item struct {
	Name    string
	Options *tree.Node
	File    string
}

// maxIncludes bounds how deep "#include:" snippets nest.
const maxIncludes = 50

// includePrefix marks a child that is the rule of another file.
const includePrefix = "#include:"

// Read reads PAPI rule tree JSON files. A child "#include:name.json" is
// the rule in name.json beside the including file, if it is among the
// files given; it is reported as skipped if not. A snippet that no file
// includes is audited as a tree of its own.
func Read(files []audit.File) *audit.Config {
	cfg := &audit.Config{}
	rd := &reader{cfg: cfg, roots: map[string]*tree.Node{}, used: map[string]bool{}}
	var order []string
	for _, f := range files {
		if root := tree.Read(cfg, f); root != nil {
			if !Detect(root) {
				cfg.Skip(f.Path, 0, "JSON without a rule tree")
				continue
			}
			rd.roots[filepath.Clean(f.Path)] = root
			order = append(order, f.Path)
		}
	}
	add := func(file string, base *tree.Node) {
		cfg.Scopes = append(cfg.Scopes, Scopes(file, base, rd.rule(file, base, 0, nil))...)
	}
	for _, file := range order {
		if rules := rd.roots[filepath.Clean(file)].Get("rules"); rules != nil {
			add(file, rules)
		}
	}
	for _, file := range order {
		if root := rd.roots[filepath.Clean(file)]; root.Get("rules") == nil && !rd.used[filepath.Clean(file)] {
			add(file, root)
		}
	}
	return cfg
}

// reader follows the includes of the files given.
type reader struct {
	cfg   *audit.Config
	roots map[string]*tree.Node
	// used are the snippets some file includes.
	used map[string]bool
}

// rule reads the PAPI rule n of file; stack holds the files being
// included, so that a cycle is refused.
func (rd *reader) rule(file string, n *tree.Node, depth int, stack []string) *Rule {
	r := FromPAPI(n)
	r.File = file
	r.Children = nil
	for i := range r.Behaviors {
		r.Behaviors[i].File = file
	}
	for _, c := range n.Get("children").List() {
		if c.Kind == tree.Object {
			r.Children = append(r.Children, rd.rule(file, c, depth, stack))
			continue
		}
		name, ok := strings.CutPrefix(c.Str(), includePrefix)
		if !ok {
			rd.cfg.Skip(file, c.Line, "a child rule that is neither a rule nor an %q", includePrefix+"file")
			continue
		}
		path := filepath.Clean(filepath.Join(filepath.Dir(file), name))
		child, found := rd.roots[path]
		switch {
		case !found || child.Get("rules") != nil:
			rd.cfg.Skip(file, c.Line, "included rule %s: no rule snippet of that name among the paths given", name)
		case depth >= maxIncludes || slices.Contains(stack, path):
			rd.cfg.Skip(file, c.Line, "included rule %s: includes nest too deeply or in a cycle", name)
		default:
			rd.used[path] = true
			r.Children = append(r.Children, rd.rule(path, child, depth+1, append(slices.Clip(stack), path)))
		}
	}
	return r
}

// FromPAPI reads a PAPI rule and the children written in it.
func FromPAPI(n *tree.Node) *Rule {
	r := &Rule{Name: n.Get("name").Str(), Line: n.Line, MatchAny: n.Get("criteriaMustSatisfy").Str() == "any"}
	for _, b := range n.Get("behaviors").List() {
		r.Behaviors = append(r.Behaviors, Item{Name: tree.Normalize(b.Get("name").Str()), Options: b.Get("options")})
	}
	for _, c := range n.Get("criteria").List() {
		r.Criteria = append(r.Criteria, Item{Name: tree.Normalize(c.Get("name").Str()), Options: c.Get("options")})
	}
	for _, c := range n.Get("children").List() {
		if c.Kind == tree.Object {
			r.Children = append(r.Children, FromPAPI(c))
		}
	}
	return r
}

// Scopes returns one scope per rule, with the behaviors it inherits as
// Property Manager applies them: a child's behaviors override its
// parent's, and a later sibling without criteria overrides an earlier one
// for every request. Header modifications are not overridden but add up:
// every one that applies to a request runs.
func Scopes(file string, base *tree.Node, root *Rule) []audit.Scope {
	var out []audit.Scope
	var walk func(r *Rule, path string, inherited map[string]Item, drops []droppedHeader, later []*Rule)
	walk = func(r *Rule, path string, inherited map[string]Item, drops []droppedHeader, later []*Rule) {
		eff := maps.Clone(inherited)
		if eff == nil {
			eff = map[string]Item{}
		}
		drops = slices.Clip(drops)
		apply := func(items []Item) {
			for _, b := range items {
				eff[b.Name] = b
				if d, ok := dropsHeader(b); ok {
					drops = append(drops, d)
				}
			}
		}
		apply(r.Behaviors)
		for _, l := range later {
			if len(l.Criteria) == 0 {
				apply(l.Behaviors)
			}
		}
		out = append(out, scope(file, base, r, path, eff, drops))
		for i, c := range r.Children {
			walk(c, path+" > "+c.Name, eff, drops, r.Children[i+1:])
		}
	}
	walk(root, root.Name, nil, nil, nil)
	return out
}

// droppedHeader is an origin response header that a modifyIncomingResponseHeader
// behavior deletes or rewrites before the edge server reads it: Akamai
// documents that such a change is made "before the object is processed".
type droppedHeader struct {
	header  string // "cache-control" or "edge-control"
	options *tree.Node
	file    string
}

// dropsHeader says whether b deletes or rewrites Cache-Control or Edge-Control
// in the origin's response.
func dropsHeader(b Item) (droppedHeader, bool) {
	if b.Name != "modifyincomingresponseheader" || b.Options == nil {
		return droppedHeader{}, false
	}
	var name *tree.Node
	switch b.Options.Get("action").Str() {
	case "DELETE":
		name = b.Options.Get("standardDeleteHeaderName")
	case "MODIFY":
		name = b.Options.Get("standardModifyHeaderName")
	default:
		return droppedHeader{}, false
	}
	header := strings.ReplaceAll(strings.ToLower(name.Str()), "_", "-")
	if header == "other" {
		header = strings.ToLower(strings.TrimSpace(b.Options.Get("customHeaderName").Str()))
	}
	if header != "cache-control" && header != "edge-control" {
		return droppedHeader{}, false
	}
	return droppedHeader{header, name, b.File}, true
}

func scope(file string, base *tree.Node, r *Rule, path string, eff map[string]Item, drops []droppedHeader) audit.Scope {
	s := audit.Scope{Vendor: audit.Akamai, File: in(r.File, file), Line: r.Line, Name: "rule " + path, Static: static(r)}
	c, ok := eff["caching"]
	if !ok || c.Options == nil {
		return s
	}
	caching, cfile := c.Options, in(c.File, file)
	// The origin's Edge-Control: no-store overrides every caching
	// behavior, and the fence sends it, unless a rule removes it first.
	var ccDropped *audit.Setting
	s.Obeys = audit.EdgeControlNoStore
	for _, d := range drops {
		switch d.header {
		case "edge-control":
			s.Obeys &^= audit.EdgeControlNoStore
		case "cache-control":
			ccDropped = d.options.Setting(in(d.file, file), base)
		}
	}
	mode := caching.Get("behavior")
	switch mode.Str() {
	case "MAX_AGE":
		if ttl := caching.Get("ttl"); ttl == nil || !isZero(ttl.Str()) {
			s.Store = mode.Setting(cfile, base)
			s.Store.Value += " (ttl " + ttl.Str() + ")"
		}
	case "CACHE_CONTROL", "CACHE_CONTROL_AND_EXPIRES", "EXPIRES":
		s.Store = honoursCacheControl(&s, cfile, base, mode.Str(), caching, ccDropped)
	default:
		if mode != nil && mode.Kind == tree.Unknown {
			s.Store = mode.Setting(cfile, base)
		}
	}
	return s
}

// honoursCacheControl sets the Cache-Control signals a header-honouring
// caching behavior obeys, and returns the setting that makes it store
// responses marked private or no-store, or nil. honorPrivate applies to
// CACHE_CONTROL and CACHE_CONTROL_AND_EXPIRES whatever enhancedRfcSupport
// says; honorNoStore only with enhancedRfcSupport, without which no-store
// is obeyed (https://techdocs.akamai.com/property-mgr/reference/latest-caching).
// An unknown option counts as off: it may be.
func honoursCacheControl(s *audit.Scope, file string, base *tree.Node, mode string, caching *tree.Node, ccDropped *audit.Setting) *audit.Setting {
	if ccDropped != nil {
		return ccDropped
	}
	var store *audit.Setting
	off := func(opt string) bool {
		h := caching.Get(opt)
		if h.IsFalse() || (h != nil && h.Kind == tree.Unknown) {
			if store == nil {
				store = h.Setting(file, base)
			}
			return true
		}
		return false
	}
	if mode == "EXPIRES" || !off("honorPrivate") {
		s.Obeys |= audit.CacheControlPrivate
	}
	enhanced := caching.Get("enhancedRfcSupport")
	if !(enhanced.IsTrue() || enhanced != nil && enhanced.Kind == tree.Unknown) || mode == "EXPIRES" || !off("honorNoStore") {
		s.Obeys |= audit.CacheControlNoStore
	}
	return store
}

// in returns file, or def if it is empty.
func in(file, def string) string {
	if file != "" {
		return file
	}
	return def
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
