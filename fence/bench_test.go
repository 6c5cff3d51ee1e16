package fence

import (
	"net/http"
	"net/url"
	"testing"
)

// Representative cases for the classifier. The shared path must not
// allocate; see BENCHMARKS.md for the numbers.
var benchCases = []struct {
	name string
	req  http.Header
	path string
	resp http.Header
}{
	{"anonymous_shared", http.Header{"Accept": {"text/html"}}, "/",
		http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Cache-Control": {"public, max-age=60"}, "Vary": {"Accept-Encoding"}}},
	{"analytics_cookie_shared", http.Header{"Cookie": {"_ga=GA1.2.3; _gid=GA1.2.4; consent=yes"}}, "/static/app.css",
		http.Header{"Content-Type": {"text/css"}, "Cache-Control": {"public, max-age=86400, immutable"}}},
	{"session_cookie", http.Header{"Cookie": {"_ga=GA1.2.3; sid=abcdef0123456789"}}, "/account",
		http.Header{"Content-Type": {"text/html"}, "Cache-Control": {"no-cache"}, "Expires": {"Thu, 01 Jan 1970 00:00:00 GMT"}}},
	{"set_cookie_response", http.Header{}, "/login",
		http.Header{"Content-Type": {"text/html"}, "Set-Cookie": {"sid=abc; Path=/; HttpOnly"}, "Cache-Control": {"public, max-age=300"}}},
	{"malformed_cache_control", http.Header{}, "/",
		http.Header{"Content-Type": {"text/html"}, "Cache-Control": {"max-age=abc, public"}}},
	{"targeted_override", http.Header{}, "/dashboard",
		http.Header{"Content-Type": {"text/html"}, "Cache-Control": {"private"}, "Surrogate-Control": {"max-age=3600"}}},
	{"nextjs_isr_shared", http.Header{"Cookie": {"_ga=GA1.2.3"}}, "/blog/post-1",
		http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Cache-Control": {"s-maxage=31536000, stale-while-revalidate"}, "Vary": {"RSC, Next-Router-State-Tree, Next-Router-Prefetch"}}},
	{"public_path_asset_with_session", http.Header{"Cookie": {"_ga=GA1.2.3; sid=abcdef0123456789"}}, "/static/app.js",
		http.Header{"Content-Type": {"text/javascript; charset=utf-8"}, "Cache-Control": {"public, max-age=31536000, immutable"}, "Last-Modified": {"Mon, 23 Nov 2026 12:00:00 GMT"}}},
	{"private_path_upper_case", http.Header{}, "/Account/Orders",
		http.Header{"Content-Type": {"text/html"}, "Cache-Control": {"no-cache"}}},
}

// benchConfig is a realistic configuration: analytics cookies ignored,
// private and public paths, a tag header.
var benchConfig = Config{
	IgnoreCookies: []string{"_ga*", "_gid", "consent"},
	TagHeader:     "X-Cache-Fence-Tag",
	PrivatePaths:  []string{"/account*", "/orders/*"},
	PublicPaths:   []string{"/static/*"},
}

func BenchmarkClassify(b *testing.B) {
	p := newPolicy(b, benchConfig)
	for _, bc := range benchCases {
		u, err := url.ParseRequestURI(bc.path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := p.Request(bc.req, u)
				_ = p.Classify(&req, 200, bc.resp)
			}
		})
	}
}

// BenchmarkRewrite is the cost of fencing, on top of classifying.
// In a server each response has a fresh header map, and the fields Rewrite
// adds make it grow; fresh_map less fresh_map_baseline is that real cost.
func BenchmarkRewrite(b *testing.B) {
	b.Run("reused_map", func(b *testing.B) {
		b.ReportAllocs()
		h := http.Header{}
		for b.Loop() {
			Rewrite(h)
		}
	})
	b.Run("fresh_map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Rewrite(proxiedHeader())
		}
	})
	b.Run("fresh_map_baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			proxiedHeader()
		}
	})
}

// proxiedHeader builds the header map of a response as a reverse proxy
// does, one field at a time into a map made without a size.
//
//go:noinline
func proxiedHeader() http.Header {
	h := make(http.Header)
	for _, kv := range [...][2]string{
		{"Content-Type", "text/html; charset=utf-8"}, {"Content-Length", "2048"},
		{"Date", "Mon, 23 Nov 2026 12:00:00 GMT"}, {"Cache-Control", "no-cache"},
		{"Server", "Caddy"}, {"Via", "1.1 Caddy"},
	} {
		h[kv[0]] = []string{kv[1]}
	}
	return h
}

// The allocation targets are part of the contract: reading a request and
// classifying must not allocate, whatever rule fires (the upper-case
// private path aside: its route forms are built), and fencing allocates
// only the rewritten header values.
func TestAllocations(t *testing.T) {
	p := newPolicy(t, benchConfig)
	for _, bc := range benchCases {
		u, err := url.ParseRequestURI(bc.path)
		if err != nil {
			t.Fatal(err)
		}
		classify := func() {
			req := p.Request(bc.req, u)
			_ = p.Classify(&req, 200, bc.resp)
		}
		want := 0.0
		if bc.name == "private_path_upper_case" {
			want = testing.AllocsPerRun(1, func() { routeForms(u.EscapedPath()) })
		}
		if n := testing.AllocsPerRun(100, classify); n != want {
			t.Errorf("%s: %v allocations per classification, want %v", bc.name, n, want)
		}
	}
	h := http.Header{}
	if n := testing.AllocsPerRun(100, func() { Rewrite(h) }); n != 1 {
		t.Errorf("Rewrite: %v allocations, want 1", n)
	}
}
