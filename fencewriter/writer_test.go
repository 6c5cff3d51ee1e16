package fencewriter

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestWriteHeaderExplicitRunsHookOnce(t *testing.T) {
	for _, status := range []int{
		http.StatusOK,
		http.StatusNotFound,
		http.StatusInternalServerError,
		http.StatusNotModified,
		http.StatusSwitchingProtocols, // 101 is final, unlike the other 1xx
	} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var hl hookLog
			spy := newSpyWriter()
			w := New(spy, spy.hook(&hl))

			if w.Committed() {
				t.Fatal("Committed() = true before anything was written")
			}
			w.WriteHeader(status)
			if !w.Committed() {
				t.Fatal("Committed() = false after WriteHeader")
			}
			// A second final status must not run the hook again, but is
			// still forwarded so net/http can report it.
			w.WriteHeader(http.StatusTeapot)
			_, _ = w.Write([]byte("x"))

			hl.requireCalledOnceWith(t, status)
			if spy.status != status {
				t.Errorf("inner status = %d, want %d", spy.status, status)
			}
			requireFenced(t, spy.committed, status)
			wantEvents := []string{
				"hook(" + itoa(status) + ")",
				"WriteHeader(" + itoa(status) + ")",
				"WriteHeader(418)",
				"Write",
			}
			if !reflect.DeepEqual(spy.events, wantEvents) {
				t.Errorf("events = %q, want %q", spy.events, wantEvents)
			}
		})
	}
}

func TestWriteImplicit200(t *testing.T) {
	var hl hookLog
	spy := newSpyWriter()
	w := New(spy, spy.hook(&hl))

	for _, chunk := range []string{"hello, ", "world"} {
		if n, err := w.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}

	hl.requireCalledOnceWith(t, http.StatusOK)
	if !w.Committed() {
		t.Error("Committed() = false after Write")
	}
	if spy.status != http.StatusOK {
		t.Errorf("inner status = %d, want 200", spy.status)
	}
	requireFenced(t, spy.committed, http.StatusOK)
	if got := spy.body.String(); got != "hello, world" {
		t.Errorf("body = %q", got)
	}
	want := []string{"hook(200)", "WriteHeader(200)", "Write", "Write"}
	if !reflect.DeepEqual(spy.events, want) {
		t.Errorf("events = %q, want %q", spy.events, want)
	}
}

func TestWriteHeaderThenWriteDoesNotRerunHook(t *testing.T) {
	var hl hookLog
	rec := httptest.NewRecorder()
	w := New(rec, hl.hook)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, "a")
	_, _ = io.WriteString(w, "b")
	w.Flush()

	hl.requireCalledOnceWith(t, http.StatusCreated)
	res := rec.Result()
	if res.StatusCode != http.StatusCreated {
		t.Errorf("status = %d, want 201", res.StatusCode)
	}
	requireFenced(t, res.Header, http.StatusCreated)
	if rec.Body.String() != "ab" {
		t.Errorf("body = %q", rec.Body.String())
	}
}

// The hook's changes must be visible to a recorder that snapshots the
// header map at WriteHeader time, i.e. the hook runs before, not after.
func TestHookMutationsAreCommitted(t *testing.T) {
	rec := httptest.NewRecorder()
	w := New(rec, func(status int, h http.Header) {
		h.Del("Set-Cookie")
		h.Set("Cache-Control", fenceCC)
	})
	w.Header().Set("Set-Cookie", "session=secret")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = io.WriteString(w, "body")

	res := rec.Result()
	if got := res.Header.Get("Cache-Control"); got != fenceCC {
		t.Errorf("Cache-Control = %q, want %q", got, fenceCC)
	}
	if got := res.Header.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("Set-Cookie = %q, want it removed by the hook", got)
	}
}

func TestInformationalPassThrough(t *testing.T) {
	for _, status := range []int{http.StatusContinue, http.StatusProcessing, http.StatusEarlyHints} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var hl hookLog
			spy := newSpyWriter()
			w := New(spy, spy.hook(&hl))

			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(status)
			if got := hl.calls(); len(got) != 0 {
				t.Fatalf("hook ran for %d: calls = %v", status, got)
			}
			if w.Committed() {
				t.Fatalf("Committed() = true after informational %d", status)
			}
			if len(spy.informed) != 1 {
				t.Fatalf("inner saw %d informational responses, want 1", len(spy.informed))
			}
			if got := spy.informed[0].Get("Cache-Control"); got != "" {
				t.Errorf("informational response carries Cache-Control %q", got)
			}

			w.WriteHeader(http.StatusOK)
			hl.requireCalledOnceWith(t, http.StatusOK)
			requireFenced(t, spy.committed, http.StatusOK)
			want := []string{"WriteHeader(" + itoa(status) + ")", "hook(200)", "WriteHeader(200)"}
			if !reflect.DeepEqual(spy.events, want) {
				t.Errorf("events = %q, want %q", spy.events, want)
			}
		})
	}
}

func TestInformationalThenImplicit200(t *testing.T) {
	var hl hookLog
	spy := newSpyWriter()
	w := New(spy, spy.hook(&hl))
	w.WriteHeader(http.StatusEarlyHints)
	w.WriteHeader(http.StatusEarlyHints)
	_, _ = io.WriteString(w, "ok")

	hl.requireCalledOnceWith(t, http.StatusOK)
	requireFenced(t, spy.committed, http.StatusOK)
	if len(spy.informed) != 2 {
		t.Errorf("inner saw %d informational responses, want 2", len(spy.informed))
	}
}

func TestFlushCommitsImplicit200(t *testing.T) {
	tests := []struct {
		name  string
		flush func(t *testing.T, w *ResponseWriter)
	}{
		{"Flusher type assertion", func(t *testing.T, w *ResponseWriter) {
			var rw http.ResponseWriter = w
			f, ok := rw.(http.Flusher)
			if !ok {
				t.Fatal("wrapper does not implement http.Flusher")
			}
			f.Flush()
		}},
		{"ResponseController", func(t *testing.T, w *ResponseWriter) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Fatalf("ResponseController.Flush: %v", err)
			}
		}},
		{"FlushError", func(t *testing.T, w *ResponseWriter) {
			if err := w.FlushError(); err != nil {
				t.Fatalf("FlushError: %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hl hookLog
			spy := &spyFlusher{spyWriter: newSpyWriter()}
			w := New(spy, spy.hook(&hl))

			tc.flush(t, w)
			if !w.Committed() {
				t.Error("Committed() = false after a flush")
			}
			_, _ = io.WriteString(w, "data")
			tc.flush(t, w)

			hl.requireCalledOnceWith(t, http.StatusOK)
			requireFenced(t, spy.committed, http.StatusOK)
			if spy.flushes != 2 {
				t.Errorf("inner flushes = %d, want 2", spy.flushes)
			}
			want := []string{"hook(200)", "WriteHeader(200)", "Flush", "Write", "Flush"}
			if !reflect.DeepEqual(spy.events, want) {
				t.Errorf("events = %q, want %q", spy.events, want)
			}
		})
	}
}

func TestFlushRecorder(t *testing.T) {
	var hl hookLog
	rec := httptest.NewRecorder()
	var w http.ResponseWriter = New(rec, hl.hook)
	w.(http.Flusher).Flush()

	if !rec.Flushed {
		t.Error("inner recorder was not flushed")
	}
	hl.requireCalledOnceWith(t, http.StatusOK)
	res := rec.Result()
	if res.StatusCode != http.StatusOK {
		t.Errorf("status = %d", res.StatusCode)
	}
	requireFenced(t, res.Header, http.StatusOK)
}

// An inner writer that cannot flush: the error surfaces through
// FlushError and ResponseController, and Flush does not panic.
func TestFlushNotSupported(t *testing.T) {
	var hl hookLog
	spy := newSpyWriter()
	w := New(spy, spy.hook(&hl))

	if err := w.FlushError(); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("FlushError() = %v, want ErrNotSupported", err)
	}
	if err := http.NewResponseController(w).Flush(); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("ResponseController.Flush() = %v, want ErrNotSupported", err)
	}
	w.Flush()
	// The implicit 200 was still committed, once, with the hook's header.
	hl.requireCalledOnceWith(t, http.StatusOK)
	requireFenced(t, spy.committed, http.StatusOK)
}

func TestReadFromDelegatesToInnerReaderFrom(t *testing.T) {
	var hl hookLog
	spy := &spyReaderFrom{spyWriter: newSpyWriter()}
	w := New(spy, spy.hook(&hl))

	const body = "sendfile-capable body"
	n, err := io.Copy(w, readOnly{strings.NewReader(body)})
	if err != nil || n != int64(len(body)) {
		t.Fatalf("io.Copy = %d, %v", n, err)
	}
	if spy.readFromCalls != 1 {
		t.Errorf("inner ReadFrom calls = %d, want 1 (sendfile path lost)", spy.readFromCalls)
	}
	if spy.writes != 0 {
		t.Errorf("inner Write calls = %d, want 0 (copy should go through ReadFrom)", spy.writes)
	}
	hl.requireCalledOnceWith(t, http.StatusOK)
	requireFenced(t, spy.committed, http.StatusOK)
	if got := spy.body.String(); got != body {
		t.Errorf("body = %q, want %q", got, body)
	}
	want := []string{"hook(200)", "WriteHeader(200)", "ReadFrom"}
	if !reflect.DeepEqual(spy.events, want) {
		t.Errorf("events = %q, want %q", spy.events, want)
	}
}

func TestReadFromFallbackWithoutInnerReaderFrom(t *testing.T) {
	readers := []struct {
		name string
		r    func(string) io.Reader
	}{
		{"plain reader", func(s string) io.Reader { return readOnly{strings.NewReader(s)} }},
		// strings.Reader implements io.WriterTo; io.Copy inside the
		// fallback then calls WriteTo on the writer-only shim.
		{"WriterTo reader", func(s string) io.Reader { return strings.NewReader(s) }},
	}
	for _, rc := range readers {
		t.Run(rc.name, func(t *testing.T) {
			var hl hookLog
			spy := newSpyWriter()
			if _, ok := any(spy).(io.ReaderFrom); ok {
				t.Fatal("test setup: spy must not implement io.ReaderFrom")
			}
			w := New(spy, spy.hook(&hl))

			body := strings.Repeat("0123456789abcdef", 4096) + "tail" // 64 KiB + 4
			n, err := w.ReadFrom(rc.r(body))
			if err != nil || n != int64(len(body)) {
				t.Fatalf("ReadFrom = %d, %v; want %d, nil", n, err, len(body))
			}
			if got := spy.body.String(); got != body {
				t.Errorf("body differs: got %d bytes, want %d", len(got), len(body))
			}
			if spy.writes == 0 {
				t.Error("inner Write never called")
			}
			hl.requireCalledOnceWith(t, http.StatusOK)
			requireFenced(t, spy.committed, http.StatusOK)
			if spy.events[0] != "hook(200)" || spy.events[1] != "WriteHeader(200)" {
				t.Errorf("events start %q, want hook then WriteHeader before any byte", spy.events[:2])
			}
		})
	}
}

func TestReadFromAfterWriteHeader(t *testing.T) {
	var hl hookLog
	spy := &spyReaderFrom{spyWriter: newSpyWriter()}
	w := New(spy, spy.hook(&hl))
	w.WriteHeader(http.StatusPartialContent)
	if _, err := io.Copy(w, readOnly{strings.NewReader("part")}); err != nil {
		t.Fatal(err)
	}
	hl.requireCalledOnceWith(t, http.StatusPartialContent)
	if spy.status != http.StatusPartialContent {
		t.Errorf("inner status = %d, want 206", spy.status)
	}
	requireFenced(t, spy.committed, http.StatusPartialContent)
}

func TestReadFromEmptyBodyStillCommits(t *testing.T) {
	var hl hookLog
	rec := httptest.NewRecorder()
	w := New(rec, hl.hook)
	n, err := io.Copy(w, readOnly{strings.NewReader("")})
	if err != nil || n != 0 {
		t.Fatalf("io.Copy = %d, %v", n, err)
	}
	hl.requireCalledOnceWith(t, http.StatusOK)
	requireFenced(t, rec.Result().Header, http.StatusOK)
}

func TestHijackNotSupported(t *testing.T) {
	var hl hookLog
	w := New(httptest.NewRecorder(), hl.hook)

	var (
		conn net.Conn
		brw  *bufio.ReadWriter
		err  error
	)
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("Hijack panicked: %v", p)
			}
		}()
		conn, brw, err = w.Hijack()
	}()
	if !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("Hijack() error = %v, want one wrapping http.ErrNotSupported", err)
	}
	if conn != nil || brw != nil {
		t.Errorf("Hijack() returned conn %v, rw %v alongside the error", conn, brw)
	}
	if _, _, err := http.NewResponseController(w).Hijack(); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("ResponseController.Hijack() error = %v, want ErrNotSupported", err)
	}
	if got := hl.calls(); len(got) != 0 {
		t.Errorf("hook ran on Hijack: %v", got)
	}
}

func TestHijackDelegatesWithoutHook(t *testing.T) {
	var hl hookLog
	server, client := net.Pipe()
	defer client.Close()
	spy := &spyHijacker{spyWriter: newSpyWriter(), conn: server}
	w := New(spy, spy.hook(&hl))

	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Fatalf("Hijack: %v", err)
	}
	defer conn.Close()
	if spy.hijacked != 1 || conn != server || brw == nil {
		t.Fatalf("Hijack not delegated: calls=%d conn=%v brw=%v", spy.hijacked, conn, brw)
	}
	if !w.Committed() {
		t.Error("Committed() = false after a successful Hijack")
	}
	if got := hl.calls(); len(got) != 0 {
		t.Errorf("hook ran on Hijack: %v", got)
	}
}

func TestPush(t *testing.T) {
	t.Run("forwarded", func(t *testing.T) {
		spy := &spyPusher{spyWriter: newSpyWriter()}
		w := New(spy, (&hookLog{}).hook)
		opts := &http.PushOptions{Method: http.MethodGet}
		if err := w.Push("/style.css", opts); err != nil {
			t.Fatalf("Push: %v", err)
		}
		if !reflect.DeepEqual(spy.pushed, []string{"/style.css"}) || spy.opts[0] != opts {
			t.Errorf("inner pushes = %q %v", spy.pushed, spy.opts)
		}
	})
	t.Run("not supported", func(t *testing.T) {
		w := New(newSpyWriter(), (&hookLog{}).hook)
		if err := w.Push("/style.css", nil); !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("Push() = %v, want ErrNotSupported", err)
		}
	})
}

func TestUnwrap(t *testing.T) {
	rec := httptest.NewRecorder()
	w := New(rec, (&hookLog{}).hook)
	if got := w.Unwrap(); got != http.ResponseWriter(rec) {
		t.Errorf("Unwrap() = %T %p, want the inner recorder %p", got, got, rec)
	}
	var rw http.ResponseWriter = w
	u, ok := rw.(interface{ Unwrap() http.ResponseWriter })
	if !ok || u.Unwrap() != http.ResponseWriter(rec) {
		t.Error("wrapper does not expose Unwrap for http.ResponseController")
	}
}

// Deadlines and full duplex have no method on the wrapper;
// ResponseController must reach the inner writer through Unwrap.
func TestResponseControllerThroughUnwrap(t *testing.T) {
	var hl hookLog
	spy := &spyDeadliner{spyWriter: newSpyWriter()}
	w := New(spy, spy.hook(&hl))
	rc := http.NewResponseController(w)

	d := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := rc.SetWriteDeadline(d); err != nil {
		t.Fatalf("SetWriteDeadline: %v", err)
	}
	if err := rc.SetReadDeadline(d); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	if err := rc.EnableFullDuplex(); err != nil {
		t.Fatalf("EnableFullDuplex: %v", err)
	}
	if !reflect.DeepEqual(spy.writeDeadlines, []time.Time{d}) ||
		!reflect.DeepEqual(spy.readDeadlines, []time.Time{d}) ||
		spy.fullDuplex != 1 {
		t.Errorf("inner saw write=%v read=%v fullDuplex=%d", spy.writeDeadlines, spy.readDeadlines, spy.fullDuplex)
	}
	// None of these commit the response.
	if w.Committed() || len(hl.calls()) != 0 {
		t.Errorf("Committed()=%v hook calls=%v after deadline calls", w.Committed(), hl.calls())
	}

	// An inner writer without them reports ErrNotSupported, not a panic.
	rc2 := http.NewResponseController(New(httptest.NewRecorder(), hl.hook))
	if err := rc2.SetWriteDeadline(d); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("SetWriteDeadline on recorder = %v, want ErrNotSupported", err)
	}
}

// Each Write reaches the inner writer in the same call, unchanged in size,
// and 64 MiB pass through with the exact byte count and checksum.
func TestLargeBodyPassesThroughUnbuffered(t *testing.T) {
	const total = 64 << 20
	const chunk = 32 << 10
	var hl hookLog
	inner := newHashingWriter()
	w := New(inner, hl.hook)

	src := &patternReader{n: total}
	buf := make([]byte, chunk)
	writes := 0
	for {
		n, err := src.Read(buf)
		if n > 0 {
			before := inner.n
			m, werr := w.Write(buf[:n])
			if werr != nil || m != n {
				t.Fatalf("Write = %d, %v; want %d", m, werr, n)
			}
			writes++
			if inner.n-before != int64(n) {
				t.Fatalf("write %d: inner received %d bytes during the call, want %d (buffering)", writes, inner.n-before, n)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if inner.n != total {
		t.Errorf("inner received %d bytes, want %d", inner.n, total)
	}
	if got, want := inner.sum.Sum32(), patternSum(t, total); got != want {
		t.Errorf("checksum = %08x, want %08x", got, want)
	}
	if len(inner.writeSizes) != writes {
		t.Errorf("inner Write calls = %d, outer = %d", len(inner.writeSizes), writes)
	}
	hl.requireCalledOnceWith(t, http.StatusOK)
	requireFenced(t, inner.committed, http.StatusOK)
	if !reflect.DeepEqual(inner.statuses, []int{http.StatusOK}) {
		t.Errorf("inner WriteHeader calls = %v", inner.statuses)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
