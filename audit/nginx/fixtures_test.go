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
			"caches_authorization@wpfc.conf:33", "cookies_not_in_key@wpfc.conf:32",
			"ignores_private@fastcgi.conf:9", "replays_set_cookie@fastcgi.conf:9",
		}, []string{"wpfc.conf:29 include fastcgi_params: no such file here, so its directives were not audited"}},
		// WordOps's WordPress FastCGI cache: the same ignores, but the
		// no_cache variable is built by maps, one of which fires on
		// Authorization (default 1; "" 0): that is kept apart. Its cookie
		// map names WooCommerce's cart cookies, not its session.
		{"wordops-wpfc", []string{
			"cookies_not_in_key@wpfc-php83.conf:14", "ignores_private@fastcgi.conf:19", "replays_set_cookie@fastcgi.conf:19",
		}, []string{"wpfc-php83.conf:11 include fastcgi_params: no such file here"}},
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
			// A WordPress guard that misses WooCommerce's session is shown
			// at the guard, with the cookie it lets through.
			for _, f := range audit.Run(cfg.Scopes) {
				if f.ID == "cookies_not_in_key" && strings.HasSuffix(tc.dir, "-wpfc") &&
					(!strings.HasSuffix(f.Setting, "_no_cache") || !strings.HasSuffix(f.Value, "(lets wp_woocommerce_session_* through)")) {
					t.Errorf("%s = %q does not say which session the guard lets through", f.Setting, f.Value)
				}
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

// A FastCGI, uwsgi or SCGI cache's fixes and sources name its module's
// directives, and its findings are defended where X-Accel-Expires is
// still obeyed: EasyEngine's FastCGI cache, and each module alike.
func TestModulesNameTheirDirectives(t *testing.T) {
	moduleFixes(t, "fastcgi", audit.Run(readFixture(t, "easyengine-wpfc").Scopes), 4)
	for _, m := range []string{"fastcgi", "uwsgi", "scgi"} {
		conf := strings.ReplaceAll("server {\n  location / {\n    M_pass app;\n    M_cache one;\n    M_cache_valid 1m;\n    M_ignore_headers Cache-Control Set-Cookie;\n  }\n}\n", "M_", m+"_")
		moduleFixes(t, m, audit.Run(readConf(t, map[string]string{"site.conf": conf}, "site.conf").Scopes), 4)
	}
}

func moduleFixes(t *testing.T, m string, findings []audit.Finding, want int) {
	t.Helper()
	if len(findings) != want {
		t.Errorf("%s: %d findings, want %d", m, len(findings), want)
	}
	for _, f := range findings {
		if !strings.Contains(f.Fix, m+"_") || strings.Contains(f.Fix, "proxy_") {
			t.Errorf("%s %s: fix %q does not name %s_* directives alone", m, f.ID, f.Fix, m)
		}
		if !strings.Contains(f.Source, "ngx_http_"+m+"_module") {
			t.Errorf("%s %s: source %q is not the module's", m, f.ID, f.Source)
		}
		if !f.DefendedByFence {
			t.Errorf("%s %s is not defended, though X-Accel-Expires is obeyed", m, f.ID)
		}
	}
}
