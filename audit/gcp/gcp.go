// Package gcp turns Google Cloud CDN backend services and backend buckets
// into the audit's model. It reads `gcloud compute backend-services
// describe --format=json` and `backend-buckets describe` output, and the
// same structures as Terraform writes them.
package gcp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/tree"
)

// Kind is the name of this format for --kind.
const Kind = "gcp"

// Detect says whether a JSON document is a backend service, a backend
// bucket or a URL map.
func Detect(root *tree.Node) bool {
	for _, item := range root.List() {
		switch item.Get("kind").Str() {
		case "compute#backendService", "compute#backendBucket", "compute#urlMap":
			return true
		}
		if item.Get("cdnPolicy") != nil {
			return true
		}
	}
	return false
}

// Read reads backend service, backend bucket and URL map JSON files: one
// object each, or a list as `gcloud ... list --format=json` prints. A
// backend service that the URL maps given reach only through static paths
// (/static/*) is a static scope; one they do not name, or reach as a
// default, may serve any path.
func Read(files []audit.File) *audit.Config {
	var backends []*audit.Scope
	routes := map[string][]string{}
	cfg := tree.ReadAll(files, func(cfg *audit.Config, file string, root *tree.Node) {
		for _, item := range root.List() {
			switch kind := item.Get("kind").Str(); {
			case kind == "compute#urlMap" || item.Get("pathMatchers") != nil:
				urlMapRoutes(cfg, file, item, routes)
			case kind == "compute#backendService" || kind == "compute#backendBucket" || item.Get("cdnPolicy") != nil ||
				item.Get("enableCDN") != nil:
				bucket := kind == "compute#backendBucket" || item.Get("bucketName") != nil
				s := Backend(file, item, "backend "+item.Get("name").Str(), bucket)
				backends = append(backends, &s)
			default:
				cfg.Skip(file, item.Line, "an object that is neither a backend service, a backend bucket nor a URL map")
			}
		}
	})
	for _, s := range backends {
		s.Static = staticRoutes(routes[strings.TrimPrefix(s.Name, "backend ")])
		cfg.Scopes = append(cfg.Scopes, *s)
	}
	return cfg
}

// urlMapRoutes adds the paths through which a URL map reaches each backend
// service, by the service's name; "" is a default service, which any path
// reaches.
func urlMapRoutes(cfg *audit.Config, file string, m *tree.Node, routes map[string][]string) {
	add := func(service *tree.Node, path string) {
		if ref := service.Str(); ref != "" {
			name := ref[strings.LastIndex(ref, "/")+1:]
			routes[name] = append(routes[name], path)
		}
	}
	add(m.Get("defaultService"), "")
	for _, pm := range m.Get("pathMatchers").List() {
		add(pm.Get("defaultService"), "")
		for _, rule := range pm.Get("pathRules").List() {
			for _, path := range rule.Get("paths").Strings() {
				add(rule.Get("service"), path)
			}
		}
		if pm.Get("routeRules") != nil {
			cfg.Skip(file, pm.Line, "routeRules of path matcher %q: their matches are not read", pm.Get("name").Str())
		}
	}
}

// staticRoutes says why every path that reaches a backend is static, or
// returns "".
func staticRoutes(paths []string) string {
	var whys []string
	for _, p := range paths {
		why := audit.Static(p)
		if why == "" {
			return ""
		}
		if !slices.Contains(whys, why) {
			whys = append(whys, why)
		}
	}
	return strings.Join(whys, "; ")
}

// Backend returns the scope of one backend service, or of a backend
// bucket, whose objects do not depend on who asks.
func Backend(file string, b *tree.Node, name string, bucket bool) audit.Scope {
	s := audit.Scope{Vendor: audit.GoogleCDN, File: file, Line: b.Line, Name: name, FilesOnly: bucket}
	enabled := b.Get("enableCDN")
	if enabled == nil {
		enabled = b.Get("enable_cdn")
	}
	if enabled == nil || enabled.IsFalse() {
		return s // Cloud CDN is off: nothing is cached
	}
	// FORCE_CACHE_ALL caches "ignoring any 'private', 'no-store' or
	// 'no-cache' directives" (the API's own warning).
	if mode := b.Get("cdnPolicy", "cacheMode"); mode != nil && (mode.Str() == "FORCE_CACHE_ALL" || mode.Kind == tree.Unknown) {
		s.Store = mode.Setting(file, b)
		if !bucket {
			s.Store.Value = fmt.Sprintf("%s (a backend service, which may serve per-user pages)", s.Store.Value)
		}
	}
	return s
}
