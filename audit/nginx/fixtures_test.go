package nginx

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
)

// readFixture reads testdata/<dir>/nginx.conf where it lies, as the audit
// is given it, with its includes.
func readFixture(t *testing.T, dir string) *audit.Config {
	t.Helper()
	path := filepath.Join("testdata", dir, "nginx.conf")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Read([]audit.File{{Path: path, Data: data}})
	if len(cfg.Errors) > 0 {
		t.Fatalf("errors %v", cfg.Errors)
	}
	return cfg
}

func skipped(cfg *audit.Config) []string {
	var out []string
	for _, s := range cfg.Skipped {
		out = append(out, filepath.Base(s.File)+":"+itoa(s.Line)+" "+s.What)
	}
	return out
}

// The verdicts a reader of nginx's documentation gives the real
// configurations in testdata, and what each one skips.
func TestFixtureVerdicts(t *testing.T) {
	for _, tc := range []struct {
		dir      string
		findings []string
		skips    []string
	}{
		// EasyEngine's WordPress FastCGI cache (ee site create --wpfc):
		// Cache-Control, Expires and Set-Cookie ignored for every PHP
		// page, an hour by fastcgi_cache_valid. X-Accel-Expires is still
		// obeyed, so the fence's rewrite keeps fenced pages out: all
		// high. The bypass names WordPress's login cookies, not
		// WooCommerce's guest session (wp_woocommerce_session_), and the
		// key holds no cookie; Authorization is not looked at at all.
		{"easyengine-wpfc", []string{
			"caches_authorization@wpfc.conf:33", "cookies_not_in_key@wpfc.conf:33",
			"ignores_private@fastcgi.conf:9", "replays_set_cookie@fastcgi.conf:9",
		}, []string{"wpfc.conf:29 include fastcgi_params: no such file here, so its directives were not audited"}},
		// perusio's Drupal load balancer: a microcache that ignores
		// Cache-Control and Expires, X-Accel-Expires still obeyed. The
		// no_cache variable comes from map_cache.conf's maps, which fire
		// on Drupal's session cookie (SESS...): the session is kept out.
		// Authorization is not: HTTP Basic through the balancer is cached.
		{"drupal-microcache", []string{
			"caches_authorization@microcache_long_proxy.conf:3", "ignores_private@microcache_long_proxy.conf:17",
		}, nil},
		// APISIX: its proxy-cache plugin sets the zone, key and no_cache
		// variables from Lua. What nginx holds does not keep Authorization
		// or cookies apart; the Lua phases are said to be unread.
		{"apisix", []string{"caches_authorization@nginx.conf:113", "cookies_not_in_key@nginx.conf:113"}, []string{
			"nginx.conf:29 balancer_by_lua_block", "nginx.conf:38 init_by_lua_block", "nginx.conf:49 init_worker_by_lua_block",
			"nginx.conf:53 exit_worker_by_lua_block", "nginx.conf:73 access_by_lua_block", "nginx.conf:125 header_filter_by_lua_block",
			"nginx.conf:129 body_filter_by_lua_block", "nginx.conf:133 log_by_lua_block", "nginx.conf:140 access_by_lua_block",
			"nginx.conf:148 header_filter_by_lua_block", "nginx.conf:152 body_filter_by_lua_block", "nginx.conf:156 log_by_lua_block",
		}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			cfg := readFixture(t, tc.dir)
			if got := ids(cfg); !slices.Equal(got, tc.findings) {
				t.Errorf("findings %v, want %v", got, tc.findings)
			}
			got := skipped(cfg)
			if len(got) != len(tc.skips) {
				t.Fatalf("skipped %q, want %q", got, tc.skips)
			}
			for i, want := range tc.skips {
				if !strings.HasPrefix(got[i], want) {
					t.Errorf("skip %d is %q, want %q...", i, got[i], want)
				}
			}
		})
	}
}

// A FastCGI cache's fixes name fastcgi_* directives, and its findings
// are defended: the fence's X-Accel-Expires: 0 is obeyed there.
func TestFastCGIFixesNameFastCGI(t *testing.T) {
	findings := audit.Run(readFixture(t, "easyengine-wpfc").Scopes)
	if len(findings) == 0 {
		t.Fatal("no findings")
	}
	for _, f := range findings {
		if !strings.Contains(f.Fix, "fastcgi_") || strings.Contains(f.Fix, "proxy_") {
			t.Errorf("%s: fix %q does not name fastcgi_* directives alone", f.ID, f.Fix)
		}
		if !strings.Contains(f.Source, "ngx_http_fastcgi_module") {
			t.Errorf("%s: source %q is not the FastCGI module's", f.ID, f.Source)
		}
		if !f.DefendedByFence {
			t.Errorf("%s is not defended, though X-Accel-Expires is obeyed", f.ID)
		}
	}
}
