package fencewriter

// Tests over a real net/http server (httptest binds 127.0.0.1 on a free
// port), so that what is asserted is what a client receives on the wire.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServer runs handler with a fresh wrapper per request; all requests
// share one hookLog. handled receives once per finished handler call, so a
// test can wait for the handler (and its t.Error calls) to be done.
type testServer struct {
	*httptest.Server
	hooks   hookLog
	errLog  syncBuffer
	handled chan struct{}
}

func startServer(t *testing.T, http2 bool, handler func(w *ResponseWriter, r *http.Request)) *testServer {
	t.Helper()
	s := &testServer{handled: make(chan struct{}, 64)}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { s.handled <- struct{}{} }()
		handler(New(w, s.hooks.hook), r)
	}))
	s.Config.ErrorLog = log.New(&s.errLog, "", 0)
	if http2 {
		s.EnableHTTP2 = true
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func (s *testServer) waitHandled() { <-s.handled }

// do sends req, reads the whole body, and waits for the handler to return.
func (s *testServer) do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	s.waitHandled()
	return res, string(body)
}

func newRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestServerExplicitStatus(t *testing.T) {
	for _, status := range []int{
		http.StatusOK,
		http.StatusNotFound,
		http.StatusInternalServerError,
		http.StatusNotModified,
	} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			s := startServer(t, false, func(w *ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(status)
				w.WriteHeader(http.StatusTeapot) // superfluous: must not rerun the hook
				if status != http.StatusNotModified {
					fmt.Fprintf(w, "status %d", status)
				}
			})
			res, body := s.do(t, newRequest(t, http.MethodGet, s.URL))

			if res.StatusCode != status {
				t.Errorf("status = %d, want %d", res.StatusCode, status)
			}
			requireFenced(t, res.Header, status)
			s.hooks.requireCalledOnceWith(t, status)
			if status != http.StatusNotModified && body != fmt.Sprintf("status %d", status) {
				t.Errorf("body = %q", body)
			}
			// The superfluous call was forwarded to net/http, which logged it.
			if log := s.errLog.String(); !strings.Contains(log, "superfluous response.WriteHeader") {
				t.Errorf("server log = %q, want net/http's superfluous WriteHeader report", log)
			}
		})
	}
}

func TestServerImplicit200(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(protoName(h2), func(t *testing.T) {
			s := startServer(t, h2, func(w *ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "implicit ")
				_, _ = io.WriteString(w, "ok")
			})
			res, body := s.do(t, newRequest(t, http.MethodGet, s.URL))
			if res.StatusCode != http.StatusOK || body != "implicit ok" {
				t.Errorf("got %d %q", res.StatusCode, body)
			}
			if h2 && res.ProtoMajor != 2 {
				t.Fatalf("response protocol = %s, want HTTP/2", res.Proto)
			}
			requireFenced(t, res.Header, http.StatusOK)
			s.hooks.requireCalledOnceWith(t, http.StatusOK)
		})
	}
}

func TestServerEarlyHints(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(protoName(h2), func(t *testing.T) { testEarlyHints(t, h2) })
	}
}

func testEarlyHints(t *testing.T, h2 bool) {
	const link = "</style.css>; rel=preload; as=style"
	var committedAfterHints bool
	s := startServer(t, h2, func(w *ResponseWriter, r *http.Request) {
		w.Header().Set("Link", link)
		w.WriteHeader(http.StatusEarlyHints)
		committedAfterHints = w.Committed() // read by the test after waitHandled
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "final")
	})

	type informational struct {
		code   int
		header textproto.MIMEHeader
	}
	var (
		mu  sync.Mutex
		got []informational
	)
	trace := &httptrace.ClientTrace{
		Got1xxResponse: func(code int, header textproto.MIMEHeader) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, informational{code, textproto.MIMEHeader(http.Header(header).Clone())})
			return nil
		},
	}
	req := newRequest(t, http.MethodGet, s.URL)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	res, body := s.do(t, req)
	if h2 && res.ProtoMajor != 2 {
		t.Fatalf("protocol = %s, want HTTP/2", res.Proto)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].code != http.StatusEarlyHints {
		t.Fatalf("1xx responses = %+v, want one 103", got)
	}
	hints := got[0].header
	if hints.Get("Link") != link {
		t.Errorf("103 Link = %q, want %q", hints.Get("Link"), link)
	}
	if v := hints.Values("Cache-Control"); len(v) != 0 {
		t.Errorf("103 carries Cache-Control %q: the hook ran for an informational response", v)
	}
	if v := hints.Values("X-Fence-Status"); len(v) != 0 {
		t.Errorf("103 carries X-Fence-Status %q", v)
	}
	if committedAfterHints {
		t.Error("Committed() = true after 103")
	}

	if res.StatusCode != http.StatusOK || body != "final" {
		t.Errorf("final response = %d %q", res.StatusCode, body)
	}
	requireFenced(t, res.Header, http.StatusOK)
	if res.Header.Get("Link") != link {
		t.Errorf("final Link = %q", res.Header.Get("Link"))
	}
	s.hooks.requireCalledOnceWith(t, http.StatusOK)
}

func TestServerNotModifiedAndHead(t *testing.T) {
	const etag = `"v1"`
	tests := []struct {
		name       string
		method     string
		header     map[string]string
		handler    func(w *ResponseWriter, r *http.Request)
		wantStatus int
	}{
		{
			name:   "304 conditional GET",
			method: http.MethodGet,
			header: map[string]string{"If-None-Match": etag},
			handler: func(w *ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", etag)
				if r.Header.Get("If-None-Match") == etag {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				_, _ = io.WriteString(w, "content")
			},
			wantStatus: http.StatusNotModified,
		},
		{
			name:   "http.ServeContent 304",
			method: http.MethodGet,
			header: map[string]string{"If-None-Match": etag},
			handler: func(w *ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", etag)
				http.ServeContent(w, r, "x.txt", time.Time{}, strings.NewReader("content"))
			},
			wantStatus: http.StatusNotModified,
		},
		{
			name:   "HEAD implicit 200",
			method: http.MethodHead,
			handler: func(w *ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "body that HEAD drops")
			},
			wantStatus: http.StatusOK,
		},
		{
			name:   "HEAD explicit 200",
			method: http.MethodHead,
			handler: func(w *ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "7")
				w.WriteHeader(http.StatusOK)
			},
			wantStatus: http.StatusOK,
		},
		{
			name:   "HEAD via http.ServeContent",
			method: http.MethodHead,
			handler: func(w *ResponseWriter, r *http.Request) {
				http.ServeContent(w, r, "x.txt", time.Time{}, strings.NewReader("content"))
			},
			wantStatus: http.StatusOK,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, false, tc.handler)
			req := newRequest(t, tc.method, s.URL)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			res, body := s.do(t, req)
			if res.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d", res.StatusCode, tc.wantStatus)
			}
			if body != "" {
				t.Errorf("body = %q, want none", body)
			}
			requireFenced(t, res.Header, tc.wantStatus)
			s.hooks.requireCalledOnceWith(t, tc.wantStatus)
		})
	}
}

// The handler flushes before writing any header, then streams events,
// waiting after each flush until the client has read what was flushed. If
// anything buffered, the client would never see the event and the handler
// would never continue.
func TestServerStreamingFlush(t *testing.T) {
	flushers := []struct {
		name  string
		flush func(w *ResponseWriter) error
	}{
		{"ResponseController", func(w *ResponseWriter) error { return http.NewResponseController(w).Flush() }},
		{"Flusher type assertion", func(w *ResponseWriter) error {
			var rw http.ResponseWriter = w
			f, ok := rw.(http.Flusher)
			if !ok {
				return errors.New("wrapper is not an http.Flusher")
			}
			f.Flush()
			return nil
		}},
	}
	const events = 3
	for _, h2 := range []bool{false, true} {
		for _, fl := range flushers {
			t.Run(protoName(h2)+"/"+fl.name, func(t *testing.T) {
				// acks[0]: client has the headers; acks[i]: client has event i.
				var acks [events + 1]chan struct{}
				for i := range acks {
					acks[i] = make(chan struct{})
				}
				var handlerErr error
				s := startServer(t, h2, func(w *ResponseWriter, r *http.Request) {
					wait := func(c chan struct{}) bool {
						select {
						case <-c:
							return true
						case <-r.Context().Done():
							handlerErr = fmt.Errorf("client went away: %w", r.Context().Err())
							return false
						}
					}
					w.Header().Set("Content-Type", "text/event-stream")
					if err := fl.flush(w); err != nil {
						handlerErr = err
						return
					}
					if !w.Committed() {
						handlerErr = errors.New("Committed() = false after flush")
						return
					}
					if !wait(acks[0]) {
						return
					}
					for i := 1; i <= events; i++ {
						if _, err := fmt.Fprintf(w, "id: %d\ndata: event %d\n\n", i, i); err != nil {
							handlerErr = err
							return
						}
						if err := fl.flush(w); err != nil {
							handlerErr = err
							return
						}
						if !wait(acks[i]) {
							return
						}
					}
				})

				ctx := t.Context()
				if d := watchdog(t); !d.IsZero() {
					var cancel context.CancelFunc
					ctx, cancel = context.WithDeadline(ctx, d)
					defer cancel()
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
				if err != nil {
					t.Fatal(err)
				}
				// Do returns once the headers arrive: the flush sent them
				// while the handler is blocked on acks[0], with no body yet.
				res, err := s.Client().Do(req)
				if err != nil {
					t.Fatalf("Do: %v", err)
				}
				defer res.Body.Close()
				if h2 && res.ProtoMajor != 2 {
					t.Fatalf("protocol = %s, want HTTP/2", res.Proto)
				}
				if res.StatusCode != http.StatusOK {
					t.Errorf("status = %d", res.StatusCode)
				}
				requireFenced(t, res.Header, http.StatusOK)
				if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
					t.Errorf("Content-Type = %q", ct)
				}
				close(acks[0])

				br := bufio.NewReader(res.Body)
				for i := 1; i <= events; i++ {
					ev, err := readEvent(br)
					if err != nil {
						t.Fatalf("reading event %d: %v", i, err)
					}
					if want := fmt.Sprintf("id: %d\ndata: event %d\n", i, i); ev != want {
						t.Fatalf("event %d = %q, want %q", i, ev, want)
					}
					// Only now may the handler write the next event.
					close(acks[i])
				}
				if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
					t.Errorf("after the last event: %q, %v", rest, err)
				}
				s.waitHandled()
				if handlerErr != nil {
					t.Errorf("handler: %v", handlerErr)
				}
				s.hooks.requireCalledOnceWith(t, http.StatusOK)
			})
		}
	}
}

// readEvent reads one Server-Sent Event, up to and excluding its blank line.
func readEvent(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return b.String() + line, err
		}
		if line == "\n" {
			return b.String(), nil
		}
		b.WriteString(line)
	}
}

func TestServerReadFrom(t *testing.T) {
	big := &patternReader{n: 3<<20 + 17}
	bigSum := patternSum(t, big.n)

	path := filepath.Join(t.TempDir(), "file.bin")
	fileBody := strings.Repeat("sendfile ", 10000)
	if err := os.WriteFile(path, []byte(fileBody), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		src     func() (io.Reader, func())
		wantLen int64
		check   func(t *testing.T, body string)
	}{
		{
			name:    "reader without WriterTo",
			src:     func() (io.Reader, func()) { return readOnly{strings.NewReader("copied body")}, func() {} },
			wantLen: int64(len("copied body")),
			check: func(t *testing.T, body string) {
				if body != "copied body" {
					t.Errorf("body = %q", body)
				}
			},
		},
		{
			name:    "large generated body",
			src:     func() (io.Reader, func()) { return readOnly{&patternReader{n: big.n}}, func() {} },
			wantLen: big.n,
			check: func(t *testing.T, body string) {
				if got := crc32.ChecksumIEEE([]byte(body)); got != bigSum {
					t.Errorf("checksum = %08x, want %08x", got, bigSum)
				}
			},
		},
		{
			name: "os.File (sendfile path)",
			src: func() (io.Reader, func()) {
				f, err := os.Open(path)
				if err != nil {
					panic(err)
				}
				return f, func() { f.Close() }
			},
			wantLen: int64(len(fileBody)),
			check: func(t *testing.T, body string) {
				if body != fileBody {
					t.Errorf("file body differs: got %d bytes, want %d", len(body), len(fileBody))
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var (
				copied  int64
				copyErr error
			)
			s := startServer(t, false, func(w *ResponseWriter, r *http.Request) {
				src, done := tc.src()
				defer done()
				copied, copyErr = io.Copy(w, src)
			})
			res, body := s.do(t, newRequest(t, http.MethodGet, s.URL))
			if copyErr != nil || copied != tc.wantLen {
				t.Errorf("io.Copy in handler = %d, %v; want %d", copied, copyErr, tc.wantLen)
			}
			if int64(len(body)) != tc.wantLen {
				t.Errorf("client got %d bytes, want %d", len(body), tc.wantLen)
			}
			tc.check(t, body)
			if res.StatusCode != http.StatusOK {
				t.Errorf("status = %d", res.StatusCode)
			}
			requireFenced(t, res.Header, http.StatusOK)
			s.hooks.requireCalledOnceWith(t, http.StatusOK)
		})
	}
}

// A WebSocket-style upgrade: 101 with the hook's header, then raw bytes
// both ways over the hijacked connection.
func TestServerHijackUpgrade(t *testing.T) {
	var (
		handlerErr       error
		committedAfter   bool
		committedBefore  bool
		hijackedUpgrader = "fence-echo"
	)
	s := startServer(t, false, func(w *ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != hijackedUpgrader {
			handlerErr = fmt.Errorf("request Upgrade = %q", r.Header.Get("Upgrade"))
			http.Error(w, "bad upgrade", http.StatusBadRequest)
			return
		}
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", hijackedUpgrader)
		w.WriteHeader(http.StatusSwitchingProtocols)
		committedBefore = w.Committed()
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			handlerErr = fmt.Errorf("Hijack: %w", err)
			return
		}
		committedAfter = w.Committed()
		defer conn.Close()
		if d := watchdog(t); !d.IsZero() {
			_ = conn.SetDeadline(d)
		}
		line, err := brw.ReadString('\n')
		if err != nil {
			handlerErr = fmt.Errorf("server read: %w", err)
			return
		}
		if _, err := brw.WriteString("echo: " + line); err != nil {
			handlerErr = err
			return
		}
		if err := brw.Flush(); err != nil {
			handlerErr = err
		}
	})

	conn, err := net.Dial("tcp", s.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if d := watchdog(t); !d.IsZero() {
		_ = conn.SetDeadline(d)
	}
	if _, err := fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n",
		s.Listener.Addr(), hijackedUpgrader); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, newRequest(t, http.MethodGet, s.URL+"/ws"))
	if err != nil {
		t.Fatalf("reading 101: %v", err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status = %d, want 101", res.StatusCode)
	}
	requireFenced(t, res.Header, http.StatusSwitchingProtocols)
	if res.Header.Get("Upgrade") != hijackedUpgrader {
		t.Errorf("Upgrade = %q", res.Header.Get("Upgrade"))
	}

	if _, err := io.WriteString(conn, "ping over hijacked conn\n"); err != nil {
		t.Fatal(err)
	}
	echo, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading echo: %v", err)
	}
	if echo != "echo: ping over hijacked conn\n" {
		t.Errorf("echo = %q", echo)
	}
	s.waitHandled()
	if handlerErr != nil {
		t.Fatalf("handler: %v", handlerErr)
	}
	if !committedBefore || !committedAfter {
		t.Errorf("Committed() before/after Hijack = %v/%v, want true/true", committedBefore, committedAfter)
	}
	s.hooks.requireCalledOnceWith(t, http.StatusSwitchingProtocols)
}

// ResponseController reaches net/http's deadline and full-duplex support
// through Unwrap. A write deadline in the past makes the next flush fail,
// which shows the deadline was really applied to the connection.
func TestServerResponseControllerDeadlines(t *testing.T) {
	t.Run("future deadline", func(t *testing.T) {
		var errs []error
		s := startServer(t, false, func(w *ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			errs = append(errs,
				rc.SetWriteDeadline(time.Now().Add(time.Hour)),
				rc.SetReadDeadline(time.Now().Add(time.Hour)),
				rc.EnableFullDuplex(),
				rc.SetWriteDeadline(time.Time{}))
			_, _ = io.WriteString(w, "ok")
		})
		res, body := s.do(t, newRequest(t, http.MethodGet, s.URL))
		for i, err := range errs {
			if err != nil {
				t.Errorf("ResponseController call %d: %v", i, err)
			}
		}
		if body != "ok" {
			t.Errorf("body = %q", body)
		}
		requireFenced(t, res.Header, http.StatusOK)
		s.hooks.requireCalledOnceWith(t, http.StatusOK)
	})

	t.Run("past deadline", func(t *testing.T) {
		var setErr, flushErr error
		s := startServer(t, false, func(w *ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			setErr = rc.SetWriteDeadline(time.Unix(1, 0))
			_, _ = w.Write(make([]byte, 64<<10))
			flushErr = rc.Flush()
		})
		res, err := s.Client().Do(newRequest(t, http.MethodGet, s.URL))
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		s.waitHandled()
		if setErr != nil {
			t.Fatalf("SetWriteDeadline through the wrapper: %v", setErr)
		}
		if !errors.Is(flushErr, os.ErrDeadlineExceeded) {
			t.Errorf("flush after a past write deadline = %v, want os.ErrDeadlineExceeded", flushErr)
		}
	})
}

func TestServerPushNotSupportedOverHTTP1(t *testing.T) {
	var pushErr error
	s := startServer(t, false, func(w *ResponseWriter, r *http.Request) {
		pushErr = w.Push("/style.css", nil)
		_, _ = io.WriteString(w, "ok")
	})
	res, _ := s.do(t, newRequest(t, http.MethodGet, s.URL))
	if !errors.Is(pushErr, http.ErrNotSupported) {
		t.Errorf("Push over HTTP/1.1 = %v, want ErrNotSupported", pushErr)
	}
	requireFenced(t, res.Header, http.StatusOK)
}

// 64 MiB generated in chunks and written through Write reach the client
// complete and intact.
func TestServerLargeBody(t *testing.T) {
	const total = 64 << 20
	var writeErr error
	s := startServer(t, false, func(w *ResponseWriter, r *http.Request) {
		src := &patternReader{n: total}
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					writeErr = werr
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	res, err := s.Client().Do(newRequest(t, http.MethodGet, s.URL))
	if err != nil {
		t.Fatal(err)
	}
	h := crc32.NewIEEE()
	n, err := io.Copy(h, res.Body)
	res.Body.Close()
	s.waitHandled()
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	if writeErr != nil {
		t.Fatalf("handler Write: %v", writeErr)
	}
	if n != total {
		t.Errorf("client got %d bytes, want %d", n, total)
	}
	if got, want := h.Sum32(), patternSum(t, total); got != want {
		t.Errorf("checksum = %08x, want %08x", got, want)
	}
	requireFenced(t, res.Header, http.StatusOK)
	s.hooks.requireCalledOnceWith(t, http.StatusOK)
}

func protoName(h2 bool) string {
	if h2 {
		return "HTTP2"
	}
	return "HTTP1"
}
