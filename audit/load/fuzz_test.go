package load

import (
	"testing"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/tree"
)

// Every JSON reader takes any JSON document without panicking: the
// CloudFront, Cloudflare, Google, Akamai, Fastly and Terraform show
// readers, whatever Detect would say of it.
func FuzzJSONReaders(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := tree.ParseJSON(data); err != nil {
			return
		}
		for _, k := range kinds {
			if k.name == "varnish" || k.name == "nginx" {
				continue // text formats, fuzzed in their packages
			}
			name := "f.json"
			if k.name == "fastly" {
				name = "service.json"
			}
			cfg := k.read([]audit.File{{Path: name, Data: data}})
			audit.NewReport(cfg, nil)
			audit.NewBaseline(cfg)
		}
	})
}
