package cloudfront

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/internal/audittest"
)

// Policies come from list-cache-policies too; a policy config without its
// Id cannot be joined and is said to be skipped; a managed ID is resolved
// by ID, whatever the comment says.
func TestPolicies(t *testing.T) {
	dist := `{"DistributionConfig": {
  "Origins": {"Items": [{"Id": "app", "DomainName": "app.example.com"}]},
  "DefaultCacheBehavior": {"TargetOriginId": "app", "CachePolicyId": "1111"},
  "CacheBehaviors": {"Items": [
    {"PathPattern": "/cached-by-comment/*", "TargetOriginId": "app",
     "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", "Comment": "CachingOptimized"}]}}}`
	list := `{"CachePolicyList": {"Items": [{"Type": "custom", "CachePolicy": {"Id": "1111",
  "CachePolicyConfig": {"Name": "short", "MinTTL": 0, "MaxTTL": 60,
    "ParametersInCacheKeyAndForwardedToOrigin": {"CookiesConfig": {"CookieBehavior": "none"}}}}}]}}`
	bare := `{"CachePolicyConfig": {"Name": "orphan", "MinTTL": 5}}`
	cfg := Read([]audit.File{{Path: "dist.json", Data: []byte(dist)}, {Path: "list.json", Data: []byte(list)},
		{Path: "bare.json", Data: []byte(bare)}})
	var got []string
	for _, f := range audit.Run(cfg.Scopes) {
		got = append(got, f.ID+" "+f.File+" "+f.Setting)
	}
	// MinTTL 0 honours private: only collapsing is left. CachingDisabled
	// caches nothing, whatever its comment says.
	if want := []string{"collapses_uncacheable list.json MaxTTL"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if len(cfg.Skipped) != 1 || !strings.Contains(cfg.Skipped[0].What, "without its Id") {
		t.Errorf("skipped %+v", cfg.Skipped)
	}
}

// run reads files with Read and returns its findings, failing on errors
// and skips.
func run(t *testing.T, files ...audit.File) []string {
	return audittest.Whole(t, Read(files))
}

// A behavior names a managed policy by ID, or by name as a Terraform data
// source resolves it (with or without "Managed-"). Each resolves to AWS's
// documented settings; findings point at the behavior's line.
func TestManagedPolicies(t *testing.T) {
	tests := []struct {
		cache, originRequest string
		want                 []string
	}{
		// The 2017 pattern: MinTTL 1 stores private pages, every cookie
		// reaches the origin, none is in the key.
		{"Managed-CachingOptimized", "Managed-AllViewerExceptHostHeader", []string{
			"critical stores_private d.json:4", "high cookies_not_in_key d.json:4",
			"high replays_set_cookie d.json:4", "medium collapses_uncacheable d.json:4"}},
		{"658327ea-f89d-4fab-a63d-7e88639e58f6", "b689b0a8-53d0-40ab-baf2-68738e2966ac", []string{
			"critical stores_private d.json:4", "high cookies_not_in_key d.json:4",
			"high replays_set_cookie d.json:4", "medium collapses_uncacheable d.json:4"}},
		{"CachingOptimizedForUncompressedObjects", "Managed-CORS-S3Origin", []string{
			"critical stores_private d.json:4", "medium collapses_uncacheable d.json:4"}},
		{"managed-cachingdisabled", "Managed-AllViewer", []string{}},
		{"Managed-CachingDisabled", "33f36d7e-f396-46d9-90e0-52428a34d9dc", []string{}},
		// MinTTL 0 and every cookie in the key: only collapsing and the
		// Set-Cookie a cached response carries.
		{"UseOriginCacheControlHeaders", "Managed-UserAgentRefererHeaders", []string{
			"high replays_set_cookie d.json:4", "medium collapses_uncacheable d.json:4"}},
		{"Managed-UseOriginCacheControlHeaders-QueryStrings", "Managed-AllViewerAndCloudFrontHeaders-2022-06", []string{
			"high replays_set_cookie d.json:4", "medium collapses_uncacheable d.json:4"}},
		{"Managed-Elemental-MediaPackage", "Managed-Elemental-MediaTailor-PersonalizedManifests", []string{
			"medium collapses_uncacheable d.json:4"}},
		{"Managed-HostHeaderOnly", "", []string{"critical stores_private d.json:4", "medium collapses_uncacheable d.json:4"}},
		// Amplify keys by every cookie and Authorization, MinTTL 2.
		{"Managed-Amplify", "Managed-AllViewer", []string{
			"high replays_set_cookie d.json:4", "medium collapses_uncacheable d.json:4", "medium stores_private_keyed d.json:4"}},
		{"Managed-Amplify-DefaultNoCookies", "Managed-HostHeaderOnly", []string{"medium collapses_uncacheable d.json:4"}},
		{"Managed-CachingDisabled", "Managed-NoSuchPolicy", []string{}},
		{"Managed-CachingOptimized", "Managed-NoSuchPolicy", []string{
			"critical stores_private d.json:4", "high cookies_not_in_key d.json:4",
			"high replays_set_cookie d.json:4", "medium collapses_uncacheable d.json:4"}},
	}
	for _, tt := range tests {
		t.Run(tt.cache+"+"+tt.originRequest, func(t *testing.T) {
			orp := ""
			if tt.originRequest != "" {
				orp = fmt.Sprintf(`, "OriginRequestPolicyId": %q`, tt.originRequest)
			}
			dist := fmt.Sprintf(`{"DistributionConfig": {
  "Origins": {"Items": [{"Id": "app", "DomainName": "app.example.com"}]},
  "DefaultCacheBehavior": {"TargetOriginId": "app",
    "CachePolicyId": %q%s}}}`, tt.cache, orp)
			if got := run(t, audit.File{Path: "d.json", Data: []byte(dist)}); !slices.Equal(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// An unknown name stays unknown; an unknown managed-looking name too.
func TestManagedPolicyUnknownName(t *testing.T) {
	for _, ref := range []string{"Managed-CachingOptimised", "CachingOptimized-2024", ""} {
		if _, ok := managedCachePolicyFor(ref); ok {
			t.Errorf("%q resolved", ref)
		}
	}
}

// A policy that was given wins over the managed table: an export of a
// policy under a managed policy's name is what the account has.
func TestGivenPolicyBeforeManaged(t *testing.T) {
	dist := `{"DistributionConfig": {
  "Origins": {"Items": [{"Id": "app", "DomainName": "app.example.com"}]},
  "DefaultCacheBehavior": {"TargetOriginId": "app", "CachePolicyId": "Managed-CachingDisabled"}}}`
	pol := `{"CachePolicy": {"Id": "Managed-CachingDisabled", "CachePolicyConfig": {"Name": "x", "MinTTL": 60, "MaxTTL": 60}}}`
	got := run(t, audit.File{Path: "d.json", Data: []byte(dist)}, audit.File{Path: "p.json", Data: []byte(pol)})
	want := []string{"critical stores_private p.json:1", "medium collapses_uncacheable p.json:1"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Every managed policy has a distinct ID and name, so that a lookup by
// either finds one policy.
func TestManagedTableDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range managedCachePolicies {
		for _, k := range []string{"cache " + p.id, "cache " + strings.ToLower(p.name)} {
			if seen[k] {
				t.Errorf("duplicate %s", k)
			}
			seen[k] = true
		}
	}
	for _, p := range managedOriginRequestPolicies {
		for _, k := range []string{"orp " + p.id, "orp " + strings.ToLower(p.name)} {
			if seen[k] {
				t.Errorf("duplicate %s", k)
			}
			seen[k] = true
		}
	}
}

// Real configurations, with the verdict a reader of AWS's documentation
// gives them.
func TestRealFixtures(t *testing.T) {
	tests := []struct {
		dir  string
		want []string
	}{
		// A Django template's only behavior: CachingOptimized (MinTTL 1
		// caches private, no-store) with every cookie forwarded and none
		// in the key, the 2017 pattern.
		{"scaf", []string{
			"critical stores_private distribution.json:30",
			"high cookies_not_in_key distribution.json:31",
			"high replays_set_cookie distribution.json:31",
			"medium collapses_uncacheable distribution.json:30",
		}},
		// CachingDisabled caches and collapses nothing, whatever reaches
		// the origin.
		{"openai-proxy", []string{}},
		// UseOriginCacheControlHeaders (MinTTL 0, every cookie in the
		// key) honours private and no-store; what is cached still
		// collapses and replays its Set-Cookie.
		{"unresolved", []string{
			"high replays_set_cookie distribution.json:18",
			"high replays_set_cookie distribution.json:33",
			"medium collapses_uncacheable distribution.json:18",
			"medium collapses_uncacheable distribution.json:30",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			paths, _ := filepath.Glob(filepath.Join("testdata", tt.dir, "*.json"))
			var files []audit.File
			for _, p := range paths {
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				files = append(files, audit.File{Path: p, Data: data})
			}
			if got := run(t, files...); !slices.Equal(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}
