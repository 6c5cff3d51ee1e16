// Package terraform reads Terraform configurations (.tf files, with a real
// HCL parser) and `terraform show -json` output, and hands the CDN
// resources in them to the vendors' packages. The .tf files of one
// directory are one module: a distribution in one file and its cache
// policy in another are joined. A value that needs a variable, a function
// or another resource is unknown, and stays unknown; but a CloudFront
// cache behavior whose conditionals all test one condition is read once
// per arm.
package terraform

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/akamai"
	"github.com/cachefence/cachefence/audit/cloudflare"
	"github.com/cachefence/cachefence/audit/cloudfront"
	"github.com/cachefence/cachefence/audit/fastly"
	"github.com/cachefence/cachefence/audit/gcp"
	"github.com/cachefence/cachefence/audit/tree"
)

// Kind is the name of this format for --kind.
const Kind = "terraform"

// maxSize bounds the size of a .tf file: the largest real ones are some
// hundred KiB, and HCL's lexer keeps some hundred bytes a token.
const maxSize = 2 << 20

// Detect says whether a file is Terraform: a .tf or .tf.json file, or
// the JSON of `terraform show -json`.
func Detect(path string, root *tree.Node) bool {
	if filepath.Ext(path) == ".tf" || strings.HasSuffix(path, ".tf.json") {
		return true
	}
	return root != nil && root.Get("format_version") != nil &&
		(root.Get("values") != nil || root.Get("planned_values") != nil || root.Get("resource_changes") != nil)
}

// Resource is one resource or data source.
type Resource struct {
	File string
	// Address is "type.name", or "data.type.name" for a data source.
	Address string
	Type    string
	Data    bool
	Body    *tree.Node
	// conds are the conditionals of Body's file (.tf files only).
	conds map[*tree.Node]conditional
}

// call is a module block: another module whose resources are audited
// only if its directory is among the paths given.
type call struct {
	file, name, source string
	line               int
}

// Read reads .tf and .tf.json files, a directory's files as one module,
// and show -json files, each as its own module.
func Read(files []audit.File) *audit.Config {
	cfg := &audit.Config{}
	modules := map[string][]Resource{}
	var dirs []string
	var calls []call
	for _, f := range files {
		var rs []Resource
		var cs []call
		switch {
		case filepath.Ext(f.Path) == ".tf":
			rs, cs = parseTF(cfg, f)
		case strings.HasSuffix(f.Path, ".tf.json"):
			rs, cs = parseTFJSON(cfg, f)
		default:
			if root := tree.Read(cfg, f); root != nil {
				cfg.Add(module(showResources(f.Path, root)))
			}
			continue
		}
		dir := filepath.Dir(f.Path)
		if _, ok := modules[dir]; !ok {
			dirs = append(dirs, dir)
		}
		modules[dir] = append(modules[dir], rs...)
		calls = append(calls, cs...)
	}
	for _, c := range calls {
		checkCall(cfg, c, modules)
	}
	for _, dir := range dirs {
		cfg.Add(module(modules[dir]))
	}
	return cfg
}

// checkCall records a module call whose resources go unaudited: a
// registry, Git or HTTP module, which is not fetched, or one at a relative
// or absolute path outside the paths given. A module among them is
// audited as a module of its own, its variables unknown.
func checkCall(cfg *audit.Config, c call, modules map[string][]Resource) {
	dir, kind := filepath.Join(filepath.Dir(c.file), c.source), "a relative path"
	switch {
	case filepath.IsAbs(c.source):
		// Terraform copies it into its module cache as it does a remote
		// module's, but it is a directory all the same.
		dir, kind = filepath.Clean(c.source), "an absolute path"
	case !strings.HasPrefix(c.source, "./") && !strings.HasPrefix(c.source, "../"):
		cfg.Skip(c.file, c.line, "module %q: %s is a registry or remote module, not read, so its resources are not audited (give its source's directory too)",
			c.name, moduleSource(c.source))
		return
	}
	if _, ok := modules[dir]; !ok {
		cfg.Skip(c.file, c.line, "module %q: its source %s, %s, is not among the paths given, so its resources are not audited", c.name, c.source, kind)
	}
}

// moduleSource is a module's source as a message may show it: without
// the user and password, or the query, that a git or HTTP address can
// carry.
func moduleSource(source string) string {
	if source == "" {
		return "(no source)"
	}
	prefix, rest, forced := strings.Cut(source, "::")
	if !forced {
		prefix, rest = "", source
	} else {
		prefix += "::"
	}
	if u, err := url.Parse(rest); err == nil && u.Scheme != "" {
		u.User, u.RawQuery = nil, ""
		return prefix + u.String()
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 { // git@github.com:org/repo
		rest = rest[at+1:]
	}
	rest, _, _ = strings.Cut(rest, "?")
	return prefix + rest
}

// parseTF reads the resources, data sources and module calls of one .tf
// file.
func parseTF(cfg *audit.Config, f audit.File) ([]Resource, []call) {
	if tooLarge(cfg, f) {
		return nil, nil
	}
	if line := checkNesting(f.Data, f.Path); line > 0 {
		cfg.Fail(f.Path, line, fmt.Errorf("nested deeper than %d levels of blocks, brackets and interpolations, or %d operators, attributes and indexes, so not read", maxNesting, maxRecursion))
		return nil, nil
	}
	file, diags := hclsyntax.ParseConfig(f.Data, f.Path, hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		d := diags[0]
		line := 0
		if d.Subject != nil {
			line = d.Subject.Start.Line
		}
		cfg.Fail(f.Path, line, fmt.Errorf("%s", d.Summary))
		return nil, nil
	}
	body := file.Body.(*hclsyntax.Body)
	c := &converter{src: f.Data, conds: map[*tree.Node]conditional{}}
	var out []Resource
	var calls []call
	for _, blk := range body.Blocks {
		if blk.Type == "module" && len(blk.Labels) == 1 {
			source := ""
			if a, ok := blk.Body.Attributes["source"]; ok {
				source = c.expr(a.Expr, "source").Text
			}
			calls = append(calls, call{f.Path, blk.Labels[0], source, blk.TypeRange.Start.Line})
			continue
		}
		if (blk.Type != "resource" && blk.Type != "data") || len(blk.Labels) != 2 {
			continue
		}
		addr := blk.Labels[0] + "." + blk.Labels[1]
		if blk.Type == "data" {
			addr = "data." + addr
		}
		n := c.body(blk.Body, addr, blk.TypeRange.Start.Line)
		cfg.Settings = append(cfg.Settings, tree.Flatten(f.Path, n)...)
		out = append(out, Resource{File: f.Path, Address: addr, Type: blk.Labels[0], Data: blk.Type == "data", Body: n, conds: c.conds})
	}
	for _, d := range c.dynamic {
		label := ""
		if len(d.Labels) > 0 {
			label = d.Labels[0]
		}
		cfg.Skip(f.Path, d.TypeRange.Start.Line, "dynamic %q block: its contents depend on values known only at plan time", label)
	}
	return out, calls
}

// tooLarge records a file larger than maxSize.
func tooLarge(cfg *audit.Config, f audit.File) bool {
	if len(f.Data) <= maxSize {
		return false
	}
	cfg.Fail(f.Path, 0, fmt.Errorf("larger than %d MiB, so not read", maxSize>>20))
	return true
}

// parseTFJSON reads the resources, data sources and module calls of one
// .tf.json file: Terraform's JSON syntax, where a block is an object (or
// a list of them), a "//" member is a comment, and a string holding
// "${...}" is an expression.
func parseTFJSON(cfg *audit.Config, f audit.File) ([]Resource, []call) {
	if tooLarge(cfg, f) {
		return nil, nil
	}
	root := tree.Read(cfg, f)
	if root == nil {
		return nil, nil
	}
	var out []Resource
	var calls []call
	for _, kind := range []string{"resource", "data"} {
		for _, types := range root.Get(kind).List() {
			for _, typ := range types.Members {
				for _, named := range typ.List() {
					for _, name := range named.Members {
						addr := typ.Key + "." + name.Key
						if kind == "data" {
							addr = "data." + addr
						}
						for _, body := range name.List() {
							fromJSON(cfg, f.Path, body, addr)
							out = append(out, Resource{File: f.Path, Address: addr, Type: typ.Key, Data: kind == "data", Body: body})
						}
					}
				}
			}
		}
	}
	for _, mods := range root.Get("module").List() {
		for _, m := range mods.Members {
			for _, body := range m.List() {
				calls = append(calls, call{f.Path, m.Key, body.Get("source").Str(), m.Line})
			}
		}
	}
	return out, calls
}

// fromJSON makes a block body of Terraform JSON look as the same block in
// HCL does: paths from the resource's address, comments dropped, an
// interpolation an unknown holding its expression, dynamic blocks
// skipped.
func fromJSON(cfg *audit.Config, file string, n *tree.Node, path string) {
	n.Path = path
	switch n.Kind {
	case tree.String:
		if strings.Contains(n.Text, "${") {
			n.Kind = tree.Unknown
			if inner, ok := strings.CutPrefix(n.Text, "${"); ok && strings.HasSuffix(inner, "}") && !strings.Contains(inner, "${") {
				n.Text = strings.TrimSpace(strings.TrimSuffix(inner, "}"))
			}
		}
	case tree.Object:
		members := n.Members[:0]
		for _, m := range n.Members {
			switch m.Key {
			case "//":
				continue
			case "dynamic":
				for _, d := range m.List() {
					for _, blk := range d.Members {
						cfg.Skip(file, blk.Line, "dynamic %q block: its contents depend on values known only at plan time", blk.Key)
					}
				}
				continue
			}
			fromJSON(cfg, file, m, join(path, m.Key))
			members = append(members, m)
		}
		n.Members = members
	case tree.Array:
		for i, item := range n.Items {
			fromJSON(cfg, file, item, path+"["+itoa(i)+"]")
		}
	}
}

// showResources reads the resources of `terraform show -json` output: a
// state's values, or a plan's resource changes, whose unknown values are
// marked in after_unknown.
func showResources(file string, root *tree.Node) []Resource {
	var out []Resource
	if changes := root.Get("resource_changes"); changes != nil {
		for _, rc := range changes.List() {
			after := rc.Get("change", "after")
			markUnknown(after, rc.Get("change", "after_unknown"))
			out = append(out, showResource(file, rc, after))
		}
		return out
	}
	var walk func(m *tree.Node)
	walk = func(m *tree.Node) {
		for _, r := range m.Get("resources").List() {
			out = append(out, showResource(file, r, r.Get("values")))
		}
		for _, child := range m.Get("child_modules").List() {
			walk(child)
		}
	}
	walk(root.Get("values", "root_module"))
	walk(root.Get("planned_values", "root_module"))
	return out
}

func showResource(file string, r, values *tree.Node) Resource {
	data := r.Get("mode").Str() == "data"
	addr := r.Get("type").Str() + "." + r.Get("name").Str()
	if data {
		addr = "data." + addr
	}
	return Resource{File: file, Address: addr, Type: r.Get("type").Str(), Data: data, Body: values}
}

// markUnknown turns the values a plan does not know yet into unknowns.
func markUnknown(after, unknown *tree.Node) {
	if after == nil || unknown == nil {
		return
	}
	for _, u := range unknown.Members {
		if u.IsTrue() {
			if m := after.Get(u.Key); m != nil {
				m.Kind, m.Text, m.Members, m.Items = tree.Unknown, "(known after apply)", nil, nil
			} else {
				after.Members = append(after.Members, &tree.Node{Kind: tree.Unknown, Key: u.Key,
					Path: after.Path + "." + u.Key, Line: after.Line, Text: "(known after apply)"})
			}
			continue
		}
		markUnknown(after.Get(u.Key), u)
	}
	for i, u := range unknown.Items {
		if i < len(after.Items) {
			markUnknown(after.Items[i], u)
		}
	}
}

// reference matches "type.name.attr" and "data.type.name.attr", and an
// instance's "type.name[0].attr" or "type.name["key"].attr": every
// instance of a resource with count or for_each has the same settings.
var reference = regexp.MustCompile(`^((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)(?:\[(?:\d+|"[^"]*"|[a-z_][\w.]*)\])?\.(id|json)$`)

// bucketDomain matches a reference to an S3 bucket's domain name.
var bucketDomain = regexp.MustCompile(`^((?:data\.)?aws_s3_bucket\.[A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.(bucket_regional_domain_name|bucket_domain_name|website_endpoint)$`)

// managedPolicyTypes are the data sources that look up a CloudFront
// policy, managed ones included, by name or ID: a reference to one is
// that name or ID, which the cloudfront package knows for the managed
// policies.
var managedPolicyTypes = map[string]bool{"aws_cloudfront_cache_policy": true, "aws_cloudfront_origin_request_policy": true}

// module resolves references between a module's resources and hands each
// CDN resource to its vendor's package.
func module(all []Resource) *audit.Config {
	cfg := &audit.Config{}
	var resources []Resource
	for _, r := range all {
		if r.Body == nil || r.Body.Kind != tree.Object {
			cfg.Skip(r.File, 0, "%s: its values are not an object", r.Address)
			continue
		}
		resources = append(resources, r)
	}
	// known maps each address to what a reference to it stands for.
	known := map[string]string{}
	for _, r := range resources {
		switch {
		case !r.Data || !managedPolicyTypes[r.Type]:
			known[r.Address] = r.Address
		case isString(r.Body.Get("id")):
			known[r.Address] = r.Body.Get("id").Text
		case isString(r.Body.Get("name")):
			known[r.Address] = r.Body.Get("name").Text
		}
	}
	for _, r := range resources {
		resolve(r.Body, known)
	}
	pols := cloudfront.Policies{Cache: map[string]cloudfront.Policy{}, OriginRequest: map[string]cloudfront.Policy{}}
	builders := map[string]Resource{}
	children := map[string]bool{}
	for _, r := range resources {
		p := cloudfront.Policy{File: r.File, ID: r.Address, Body: r.Body}
		switch {
		case r.Data && managedPolicyTypes[r.Type]:
			// A policy looked up, not defined here: its name stands for it.
		case r.Type == "aws_cloudfront_cache_policy":
			pols.Cache[r.Address] = p
			if id := r.Body.Get("id").Str(); id != "" {
				pols.Cache[id] = p
			}
		case r.Type == "aws_cloudfront_origin_request_policy":
			pols.OriginRequest[r.Address] = p
			if id := r.Body.Get("id").Str(); id != "" {
				pols.OriginRequest[id] = p
			}
		case r.Type == "akamai_property_rules_builder":
			builders[r.Address] = r
			for _, c := range rulesBlock(r.Body).Get("children").Strings() {
				children[c] = true
			}
		}
	}
	for _, r := range resources {
		switch r.Type {
		case "aws_cloudfront_distribution":
			d := cloudfront.Distribution{File: r.File, Name: r.Address, Body: r.Body,
				Arms: func(b *tree.Node) []cloudfront.Arm { return arms(b, r.conds, known) }}
			cfg.Scopes = append(cfg.Scopes, cloudfront.Scopes(d, pols)...)
		case "cloudflare_ruleset":
			if r.Body.Get("phase").Str() == cloudflare.CachePhase {
				cfg.Add(cloudflare.Ruleset(r.File, r.Body))
			}
		case "cloudflare_page_rule":
			cfg.Add(cloudflare.PageRule(r.File, r.Body))
		case "google_compute_backend_service", "google_compute_region_backend_service":
			cfg.Scopes = append(cfg.Scopes, gcp.Backend(r.File, r.Body, r.Address, false))
		case "google_compute_backend_bucket":
			cfg.Scopes = append(cfg.Scopes, gcp.Backend(r.File, r.Body, r.Address, true))
		case "fastly_service_vcl":
			cfg.Add(fastly.Service(r.File, r.Body))
		case "akamai_property_rules_builder":
			if !children[r.Address] && rulesBlock(r.Body) != nil {
				rule := builderRule(cfg, r, builders, 0)
				cfg.Scopes = append(cfg.Scopes, akamai.Scopes(r.File, r.Body, rule)...)
			}
		case "google_network_services_edge_cache_service", "azurerm_cdn_frontdoor_rule", "akamai_property":
			cfg.Skip(r.File, r.Body.Line, "%s: this resource's caching is not audited", r.Address)
		}
	}
	return cfg
}

// resolve replaces references to the module's own resources ("x.y.id")
// by what known says they stand for, so that vendors can join them.
func resolve(n *tree.Node, known map[string]string) {
	if n == nil {
		return
	}
	if n.Kind == tree.Unknown {
		if m := reference.FindStringSubmatch(n.Text); m != nil && known[m[1]] != "" {
			n.Kind, n.Text = tree.String, known[m[1]]
		} else if m := bucketDomain.FindStringSubmatch(n.Text); m != nil {
			// Whatever the bucket's name, its domain is a bucket's, and a
			// bucket serves files.
			suffix := ".s3.amazonaws.com"
			if m[2] == "website_endpoint" {
				suffix = ".s3-website.amazonaws.com"
			}
			n.Kind, n.Text = tree.String, m[1]+suffix
		}
	}
	for _, m := range n.Members {
		resolve(m, known)
	}
	for _, i := range n.Items {
		resolve(i, known)
	}
}

// arms reads a block whose conditionals all test one condition once per
// arm: the true arms together, then the false ones, as Terraform takes
// them. It returns nil for a block with no conditionals, or with
// conditionals on different conditions, whose readings would multiply:
// their values stay unknown. A block is so read at most twice.
func arms(b *tree.Node, conds map[*tree.Node]conditional, known map[string]string) []cloudfront.Arm {
	var tested []string
	conditions(b, conds, &tested)
	if len(tested) != 1 {
		return nil
	}
	var out []cloudfront.Arm
	for i, is := range []string{"true", "false"} {
		body := pick(b, conds, i)
		resolve(body, known)
		out = append(out, cloudfront.Arm{When: "when " + shorten(tested[0]) + " is " + is, Body: body})
	}
	return out
}

// conditions adds to tested the conditions of the conditionals below n
// that it lacks.
func conditions(n *tree.Node, conds map[*tree.Node]conditional, tested *[]string) {
	if c, ok := conds[n]; ok {
		if !slices.Contains(*tested, c.cond) {
			*tested = append(*tested, c.cond)
		}
		return
	}
	for _, m := range n.Members {
		conditions(m, conds, tested)
	}
	for _, item := range n.Items {
		conditions(item, conds, tested)
	}
}

// pick copies n with each conditional below it replaced by its arm: 0
// for true, 1 for false. An arm's own conditionals are left unknown.
func pick(n *tree.Node, conds map[*tree.Node]conditional, arm int) *tree.Node {
	if c, ok := conds[n]; ok {
		out := pick(c.arms[arm], nil, arm)
		out.Key = n.Key
		return out
	}
	out := *n
	out.Members, out.Items = nil, nil
	for _, m := range n.Members {
		out.Members = append(out.Members, pick(m, conds, arm))
	}
	for _, item := range n.Items {
		out.Items = append(out.Items, pick(item, conds, arm))
	}
	return &out
}

// rulesBlock finds the rules_vYYYY_MM_DD block of a rules builder.
func rulesBlock(body *tree.Node) *tree.Node {
	for _, m := range body.Members {
		if strings.HasPrefix(m.Key, "rules_") {
			return first(m)
		}
	}
	return nil
}

// maxChildren bounds how deeply rules builders name each other as
// children, so that a cycle ends.
const maxChildren = 50

// builderRule turns an akamai_property_rules_builder into a rule: each
// behavior block holds one block named after the behavior, each criterion
// block one named after the criterion, and children name other builders.
func builderRule(cfg *audit.Config, r Resource, builders map[string]Resource, depth int) *akamai.Rule {
	rb := rulesBlock(r.Body)
	// A child may be in another file of the module.
	rule := &akamai.Rule{Name: rb.Get("name").Str(), File: r.File, Line: rb.Line, MatchAny: rb.Get("criteria_must_satisfy").Str() == "any"}
	for _, b := range rb.Get("behavior").List() {
		for _, m := range b.Members {
			rule.Behaviors = append(rule.Behaviors, akamai.Item{Name: tree.Normalize(m.Key), Options: first(m), File: r.File})
		}
	}
	for _, c := range rb.Get("criterion").List() {
		for _, m := range c.Members {
			rule.Criteria = append(rule.Criteria, akamai.Item{Name: tree.Normalize(m.Key), Options: first(m)})
		}
	}
	for _, c := range rb.Get("children").List() {
		child, ok := builders[c.Str()]
		switch {
		case !ok || rulesBlock(child.Body) == nil:
			cfg.Skip(r.File, c.Line, "child rule %s: no rules builder of this module", c.Text)
		case depth >= maxChildren:
			cfg.Skip(r.File, c.Line, "child rule %s: children nest deeper than %d", c.Text, maxChildren)
		default:
			rule.Children = append(rule.Children, builderRule(cfg, child, builders, depth+1))
		}
	}
	return rule
}

func isString(n *tree.Node) bool { return n != nil && n.Kind == tree.String }

func itoa(i int) string { return strconv.Itoa(i) }

// first returns a block's single object, or nil.
func first(n *tree.Node) *tree.Node {
	if items := n.List(); len(items) > 0 {
		return items[0]
	}
	return nil
}
