package nginx

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Guards made of variables are followed through set, if and map to the
// credentials they test. Only *_no_cache keeps a response out of the
// cache; *_cache_bypass alone fetches a fresh one and stores it.
func TestGuards(t *testing.T) {
	const (
		auth    = "caches_authorization"
		cookies = "cookies_not_in_key"
	)
	const wordpress = `comment_author|wordpress_[a-f0-9]+|wp-postpass|wordpress_no_cache|wordpress_logged_in`
	for _, tc := range []struct {
		name                 string
		http, server, guards string
		want                 []string
	}{
		{"none", "", "", "", []string{auth, cookies}},
		{"variables", "", "", "proxy_no_cache $http_authorization $cookie_sid;", nil},
		{"bypass alone stores", "", "", "proxy_cache_bypass $http_authorization $cookie_sid;", []string{auth, cookies}},
		{"a literal never caches", "", "", "proxy_no_cache 1;", nil},
		{"set from if on any cookie", "",
			"set $skip 0;\nif ($http_cookie) { set $skip 1; }\nif ($http_authorization != \"\") { set $skip 1; }",
			"proxy_no_cache $skip;", nil},
		{"if on the session cookie", "",
			"set $skip 0;\nif ($http_cookie ~* \"sessionid\") { set $skip 1; }",
			"proxy_no_cache $skip;", []string{auth}},
		{"if on an absent header fires on no credential", "",
			"if ($http_authorization = \"\") { set $skip 1; }\nif ($http_cookie !~ \"sid\") { set $skip 1; }",
			"proxy_no_cache $skip;", []string{auth, cookies}},
		{"set then reset under if is no guard", "",
			"set $skip 1;\nif ($request_method = GET) { set $skip 0; }",
			"proxy_no_cache $skip;", []string{auth, cookies}},
		{"set from a variable", "", "set $skip $cookie_sid$http_authorization;", "proxy_no_cache $skip;", nil},
		{"WordPress's cookies leave WooCommerce's session", "",
			"set $skip 0;\nif ($http_cookie ~* \"" + wordpress + "\") { set $skip 1; }",
			"proxy_no_cache $skip;", []string{auth, cookies}},
		{"WordPress's cookies and WooCommerce's session", "",
			"set $skip 0;\nif ($http_cookie ~* \"" + wordpress + "|wp_woocommerce_session_\") { set $skip 1; }",
			"proxy_no_cache $skip;", []string{auth}},
		{"maps, combined as WordOps and perusio do",
			"map $http_authorization $auth_no_cache { default 1; \"\" 0; }\n" +
				"map $http_cookie $cookie_no_cache { default 0; \"~*sessionid\" 1; }\n" +
				"map $uri $uri_no_cache { default 0; /ajax 1; }\n" +
				"map $auth_no_cache$cookie_no_cache$uri_no_cache $skip { default 1; 000 0; }",
			"", "proxy_no_cache $skip;", nil},
		{"a map's own $cookie_ name is no cookie",
			"map $request_uri $cookie_no_cache { default 0; ~^/cart 1; }", "", "proxy_no_cache $cookie_no_cache;", []string{auth, cookies}},
		{"a map on the session cookie", "map $cookie_sid $has_sid { \"\" 0; default 1; }", "", "proxy_no_cache $has_sid $http_authorization;", nil},
		{"a variable set from itself", "", "set $a $b;\nset $b $a;", "proxy_no_cache $a;", []string{auth, cookies}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := fmt.Sprintf("http {\n%s\nserver {\n%s\nlocation / {\nproxy_pass http://app;\nproxy_cache one;\n%s\n}\n}\n}\n", tc.http, tc.server, tc.guards)
			cfg := readConf(t, map[string]string{"nginx.conf": conf}, "nginx.conf")
			if len(cfg.Skipped) > 0 || len(cfg.Errors) > 0 {
				t.Fatalf("skipped %v, errors %v", cfg.Skipped, cfg.Errors)
			}
			var got []string
			for _, id := range ids(cfg) {
				got = append(got, strings.Split(id, "@")[0])
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings %v, want %v", got, tc.want)
			}
		})
	}
}

// A pattern Go's regexp cannot read (PCRE's lookbehind) is said to be
// skipped, once for the two locations that use it and without quoting it,
// and the guard is not assumed to hold.
func TestGuardPatternUnread(t *testing.T) {
	conf := "http {\nmap $http_cookie $skip { default 0; \"~(?<=x)s3cr3t\" 1; }\nserver {\nlocation / {\nproxy_pass http://app;\nproxy_cache one;\nproxy_no_cache $skip $http_authorization;\n}\nlocation /b {\nproxy_pass http://app;\nproxy_cache one;\nproxy_no_cache $skip $http_authorization;\n}\n}\n}\n"
	cfg := readConf(t, map[string]string{"nginx.conf": conf}, "nginx.conf")
	if got := ids(cfg); !slices.Equal(got, []string{"cookies_not_in_key@nginx.conf:11", "cookies_not_in_key@nginx.conf:6"}) {
		t.Errorf("findings %v", got)
	}
	if len(cfg.Skipped) != 1 || cfg.Skipped[0].Line != 2 || strings.Contains(cfg.Skipped[0].What, "s3cr3t") {
		t.Errorf("skipped %v", cfg.Skipped)
	}
}
