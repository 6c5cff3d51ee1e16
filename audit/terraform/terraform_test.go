package terraform

import (
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
)

func findings(t *testing.T, files ...audit.File) ([]string, *audit.Config) {
	t.Helper()
	cfg := Read(files)
	if len(cfg.Errors) > 0 {
		t.Fatalf("errors %v", cfg.Errors)
	}
	var out []string
	for _, f := range audit.Run(cfg.Scopes) {
		s := f.ID + " " + f.Setting + "=" + f.Value
		if f.Unknown {
			s += " (unknown)"
		}
		out = append(out, s)
	}
	return out, cfg
}

// Rules builders are joined through their children, and rules inherit as
// Property Manager has them.
func TestAkamaiRulesBuilder(t *testing.T) {
	got, _ := findings(t, audit.File{Path: "m/rules.tf", Data: []byte(`
data "akamai_property_rules_builder" "default" {
  rules_v2023_01_05 {
    name      = "default"
    is_secure = false
    behavior {
      caching {
        behavior = "NO_STORE"
      }
    }
    children = [
      data.akamai_property_rules_builder.static.json,
      data.akamai_property_rules_builder.pages.json,
    ]
  }
}

data "akamai_property_rules_builder" "static" {
  rules_v2023_01_05 {
    name = "Static"
    criterion {
      file_extension {
        match_operator = "IS_ONE_OF"
        values         = ["css", "js"]
      }
    }
    behavior {
      caching {
        behavior = "MAX_AGE"
        ttl      = "7d"
      }
    }
  }
}

data "akamai_property_rules_builder" "pages" {
  rules_v2023_01_05 {
    name = "Pages"
    behavior {
      caching {
        behavior             = "CACHE_CONTROL"
        enhanced_rfc_support = true
        honor_private        = var.honor_private
        honor_no_store       = true
      }
    }
  }
}
`)})
	want := []string{"ignores_private data.akamai_property_rules_builder.pages.rules_v2023_01_05.behavior.caching.honor_private=var.honor_private (unknown)"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// A dynamic block is said to be skipped; a reference to a resource of
// the module resolves, and one to a variable stays unknown.
func TestModule(t *testing.T) {
	got, cfg := findings(t,
		audit.File{Path: "m/dist.tf", Data: []byte(`
resource "aws_cloudfront_distribution" "d" {
  origin {
    origin_id   = "app"
    domain_name = "app.example.com"
  }
  default_cache_behavior {
    target_origin_id = "app"
    cache_policy_id  = aws_cloudfront_cache_policy.p.id
  }
  dynamic "ordered_cache_behavior" {
    for_each = var.behaviors
    content {
      path_pattern = ordered_cache_behavior.value
    }
  }
}
`)},
		audit.File{Path: "m/policy.tf", Data: []byte(`
resource "aws_cloudfront_cache_policy" "p" {
  name    = "p"
  min_ttl = var.min_ttl
  max_ttl = 0
}
`)})
	want := []string{"stores_private min_ttl=var.min_ttl (unknown)"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if len(cfg.Skipped) != 1 || !strings.Contains(cfg.Skipped[0].What, `dynamic "ordered_cache_behavior"`) {
		t.Errorf("skipped %v", cfg.Skipped)
	}
	if f := audit.Run(cfg.Scopes); f[0].File != "m/policy.tf" || f[0].Line != 4 {
		t.Errorf("finding at %s:%d, want m/policy.tf:4", f[0].File, f[0].Line)
	}
}

// The conditionals of a cache behavior that test one condition are read
// together, once per arm, and only an arm that is dangerous is reported,
// as unknown, naming its arm. Conditionals on different conditions stay
// unknown.
func TestConditionalArms(t *testing.T) {
	const (
		byMode    = `var.mode == "app" ? `
		safe      = byMode + "data.aws_cloudfront_cache_policy.disabled.id : data.aws_cloudfront_cache_policy.optimized.id"
		cached    = "Managed-CachingOptimized (managed CachingOptimized: MinTTL 1, MaxTTL 31536000, cookies in the key: none) (unknown)"
		whenTrue  = `=when var.mode == "app" is true: ` + cached
		whenFalse = `=when var.mode == "app" is false: ` + cached
	)
	// Each arm is a scope of its own, named by its arm.
	arms := []string{`aws_cloudfront_distribution.d default behavior, when var.mode == "app" is true`,
		`aws_cloudfront_distribution.d default behavior, when var.mode == "app" is false`}
	cases := []struct {
		name, origin, policy string
		want, scopes         []string
	}{
		{"both arms safe", byMode + `"app" : "files"`, safe, nil, arms},
		{"both arms safe, one interpolated", `"${` + byMode + `"app" : "files"}"`, safe, nil, arms},
		{"the true arm dangerous", byMode + `"app" : "files"`,
			byMode + "data.aws_cloudfront_cache_policy.optimized.id : data.aws_cloudfront_cache_policy.disabled.id",
			[]string{"stores_private cache_policy_id" + whenTrue, "collapses_uncacheable cache_policy_id" + whenTrue}, arms},
		{"one conditional, its false arm dangerous", `"app"`, safe,
			[]string{"stores_private cache_policy_id" + whenFalse, "collapses_uncacheable cache_policy_id" + whenFalse}, arms},
		{"different conditions", `var.site == "app" ? "app" : "files"`, safe,
			[]string{"stores_private cache_policy_id=" + safe + " (unknown)", "collapses_uncacheable cache_policy_id=" + safe + " (unknown)"},
			[]string{"aws_cloudfront_distribution.d default behavior"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, cfg := findings(t, audit.File{Path: "m/main.tf", Data: []byte(`
data "aws_cloudfront_cache_policy" "disabled" {
  name = "Managed-CachingDisabled"
}

data "aws_cloudfront_cache_policy" "optimized" {
  name = "Managed-CachingOptimized"
}

resource "aws_cloudfront_distribution" "d" {
  origin {
    origin_id   = "app"
    domain_name = "app.example.com"
  }
  origin {
    origin_id   = "files"
    domain_name = aws_s3_bucket.files.bucket_regional_domain_name
  }
  default_cache_behavior {
    target_origin_id = ` + c.origin + `
    cache_policy_id  = ` + c.policy + `
  }
}
`)})
			if !slices.Equal(got, c.want) {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(c.want, "\n\t"))
			}
			var scopes []string
			for _, s := range cfg.Scopes {
				scopes = append(scopes, s.Name)
			}
			if !slices.Equal(scopes, c.scopes) {
				t.Errorf("scopes %q, want %q", scopes, c.scopes)
			}
		})
	}
}
