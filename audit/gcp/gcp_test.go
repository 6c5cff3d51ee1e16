package gcp

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/internal/audittest"
)

// run reads one file with Read and returns its findings, failing on
// errors and skips.
func run(t *testing.T, path string, data []byte) []string {
	return audittest.Whole(t, Read([]audit.File{{Path: path, Data: data}}))
}

// FORCE_CACHE_ALL caches "ignoring any private, no-store or no-cache
// directives": critical on a backend service that any path reaches, medium
// on one that URL maps reach only through static paths, nothing on a
// bucket. The other cache modes honour private and no-store.
func TestCacheModes(t *testing.T) {
	backend := `{"kind": "compute#backendService", "name": "app", "enableCDN": true,
  "cdnPolicy": {"cacheMode": %q, "defaultTtl": 3600, "negativeCaching": true, "serveWhileStale": 86400,
    "cacheKeyPolicy": {"includeHttpHeaders": ["x-user"]}}}`
	urlMap := `{"kind": "compute#urlMap", "name": "m",
  "defaultService": "https://www.googleapis.com/compute/v1/projects/p/global/backendBuckets/b",
  "pathMatchers": [{"name": "pm", "defaultService": "https://www.googleapis.com/compute/v1/projects/p/global/backendBuckets/b",
    "pathRules": [{"paths": [%s], "service": "https://www.googleapis.com/compute/v1/projects/p/global/backendServices/app"}]}]}`
	tests := []struct {
		name, mode, paths string
		want              []string
	}{
		{"force, no url map", "FORCE_CACHE_ALL", "", []string{"critical stores_private x.json:2"}},
		{"force, static paths", "FORCE_CACHE_ALL", `"/static/*", "/assets/*"`, []string{"medium static_rule_ignores_headers x.json:2"}},
		{"force, a dynamic path too", "FORCE_CACHE_ALL", `"/static/*", "/account/*"`, []string{"critical stores_private x.json:2"}},
		{"static mode", "CACHE_ALL_STATIC", "", []string{}},
		{"origin headers", "USE_ORIGIN_HEADERS", `"/static/*"`, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "[" + fmt.Sprintf(backend, tt.mode)
			if tt.paths != "" {
				doc += ", " + fmt.Sprintf(urlMap, tt.paths)
			}
			doc += "]"
			if got := run(t, "x.json", []byte(doc)); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// A URL map's routeRules are not read, and say so; an object of another
// kind is skipped.
func TestSkips(t *testing.T) {
	cfg := Read([]audit.File{{Path: "x.json", Data: []byte(`[
  {"kind": "compute#urlMap", "name": "m", "pathMatchers": [{"name": "pm", "routeRules": [{"priority": 1}]}]},
  {"kind": "compute#healthCheck", "name": "h"}]`)}})
	if len(cfg.Skipped) != 2 {
		t.Errorf("skipped %+v", cfg.Skipped)
	}
}

// Real configurations, with the verdict a reader of Google's documentation
// gives them.
func TestRealFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		// The login backend has no Cloud CDN; the rest is a bucket.
		{"url-map.json", []string{}},
		{"backend-bucket.json", []string{}},
	}
	for _, tt := range tests {
		data, err := os.ReadFile(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		if got := run(t, tt.file, data); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.file, got, tt.want)
		}
	}
}
