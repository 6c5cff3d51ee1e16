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
var origin = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h["Content-Type"] = []string{"text/html; charset=utf-8"}
	h["Content-Length"] = []string{"31"}
	h["Date"] = []string{"Mon, 23 Nov 2026 12:00:00 GMT"}
	h["Cache-Control"] = []string{"public, max-age=60"}
	h["Server"] = []string{"Caddy"}
	h["Via"] = []string{"1.1 Caddy"}
	w.Write(page)
	return nil
})

// handlerCases are the requests of the benchmark and of the allocation
// test: without the fence, through it and shared, through it and fenced.
var handlerCases = []struct {
	name   string
	cookie string
	fence  bool
}{
	{"plain", "", false},
	{"fence_shared", "", true},
	{"fence_shared_analytics_cookie", "_ga=GA1.2.3", true},
	{"fence_fenced", "sid=abc", true},
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
func serveOnce(tb testing.TB, h *Handler, cookie string, fence bool) func() {
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
			serve := serveOnce(b, h, bc.cookie, bc.fence)
			b.ReportAllocs()
			for b.Loop() {
				serve()
			}
		})
	}
}

// The handler adds at most one allocation to a shared response (the
// per-request writer, which holds the request facts) and at most three to
// a fenced one (the writer, and the header map's growth for the fields the
// rewrite adds). Logging and metrics add none when logging is off.
func TestHandlerAllocations(t *testing.T) {
	h := benchHandler(t)
	allocs := map[string]float64{}
	for _, bc := range handlerCases {
		allocs[bc.name] = testing.AllocsPerRun(200, serveOnce(t, h, bc.cookie, bc.fence))
	}
	for name, most := range map[string]float64{"fence_shared": 1, "fence_shared_analytics_cookie": 1, "fence_fenced": 3} {
		if added := allocs[name] - allocs["plain"]; added > most {
			t.Errorf("%s: the fence adds %v allocations, want at most %v (all: %v)", name, added, most, allocs)
		}
	}
}
