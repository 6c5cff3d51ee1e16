package edge

import (
	"strings"
	"testing"
)

// Generate refuses what it cannot write, saying why, and every target
// writes its version, source and configuration digest, never the key's
// value.
func TestGenerate(t *testing.T) {
	ok := Config{KeyName: "CACHE_FENCE_KEY", OnMismatch: OnMismatchRefuse, Source: "Caddyfile", Version: "cachefence-test"}
	for _, tc := range []struct {
		name, target string
		edit         func(*Config)
		err          string
	}{
		{"unknown target", "akamai-edgeworker", nil, `unknown target "akamai-edgeworker": want one of cloudflare-worker, cloudfront-function, fastly-vcl, nginx-lua`},
		{"varnish", "varnish", nil, "no varnish target: Varnish cannot compute the owner stamp"},
		{"bad key name", "cloudflare-worker", func(c *Config) { c.KeyName = "KEY-$(x)" }, "the key's name must be letters, digits and _"},
		{"bad mode", "cloudflare-worker", func(c *Config) { c.OnMismatch = "ignore" }, `on mismatch "ignore": want pass or refuse`},
		{"requester digest where not written", "nginx-lua", func(c *Config) { c.RequesterDigest = true }, "target nginx-lua does not write the requester digest"},
	} {
		c := ok
		if tc.edit != nil {
			tc.edit(&c)
		}
		if _, err := Generate(tc.target, c); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.err)
		}
	}
	for _, target := range TargetNames() {
		c := ok
		if target == "fastly-vcl" {
			c.Rules.SessionCookies = []string{"session"} // VCL cannot go through every cookie
		}
		code, err := Generate(target, c)
		if err != nil {
			t.Errorf("%s: %v", target, err)
			continue
		}
		for _, want := range []string{"cachefence-test", "Caddyfile", "sha256:"} {
			if !strings.Contains(string(code), want) {
				t.Errorf("%s: the guard does not say %q", target, want)
			}
		}
	}
}

// Without --on-mismatch, a guard passes where its runtime can fetch the
// page again, and refuses elsewhere.
func TestGenerateDefaultMismatch(t *testing.T) {
	for target, want := range map[string]string{"cloudflare-worker": "const PASS = true;", "nginx-lua": "cache-fence-guard: refused"} {
		code, err := Generate(target, Config{KeyName: "CACHE_FENCE_KEY"})
		if err != nil || !strings.Contains(string(code), want) {
			t.Errorf("%s by default: %v; want a guard with %q", target, err, want)
		}
	}
}
