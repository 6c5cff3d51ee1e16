package terraform

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/internal/audittest"
)

// readDir reads every file under dir as the audit would be given them.
func readDir(t *testing.T, dir string) *audit.Config {
	return Read(audittest.Files(t, dir, nil))
}

// Real configurations, with the verdict a reader of the vendors' documents
// gives them.
func TestRealConfigurations(t *testing.T) {
	cases := []struct {
		dir      string
		findings []string // id severity file:line
		skipped  []string
	}{
		// Akamai's web template, as the rules builder writes it: the Caching
		// rule honours Cache-Control and Expires but not private
		// (honorPrivate applies without enhancedRfcSupport), so it stores
		// pages marked private; the origin's no-store, and the fence's
		// Edge-Control: no-store, still keep them out. The static children
		// cache by extension, and Edge-Control still counts there.
		{"testdata/ccm", []string{
			"ignores_private high testdata/ccm/rules/template-web_default_caching.tf:16",
		}, nil},
		// A Django site behind the managed CachingOptimized (MinTTL 1 s),
		// which stores what the origin marks private and collapses
		// requests, and AllViewerExceptHostHeader, which sends the cookies
		// to the origin while they stay out of the key, so a Set-Cookie is
		// stored with the page.
		{"testdata/scaf", []string{
			"stores_private critical testdata/scaf/cloudfront.tf:25",
			"cookies_not_in_key high testdata/scaf/cloudfront.tf:27",
			"replays_set_cookie high testdata/scaf/cloudfront.tf:27",
			"collapses_uncacheable medium testdata/scaf/cloudfront.tf:25",
		}, nil},
		// The registry module is not read: the run says so.
		{"testdata/cdn-module", nil, []string{
			`testdata/cdn-module/c11-02-CDN-cloudfront.tf:2: skipped module "cdn": terraform-aws-modules/cloudfront/aws ` +
				"is a registry or remote module, not read, so its resources are not audited (give its source's directory too)",
		}},
		// A site served by an app (ECS) or from a bucket, as a variable
		// says: the default behavior's origin and cache policy change
		// together, CachingDisabled on the app and CachingOptimized on the
		// bucket, both safe.
		{"testdata/pattadar", nil, nil},
		// CDK for Terraform's JSON: a distribution in front of a bucket,
		// which serves files that do not depend on who asks.
		{"testdata/wing-website", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			cfg := readDir(t, c.dir)
			if len(cfg.Errors) > 0 || len(cfg.Scopes) == 0 && c.skipped == nil {
				t.Fatalf("errors %v, %d scopes", cfg.Errors, len(cfg.Scopes))
			}
			var got []string
			for _, f := range audit.Run(cfg.Scopes) {
				got = append(got, fmt.Sprintf("%s %s %s:%d", f.ID, f.Severity, f.File, f.Line))
			}
			var skipped []string
			for _, s := range cfg.Skipped {
				skipped = append(skipped, s.String())
			}
			if !slices.Equal(got, c.findings) || !slices.Equal(skipped, c.skipped) {
				t.Errorf("findings\n%s\nskipped %q\nwant\n%s\nskipped %q", strings.Join(got, "\n"), skipped, strings.Join(c.findings, "\n"), c.skipped)
			}
		})
	}
}
