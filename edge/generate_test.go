package edge

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/fence"
)

// Generate refuses what it cannot write, saying why, and every target
// writes its version, source and configuration digest. (It is given the
// key's name only: cli's TestEdgeCommand holds the command to never
// writing the key.)
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
		// The source's name goes into a comment, and stays on its line.
		c.Source = "Caddy\nfile\r\u2028rm -rf /\u2029"
		if code, err := Generate(target, c); err != nil || !strings.Contains(string(code), "Caddy file  rm -rf / ") {
			t.Errorf("%s: the source's name is not kept on its comment's line (%v)", target, err)
		}
	}
}

// Without --on-mismatch, a guard passes where its runtime can fetch the
// page again, and refuses elsewhere: the default writes what that mode
// written out does.
func TestGenerateDefaultMismatch(t *testing.T) {
	for target, mode := range map[string]string{"cloudflare-worker": OnMismatchPass, "fastly-vcl": OnMismatchPass,
		"nginx-lua": OnMismatchRefuse, "cloudfront-function": OnMismatchRefuse} {
		c := Config{KeyName: "CACHE_FENCE_KEY", Rules: fence.Config{SessionCookies: []string{"session"}}}
		byDefault, err := Generate(target, c)
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		c.OnMismatch = mode
		written, err := Generate(target, c)
		if err != nil || !bytes.Equal(byDefault, written) {
			t.Errorf("%s by default: not the guard --on-mismatch %s writes (%v)", target, mode, err)
		}
		if mode == OnMismatchPass {
			c.OnMismatch = OnMismatchRefuse
			if refusing, err := Generate(target, c); err != nil || bytes.Equal(byDefault, refusing) {
				t.Errorf("%s: --on-mismatch refuse writes the same guard as pass (%v)", target, err)
			}
		}
	}
}
