package fencewriter

import (
	"bufio"
	"bytes"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fenceCC is the value every test hook sets; its presence on a response
// proves the hook ran before the headers were committed.
const fenceCC = "private, no-store"

// hookLog is a beforeCommit hook that records every call and marks the
// header map. It is safe to use from a server's handler goroutine.
type hookLog struct {
	mu       sync.Mutex
	statuses []int
}

func (l *hookLog) hook(status int, h http.Header) {
	l.mu.Lock()
	l.statuses = append(l.statuses, status)
	l.mu.Unlock()
	h.Set("Cache-Control", fenceCC)
	h.Set("X-Fence-Status", strconv.Itoa(status))
}

func (l *hookLog) calls() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.statuses...)
}

// requireCalledOnceWith fails unless the hook ran exactly once, with want.
func (l *hookLog) requireCalledOnceWith(t *testing.T, want int) {
	t.Helper()
	if got := l.calls(); len(got) != 1 || got[0] != want {
		t.Fatalf("hook calls = %v, want exactly [%d]", got, want)
	}
}

// requireFenced fails unless h carries the hook's headers for status.
func requireFenced(t *testing.T, h http.Header, status int) {
	t.Helper()
	if got := h.Get("Cache-Control"); got != fenceCC {
		t.Errorf("Cache-Control = %q, want %q (hook header missing)", got, fenceCC)
	}
	if got, want := h.Get("X-Fence-Status"), strconv.Itoa(status); got != want {
		t.Errorf("X-Fence-Status = %q, want %q", got, want)
	}
}

// spyWriter is a minimal http.ResponseWriter that behaves like net/http
// where it matters here (the first Write commits an implicit 200 with the
// header map as it is at that moment) and records the order of calls in
// events, which a hook can append to as well.
type spyWriter struct {
	header      http.Header
	events      []string
	wroteHeader bool
	status      int
	committed   http.Header   // snapshot taken when the final header was written
	informed    []http.Header // snapshots of 1xx responses
	body        bytes.Buffer
	writes      int
}

func newSpyWriter() *spyWriter { return &spyWriter{header: make(http.Header)} }

func (s *spyWriter) Header() http.Header { return s.header }

func (s *spyWriter) WriteHeader(code int) {
	s.events = append(s.events, fmt.Sprintf("WriteHeader(%d)", code))
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		s.informed = append(s.informed, s.header.Clone())
		return
	}
	if s.wroteHeader {
		return
	}
	s.wroteHeader = true
	s.status = code
	s.committed = s.header.Clone()
}

func (s *spyWriter) Write(p []byte) (int, error) {
	if !s.wroteHeader {
		s.WriteHeader(http.StatusOK)
	}
	s.events = append(s.events, "Write")
	s.writes++
	return s.body.Write(p)
}

// hook returns a beforeCommit hook that logs into s.events (so its order
// relative to the inner writer's calls can be checked) and into l.
func (s *spyWriter) hook(l *hookLog) func(int, http.Header) {
	return func(status int, h http.Header) {
		s.events = append(s.events, fmt.Sprintf("hook(%d)", status))
		l.hook(status, h)
	}
}

// spyReaderFrom is a spyWriter whose inner writer also implements
// io.ReaderFrom, as net/http's does (that is where sendfile lives).
type spyReaderFrom struct {
	*spyWriter
	readFromCalls int
}

func (s *spyReaderFrom) ReadFrom(r io.Reader) (int64, error) {
	if !s.wroteHeader {
		s.WriteHeader(http.StatusOK)
	}
	s.events = append(s.events, "ReadFrom")
	s.readFromCalls++
	return s.body.ReadFrom(r)
}

// spyFlusher adds http.Flusher to a spyWriter.
type spyFlusher struct {
	*spyWriter
	flushes int
}

func (s *spyFlusher) Flush() {
	if !s.wroteHeader {
		s.WriteHeader(http.StatusOK)
	}
	s.events = append(s.events, "Flush")
	s.flushes++
}

// spyPusher adds http.Pusher to a spyWriter.
type spyPusher struct {
	*spyWriter
	pushed []string
	opts   []*http.PushOptions
}

func (s *spyPusher) Push(target string, opts *http.PushOptions) error {
	s.pushed = append(s.pushed, target)
	s.opts = append(s.opts, opts)
	return nil
}

// spyDeadliner adds the deadline and full-duplex methods that
// http.ResponseController looks for (reached only through Unwrap).
type spyDeadliner struct {
	*spyWriter
	writeDeadlines []time.Time
	readDeadlines  []time.Time
	fullDuplex     int
}

func (s *spyDeadliner) SetWriteDeadline(d time.Time) error {
	s.writeDeadlines = append(s.writeDeadlines, d)
	return nil
}

func (s *spyDeadliner) SetReadDeadline(d time.Time) error {
	s.readDeadlines = append(s.readDeadlines, d)
	return nil
}

func (s *spyDeadliner) EnableFullDuplex() error {
	s.fullDuplex++
	return nil
}

// spyHijacker adds http.Hijacker to a spyWriter; it hands out one end of a
// net.Pipe.
type spyHijacker struct {
	*spyWriter
	conn     net.Conn
	hijacked int
}

func (s *spyHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.hijacked++
	return s.conn, bufio.NewReadWriter(bufio.NewReader(s.conn), bufio.NewWriter(s.conn)), nil
}

// readOnly hides every method of the wrapped reader but Read, in
// particular io.WriterTo, so that io.Copy must use the destination's
// ReadFrom.
type readOnly struct{ r io.Reader }

func (r readOnly) Read(p []byte) (int, error) { return r.r.Read(p) }

// patternReader generates n deterministic bytes without holding them.
type patternReader struct {
	off, n int64
}

func patternByte(off int64) byte { return byte(off%251) ^ byte(off>>16) }

func (g *patternReader) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	if rem := g.n - g.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	for i := range p {
		p[i] = patternByte(g.off + int64(i))
	}
	g.off += int64(len(p))
	return len(p), nil
}

// patternSum is the CRC-32 of the first n bytes of the pattern.
func patternSum(t *testing.T, n int64) uint32 {
	t.Helper()
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, readOnly{&patternReader{n: n}}); err != nil {
		t.Fatal(err)
	}
	return h.Sum32()
}

// hashingWriter is an http.ResponseWriter that keeps no body, only its
// length and checksum, and the size of every Write it receives.
type hashingWriter struct {
	header     http.Header
	statuses   []int
	committed  http.Header
	n          int64
	sum        hash.Hash32
	writeSizes []int
}

func newHashingWriter() *hashingWriter {
	return &hashingWriter{header: make(http.Header), sum: crc32.NewIEEE()}
}

func (h *hashingWriter) Header() http.Header { return h.header }

func (h *hashingWriter) WriteHeader(code int) {
	h.statuses = append(h.statuses, code)
	if h.committed == nil {
		h.committed = h.header.Clone()
	}
}

func (h *hashingWriter) Write(p []byte) (int, error) {
	if h.committed == nil {
		h.WriteHeader(http.StatusOK)
	}
	h.writeSizes = append(h.writeSizes, len(p))
	h.n += int64(len(p))
	h.sum.Write(p)
	return len(p), nil
}

// watchdog returns a deadline a little before the test binary's own
// timeout, used only to turn a would-be hang (the failure mode of the
// streaming and hijack tests) into an ordinary test failure. No assertion
// depends on it.
func watchdog(t *testing.T) time.Time {
	t.Helper()
	d, ok := t.Deadline()
	if !ok {
		return time.Time{}
	}
	return d.Add(-5 * time.Second)
}

// syncBuffer is a bytes.Buffer safe for a server's ErrorLog.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
