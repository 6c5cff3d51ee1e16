package fence

import (
	"net/url"
	"strings"
	"testing"
)

// TestPathMatching: public paths match only the path as sent, exactly;
// private paths match every form an origin may route the same way.
func TestPathMatching(t *testing.T) {
	p := newPolicy(t, Config{
		PrivatePaths: []string{"/account*", "/orders/*/invoice", "/me", "*.private"},
		PublicPaths:  []string{"/static/*", "*.woff2", "/favicon.ico", "/media/caf\u00e9/*", "*bundle.js"},
	})
	for _, tc := range []struct {
		target          string
		private, public bool
	}{
		// Plain paths.
		{"/account", true, false},
		{"/account/orders", true, false},
		{"/orders/42/invoice", true, false},
		{"/me", true, false},
		{"/static/app.css", false, true},
		{"/fonts/a.woff2", false, true},
		{"/favicon.ico", false, true},
		{"/media/caf%C3%A9/x.png", false, true},
		{"/", false, false},
		{"/about", false, false},

		// Caddy's matcher folds case, merges slashes and cleans dot
		// segments; origins that do not would route these elsewhere, so
		// none of them is public.
		{"/STATIC/app.css", false, false},
		{"/Static/app.css", false, false},
		{"//static/app.css", false, false},
		{"/static//app.css", false, false},
		{"/./static/app.css", false, false},
		{"/static/./app.css", false, false},
		{"/x/../static/app.css", false, false},
		{"/static/..;/account", true, false},
		{"/static/%2e%2e/account", true, false},
		{"/static%2F..%2Faccount", true, false},
		{"/static/app.css;jsessionid=1", false, false},
		{"/static/app.css%00.html", false, false},
		{`/static\app.css`, false, false},
		{"/FAVICON.ICO", false, false},
		{"/fonts/a.WOFF2", false, false},
		// Pattern text must not match across an escape: "bundle.js" ends
		// the path as sent, but the origin sees "/js/main\xabundle.js".
		{"/js/mainbundle.js", false, true},
		{"/js/main%abundle.js", false, false},

		// Every form of a private path is private.
		{"/ACCOUNT", true, false},
		{"/Account/Settings", true, false},
		{"//account", true, false},
		{"/x/../account", true, false},
		{"/%61ccount", true, false},
		{"/%2561ccount", true, false},          // double encoding
		{"/account;jsessionid=1", true, false}, // path parameter
		{"/me;x=1", true, false},
		{"/me/", true, false}, // trailing slash
		{"/me.", true, false}, // Windows drops trailing dots
		{"/me%20", true, false},
		{`/x\..\me`, true, false},                          // IIS reads backslashes as slashes
		{"/(S(lit3py55t21z5v55vlm25s55))/me", true, false}, // ASP.NET cookieless session
		{"/orders/42/INVOICE", true, false},
		{"/orders/42/invoice/", true, false},
		{"/x.PRIVATE", true, false},
		{"/me%00.css", true, false},              // C runtimes stop at NUL
		{"/orders/42/%C4%B1nvoice", true, false}, // ASP.NET folds "ı" to "I"
		{"/%C4%B1NVOICE.private", true, false},   //
		{"/index.php/account", true, false},      // PATH_INFO: Laravel, Symfony
		{"/blog/index.php/orders/1/invoice", true, false},
		{"/me.json", true, false},               // Rails: the format aside
		{"/orders/42/invoice.pdf", true, false}, //

		// Near misses stay what they are.
		{"/mexico", false, false},
		{"/orders/42/invoices", false, false},
		{"/index.php", false, false},
		{"/.me", false, false},
	} {
		u, err := url.ParseRequestURI(tc.target)
		if err != nil {
			t.Fatalf("bad target %q: %v", tc.target, err)
		}
		req := p.Request(nil, u)
		if req.PrivatePath != tc.private || req.PublicPath != tc.public {
			t.Errorf("%q: private=%v public=%v, want private=%v public=%v", tc.target, req.PrivatePath, req.PublicPath, tc.private, tc.public)
		}
	}
}

func TestPlainPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/":                   true,
		"/a/b.css":            true,
		"/a/b/":               true,
		"/a%20b":              true,
		"/caf%C3%A9":          true,
		"/a..b":               true, // not a dot segment
		"":                    false,
		"a/b":                 false,
		"//a":                 false,
		"/a//b":               false,
		"/./a":                false,
		"/a/..":               false,
		"/a/.":                false,
		"/a;b":                false,
		`/a\b`:                false,
		"/a%2fb":              false,
		"/a%2Fb":              false,
		"/a%5cb":              false,
		"/a%2eb":              false,
		"/a%3bb":              false,
		"/a%25b":              false,
		"/a%00":               false,
		"/a%0a":               false,
		"/a%zz":               false,
		"/a%2":                false,
		"/a\x00b":             false,
		"/a\x7fb":             false,
		"/%3f":                false,
		"/%23":                false,
		"/static/%2e%2e/x":    false,
		"/static/..%2f/x":     false,
		"/a/b.css%3Bx.html":   false,
		"/valid-name_1~x.js":  true,
		"/UPPER/Case/Is/Fine": true,
	} {
		if got := plainPath(p); got != want {
			t.Errorf("plainPath(%q) = %v, want %v", p, got, want)
		}
	}
}

// The fast path for simple lower-case paths must agree with routeForms.
func TestSimpleLowerPathAgreesWithRouteForms(t *testing.T) {
	for _, p := range []string{"/", "/a", "/a/", "/a/b-c_d~e.f", "/v1.2/x", "/a/b.css"} {
		if !simpleLowerPath(p) {
			t.Fatalf("simpleLowerPath(%q) = false", p)
		}
		cleaned, stripped := routeForms(p)
		if cleaned != p {
			t.Errorf("routeForms(%q) cleaned = %q, want the path itself", p, cleaned)
		}
		if want := strings.TrimSuffix(p, "/"); stripped != want {
			t.Errorf("routeForms(%q) stripped = %q, want %q", p, stripped, want)
		}
	}
	for _, p := range []string{"/A", "//a", "/./a", "/a/.", "/a.", "/.a", "/a;b", "/a%41", `/a\b`, "/a b", ""} {
		if simpleLowerPath(p) {
			t.Errorf("simpleLowerPath(%q) = true, want false", p)
		}
	}
}

func TestRedactPath(t *testing.T) {
	for in, want := range map[string]string{
		"/":                          "/",
		"/account/orders":            "/account/orders",
		"/caf%C3%A9/100%":            "/caf%C3%A9/100%",
		"/cart;jsessionid=ABC":       "/cart;REDACTED",
		"/cart;JSESSIONID=ABC/x;v=2": "/cart;REDACTED/x;REDACTED",
		"/cart%3Bjsessionid=ABC":     "/cart;REDACTED",
		"/cart%253bjsessionid=ABC":   "/cart;REDACTED",
		"/(S(lit3py55t21z5v55))/p":   "/(REDACTED)/p",
		"/%28S%28lit3py55%29%29/p":   "/(REDACTED)/p",
		"/(A(anon))(S(sess))/p.aspx": "/(REDACTED)/p.aspx",
		"/static/..;/account":        "/static/..;REDACTED/account",
		"/(notes)/x":                 "/(notes)/x",
	} {
		if got := RedactPath(in); got != want {
			t.Errorf("RedactPath(%q) = %q, want %q", in, got, want)
		}
	}
}
