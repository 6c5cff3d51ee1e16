package load

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
)

// secretInputs are small configurations of each format, in the shapes
// their exports and real configurations take, that send an origin secret
// as a header's value ("@", the usual X-Origin-Verify header that proves a
// request came through the CDN), or compare a header with it. keep are
// what must stay readable in the baseline: allow-listed headers' values,
// and header names.
var secretInputs = []struct {
	kind, file, content string
	keep                []string
}{
	{"cloudfront", "distribution.json", `{
  "ETag": "E2QWRUHAPOMQZL",
  "DistributionConfig": {
    "CallerReference": "app-2024",
    "Origins": {"Quantity": 1, "Items": [{
      "Id": "app", "DomainName": "app.example.com", "OriginPath": "",
      "CustomHeaders": {"Quantity": 1, "Items": [{"HeaderName": "X-Origin-Verify", "HeaderValue": "@"}]},
      "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}
    }]},
    "DefaultCacheBehavior": {"TargetOriginId": "app", "ViewerProtocolPolicy": "redirect-to-https",
      "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
    "Comment": "app", "Enabled": true
  }
}
`, []string{`CustomHeaders.Items[headername=\"X-Origin-Verify\"].HeaderValue`, "658327ea-f89d-4fab-a63d-7e88639e58f6"}},
	{"nginx", "site.conf", `map $http_x_origin_verify $from_cdn {
    default 0;
    "@" 1;
}
proxy_cache_path /var/cache/nginx keys_zone=app:10m;
server {
    listen 80;
    server_name app.example.com;
    location / {
        if ($http_x_origin_verify != "@") {
            return 403;
        }
        proxy_pass http://127.0.0.1:8080;
        proxy_cache app;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-Host $host:443;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Origin-Verify @;
        more_set_input_headers 'X-Origin-Verify: @';
        add_header X-Cache-Status $upstream_cache_status;
        add_header Cache-Control "public";
    }
}
`, []string{"Host $host", "X-Forwarded-Host $host:443", "Cache-Control public", "X-Cache-Status $upstream_cache_status",
		"proxy_set_header#4\": \"X-Origin-Verify sha256:"}},
	{"varnish", "default.vcl", `vcl 4.1;
backend default {
    .host = "127.0.0.1";
    .port = "8080";
}
sub vcl_recv {
    if (req.http.X-Origin-Verify != "@") {
        return (synth(403));
    }
    set req.http.Host = "app.example.com";
}
sub vcl_backend_fetch {
    set bereq.http.X-Origin-Verify = "@";
}
sub vcl_backend_response {
    if (bereq.url ~ "\.(css|js)$" && bereq.http.X-Origin-Verify == "@") {
        set beresp.ttl = 1d;
        return (deliver);
    }
    set beresp.http.Cache-Control = "public, max-age=60";
}
`, []string{`set req.http.Host": "\"app.example.com\"`, `set beresp.http.Cache-Control": "\"public, max-age=60\"`,
		"set bereq.http.X-Origin-Verify\": \"sha256:"}},
	{"fastly", "main.vcl", `sub vcl_recv {
#FASTLY recv
    if (req.http.X-Origin-Verify == "@") {
        return(pass);
    }
    set req.http.X-Origin-Verify = "@";
    return(lookup);
}
sub vcl_fetch {
#FASTLY fetch
    set beresp.http.Surrogate-Control = "max-age=3600";
    return(deliver);
}
`, []string{`set beresp.http.Surrogate-Control": "\"max-age=3600\"`}},
	{"fastly", "service.json", `{
  "id": "SU1Z0isxPaozGVKXdv0eY",
  "name": "app.example.com",
  "active_version": {
    "number": 12,
    "vcls": [{"name": "main", "main": true,
      "content": "sub vcl_recv {\n#FASTLY recv\n  set req.http.X-Origin-Verify = \"@\";\n  return(lookup);\n}\nsub vcl_fetch {\n#FASTLY fetch\n  if (beresp.http.Cache-Control ~ \"(private|no-store)\") {\n    return(pass);\n  }\n  return(deliver);\n}\n"}],
    "headers": [
      {"name": "Origin verify", "action": "set", "type": "request", "dst": "http.X-Origin-Verify", "src": "\"@\"", "priority": "10"},
      {"name": "Surrogate", "action": "set", "type": "cache", "dst": "http.Surrogate-Control", "src": "\"max-age=3600\"", "priority": "10"}
    ],
    "conditions": [{"name": "From the CDN", "type": "REQUEST", "statement": "req.http.X-Origin-Verify == \"@\"", "priority": "10"}],
    "request_settings": [{"name": "Pass the CDN", "action": "pass", "request_condition": "From the CDN"}],
    "snippets": [{"name": "verify", "type": "recv", "dynamic": "0", "priority": "100",
      "content": "if (req.http.X-Origin-Verify != \"@\") {\n  error 403;\n}\n"}]
  }
}
`, []string{`src": "\"max-age=3600\"`, `beresp.http.Cache-Control ~ \"(private|no-store)\"`}},
	{"cloudflare", "transform-rules.json", `{
  "result": {
    "id": "70339d97bdb34195bbf054b1ebe81f76",
    "name": "default",
    "kind": "zone",
    "phase": "http_request_late_transform",
    "rules": [{
      "id": "78723a9e0c7c4c6dbec5684cb766231d",
      "version": "1",
      "action": "rewrite",
      "action_parameters": {"headers": {
        "X-Origin-Verify": {"operation": "set", "value": "@"},
        "X-Forwarded-Proto": {"operation": "set", "value": "https"}
      }},
      "expression": "true",
      "description": "Prove requests come through Cloudflare",
      "enabled": true
    }]
  },
  "success": true,
  "errors": [],
  "messages": []
}
`, []string{`headers.X-Forwarded-Proto.value": "https"`, `headers.X-Origin-Verify.value": "sha256:`}},
	{"akamai", "rules.json", `{
  "accountId": "act_1-1TJZFB",
  "contractId": "ctr_1-1TJZH5",
  "groupId": "grp_15225",
  "propertyId": "prp_173136",
  "propertyVersion": 3,
  "etag": "a9dfe78cf93090516bde891d009eaf57",
  "ruleFormat": "v2023-10-30",
  "rules": {
    "name": "default",
    "children": [],
    "behaviors": [
      {"name": "origin", "options": {"originType": "CUSTOMER", "hostname": "origin.example.com",
        "forwardHostHeader": "REQUEST_HOST_HEADER", "cacheKeyHostname": "ORIGIN_HOSTNAME", "httpPort": 80, "httpsPort": 443}},
      {"name": "caching", "options": {"behavior": "NO_STORE"}},
      {"name": "modifyOutgoingRequestHeader", "options": {"action": "ADD", "standardAddHeaderName": "OTHER",
        "customHeaderName": "X-Origin-Verify", "headerValue": "@", "avoidDuplicateHeaders": true}},
      {"name": "modifyIncomingRequestHeader", "options": {"action": "MODIFY", "standardModifyHeaderName": "OTHER",
        "customHeaderName": "X-Origin-Verify", "newHeaderValue": "@", "avoidDuplicateHeaders": true}},
      {"name": "modifyOutgoingResponseHeader", "options": {"action": "ADD", "standardAddHeaderName": "CACHE_CONTROL",
        "headerValue": "private, no-store", "avoidDuplicateHeaders": true}}
    ],
    "options": {"is_secure": true},
    "criteriaMustSatisfy": "all"
  }
}
`, []string{`"private, no-store"`, `customHeaderName": "X-Origin-Verify"`}},
	{"gcp", "backend-service.json", `{
  "kind": "compute#backendService",
  "name": "web-backend",
  "protocol": "HTTPS",
  "enableCDN": true,
  "cdnPolicy": {"cacheMode": "CACHE_ALL_STATIC", "defaultTtl": 3600},
  "customRequestHeaders": ["X-Origin-Verify: @", "X-Client-Region:{client_region}"],
  "customResponseHeaders": ["Cache-Control: private"]
}
`, []string{`"Cache-Control: private"`, `"X-Origin-Verify: sha256:`, "CACHE_ALL_STATIC"}},
	{"terraform", "main.tf", `resource "aws_cloudfront_distribution" "app" {
  enabled = true
  origin {
    origin_id   = "app"
    domain_name = "app.example.com"
    custom_header {
      name  = "X-Origin-Verify"
      value = "@"
    }
    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }
  default_cache_behavior {
    target_origin_id       = "app"
    viewer_protocol_policy = "redirect-to-https"
    cache_policy_id        = "658327ea-f89d-4fab-a63d-7e88639e58f6"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
  }
}

resource "google_compute_backend_service" "web" {
  name                   = "web-backend"
  enable_cdn             = true
  custom_request_headers = ["X-Origin-Verify: @"]
  cdn_policy {
    cache_mode = "CACHE_ALL_STATIC"
  }
}

resource "cloudflare_ruleset" "transform" {
  zone_id = "0da42c8d2132a9ddaf714f9e7c920711"
  name    = "default"
  kind    = "zone"
  phase   = "http_request_late_transform"
  rules {
    action      = "rewrite"
    expression  = "true"
    description = "Prove requests come through Cloudflare"
    action_parameters {
      headers {
        name      = "X-Origin-Verify"
        operation = "set"
        value     = "@"
      }
      headers {
        name      = "X-Forwarded-Proto"
        operation = "set"
        value     = "https"
      }
    }
  }
}

resource "fastly_service_vcl" "app" {
  name = "app.example.com"
  header {
    name        = "Origin verify"
    action      = "set"
    type        = "request"
    destination = "http.X-Origin-Verify"
    source      = "\"@\""
  }
}

data "akamai_property_rules_builder" "default" {
  rules_v2023_10_30 {
    name = "default"
    behavior {
      modify_outgoing_request_header {
        action                   = "ADD"
        standard_add_header_name = "OTHER"
        custom_header_name       = "X-Origin-Verify"
        new_header_value         = "@"
      }
    }
  }
}
`, []string{`headers[name=\"X-Forwarded-Proto\"].value": "https"`, `custom_header[name=\"X-Origin-Verify\"].value": "sha256:`}},
	{"terraform", "plan.json", `{
  "format_version": "1.2",
  "terraform_version": "1.9.5",
  "planned_values": {"root_module": {"resources": [{
    "address": "aws_cloudfront_distribution.app", "mode": "managed", "type": "aws_cloudfront_distribution", "name": "app",
    "values": {
      "enabled": true,
      "origin": [{"origin_id": "app", "domain_name": "app.example.com", "custom_header": [{"name": "X-Origin-Verify", "value": "@"}]}],
      "default_cache_behavior": [{"target_origin_id": "app", "viewer_protocol_policy": "redirect-to-https",
        "cache_policy_id": "658327ea-f89d-4fab-a63d-7e88639e58f6"}]
    }
  }]}},
  "configuration": {"root_module": {"resources": [{
    "address": "aws_cloudfront_distribution.app", "mode": "managed", "type": "aws_cloudfront_distribution", "name": "app",
    "expressions": {"origin": [{"origin_id": {"constant_value": "app"},
      "custom_header": [{"name": {"constant_value": "X-Origin-Verify"}, "value": {"constant_value": "@"}}]}]}
  }]}}
}
`, []string{`custom_header[name=\"X-Origin-Verify\"].value": "sha256:`}},
}

// No format stores or prints a value sent as a header: not in the
// baseline (keys or values), not in drift findings, not in the text,
// JSON or SARIF report. A change of the secret alone is drift that shows
// digests; allow-listed headers stay readable.
func TestHeaderValuesAreHidden(t *testing.T) {
	const secret, rotated = "q8Zr7uVb2KpX4mN9wT3e", "Jd3kQ9wLm2Xp7RtV5yBn"
	for _, in := range secretInputs {
		t.Run(in.kind+"/"+in.file, func(t *testing.T) {
			path := write(t, t.TempDir(), in.file, strings.ReplaceAll(in.content, "@", secret))
			cfg := Paths([]string{path}, "")
			if len(cfg.Errors) > 0 {
				t.Fatalf("errors %v", cfg.Errors)
			}
			var saved bytes.Buffer
			if err := audit.NewBaseline(cfg).Write(&saved); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(saved.String(), secret) {
				t.Errorf("the baseline holds the secret:\n%s", saved.String())
			}
			for _, keep := range in.keep {
				if !strings.Contains(saved.String(), keep) {
					t.Errorf("the baseline does not show %s:\n%s", keep, saved.String())
				}
			}
			base, err := audit.ReadBaseline(&saved)
			if err != nil {
				t.Fatal(err)
			}

			write(t, filepath.Dir(path), in.file, strings.ReplaceAll(in.content, "@", rotated))
			cfg = Paths([]string{path}, "")
			drift := base.Drift(cfg)
			var was, is bool
			for _, f := range drift {
				before, after := side(f.Before), side(f.After)
				was = was || strings.Contains(f.Setting+before, audit.Digest(secret))
				is = is || strings.Contains(f.Setting+after, audit.Digest(rotated))
			}
			if !was || !is {
				t.Errorf("drift does not show the digests' change: %+v", drift)
			}
			report := audit.NewReport(cfg, drift)
			for format, write := range map[string]func(*bytes.Buffer) error{
				"text":  func(b *bytes.Buffer) error { return report.WriteText(b) },
				"json":  func(b *bytes.Buffer) error { return report.WriteJSON(b) },
				"sarif": func(b *bytes.Buffer) error { return report.WriteSARIF(b, "") },
			} {
				var out bytes.Buffer
				if err := write(&out); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(out.String(), secret) || strings.Contains(out.String(), rotated) {
					t.Errorf("the %s report shows the secret:\n%s", format, out.String())
				}
			}
			for _, c := range report.AlertRun().Causes {
				if strings.Contains(c.Summary, secret) || strings.Contains(c.Summary, rotated) {
					t.Errorf("an alert shows the secret: %s", c.Summary)
				}
			}
		})
	}
}

func side(v *string) string {
	if v == nil {
		return ""
	}
	return *v
}
