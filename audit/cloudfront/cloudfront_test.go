package cloudfront

import (
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
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
