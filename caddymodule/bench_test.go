package caddymodule

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// discardWriter is the cheapest possible ResponseWriter, so the benchmark
// measures the fence rather than a recorder. Each response gets a fresh
// header map, as net/http gives each request.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

var page = []byte("<html><body>hello</body></html>")

// origin writes the header fields of a proxied page, as reverse_proxy
// copies them one by one into the response's map, and the page.
var origin = originWith(nil)

// fullOrigin writes the fields a production page carries besides: with
// twelve, the response's map is past Go's small-map form (eight entries)
// before the fence adds any.
var fullOrigin = originWith(http.Header{
	"Etag":                      {`"v1"`},
	"Last-Modified":             {"Mon, 23 Nov 2026 12:00:00 GMT"},
	"Vary":                      {"Accept-Encoding"},
	"X-Frame-Options":           {"DENY"},
	"Strict-Transport-Security": {"max-age=31536000"},
	"X-Request-Id":              {"4bf92f3577b34da6"},
})

// originWith is the origin with the fields of extra added.
func originWith(extra http.Header) caddyhttp.Handler {
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		h := w.Header()
		h["Content-Type"] = []string{"text/html; charset=utf-8"}
		h["Content-Length"] = []string{"31"}
		h["Date"] = []string{"Mon, 23 Nov 2026 12:00:00 GMT"}
		h["Cache-Control"] = []string{"public, max-age=60"}
		h["Server"] = []string{"Caddy"}
		h["Via"] = []string{"1.1 Caddy"}
		for name, v := range extra {
			h[name] = v
		}
		w.Write(page)
		return nil
	})
}

// withFencedFields is next with the fields a fenced response adds set by
// hand, as `header` directives would set them: what the response's map
// costs to hold them, without the fence.
func withFencedFields(next caddyhttp.Handler) caddyhttp.Handler {
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		h := w.Header()
		for _, name := range [...]string{"Surrogate-Control", "Cdn-Cache-Control", "Edge-Control", "X-Accel-Expires"} {
			h[name] = noStore
		}
		return next.ServeHTTP(w, r)
	})
}

var noStore = []string{"no-store"}

// handlerCases are the requests of the benchmark and of the allocation
// test: without the fence, through it and shared, through it and fenced,
// and without it but with the fenced fields set by hand, each for the
// small origin and the full one.
var handlerCases = []struct {
	name   string
	cookie string
	fence  bool
	origin caddyhttp.Handler
}{
	{"plain", "", false, origin},
	{"plain_fenced_fields", "", false, withFencedFields(origin)},
	{"fence_shared", "", true, origin},
	{"fence_shared_analytics_cookie", "_ga=GA1.2.3", true, origin},
	{"fence_fenced", "sid=abc", true, origin},
	{"plain_full", "", false, fullOrigin},
	{"plain_full_fenced_fields", "", false, withFencedFields(fullOrigin)},
	{"fence_shared_full", "", true, fullOrigin},
	{"fence_fenced_full", "sid=abc", true, fullOrigin},
}

func benchHandler(tb testing.TB) *Handler {
	h := &Handler{IgnoreCookies: []string{"_ga*"}, PrivatePaths: []string{"/account*"}, PublicPaths: []string{"/static/*"}}
	if err := h.Provision(caddy.Context{Context: context.Background()}); err != nil {
		tb.Fatal(err)
	}
	h.logger = zap.NewNop()
	return h
}

// serveOnce returns a function that serves one request of the case.
func serveOnce(tb testing.TB, h *Handler, cookie string, fence bool, origin caddyhttp.Handler) func() {
	r := httptest.NewRequest(http.MethodGet, "/products/42", nil)
	r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := &discardWriter{}
	return func() {
		w.h = make(http.Header)
		var err error
		if fence {
			err = h.ServeHTTP(w, r, origin)
		} else {
			err = origin.ServeHTTP(w, r)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkHandler compares the response written through the fence with
// the same response written without it.
func BenchmarkHandler(b *testing.B) {
	h := benchHandler(b)
	for _, bc := range handlerCases {
		b.Run(bc.name, func(b *testing.B) {
			serve := serveOnce(b, h, bc.cookie, bc.fence, bc.origin)
			b.ReportAllocs()
			for b.Loop() {
				serve()
			}
		})
	}
}

// The handler adds at most one allocation to a shared response (the
// per-request writer, which holds the request facts) and at most two to a
// fenced one (the writer, and the array of the rewrite's values) beyond
// what the response's map costs to hold the fields a fenced response
// carries: Go's map allocates as it grows past eight entries and again at
// each doubling, whoever adds them, so that cost is measured with the
// same fields set by hand. Logging and metrics add none when logging is
// off.
func TestHandlerAllocations(t *testing.T) {
	h := benchHandler(t)
	allocs := map[string]float64{}
	for _, bc := range handlerCases {
		allocs[bc.name] = testing.AllocsPerRun(200, serveOnce(t, h, bc.cookie, bc.fence, bc.origin))
	}
	for _, bar := range []struct {
		name, against string
		most          float64
	}{
		{"fence_shared", "plain", 1},
		{"fence_shared_analytics_cookie", "plain", 1},
		{"fence_shared_full", "plain_full", 1},
		{"fence_fenced", "plain_fenced_fields", 2},
		{"fence_fenced_full", "plain_full_fenced_fields", 2},
	} {
		if added := allocs[bar.name] - allocs[bar.against]; added > bar.most {
			t.Errorf("%s: the fence adds %v allocations to %s, want at most %v (all: %v)", bar.name, added, bar.against, bar.most, allocs)
		}
	}
}
