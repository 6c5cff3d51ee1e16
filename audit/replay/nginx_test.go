package replay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	nginxconf "github.com/cachefence/cachefence/audit/nginx"
)

// rewriteNginx writes files into a directory, rewrites the first as
// --run does, and returns the result with the notes.
func rewriteNginx(t *testing.T, files map[string]string, main string) (string, []string, error) {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := &nginxRewrite{root: dir, dir: "/run/tmp", origin: "127.0.0.1:6000", port: 7000}
	ds, err := c.flatten(filepath.Join(dir, main), 0)
	if err == nil {
		ds, err = c.rewrite(ds)
	}
	if err != nil {
		return "", c.notes, err
	}
	w := &confWriter{origins: map[int]string{}}
	w.write(c.withListen(ds), 0)
	return w.b.String(), c.notes, nil
}

// What the run changes in an nginx.conf, directive by directive (see
// docs/audit-run.md).
func TestNginxRewrite(t *testing.T) {
	const site = `user www-data; worker_processes auto; pid /run/nginx.pid; error_log /var/log/nginx/error.log;
events { worker_connections 768; }
stream { server { listen 3306; proxy_pass db:3306; } }
http {
	access_log /var/log/nginx/access.log main;
	proxy_cache_path /var/cache/nginx keys_zone=z:10m;
	fastcgi_cache_path /var/cache/fcgi keys_zone=f:10m;
	proxy_temp_path /var/lib/nginx/proxy;
	upstream app { server 10.0.0.5:3000 weight=2; server 10.0.0.6:3000 backup; keepalive 8; }
	server { listen 80; server_name example.com; return 301 https://$host$request_uri; }
	server {
		listen 443 ssl http2; listen [::]:443 ssl; server_name example.com www.example.com;
		ssl_certificate /etc/ssl/x.pem; ssl_protocols TLSv1.2;
		location / { proxy_pass http://app; proxy_cache z; proxy_ssl_verify on; }
		location /api/ { proxy_pass https://api.internal:8443/v1/; }
		location /ws { proxy_pass http://$backend; }
		location ~ \.php$ { fastcgi_pass unix:/run/php/fpm.sock; fastcgi_cache f; fastcgi_cache_valid 200 1m;
			fastcgi_ignore_headers Cache-Control; fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name; }
	}
}
`
	got, notes, err := rewriteNginx(t, map[string]string{"nginx.conf": site}, "nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"pid /run/tmp/nginx.pid;\n", "error_log stderr warn;\n", "worker_processes 1;\n",
		"\taccess_log off;\n", "\tproxy_cache_path /run/tmp/cache-1 keys_zone=z:10m;\n", "\tproxy_cache_path /run/tmp/cache-2 keys_zone=f:10m;\n",
		"\tproxy_temp_path /run/tmp/proxy_temp;\n",
		"\tupstream app {\n\t\tserver 127.0.0.1:6000;\n\t\tkeepalive 8;\n\t}\n",
		"\tserver {\n\t\tlisten 127.0.0.1:7000;\n\t\tserver_name example.com www.example.com;\n",
		"proxy_pass http://app;", "proxy_pass http://127.0.0.1:6000/v1/;", "proxy_pass http://127.0.0.1:6000;",
		"proxy_cache f;", "proxy_cache_valid 200 1m;", "proxy_ignore_headers Cache-Control;",
		`location ~ "\.php$" {`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"www-data", "/var/", "ssl", "http2", "listen 80", "listen 443", "[::]", "return 301",
		"stream {", "3306", "10.0.0", "fastcgi_pass", "fastcgi_cache", "fastcgi_param", "api.internal", "$backend", "backup"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("%q left in:\n%s", unwanted, got)
		}
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "stream block left out") || !strings.Contains(notes[1], "server left out") {
		t.Errorf("notes %q", notes)
	}
	// What is written reads back as the same directives.
	ds, err := nginxconf.Parse("out.conf", []byte(got))
	if err != nil {
		t.Fatalf("the rewritten configuration does not parse: %v\n%s", err, got)
	}
	if n := len(walkAll(ds)); n < 30 {
		t.Errorf("%d directives read back", n)
	}
}

// Includes are joined in place: relative to the configuration, a glob
// keeping its directory, an absolute one by its trailing path; one found
// nowhere is left out and said, a file never includes itself.
func TestNginxIncludes(t *testing.T) {
	got, notes, err := rewriteNginx(t, map[string]string{
		"nginx.conf":            "include /etc/nginx/modules-enabled/*.conf;\nevents {}\nhttp { include conf.d/*.conf; include /etc/nginx/snippets/headers.conf; include nowhere.conf; include *.conf; }\n",
		"conf.d/a.conf":         "server { location / { proxy_pass http://a; } }\n",
		"conf.d/b.conf":         "server { server_name b; location / { proxy_pass http://b; } }\n",
		"snippets/headers.conf": "add_header X-Site demo;\n",
	}, "nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(got, "listen 127.0.0.1:7000;") != 2 || !strings.Contains(got, "add_header X-Site demo;") {
		t.Errorf("includes not joined:\n%s", got)
	}
	if strings.Count(got, "events") != 1 {
		t.Errorf("nginx.conf included itself through *.conf:\n%s", got)
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "include nowhere.conf not found") || !strings.Contains(notes[1], "includes itself") {
		t.Errorf("notes %q", notes)
	}
}

// What cannot run is refused, with the reason.
func TestNginxRefused(t *testing.T) {
	for _, tc := range []struct{ name, conf, err string }{
		{"no upstream", "events {}\nhttp { server { listen 80; root /srv; } }\n", "no server block passes requests to an upstream"},
		{"lua", "events {}\nhttp { server { location / { content_by_lua_block { ngx.say('x') } } } }\n", "holds Lua"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := rewriteNginx(t, map[string]string{"nginx.conf": tc.conf}, "nginx.conf"); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}

// An argument is written so that nginx reads it back as it was read.
func TestQuoteArg(t *testing.T) {
	for _, arg := range []string{`plain`, `$host$request_uri`, `a b`, `"quoted"`, `it's`, `\.php$`, `^/(a|b){2}$`, `x;y`, `#frag`, `end\`} {
		text := "d " + quoteArg(arg) + ";\n"
		ds, err := nginxconf.Parse("q.conf", []byte(text))
		if err != nil || len(ds) != 1 || len(ds[0].Args) != 1 || ds[0].Args[0] != arg {
			t.Errorf("%q written as %q reads back as %+v (%v)", arg, text, ds, err)
		}
	}
}
