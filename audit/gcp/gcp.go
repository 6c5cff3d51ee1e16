// Package gcp turns Google Cloud CDN backend services and backend buckets
// into the audit's model. It reads `gcloud compute backend-services
// describe --format=json` and `backend-buckets describe` output, and the
// same structures as Terraform writes them.
package gcp

import (
	"fmt"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/tree"
)

// Kind is the name of this format for --kind.
const Kind = "gcp"

// Detect says whether a JSON document is a backend service or bucket.
func Detect(root *tree.Node) bool {
	for _, item := range root.List() {
		switch item.Get("kind").Str() {
		case "compute#backendService", "compute#backendBucket":
			return true
		}
		if item.Get("cdnPolicy") != nil {
			return true
		}
	}
	return false
}

// Read reads backend service and bucket JSON files: one object each, or a
// list as `gcloud ... list --format=json` prints.
func Read(files []audit.File) *audit.Config {
	return tree.ReadAll(files, func(cfg *audit.Config, file string, root *tree.Node) {
		for _, item := range root.List() {
			bucket := item.Get("kind").Str() == "compute#backendBucket" || item.Get("bucketName") != nil
			cfg.Scopes = append(cfg.Scopes, Backend(file, item, "backend "+item.Get("name").Str(), bucket))
		}
	})
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
