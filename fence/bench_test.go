package fence

import (
	"net/http"
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
}

func BenchmarkClassify(b *testing.B) {
	p := &Policy{IgnoreCookies: []string{"_ga*", "_gid", "consent"}, TagHeader: "X-Cache-Fence-Tag"}
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := p.Request(bc.req, bc.path, false, false)
				_ = p.Classify(req, 200, bc.resp)
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

// The allocation targets are part of the contract: classifying must not
// allocate (once a Cache-Control value has been seen), and fencing
// allocates only the rewritten header values.
func TestAllocations(t *testing.T) {
	p := &Policy{IgnoreCookies: []string{"_ga*", "_gid", "consent"}, TagHeader: "X-Cache-Fence-Tag"}
	for _, bc := range benchCases {
		classify := func() {
			_ = p.Classify(p.Request(bc.req, bc.path, false, false), 200, bc.resp)
		}
		classify() // warm the Cache-Control memo
		if n := testing.AllocsPerRun(100, classify); n != 0 {
			t.Errorf("%s: %v allocations per classification, want 0", bc.name, n)
		}
	}
	h := http.Header{}
	if n := testing.AllocsPerRun(100, func() { Rewrite(h) }); n != 1 {
		t.Errorf("Rewrite: %v allocations, want 1", n)
	}
}
