package terraform

import (
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
)

// A module call is audited through its source's directory when that is
// among the files given, and is otherwise said to be skipped, saying what
// its source is: a relative or absolute path, or a registry or remote
// module, named without the credentials its address may carry.
func TestModuleCalls(t *testing.T) {
	cases := []struct {
		name   string
		source string
		extra  []audit.File
		skip   string
	}{
		{"local, given", `"./modules/cdn"`, []audit.File{{Path: "live/modules/cdn/main.tf", Data: []byte("variable \"x\" {}\n")}}, ""},
		{"local, parent, given", `"../shared"`, []audit.File{{Path: "shared/main.tf", Data: []byte("variable \"x\" {}\n")}}, ""},
		{"local, not given", `"./modules/cdn"`, nil,
			`live/main.tf:2: skipped module "m": its source ./modules/cdn, a relative path, is not among the paths given, so its resources are not audited`},
		{"absolute, given", `"/srv/modules/cdn"`, []audit.File{{Path: "/srv/modules/cdn/main.tf", Data: []byte("variable \"x\" {}\n")}}, ""},
		{"absolute, not given", `"/srv/modules/cdn"`, nil,
			`live/main.tf:2: skipped module "m": its source /srv/modules/cdn, an absolute path, is not among the paths given, so its resources are not audited`},
		{"registry", `"terraform-aws-modules/cloudfront/aws"`, nil,
			`live/main.tf:2: skipped module "m": terraform-aws-modules/cloudfront/aws is a registry or remote module, not read, so its resources are not audited (give its source's directory too)`},
		{"git with a token", `"git::https://user:s3cr3t@example.com/cdn.git?ref=v1&token=s3cr3t"`, nil,
			`live/main.tf:2: skipped module "m": git::https://example.com/cdn.git is a registry or remote module, not read, so its resources are not audited (give its source's directory too)`},
		{"scp-like git", `"git@github.com:org/cdn.git?ref=v1"`, nil,
			`live/main.tf:2: skipped module "m": github.com:org/cdn.git is a registry or remote module, not read, so its resources are not audited (give its source's directory too)`},
		{"unknown source", `var.source`, nil,
			`live/main.tf:2: skipped module "m": var.source is a registry or remote module, not read, so its resources are not audited (give its source's directory too)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			main := audit.File{Path: "live/main.tf", Data: []byte("\nmodule \"m\" {\n  source = " + c.source + "\n}\n")}
			cfg := Read(append([]audit.File{main}, c.extra...))
			var skipped []string
			for _, s := range cfg.Skipped {
				skipped = append(skipped, s.String())
			}
			var want []string
			if c.skip != "" {
				want = []string{c.skip}
			}
			if len(cfg.Errors) > 0 || !slices.Equal(skipped, want) {
				t.Errorf("errors %v, skipped %q; want %q", cfg.Errors, skipped, want)
			}
			if strings.Contains(strings.Join(skipped, " "), "s3cr3t") {
				t.Errorf("a credential in the module's address was shown: %q", skipped)
			}
		})
	}
}

// An instance of a resource with count or for_each has its settings: a
// reference to x[0] or x["k"] is a reference to x. A data source that
// looks up a CloudFront policy stands for its id, or its name.
func TestReferences(t *testing.T) {
	cases := []struct {
		name, ref, extra string
		want             []string
	}{
		{"index", `aws_cloudfront_cache_policy.p[0].id`, "", nil},
		{"key", `aws_cloudfront_cache_policy.p["web"].id`, "", nil},
		{"each", `aws_cloudfront_cache_policy.p[each.key].id`, "", nil},
		{"other resource", `aws_cloudfront_cache_policy.q[0].id`, "",
			[]string{"stores_private cache_policy_id=aws_cloudfront_cache_policy.q[0].id (unknown)"}},
		{"managed by name", `data.aws_cloudfront_cache_policy.m.id`,
			"data \"aws_cloudfront_cache_policy\" \"m\" {\n  name = \"Managed-CachingDisabled\"\n}\n", nil},
		{"managed by id", `data.aws_cloudfront_cache_policy.m.id`,
			"data \"aws_cloudfront_cache_policy\" \"m\" {\n  id = \"4135ea2d-6df8-44a3-9df3-4b5a84be39ad\"\n}\n", nil},
		{"looked up by an unknown name", `data.aws_cloudfront_cache_policy.m.id`,
			"data \"aws_cloudfront_cache_policy\" \"m\" {\n  name = var.policy\n}\n",
			[]string{"stores_private cache_policy_id=data.aws_cloudfront_cache_policy.m.id (unknown)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := findings(t, audit.File{Path: "m/main.tf", Data: []byte(`
resource "aws_cloudfront_cache_policy" "p" {
  count   = 1
  name    = "p"
  min_ttl = 0
  max_ttl = 0
}

resource "aws_cloudfront_distribution" "d" {
  origin {
    origin_id   = "app"
    domain_name = "app.example.com"
  }
  default_cache_behavior {
    target_origin_id = "app"
    cache_policy_id  = ` + c.ref + `
  }
}
` + c.extra)})
			// An unknown policy also collapses; only the first finding
			// matters here.
			if len(got) > 1 {
				got = got[:1]
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// Terraform's JSON syntax is read as its HCL: blocks as objects, "${...}"
// as expressions that resolve, comments left out, dynamic blocks skipped.
func TestJSONSyntax(t *testing.T) {
	got, cfg := findings(t, audit.File{Path: "m/main.tf.json", Data: []byte(`{
  "resource": {
    "aws_cloudfront_cache_policy": {
      "p": {"//": "one week, whatever the origin says", "name": "p", "min_ttl": 604800, "max_ttl": 604800}
    },
    "aws_cloudfront_distribution": {
      "d": {
        "origin": [{"origin_id": "app", "domain_name": "app.example.com"}],
        "default_cache_behavior": {"target_origin_id": "app", "cache_policy_id": "${aws_cloudfront_cache_policy.p.id}"},
        "dynamic": {"ordered_cache_behavior": {"for_each": "${var.behaviors}", "content": {}}}
      }
    }
  },
  "module": {"cdn": {"source": "terraform-aws-modules/cloudfront/aws"}}
}`)})
	want := []string{"stores_private min_ttl=604800", "collapses_uncacheable max_ttl=604800"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	var skipped []string
	for _, s := range cfg.Skipped {
		skipped = append(skipped, s.String())
	}
	wantSkipped := []string{
		`m/main.tf.json:10: skipped dynamic "ordered_cache_behavior" block: its contents depend on values known only at plan time`,
		`m/main.tf.json:14: skipped module "cdn": terraform-aws-modules/cloudfront/aws is a registry or remote module, not read, so its resources are not audited (give its source's directory too)`,
	}
	if !slices.Equal(skipped, wantSkipped) {
		t.Errorf("skipped %q, want %q", skipped, wantSkipped)
	}
	if !Detect("m/main.tf.json", nil) {
		t.Error("a .tf.json file is not detected as Terraform")
	}
}
