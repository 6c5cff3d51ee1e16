package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/edge"
)

// cachefence edge writes every target's guard from the fence's Caddyfile:
// the key's name where the runtime holds it, never the key, even when
// the Caddyfile holds the key itself (then it warns, without echoing it);
// and it says what is missing when it cannot write one.
func TestEdgeCommand(t *testing.T) {
	bin := buildCachefence(t)
	dir := t.TempDir()
	const secret = "literal-key-SECRET-0123456789abcdef"
	for name, body := range map[string]string{
		"literal.Caddyfile":   "http://127.0.0.1:1 {\n\tcache_fence {\n\t\tsession_cookies session\n\t\towner_stamp " + secret + "\n\t}\n\trespond ok\n}\n",
		"env.Caddyfile":       "http://127.0.0.1:1 {\n\tcache_fence {\n\t\tsession_cookies session\n\t\towner_stamp {env.MY_GUARD_KEY}\n\t}\n\trespond ok\n}\n",
		"unstamped.Caddyfile": "http://127.0.0.1:1 {\n\tcache_fence\n\trespond ok\n}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, target := range edge.TargetNames() {
		t.Run(target, func(t *testing.T) {
			code, out := runCachefence(t, bin, dir, "edge", "--target", target, "--config", "literal.Caddyfile")
			if code != 0 || strings.Contains(out, secret) || !strings.Contains(out, "CACHE_FENCE_KEY") ||
				!strings.Contains(out, "holds owner_stamp's key itself") {
				t.Errorf("a Caddyfile holding the key: exit %d; want the guard reading CACHE_FENCE_KEY, a warning, and never the key:\n%s", code, out)
			}
			code, out = runCachefence(t, bin, dir, "edge", "--target", target, "--config", "env.Caddyfile")
			if code != 0 || !strings.Contains(out, "MY_GUARD_KEY") || strings.Contains(out, "CACHE_FENCE_KEY") || strings.Contains(out, "holds owner_stamp's key") {
				t.Errorf("a key from {env.MY_GUARD_KEY}: exit %d; want the guard reading MY_GUARD_KEY, and no warning:\n%s", code, out)
			}
		})
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"edge", "--config", "env.Caddyfile"}, "--target is required: one of cloudflare-worker, cloudfront-function, fastly-vcl, nginx-lua"},
		{[]string{"edge", "--target", "nginx-lua"}, "--config is required"},
		{[]string{"edge", "--target", "nginx-lua", "--config", "unstamped.Caddyfile"}, "has no owner_stamp"},
		{[]string{"edge", "--target", "varnish", "--config", "env.Caddyfile"}, "no varnish target"},
		{[]string{"edge", "--target", "nginx-lua", "--config", "env.Caddyfile", "--on-mismatch", "pass"}, "ngx.exec"},
		{[]string{"edge", "--target", "nginx-lua", "--config", "missing.Caddyfile"}, "missing.Caddyfile"},
	} {
		if code, out := runCachefence(t, bin, dir, tc.args...); code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%q: exit %d, want a failure saying %q:\n%s", tc.args, code, tc.want, out)
		}
	}
}
