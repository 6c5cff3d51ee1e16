// Package fencewriter wraps an http.ResponseWriter so that a function runs
// exactly once, just before the final response headers are committed, and
// may change them. It never buffers the body.
//
// Headers can be committed by WriteHeader, by the first Write, by ReadFrom
// (io.Copy into the writer) and by a flush; each of these paths runs the
// hook first. 1xx informational responses (103 Early Hints) pass through
// without it, since they are not the final response.
package fencewriter

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// Hook is what the wrapper calls before the final headers are committed.
type Hook interface {
	// BeforeCommit receives the final status and the header map that is
	// about to be sent, and may change the map. It runs at most once.
	BeforeCommit(status int, h http.Header)
}

// ResponseWriter is the wrapper. Create it with New, or embed it in a
// per-request value of your own and set it up with Wrap, which then costs
// no allocation of its own.
type ResponseWriter struct {
	http.ResponseWriter
	hook      Hook
	committed bool
}

// New wraps w. beforeCommit receives the final status and the header map
// that is about to be sent; it runs at most once.
func New(w http.ResponseWriter, beforeCommit func(status int, h http.Header)) *ResponseWriter {
	rw := new(ResponseWriter)
	rw.Wrap(w, hookFunc(beforeCommit))
	return rw
}

// Wrap sets w up to wrap inner and call hook, and clears what it recorded.
func (w *ResponseWriter) Wrap(inner http.ResponseWriter, hook Hook) {
	*w = ResponseWriter{ResponseWriter: inner, hook: hook}
}

type hookFunc func(status int, h http.Header)

func (f hookFunc) BeforeCommit(status int, h http.Header) { f(status, h) }

// Committed reports whether the final response headers have been written.
// When it is false after the handler returns, net/http or an error handler
// will still write them, from the same header map.
func (w *ResponseWriter) Committed() bool { return w.committed }

// WriteHeader runs the hook for the first final status, then writes it.
// 1xx statuses other than 101 Switching Protocols are informational and
// pass straight through.
func (w *ResponseWriter) WriteHeader(status int) {
	if status >= 100 && status <= 199 && status != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	if w.committed {
		// Let net/http report the superfluous call as it would without us.
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.committed = true
	w.hook.BeforeCommit(status, w.ResponseWriter.Header())
	w.ResponseWriter.WriteHeader(status)
}

// Write commits an implicit 200 first, as net/http would.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	if !w.committed {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// writerOnly hides ReadFrom so that io.Copy into it cannot recurse.
type writerOnly struct{ io.Writer }

// ReadFrom commits an implicit 200 first, then hands the copy to the inner
// writer's ReadFrom when it has one, which keeps sendfile(2) working.
func (w *ResponseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.committed {
		w.WriteHeader(http.StatusOK)
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, r)
}

// FlushError commits an implicit 200 first, since a flush sends the
// headers, then flushes the inner writer. http.ResponseController calls it.
func (w *ResponseWriter) FlushError() error {
	if !w.committed {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is FlushError for callers that type-assert http.Flusher, as many
// Server-Sent Events handlers do.
func (w *ResponseWriter) Flush() { _ = w.FlushError() }

// Hijack hands the connection over, for protocol upgrades such as
// WebSocket. An upgrade commits 101 first; a handler that hijacks without
// writing headers writes its own bytes, which no header rule can reach.
//
// A failed hijack (HTTP/2, or a writer that cannot) commits nothing: the
// handler may still answer with an error response, which must be fenced.
func (w *ResponseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.committed = true
	}
	return conn, brw, err
}

// Push forwards HTTP/2 server push when the inner writer supports it.
func (w *ResponseWriter) Push(target string, opts *http.PushOptions) error {
	if p, ok := w.ResponseWriter.(http.Pusher); ok {
		return p.Push(target, opts)
	}
	return http.ErrNotSupported
}

// Unwrap returns the inner writer, for http.ResponseController.
func (w *ResponseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Interface guards.
var (
	_ http.ResponseWriter = (*ResponseWriter)(nil)
	_ http.Flusher        = (*ResponseWriter)(nil)
	_ http.Hijacker       = (*ResponseWriter)(nil)
	_ http.Pusher         = (*ResponseWriter)(nil)
	_ io.ReaderFrom       = (*ResponseWriter)(nil)
)
