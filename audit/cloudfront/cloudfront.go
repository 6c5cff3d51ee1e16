// Package cloudfront turns CloudFront distribution configurations and the
// cache and origin request policies beside them into the audit's model.
// It reads the AWS CLI's JSON (get-distribution-config, get-distribution,
// get-cache-policy, list-cache-policies and their origin request policy
// twins), and the same structures as Terraform writes them.
package cloudfront

import (
	"fmt"
	"strings"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/tree"
)

// Kind is the name of this format for --kind.
const Kind = "cloudfront"

// Detect says whether a JSON document is CloudFront JSON.
func Detect(root *tree.Node) bool {
	for _, key := range []string{"DistributionConfig", "Distribution", "CachePolicy", "CachePolicyList",
		"CachePolicyConfig", "OriginRequestPolicy", "OriginRequestPolicyList", "OriginRequestPolicyConfig"} {
		if root.Get(key) != nil {
			return true
		}
	}
	return root.Get("DefaultCacheBehavior") != nil && root.Get("Origins") != nil
}

// Distribution is one distribution's configuration: the DistributionConfig
// object, or a Terraform aws_cloudfront_distribution body.
type Distribution struct {
	File string
	Name string
	Body *tree.Node
	// Arms, if set, returns a behavior's readings when its settings hang
	// on a condition known only at plan time, or nil to read it as it is.
	Arms func(behavior *tree.Node) []Arm
}

// Arm is a behavior as it is when its condition is true, or false: When
// says which.
type Arm struct {
	When string
	Body *tree.Node
}

// Policy is a cache or origin request policy's configuration under the ID
// that behaviors name it by: the AWS ID, or a Terraform address.
type Policy struct {
	File string
	ID   string
	Body *tree.Node
}

// Policies are the cache and origin request policies that were given.
type Policies struct {
	Cache, OriginRequest map[string]Policy
}

// Read reads CloudFront JSON files: distributions are joined with the
// policies of every file.
func Read(files []audit.File) *audit.Config {
	pols := Policies{Cache: map[string]Policy{}, OriginRequest: map[string]Policy{}}
	var dists []Distribution
	cfg := tree.ReadAll(files, func(cfg *audit.Config, file string, root *tree.Node) {
		found := false
		if d := root.Get("Distribution", "DistributionConfig"); d != nil {
			dists, found = append(dists, Distribution{File: file, Name: "distribution " + root.Get("Distribution", "Id").Str(), Body: d}), true
		} else if d := root.Get("DistributionConfig"); d != nil {
			dists, found = append(dists, Distribution{File: file, Name: "distribution", Body: d}), true
		} else if root.Get("DefaultCacheBehavior") != nil {
			dists, found = append(dists, Distribution{File: file, Name: "distribution", Body: root}), true
		}
		for _, p := range policiesIn(root) {
			found = true
			switch {
			case p.body == nil:
				cfg.Skip(file, p.line, "a %s without its %sConfig", p.kind, p.kind)
				continue
			case p.id == "":
				cfg.Skip(file, p.line, "a %s without its Id, which behaviors name it by: export it with get-%s", p.kind, kebab(p.kind))
				continue
			}
			if p.kind == "CachePolicy" {
				pols.Cache[p.id] = Policy{file, p.id, p.body}
			} else {
				pols.OriginRequest[p.id] = Policy{file, p.id, p.body}
			}
		}
		if !found {
			cfg.Skip(file, 0, "JSON with no distribution or policy in it")
		}
	})
	for _, d := range dists {
		cfg.Scopes = append(cfg.Scopes, Scopes(d, pols)...)
	}
	return cfg
}

func kebab(kind string) string {
	if kind == "CachePolicy" {
		return "cache-policy"
	}
	return "origin-request-policy"
}

type foundPolicy struct {
	kind, id string
	line     int
	body     *tree.Node
}

// policiesIn finds the policies of get-*-policy, get-*-policy-config and
// list-*-policies output.
func policiesIn(root *tree.Node) []foundPolicy {
	var out []foundPolicy
	for _, kind := range []string{"CachePolicy", "OriginRequestPolicy"} {
		if p := root.Get(kind); p != nil {
			out = append(out, foundPolicy{kind, p.Get("Id").Str(), p.Line, p.Get(kind + "Config")})
		}
		if c := root.Get(kind + "Config"); c != nil {
			out = append(out, foundPolicy{kind, "", c.Line, c})
		}
		for _, item := range root.Get(kind+"List", "Items").List() {
			p := item.Get(kind)
			out = append(out, foundPolicy{kind, p.Get("Id").Str(), item.Line, p.Get(kind + "Config")})
		}
	}
	return out
}

// Scopes returns one scope per cache behavior of d, or per arm of one
// that d.Arms splits.
func Scopes(d Distribution, pols Policies) []audit.Scope {
	var scopes []audit.Scope
	origins := map[string]*tree.Node{}
	for _, o := range append(d.Body.Get("Origins", "Items").List(), d.Body.Get("origin").List()...) {
		origins[o.Get("Id").Str()+o.Get("origin_id").Str()] = o
	}
	if b := d.Body.Get("DefaultCacheBehavior"); b != nil {
		scopes = append(scopes, armScopes(d, b, false, pols, origins)...)
	}
	for _, b := range append(d.Body.Get("CacheBehaviors", "Items").List(), d.Body.Get("ordered_cache_behavior").List()...) {
		scopes = append(scopes, armScopes(d, b, true, pols, origins)...)
	}
	return scopes
}

// armScopes returns the scope of a behavior, or one per arm, its name and
// each setting of it saying which arm: whether an arm is taken is known
// only at plan time, so its settings are unknown, and a dangerous one is
// reported.
func armScopes(d Distribution, b *tree.Node, ordered bool, pols Policies, origins map[string]*tree.Node) []audit.Scope {
	var arms []Arm
	if d.Arms != nil {
		arms = d.Arms(b)
	}
	if arms == nil {
		arms = []Arm{{Body: b}}
	}
	var scopes []audit.Scope
	for _, arm := range arms {
		name, pattern := d.Name+" default behavior", ""
		if ordered {
			pattern = arm.Body.Get("PathPattern").Str()
			name = fmt.Sprintf("%s behavior %q", d.Name, pattern)
		}
		if arm.When != "" {
			name += ", " + arm.When
		}
		s := behaviorScope(d, arm.Body, name, pols, origins)
		s.Static = audit.Static(pattern)
		if arm.When != "" {
			marked := map[*audit.Setting]bool{}
			for _, set := range []*audit.Setting{s.Store, s.TTL, s.Authorization, s.Unkeyed, s.ReplaysSetCookie,
				s.StripsSetCookie, s.Collapses, s.CachesByDefault, s.NoDeceptionArmor} {
				if set != nil && !marked[set] {
					marked[set] = true
					set.Value, set.Unknown = arm.When+": "+set.Value, true
				}
			}
		}
		scopes = append(scopes, s)
	}
	return scopes
}

// cachePolicy is what a behavior's cache policy, or its legacy fields,
// does.
type cachePolicy struct {
	// min and max are the TTL settings; nil values are unknown.
	min, max *audit.Setting
	minTTL   int64
	maxTTL   int64
	// cookies is the cookie behavior of the key: none, whitelist,
	// allExcept or all; cookieSet is where it is set.
	cookies   string
	cookieSet *audit.Setting
	auth      bool
	// unknown is set when the policy itself could not be resolved.
	unknown *audit.Setting
}

func behaviorScope(d Distribution, b *tree.Node, name string, pols Policies, origins map[string]*tree.Node) audit.Scope {
	s := audit.Scope{Vendor: audit.CloudFront, File: d.File, Line: b.Line, Name: name}
	if o := origins[b.Get("TargetOriginId").Str()]; o != nil && isBucket(o) {
		s.FilesOnly = true
	}
	cp := resolveCachePolicy(d, b, pols)
	if cp.unknown != nil {
		// An unknown policy may have MinTTL > 0 and cache anything.
		s.Store, s.Collapses = cp.unknown, cp.unknown
		return s
	}
	if cp.min.Unknown || cp.minTTL > 0 {
		s.Store = cp.min
	}
	s.KeyedByUser = cp.cookies == "all" && cp.auth
	if !cp.max.Unknown && cp.maxTTL == 0 {
		return s // nothing is cached, and nothing collapsed
	}
	s.Collapses = cp.max
	if cp.cookies != "none" {
		s.ReplaysSetCookie = cp.cookieSet
	}
	if orp := b.Get("OriginRequestPolicyId"); orp != nil && (orp.Kind == tree.Unknown || orp.Str() != "") {
		fwd, set := originRequestCookies(d, orp, pols)
		if fwd != "none" && cp.cookies != "all" {
			s.Unkeyed = set
		}
		if fwd != "none" && s.ReplaysSetCookie == nil {
			s.ReplaysSetCookie = set
		}
	}
	return s
}

// isBucket says whether an origin is an S3 bucket, which serves files.
func isBucket(o *tree.Node) bool {
	// Terraform's state lists an absent block as [].
	if len(o.Get("S3OriginConfig").List()) > 0 {
		return true
	}
	domain := o.Get("DomainName").Str() + o.Get("domain_name").Str()
	return strings.Contains(domain, ".s3.") || strings.Contains(domain, ".s3-website")
}

func resolveCachePolicy(d Distribution, b *tree.Node, pols Policies) cachePolicy {
	idNode := b.Get("CachePolicyId")
	if idNode == nil || (idNode.Kind == tree.String && idNode.Text == "") {
		return legacyPolicy(d, b)
	}
	idSet := idNode.Setting(d.File, b)
	if idNode.Kind == tree.Unknown {
		return cachePolicy{unknown: idSet}
	}
	p, ok := pols.Cache[idNode.Text]
	if !ok {
		// A managed policy has no file: the finding points at the behavior.
		if m, ok := managedCachePolicyFor(idNode.Text); ok {
			idSet.Value = fmt.Sprintf("%s (managed %s: MinTTL %d, MaxTTL %d, cookies in the key: %s)",
				idNode.Text, m.name, m.minTTL, m.maxTTL, m.cookies)
			return cachePolicy{min: idSet, max: idSet, minTTL: m.minTTL, maxTTL: m.maxTTL,
				cookies: m.cookies, cookieSet: idSet, auth: m.authorization}
		}
		idSet.Unknown = true
		idSet.Value = idNode.Text + " (not given: export it with aws cloudfront get-cache-policy)"
		return cachePolicy{unknown: idSet}
	}
	params := p.Body.Get("ParametersInCacheKeyAndForwardedToOrigin")
	cp := cachePolicy{
		cookies: "none",
		auth:    contains(params.Get("HeadersConfig", "Headers", "Items").Strings(), "Authorization"),
	}
	cp.min, cp.minTTL = ttl(p.File, p.Body, "MinTTL", 0)
	cp.max, cp.maxTTL = ttl(p.File, p.Body, "MaxTTL", 31536000)
	if c := params.Get("CookiesConfig", "CookieBehavior"); c != nil {
		cp.cookies, cp.cookieSet = c.Str(), c.Setting(p.File, p.Body)
		if c.Kind == tree.Unknown {
			cp.cookies = "unknown"
		}
	}
	return cp
}

// legacyPolicy reads a behavior's own TTLs and ForwardedValues, the
// settings before cache policies.
func legacyPolicy(d Distribution, b *tree.Node) cachePolicy {
	cp := cachePolicy{cookies: "none"}
	cp.min, cp.minTTL = ttl(d.File, b, "MinTTL", 0)
	cp.max, cp.maxTTL = ttl(d.File, b, "MaxTTL", 31536000)
	fv := b.Get("ForwardedValues")
	if c := fv.Get("Cookies", "Forward"); c != nil {
		cp.cookies, cp.cookieSet = c.Str(), c.Setting(d.File, b)
		if c.Kind == tree.Unknown {
			cp.cookies = "unknown"
		}
	}
	headers := fv.Get("Headers", "Items").Strings()
	if len(headers) == 0 {
		headers = fv.Get("Headers").Strings()
	}
	cp.auth = contains(headers, "Authorization") || contains(headers, "*")
	return cp
}

// ttl reads a TTL setting of base, or its documented default.
func ttl(file string, base *tree.Node, key string, def int64) (*audit.Setting, int64) {
	n := base.Get(key)
	if n == nil {
		return &audit.Setting{File: file, Line: base.Line, Name: key, Value: fmt.Sprintf("%d (default)", def)}, def
	}
	set := n.Setting(file, base)
	v, ok := n.Int()
	if !ok {
		set.Unknown = true
	}
	return set, v
}

// originRequestCookies says which cookies an origin request policy
// forwards: none, or another cookie behavior, or unknown.
func originRequestCookies(d Distribution, idNode *tree.Node, pols Policies) (string, *audit.Setting) {
	set := idNode.Setting(d.File, nil)
	set.Name = "OriginRequestPolicyId"
	if idNode.Kind == tree.Unknown {
		return "unknown", set
	}
	p, ok := pols.OriginRequest[idNode.Text]
	if !ok {
		if m, ok := managedOriginRequestPolicyFor(idNode.Text); ok {
			set.Value = idNode.Text + " (managed " + m.name + ": cookies to the origin: " + m.cookies + ")"
			return m.cookies, set
		}
		set.Unknown = true
		set.Value = idNode.Text + " (not given: export it with aws cloudfront get-origin-request-policy)"
		return "unknown", set
	}
	c := p.Body.Get("CookiesConfig", "CookieBehavior")
	if c == nil || c.Str() == "none" {
		return "none", set
	}
	return c.Str(), c.Setting(p.File, p.Body)
}

func contains(list []string, want string) bool {
	for _, v := range list {
		if strings.EqualFold(v, want) {
			return true
		}
	}
	return false
}
