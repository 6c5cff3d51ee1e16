package caddymodule

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// discardWriter is the cheapest possible ResponseWriter, so the benchmark
// measures the fence rather than a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

var page = []byte("<html><body>hello</body></html>")

// origin writes the same response every time, as the handler at the end
// of the chain would.
var origin = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h["Content-Type"] = []string{"text/html; charset=utf-8"}
	h["Cache-Control"] = []string{"public, max-age=60"}
	w.Write(page)
	return nil
})

// BenchmarkHandler compares the response written through the fence with
// the same response written without it.
func BenchmarkHandler(b *testing.B) {
	h := &Handler{IgnoreCookies: []string{"_ga*"}, PrivatePaths: []string{"/account*"}, PublicPaths: []string{"/static/*"}}
	if err := h.Provision(caddy.Context{Context: context.Background()}); err != nil {
		b.Fatal(err)
	}
	h.logger = zap.NewNop()
	for _, bc := range []struct {
		name   string
		cookie string
		fence  bool
	}{
		{"plain", "", false},
		{"fence_shared", "", true},
		{"fence_shared_analytics_cookie", "_ga=GA1.2.3", true},
		{"fence_fenced", "sid=abc", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/products/42", nil)
			r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
			if bc.cookie != "" {
				r.Header.Set("Cookie", bc.cookie)
			}
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				var err error
				if bc.fence {
					err = h.ServeHTTP(w, r, origin)
				} else {
					err = origin.ServeHTTP(w, r)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var _ io.Writer = (*discardWriter)(nil)
