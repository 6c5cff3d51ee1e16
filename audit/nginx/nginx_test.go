package nginx

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachefence/cachefence/audit"
)

func readConf(t *testing.T, files map[string]string, main string) *audit.Config {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, main)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Read([]audit.File{{Path: path, Data: data}})
}

func ids(cfg *audit.Config) []string {
	var out []string
	for _, f := range audit.Run(cfg.Scopes) {
		out = append(out, f.ID+"@"+filepath.Base(f.File)+":"+itoa(f.Line))
	}
	slices.Sort(out)
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

// nginx merges these directives by level: the innermost one wins, and a
// level that hides any header replaces the hidden list it inherits.
func TestInheritance(t *testing.T) {
	const conf = `http {
  proxy_cache one;
  proxy_cache_valid 200 10m;
  proxy_ignore_headers Cache-Control Expires X-Accel-Expires Set-Cookie;
  proxy_hide_header Set-Cookie;
  proxy_no_cache $http_authorization $cookie_sid;
  server {
    server_name shop.example;
    location /cart {
      proxy_cache off;
      proxy_pass http://app;
    }
    location /static/ {
      proxy_pass http://app;
    }
    location / {
      proxy_hide_header X-Powered-By;
      proxy_ignore_headers Set-Cookie;
      proxy_pass http://app;
    }
    location ~ \.php$ {
      fastcgi_cache php;
      fastcgi_cache_valid 200 1m;
      fastcgi_pass unix:/run/php.sock;
    }
  }
}
`
	got := ids(readConf(t, map[string]string{"nginx.conf": conf}, "nginx.conf"))
	want := []string{
		// PHP through FastCGI: nothing keeps credentials apart.
		"caches_authorization@nginx.conf:22", "cookies_not_in_key@nginx.conf:22",
		// location /: Set-Cookie ignored, and no longer hidden there.
		"replays_set_cookie@nginx.conf:18",
		// location /static/: the http level's ignores, on a static path.
		"static_rule_ignores_headers@nginx.conf:4",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// Ignoring Cache-Control, X-Accel-Expires and Expires together leaves
// nothing of the fence's rewrite that nginx obeys.
func TestIgnoresEverything(t *testing.T) {
	conf := "server {\n  proxy_cache one;\n  proxy_cache_valid any 1m;\n  proxy_no_cache $http_authorization $http_cookie;\n  location / {\n    proxy_ignore_headers %s;\n    proxy_pass http://app;\n  }\n}\n"
	for headers, want := range map[string]string{
		"Cache-Control X-Accel-Expires Expires": "stores_private@site.conf:6",
		"Cache-Control":                         "ignores_private@site.conf:6",
		"Expires":                               "overrides_freshness@site.conf:6",
	} {
		got := ids(readConf(t, map[string]string{"site.conf": strings.Replace(conf, "%s", headers, 1)}, "site.conf"))
		if !slices.Equal(got, []string{want}) {
			t.Errorf("proxy_ignore_headers %s: got %v, want %s", headers, got, want)
		}
	}
}

// Includes are followed relative to the file, then to the main file's
// directory, with globs; a deployed absolute path is looked for beside
// the configuration; a missing one and a cycle are said.
func TestIncludes(t *testing.T) {
	cfg := readConf(t, map[string]string{
		"nginx.conf":          "http {\n  include /etc/nginx/conf.d/*.conf;\n  include missing.conf;\n}\n",
		"conf.d/site.conf":    "server {\n  include snippets/cache.conf;\n  location / { proxy_pass http://app; }\n}\n",
		"snippets/cache.conf": "proxy_cache one;\ninclude snippets/loop.conf;\n",
		"snippets/loop.conf":  "include snippets/cache.conf;\n",
	}, "nginx.conf")
	if got := ids(cfg); !slices.Equal(got, []string{"caches_authorization@cache.conf:1", "cookies_not_in_key@cache.conf:1"}) {
		t.Errorf("findings %v", got)
	}
	var what []string
	for _, s := range cfg.Skipped {
		what = append(what, s.What)
	}
	if len(what) != 2 || !strings.Contains(what[0]+what[1], "missing.conf") || !strings.Contains(what[0]+what[1], "cycle") {
		t.Errorf("skipped %v", what)
	}
}

func TestParseErrors(t *testing.T) {
	for conf, want := range map[string]string{
		"server {\n  listen 80;\n":          `line 1: a block is not closed`,
		"}\n":                               `line 1: unexpected "}"`,
		"add_header X \"unterminated;\n":    "line 1: unterminated quoted string",
		"location / {\n  proxy_pass x\n}\n": `line 2: a directive is not terminated by ";"`,
		"TOKEN=s3cr3t\n":                    `line 1: a directive is not terminated by ";"`,
		"{ }":                               `line 1: unexpected "{"`,
	} {
		if _, err := Parse("x.conf", []byte(conf)); err == nil || err.Error() != want {
			t.Errorf("Parse(%q) = %v, want %s", conf, err, want)
		}
	}
	ds, err := Parse("x.conf", []byte("location ~* \"\\.(css|js)$\" { add_header X-A '${a}b' ; }\nset $x ${y}z;\n"))
	if err != nil || len(ds) != 2 || ds[0].Args[1] != `\.(css|js)$` || ds[0].Block[0].Args[1] != "${a}b" || ds[1].Args[1] != "${y}z" {
		t.Errorf("Parse: %v, %+v", err, ds)
	}
}

// A copy of Debian's stock nginx.conf, whose includes name directories the
// copy lacks, is still audited: each include that matches nothing is said,
// none matches the configuration itself, and a site the copy does hold is
// followed. The sites-enabled glob once fell back on "*" beside the copy,
// which matched nginx.conf itself: it was then taken as included and never
// walked, and the run said clean.
func TestStockDebianConfiguration(t *testing.T) {
	stock, err := os.ReadFile(filepath.Join("testdata", "debian-stock", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := readConf(t, map[string]string{"nginx.conf": string(stock)}, "nginx.conf")
	var what []string
	for _, s := range cfg.Skipped {
		what = append(what, s.What)
	}
	for _, include := range []string{"modules-enabled/*.conf", "mime.types", "conf.d/*.conf", "sites-enabled/*"} {
		if !slices.ContainsFunc(what, func(w string) bool { return strings.Contains(w, include) && strings.Contains(w, "no such file") }) {
			t.Errorf("the include of %s is not said to match nothing: %q", include, what)
		}
	}
	if len(what) != 4 {
		t.Errorf("skipped %q, want the four includes", what)
	}

	cfg = readConf(t, map[string]string{
		"nginx.conf":           string(stock),
		"sites-enabled/shop":   "proxy_cache_path /var/cache/nginx keys_zone=one:10m;\nserver {\n  location / {\n    proxy_cache one;\n    proxy_pass http://app;\n  }\n}\n",
		"unrelated/stray.conf": "server { location / { proxy_cache one; proxy_pass http://other; } }\n",
	}, "nginx.conf")
	if got := ids(cfg); !slices.Equal(got, []string{"caches_authorization@shop:4", "cookies_not_in_key@shop:4"}) {
		t.Errorf("findings %v, want the shop site's through nginx.conf", got)
	}
}

// An include is read only inside the directories of the files given, and
// only if it is a regular file: never ../, a symlink out, a deployed path
// of this machine (/proc/self/environ would put its environment into the
// report), /dev/zero or a FIFO.
func TestIncludesStayInside(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "site", "nginx.conf")
	outside := filepath.Join(dir, "outside.conf")
	for path, content := range map[string]string{
		conf:    "include ../outside.conf;\ninclude /proc/self/environ;\ninclude zero.conf;\ninclude link.conf;\ninclude fifo.conf;\n",
		outside: "server { location / { proxy_cache one; proxy_pass http://app; } }\n",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"zero.conf": "/dev/zero", "link.conf": outside} {
		if err := os.Symlink(target, filepath.Join(dir, "site", link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "site", "fifo.conf"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *audit.Config)
	go func() { done <- Read([]audit.File{{Path: conf, Data: data}}) }()
	var cfg *audit.Config
	select {
	case cfg = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Read hangs on an include (a FIFO?)")
	}
	if got := ids(cfg); len(got) != 0 {
		t.Errorf("findings %v: a file outside the configuration was read", got)
	}
	if len(cfg.Errors) != 0 {
		t.Errorf("errors %v: nothing outside should even be tried", cfg.Errors)
	}
	var what []string
	for _, s := range cfg.Skipped {
		what = append(what, s.What)
	}
	for _, want := range []string{"/outside.conf: it lies outside", "/proc/self/environ: no such file here",
		"zero.conf: it lies outside", "link.conf: it lies outside", "fifo.conf: it is not a regular file"} {
		if !slices.ContainsFunc(what, func(w string) bool { return strings.Contains(w, want) }) {
			t.Errorf("no skip says %q: %q", want, what)
		}
	}
}
