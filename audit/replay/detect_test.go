package replay

import "testing"

// The session cookie is one on which the configuration skips the cache.
func TestDetectSessionCookie(t *testing.T) {
	for _, tc := range []struct{ name, file, conf, want string }{
		{"vcl pass on a cookie", "a.vcl", `vcl 4.1; sub vcl_recv { if (req.http.Cookie ~ "wordpress_logged_in_|wp-postpass") { return (pass); } }`, "wordpress_logged_in_"},
		{"vcl nested, completed", "a.vcl", `vcl 4.1; sub vcl_recv { if (req.method == "GET") { if (req.http.cookie ~ "SESS[a-z0-9]+") { return (pass); } } }`, "SESS0"},
		{"vcl keyed, not passed", "a.vcl", `vcl 4.1; sub vcl_hash { if (req.http.cookie ~ "X-Magento-Vary=") { hash_data(req.http.cookie); } }`, ""},
		{"vcl anchored alternative", "a.vcl", `vcl 4.1; sub vcl_recv { if (req.http.Cookie ~ "(^|;\s*)(sessionid|csrftoken)=") { return (pass); } }`, "sessionid"},
		{"vcl empty-cookie test", "a.vcl", `vcl 4.1; sub vcl_recv { if (req.http.Cookie ~ "^\s*$") { return (pass); } }`, ""},
		{"vcl no cookie test", "a.vcl", `vcl 4.1; sub vcl_recv { return (pass); }`, ""},
		{"nginx cookie variable in a guard", "n.conf", `http { server { location / { proxy_no_cache $cookie_sessionid; proxy_cache_key $host$cookie_lang; } } }`, "sessionid"},
		{"nginx cookie variable in a key only", "n.conf", `http { server { location / { proxy_cache_key $host$cookie_lang; } } }`, ""},
		{"nginx if on $http_cookie", "n.conf", `http { server { location / { if ($http_cookie ~* "comment_author|wordpress_[a-f0-9]+") { set $skip 1; } } } }`, "comment_author"},
		{"nginx map", "n.conf", `http { map $http_cookie $no_cache { default 0; "~*logged_in=.*" 1; } }`, "logged_in"},
		{"nginx nothing", "n.conf", `http { server { location / { proxy_pass http://x; } } }`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := detectSessionCookie(tc.file, []byte(tc.conf)); got != tc.want {
				t.Errorf("%q, want %q", got, tc.want)
			}
		})
	}
}
