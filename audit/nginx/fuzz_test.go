package nginx

import (
	"testing"

	"github.com/cachefence/cachefence/audit"
)

// Parse never panics, and what it parses can be audited.
func FuzzParse(f *testing.F) {
	f.Add([]byte("location / {\n  access_by_lua_block { local s = [==[ } ]==] -- }\n t = {'}'} }\n  proxy_pass http://a; proxy_cache c;\n}\n"))
	f.Add([]byte("map $http_cookie $s { default 0; ~*sess 1; }\nserver { set $k 0; if ($http_cookie ~* \"wordpress_logged_in\") { set $k 1; }\n" +
		"location ~ \\.php$ { fastcgi_pass php; fastcgi_cache W; fastcgi_no_cache $k $s; fastcgi_ignore_headers Cache-Control; fastcgi_cache_valid 1m; } }\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := Parse("f.conf", data)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		cfg := &audit.Config{}
		auditTree(ds, cfg)
		audit.Run(cfg.Scopes)
	})
}
