// Package terraform reads Terraform configurations (.tf files, with a real
// HCL parser) and `terraform show -json` output, and hands the CDN
// resources in them to the vendors' packages. The .tf files of one
// directory are one module: a distribution in one file and its cache
// policy in another are joined. A value that needs a variable, a function
// or another resource is unknown, and stays unknown.
package terraform

import (
	"fmt"
	"path/filepath"
	"regexp"
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

// Detect says whether a file is Terraform: a .tf file, or the JSON of
// `terraform show -json`.
func Detect(path string, root *tree.Node) bool {
	if filepath.Ext(path) == ".tf" {
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
}

// Read reads .tf files, a directory's files as one module, and show -json
// files, each as its own module.
func Read(files []audit.File) *audit.Config {
	cfg := &audit.Config{}
	modules := map[string][]Resource{}
	var dirs []string
	for _, f := range files {
		if filepath.Ext(f.Path) != ".tf" {
			root := tree.Read(cfg, f)
			if root != nil {
				cfg.Add(module(showResources(f.Path, root)))
			}
			continue
		}
		dir := filepath.Dir(f.Path)
		if _, ok := modules[dir]; !ok {
			dirs = append(dirs, dir)
		}
		modules[dir] = append(modules[dir], parseTF(cfg, f)...)
	}
	for _, dir := range dirs {
		cfg.Add(module(modules[dir]))
	}
	return cfg
}

// parseTF reads the resources and data sources of one .tf file.
func parseTF(cfg *audit.Config, f audit.File) []Resource {
	file, diags := hclsyntax.ParseConfig(f.Data, f.Path, hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		d := diags[0]
		line := 0
		if d.Subject != nil {
			line = d.Subject.Start.Line
		}
		cfg.Fail(f.Path, line, fmt.Errorf("%s", d.Summary))
		return nil
	}
	body := file.Body.(*hclsyntax.Body)
	c := &converter{src: f.Data}
	var out []Resource
	for _, blk := range body.Blocks {
		if (blk.Type != "resource" && blk.Type != "data") || len(blk.Labels) != 2 {
			continue
		}
		addr := blk.Labels[0] + "." + blk.Labels[1]
		if blk.Type == "data" {
			addr = "data." + addr
		}
		n := c.body(blk.Body, addr, blk.TypeRange.Start.Line)
		cfg.Settings = append(cfg.Settings, tree.Flatten(f.Path, n)...)
		out = append(out, Resource{File: f.Path, Address: addr, Type: blk.Labels[0], Data: blk.Type == "data", Body: n})
	}
	for _, d := range c.dynamic {
		label := ""
		if len(d.Labels) > 0 {
			label = d.Labels[0]
		}
		cfg.Skip(f.Path, d.TypeRange.Start.Line, "dynamic %q block: its contents depend on values known only at plan time", label)
	}
	return out
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

// reference matches "type.name.attr" and "data.type.name.attr".
var reference = regexp.MustCompile(`^((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)\.(id|json)$`)

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
	known := map[string]bool{}
	for _, r := range resources {
		known[r.Address] = true
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
			cfg.Scopes = append(cfg.Scopes, cloudfront.Scopes(cloudfront.Distribution{File: r.File, Name: r.Address, Body: r.Body}, pols)...)
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
				rule := builderRule(r, builders, 0)
				cfg.Scopes = append(cfg.Scopes, akamai.Scopes(r.File, r.Body, rule)...)
			}
		case "google_network_services_edge_cache_service", "azurerm_cdn_frontdoor_rule", "akamai_property":
			cfg.Skip(r.File, r.Body.Line, "%s: this resource's caching is not audited", r.Address)
		}
	}
	return cfg
}

// resolve replaces references to the module's own resources ("x.y.id")
// by the resource's address, so that vendors can join them.
func resolve(n *tree.Node, known map[string]bool) {
	if n == nil {
		return
	}
	if n.Kind == tree.Unknown {
		if m := reference.FindStringSubmatch(n.Text); m != nil && known[m[1]] {
			n.Kind, n.Text = tree.String, m[1]
		}
	}
	for _, m := range n.Members {
		resolve(m, known)
	}
	for _, i := range n.Items {
		resolve(i, known)
	}
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

// builderRule turns an akamai_property_rules_builder into a rule: each
// behavior block holds one block named after the behavior, each criterion
// block one named after the criterion, and children name other builders.
func builderRule(r Resource, builders map[string]Resource, depth int) *akamai.Rule {
	rb := rulesBlock(r.Body)
	rule := &akamai.Rule{Name: rb.Get("name").Str(), Line: rb.Line, MatchAny: rb.Get("criteria_must_satisfy").Str() == "any"}
	for _, b := range rb.Get("behavior").List() {
		for _, m := range b.Members {
			rule.Behaviors = append(rule.Behaviors, akamai.Item{Name: tree.Normalize(m.Key), Options: first(m)})
		}
	}
	for _, c := range rb.Get("criterion").List() {
		for _, m := range c.Members {
			rule.Criteria = append(rule.Criteria, akamai.Item{Name: tree.Normalize(m.Key), Options: first(m)})
		}
	}
	if depth < 50 {
		for _, addr := range rb.Get("children").Strings() {
			if child, ok := builders[addr]; ok && rulesBlock(child.Body) != nil {
				rule.Children = append(rule.Children, builderRule(child, builders, depth+1))
			}
		}
	}
	return rule
}

func itoa(i int) string { return strconv.Itoa(i) }

// first returns a block's single object, or nil.
func first(n *tree.Node) *tree.Node {
	if items := n.List(); len(items) > 0 {
		return items[0]
	}
	return nil
}
