package audit

import (
	"strings"
	"testing"
)

// Static is "static" only when every URL the pattern can match ends with a
// static extension or lies under a static directory. The patterns are
// written as real configurations write them: Cloudflare expressions and
// Page Rule targets, CloudFront path patterns, nginx locations, Fastly and
// Varnish VCL conditions, Akamai extension lists.
func TestStaticPatterns(t *testing.T) {
	tests := []struct {
		pattern, want string
	}{
		// nginx exact locations: one URL, nothing else stored under it.
		{`= /favicon.ico`, "the one file /favicon.ico"},
		{`= /robots.txt`, ""}, // txt may be rendered per user
		{`= /account`, ""},
		{`= /account.php`, ""},
		{`= /a b.css`, ""},
		// Cloudflare expressions.
		{`(http.request.uri.path.extension in {"js" "css" "woff2" "png"})`, "extensions js, css, woff2, png"},
		{`(http.request.uri.path.extension eq "css") or (http.request.uri.path.extension eq "js")`, "extensions css; extensions js"},
		{`(ends_with(http.request.uri.path, ".webp")) or (ends_with(http.request.uri.path, ".css")) or (ends_with(http.request.uri.path, ".js"))`,
			"extensions webp; extensions css; extensions js"},
		{`(ends_with(http.request.uri.path, ".css")) or (ends_with(http.request.uri.path, ".php"))`, ""},
		{`(http.request.uri.path.extension in {"json" "webmanifest"}) or (starts_with(http.request.uri.path, "/api"))`, ""},
		{`(http.request.uri.path.extension eq "json")`, ""},
		{`(http.request.uri.path.extension in {"css" "js" "json"})`, ""},
		{`(http.request.uri.path.extension in {"pdf"})`, ""},
		{`(http.request.uri.path.extension in {"css" "csv"})`, ""},
		{`(starts_with(http.request.uri.path, "/_next/static/") and http.request.uri.path.extension eq "json")`, "path prefix /_next/static/"},
		{`(starts_with(http.request.uri.path, "/assets/")) or (http.request.uri.path.extension in {"woff2"})`, "path prefix /assets/; extensions woff2"},
		{`(http.request.uri.path contains "/static/")`, ""},
		{`(http.request.uri.path matches "^/_next/static/")`, "path prefix /_next/static/"},
		{`(http.request.uri.path matches "\\.(js|css|woff2)$")`, "extensions js, css, woff2"},
		{`(http.request.uri.path matches ".*\\.(css).*")`, ""},
		{`(http.host eq "cdn.example.com")`, ""},
		{`(http.request.uri.path.extension in {"css"} and http.cookie contains "session")`, "extensions css"},
		{`not http.request.uri.path.extension in {"html"}`, ""},
		{`true`, ""},
		// Page Rule targets.
		{`*example.com/*.jpg`, "extensions jpg"},
		{`www.example.com/static/*`, "path prefix /static/"},
		{`doc.example.com/*`, ""},
		// CloudFront path patterns.
		{`/static/*`, "path prefix /static/"},
		{`/static*`, ""},
		{`*.css`, "extensions css"},
		{`/images/*.jpg`, "extensions jpg"},
		{`*.css*`, ""},
		{`/api/*`, ""},
		{`/tracks/*/exercises/*/solutions/*.jpg`, "extensions jpg"},
		{`/reports/*.pdf`, ""},
		{`/export/*.csv`, ""},
		{`/site.webmanifest`, ""},
		// nginx locations.
		{`~* \.(css|js|gif|jpe?g|png)$`, "extensions css, js, gif, jpeg, png"},
		{`~* \.(css|html?)$`, ""},
		{`~* \.(?:css|js|woff2)$`, "extensions css, js, woff2"},
		{`~* \.(css|js)(\?.*)?$`, "extensions css, js"},
		{`~ \.php84$`, ""},
		{`~ \.php5$`, ""},
		{`~ \.phtml$`, ""},
		{`~* \.aspx$`, ""},
		{`~ .*\.(css).*`, ""},
		{`~ \.(css)`, ""},
		{`~* \.(css|js)$|^/api/`, ""},
		{`/static/`, "path prefix /static/"},
		{`^~ /assets/`, "path prefix /assets/"},
		{`~ ^/static/`, "path prefix /static/"},
		{`~ /static/`, ""},
		{`/account/`, ""},
		// Fastly and Varnish VCL conditions.
		{`req.url.ext ~ "^(css|js)$"`, "extensions css, js"},
		{`req.url.ext ~ "js"`, ""},
		{`req.url.ext == "css"`, "extensions css"},
		{`req.url.ext ~ "^(css|json)$"`, ""},
		{`req.url ~ "\.(css|js)(\?.*)?$"`, "extensions css, js"},
		{`req.url ~ "^[^?]*\.(css|js|png)(\?.*)?$"`, "extensions css, js, png"},
		{`req.url ~ "\.(css|js)(\?|$)"`, "extensions css, js"},
		{`req.url ~ "\.(css|js)"`, ""},
		{`req.url ~ "^/static/" || req.url ~ "\.(css|js)$"`, "path prefix /static/; extensions css, js"},
		{`req.url ~ "^/static/" || req.url ~ "^/account"`, ""},
		{`req.url ~ "^/static/" && req.http.Cookie`, "path prefix /static/"},
		{`!(req.url ~ "\.(css|js)$")`, ""},
		{`req.url !~ "\.(php|html)$"`, ""},
		// Akamai's extension criteria, as the akamai reader writes them.
		{`\.(css|js|svg)$`, "extensions css, js, svg"},
		{`\.(css|xlsx)$`, ""},
		{``, ""},
		{`   `, ""},
	}
	for _, tt := range tests {
		if got := Static(tt.pattern); got != tt.want {
			t.Errorf("Static(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}

// Every family of script extensions counts as dynamic, by prefix too.
func TestDynamicExtension(t *testing.T) {
	for ext, want := range map[string]bool{
		"php": true, "php84": true, "php5": true, "phtml": true, "aspx": true, "jspf": true, "html5": true,
		"json": true, "pdf": true, "csv": true, "xlsx": true, "docx": true, "zip": true, "ics": true, "vcf": true,
		"css": false, "js": false, "woff2": false, "png": false, "svg": false, "pls": false, "mp4": false,
	} {
		if got := dynamicExtension(ext); got != want {
			t.Errorf("dynamicExtension(%q) = %v, want %v", ext, got, want)
		}
	}
}

// A long hostile pattern is classified in linear time.
func TestStaticLong(t *testing.T) {
	long := make([]byte, 0, 1<<18)
	for len(long) < 1<<18 {
		long = append(long, `(((\.(css|`...)
	}
	if got := Static(string(long)); got != "" {
		t.Errorf("got %q", got)
	}
}

// Static never panics, answers "" or a reason of a known form, and never
// calls an alternative with "true" static.
func FuzzStatic(f *testing.F) {
	for _, seed := range []string{`*.css`, `/static/*`, `~* \.(css|jpe?g)(\?.*)?$`, `req.url ~ "^/static/" || x`,
		`(http.request.uri.path.extension in {"css" "js"})`, `ends_with(http.request.uri.path, ".css")`, `~ ^/`, `(|)`, `^~`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got := Static(p)
		for _, why := range strings.Split(got, "; ") {
			if got != "" && !strings.HasPrefix(why, "extensions ") && !strings.HasPrefix(why, "path prefix /") {
				t.Errorf("Static(%q) = %q", p, got)
			}
		}
		if widened := Static(p + " or true"); widened != "" {
			t.Errorf("Static(%q or true) = %q", p, widened)
		}
	})
}
