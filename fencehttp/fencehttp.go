// Package fencehttp is cache_fence for plain net/http servers: a
// middleware that makes every personalised or doubtful response
// unstorable by shared caches, by the same rules (package fence) and the
// same response-writer wrapper (package fencewriter) as the Caddy module.
//
// Put it outermost, so that it reads the request as the client sent it
// and has the last word on the response headers:
//
//	policy, err := fence.New(fence.Config{IgnoreCookies: []string{"_ga*"}})
//	...
//	http.ListenAndServe(addr, &fencehttp.Handler{Policy: policy, Next: mux})
package fencehttp

import (
	"net/http"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/fencewriter"
)

// Handler fences the responses of Next.
type Handler struct {
	// Policy decides. Required.
	Policy *fence.Policy
	// Next writes the responses. Required.
	Next http.Handler
	// Observe, if set, is called once per response, after the fence has
	// decided and before the headers leave, with the reasons (none for a
	// shared response). It is the place for metrics and logs; it must not
	// log credentials.
	Observe func(r *http.Request, status int, reasons fence.Reasons)
}

// ServeHTTP reads the request before Next runs (handlers further in may
// rewrite it, but the cache in front saw what the client sent), and
// decides once, when the final headers are written.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := h.Policy.Request(r.Header, r.URL)
	decide := func(status int, hdr http.Header) {
		rs := h.Policy.Apply(&req, 0, status, hdr)
		if h.Observe != nil {
			h.Observe(r, status, rs)
		}
	}
	fw := fencewriter.New(w, decide)
	h.Next.ServeHTTP(fw, r)
	if !fw.Committed() {
		// Nothing was written: net/http sends an implicit 200 with this
		// header map after the handler returns.
		decide(http.StatusOK, w.Header())
	}
}
