// A hijack can fail (HTTP/2, a recorder, any writer without Hijacker). It
// must then commit nothing: handlers typically answer with an error response,
// as WebSocket libraries do on a failed upgrade, and that response must still
// pass through the hook, and Committed() must stay false so that a caller
// that decides itself when nothing was committed (caddymodule) still does.

package fencewriter

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHijackFailureDoesNotCommit(t *testing.T) {
	var hl hookLog
	rec := httptest.NewRecorder()
	w := New(rec, hl.hook)

	if _, _, err := w.Hijack(); !errors.Is(err, http.ErrNotSupported) {
		t.Fatalf("Hijack() = %v, want ErrNotSupported", err)
	}
	if w.Committed() {
		t.Error("Committed() = true after a failed Hijack; nothing was sent")
	}
	http.Error(w, "upgrade failed", http.StatusInternalServerError)

	hl.requireCalledOnceWith(t, http.StatusInternalServerError)
	requireFenced(t, rec.Result().Header, http.StatusInternalServerError)
}

// The same over a real HTTP/2 connection, where Hijack is never supported:
// the client receives the error response without the hook's header.
func TestServerHijackFailureOverHTTP2StillFenced(t *testing.T) {
	var hijackErr error
	s := startServer(t, true, func(w *ResponseWriter, r *http.Request) {
		_, _, hijackErr = http.NewResponseController(w).Hijack()
		http.Error(w, "upgrade failed", http.StatusInternalServerError)
	})
	res, body := s.do(t, newRequest(t, http.MethodGet, s.URL))
	if res.ProtoMajor != 2 {
		t.Fatalf("protocol = %s, want HTTP/2", res.Proto)
	}
	if !errors.Is(hijackErr, http.ErrNotSupported) {
		t.Fatalf("Hijack over HTTP/2 = %v, want ErrNotSupported", hijackErr)
	}
	if res.StatusCode != http.StatusInternalServerError || body != "upgrade failed\n" {
		t.Errorf("response = %d %q", res.StatusCode, body)
	}
	requireFenced(t, res.Header, http.StatusInternalServerError)
	s.hooks.requireCalledOnceWith(t, http.StatusInternalServerError)
}
