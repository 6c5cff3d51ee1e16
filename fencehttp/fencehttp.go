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
	// One allocation per request: the writer, the request facts and the
	// values of a rewrite live together.
	fr := &fencedResponse{h: h, r: r, req: h.Policy.Request(r.Header, r.URL)}
	fr.Wrap(w, fr)
	h.Next.ServeHTTP(fr, r)
	if !fr.Committed() {
		// Nothing was written: net/http sends an implicit 200 with this
		// header map after the handler returns.
		fr.BeforeCommit(http.StatusOK, w.Header())
	}
}

// fencedResponse is the writer handed to Next, with the request facts.
type fencedResponse struct {
	fencewriter.ResponseWriter
	h   *Handler
	r   *http.Request
	req fence.Request
}

// BeforeCommit decides on the response as its headers are written, with
// the credential headers that handlers inside Next set on the request
// (an auth middleware's X-User, say) added to what the client sent.
func (fr *fencedResponse) BeforeCommit(status int, hdr http.Header) {
	fr.h.Policy.Recheck(&fr.req, fr.r.Header)
	rs := fr.h.Policy.Apply(&fr.req, 0, status, hdr)
	if fr.h.Observe != nil {
		fr.h.Observe(fr.r, status, rs)
	}
}
