package logs

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

const testSecret = "push-secret-0123456789"

// collected is what a Sink or a Receiver tells, safe for the receiver's
// goroutines.
type collected struct {
	mu    sync.Mutex
	lines []string
}

func (c *collected) add(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, line)
}

func (c *collected) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// testReceiver is a Receiver served on 127.0.0.1 (httptest binds
// loopback), with its findings and refusals.
type testReceiver struct {
	*Receiver
	url            string
	found, refused *collected
	window         *Window
}

// startReceiver serves a Receiver of 1 MiB pushes, as configure changes
// it.
func startReceiver(t *testing.T, configure ...func(*Receiver)) *testReceiver {
	t.Helper()
	tr := &testReceiver{found: &collected{}, refused: &collected{}, window: &Window{}}
	tr.Receiver = &Receiver{
		Sink: &Sink{Checker: newTestChecker(t, testConfig()), Window: tr.window,
			Emit: func(f *Finding) { tr.found.add(f.Source + " " + f.Check + " " + f.Path) }},
		Secret: testSecret, Fields: realtimeFields, FastlyServices: []string{"SU1Z0isxPaozGVKXdv0eY"},
		MaxBody: 1 << 20,
		Refused: func(route, remote string, status int, why string) {
			host, _, _ := strings.Cut(remote, ":")
			tr.refused.add(fmt.Sprintf("%s from %s: %d %s", route, host, status, why))
		},
	}
	for _, c := range configure {
		c(tr.Receiver)
	}
	srv := httptest.NewServer(tr.Handler())
	t.Cleanup(srv.Close)
	tr.url = srv.URL
	return tr
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(t *testing.T, url string, header http.Header, body []byte) (int, string) {
	t.Helper()
	return send(t, url, header, bytes.NewReader(body))
}

// send posts body, whose length is known only for a bytes.Reader.
func send(t *testing.T, url string, header http.Header, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// firehoseBody wraps CloudFront real-time records as Firehose delivers
// them.
func firehoseBody(t *testing.T, records ...string) []byte {
	t.Helper()
	req := map[string]any{"requestId": "ed4acda5-034f-9f42-bba1-f29aea6d7d8f", "timestamp": 1578090901599}
	var rs []map[string]string
	for _, r := range records {
		rs = append(rs, map[string]string{"data": base64.StdEncoding.EncodeToString([]byte(r))})
	}
	req["records"] = rs
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every push is answered as its sender expects; each refused one is told
// once, with its route, the sender's address and why, never the secret
// or the body.
func TestReceiver(t *testing.T) {
	rv := startReceiver(t)
	bearer := http.Header{"Authorization": {"Bearer " + testSecret}}
	var realtime []string
	for _, l := range strings.Split(string(fixture(t, "cloudfront_realtime.tsv")), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			realtime = append(realtime, l+"\n")
		}
	}
	firehose := http.Header{"X-Amz-Firehose-Access-Key": {testSecret}, "X-Amz-Firehose-Request-Id": {"ed4acda5-034f-9f42-bba1-f29aea6d7d8f"},
		"Content-Type": {"application/json"}}
	for _, tc := range []struct {
		name   string
		path   string
		header http.Header
		body   []byte
		status int
		body2  string // in the response
		found  []string
		// refused is what Refused is told, for a push refused.
		refused string
	}{
		{"logpush validation upload", "/cloudflare", bearer, gzipped(t, `{"content":"tests"}`), 200, "", nil, ""},
		{"logpush batch, gzip without Content-Encoding", "/cloudflare", bearer, gzipped(t, string(fixture(t, "cloudflare.ndjson"))), 200, "", []string{
			"push:cloudflare stamp_mismatch /account", "push:cloudflare cached_personal /account",
			"push:cloudflare stamp_mismatch /account", "push:cloudflare cached_personal /account",
			"push:cloudflare cached_personal /account", "push:cloudflare cached_personal /login", "push:cloudflare cached_personal /account"}, ""},
		{"logpush without the secret", "/cloudflare", http.Header{}, gzipped(t, string(fixture(t, "cloudflare.ndjson"))), 401, "", nil,
			"POST /cloudflare from 127.0.0.1: 401 bad or missing secret"},
		{"logpush with a wrong secret", "/cloudflare", http.Header{"Authorization": {"Bearer " + testSecret + "x"}}, []byte("{}"), 401, "", nil,
			"POST /cloudflare from 127.0.0.1: 401 bad or missing secret"},
		{"logpush batch with a bad line is refused whole", "/cloudflare", bearer,
			gzipped(t, string(fixture(t, "cloudflare.ndjson"))+"{not json\n"), 400, "1 unreadable lines, first line 10: invalid JSON", nil,
			"POST /cloudflare from 127.0.0.1: 400 1 unreadable lines, first line 10: invalid JSON"},
		{"fastly batch, Content-Encoding gzip", "/fastly", http.Header{"Authorization": {"Bearer " + testSecret}, "Content-Encoding": {"gzip"}},
			gzipped(t, string(fixture(t, "fastly.ndjson"))), 200, "", []string{
				"push:fastly stamp_mismatch /account", "push:fastly cached_personal /account", "push:fastly cached_personal /login", "push:fastly cached_personal /account"}, ""},
		{"datastream 2 push, a JSON array", "/akamai", bearer, fixture(t, "akamai_push.json"), 200, "", []string{"push:akamai stamp_mismatch /account", "push:akamai cached_personal /account"}, ""},
		{"fastly, too large", "/fastly", bearer, bytes.Repeat([]byte("x"), 2<<20), 413, "push larger than", nil,
			"POST /fastly from 127.0.0.1: 413 push larger than 1048576 bytes"},
		{"firehose", "/firehose", firehose, firehoseBody(t, realtime...), 200, `"requestId":"ed4acda5-034f-9f42-bba1-f29aea6d7d8f"`, []string{
			"push:firehose cached_personal /account", "push:firehose cached_personal /account", "push:firehose collapse_suspected /account"}, ""},
		{"firehose, gzip", "/firehose", http.Header{"X-Amz-Firehose-Access-Key": {testSecret}, "Content-Encoding": {"gzip"}},
			gzipped(t, string(firehoseBody(t, realtime[2]))), 200, "", []string{"push:firehose cached_personal /account", "push:firehose collapse_suspected /account"}, ""},
		{"firehose, wrong key", "/firehose", http.Header{"X-Amz-Firehose-Access-Key": {"nope"}}, firehoseBody(t, realtime...), 401, `"errorMessage":"bad or missing access key"`, nil,
			"POST /firehose from 127.0.0.1: 401 bad or missing access key"},
		{"firehose, a bad record", "/firehose", firehose, firehoseBody(t, realtime[0], "1607374321.541\t127.0.0.1\n"), 400, `"errorMessage":"record 2: want 40 tab-separated fields, got 2"`, nil,
			"POST /firehose from 127.0.0.1: 400 record 2: want 40 tab-separated fields, got 2"},
		{"firehose, not base64", "/firehose", firehose, []byte(`{"requestId":"x","records":[{"data":"%%%"}]}`), 400, `illegal base64 data at input byte 0`, nil,
			"POST /firehose from 127.0.0.1: 400 reading the delivery request: illegal base64 data at input byte 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, refusedBefore := len(rv.found.get()), len(rv.refused.get())
			status, body := post(t, rv.url+tc.path, tc.header, tc.body)
			if status != tc.status || !strings.Contains(body, tc.body2) {
				t.Fatalf("answered %d %q, want %d with %q", status, body, tc.status, tc.body2)
			}
			got := rv.found.get()[before:]
			if strings.Join(got, "\n") != strings.Join(tc.found, "\n") {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.found, "\n"))
			}
			if refused := strings.Join(rv.refused.get()[refusedBefore:], "\n"); refused != tc.refused {
				t.Errorf("refusals told: %q, want %q", refused, tc.refused)
			}
		})
	}
	for _, r := range rv.refused.get() {
		if strings.Contains(r, testSecret) || strings.Contains(r, "session=") {
			t.Errorf("a refusal tells the secret or the body: %q", r)
		}
	}
	if rv.inFlight.Load() != 0 {
		t.Errorf("%d bytes still held after every push was answered", rv.inFlight.Load())
	}
	// Three pushes were refused as unreadable: the window cannot resolve.
	// Its causes: stamp_mismatch and cached_personal on /account,
	// cached_personal on /login, collapse_suspected on /account.
	if run := rv.window.Run(context.Background()); run.Errors != 3 || len(run.Causes) != 4 {
		t.Errorf("window: %d errors, %d causes", run.Errors, len(run.Causes))
	}
}

func TestFastlyChallenge(t *testing.T) {
	rv := startReceiver(t)
	resp, err := http.Get(rv.url + "/.well-known/fastly/logging/challenge")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	sum := sha256.Sum256([]byte("SU1Z0isxPaozGVKXdv0eY"))
	if resp.StatusCode != 200 || string(body) != hex.EncodeToString(sum[:])+"\n" {
		t.Errorf("challenge: %d %q", resp.StatusCode, body)
	}
	any := &Receiver{Secret: testSecret}
	rec := httptest.NewRecorder()
	any.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/fastly/logging/challenge", nil))
	if rec.Body.String() != "*\n" {
		t.Errorf("challenge with no service: %q", rec.Body.String())
	}
	rec = httptest.NewRecorder()
	any.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/cloudflare", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /cloudflare: %d", rec.Code)
	}
}

// A gzip push that inflates past MaxBody is refused as too large, not
// read whole: gzip said, gzip unsaid (as Logpush sends), and gzip inside
// a Firehose record.
func TestReceiverGzipBomb(t *testing.T) {
	rv := startReceiver(t)
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(bytes.Repeat([]byte("\n"), 8<<20))
	zw.Close()
	bearer := http.Header{"Authorization": {"Bearer " + testSecret}}
	for _, tc := range []struct {
		name, path string
		header     http.Header
		body       []byte
	}{
		{"Content-Encoding gzip", "/cloudflare", http.Header{"Authorization": {"Bearer " + testSecret}, "Content-Encoding": {"gzip"}}, b.Bytes()},
		{"gzip unsaid", "/cloudflare", bearer, b.Bytes()},
		{"gzip in a Firehose record", "/firehose", http.Header{"X-Amz-Firehose-Access-Key": {testSecret}}, firehoseBody(t, b.String())},
		{"a gzip Firehose request", "/firehose", http.Header{"X-Amz-Firehose-Access-Key": {testSecret}, "Content-Encoding": {"gzip"}},
			gzipped(t, `{"records":[`+strings.Repeat(" ", 2<<20)+`]}`)},
	} {
		status, body := post(t, rv.url+tc.path, tc.header, tc.body)
		if status != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: answered %d %q, want 413", tc.name, status, body)
		}
	}
}

func TestWindow(t *testing.T) {
	var w Window
	f := &Finding{Check: StampMismatch, Severity: "critical", Host: "h", Path: "/account", Owner: "alice", Requester: "bob"}
	g := *f
	g.Requester = "carol" // the same cause, through another pair
	h := &Finding{Check: CachedPersonal, Severity: "high", Host: "h", Path: "/account"}
	w.Add(f)
	w.Add(&g)
	w.Add(h)
	w.Fail()
	run := w.Run(context.Background())
	if len(run.Causes) != 2 || run.Errors != 1 {
		t.Fatalf("run %+v", run)
	}
	for _, c := range run.Causes {
		if c.Key != "stamp_mismatch|h|/account" && c.Key != "cached_personal|h|/account" {
			t.Errorf("key %q", c.Key)
		}
	}
	if run := w.Run(context.Background()); len(run.Causes) != 0 || run.Errors != 0 {
		t.Errorf("a drained window still holds %+v", run)
	}
	// More bad lines than records: the window may have missed findings.
	w.record()
	w.bad()
	if run := w.Run(context.Background()); run.Errors != 0 {
		t.Errorf("one bad line among as many records failed the window: %+v", run)
	}
	w.bad()
	if run := w.Run(context.Background()); run.Errors != 1 {
		t.Errorf("a window of bad lines alone did not fail: %+v", run)
	}
}

// heldAtLastLine posts body to rv's /fastly and returns the bytes the heap
// grew by, measured when the last line's finding is checked: by then the
// push is read and, but for its last record, checked.
func heldAtLastLine(t *testing.T, rv *testReceiver, body io.Reader, header http.Header, lastLine int64) int64 {
	t.Helper()
	var before, at runtime.MemStats
	rv.Sink.Emit = func(f *Finding) {
		if f.Line == lastLine && at.HeapAlloc == 0 {
			runtime.GC()
			runtime.ReadMemStats(&at)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&before)
	if status, answer := send(t, rv.url+"/fastly", header, body); status != http.StatusOK || at.HeapAlloc == 0 {
		t.Fatalf("answered %d %s, last line checked: %t", status, answer, at.HeapAlloc != 0)
	}
	return int64(at.HeapAlloc) - int64(before.HeapAlloc)
}

// A push costs its body's size in memory, sent with its length or not,
// compressed or not: never a copy of its content, decompressed or parsed.
func TestReceiverMemoryPerPush(t *testing.T) {
	// Clean lines, then one with findings, to measure at.
	clean, _, _ := bytes.Cut(fixture(t, "fastly.ndjson"), []byte("\n"))
	last := bytes.Split(fixture(t, "fastly.ndjson"), []byte("\n"))[2]
	n := (4 << 20) / (len(clean) + 1)
	plain := append(bytes.Repeat(append(clean, '\n'), n), append(last, '\n')...)
	zipped := gzipped(t, string(plain))
	const slack = 1 << 20 // line buffer, gzip state, connection buffers
	bearer := http.Header{"Authorization": {"Bearer " + testSecret}}
	rv := startReceiver(t, func(rv *Receiver) { rv.MaxBody = 0 })
	for _, tc := range []struct {
		name  string
		body  func() io.Reader
		sent  int
		bound int64
	}{
		{"length known", func() io.Reader { return bytes.NewReader(plain) }, len(plain), int64(len(plain)) + slack},
		// A buffer grown by doubling holds up to twice the body.
		{"length unknown", func() io.Reader { return io.MultiReader(bytes.NewReader(plain)) }, len(plain), 2*int64(len(plain)) + slack},
		{"gzip", func() io.Reader { return bytes.NewReader(zipped) }, len(zipped), 2*int64(len(zipped)) + slack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			held := heldAtLastLine(t, rv, tc.body(), bearer, int64(n+1))
			t.Logf("%d bytes sent (%d decompressed): %d held", tc.sent, len(plain), held)
			if held > tc.bound {
				t.Errorf("a push of %d bytes (%d decompressed) held %d bytes, want at most %d", tc.sent, len(plain), held, tc.bound)
			}
		})
	}
}

// BenchmarkReceiverPush posts a Fastly push of 20,000 lines and reports
// what the receiver allocates for it, all garbage but its buffer.
func BenchmarkReceiverPush(b *testing.B) {
	clean, _, _ := bytes.Cut(fixture(b, "fastly.ndjson"), []byte("\n"))
	body := bytes.Repeat(append(clean, '\n'), 20000)
	ch, err := NewChecker(testConfig())
	if err != nil {
		b.Fatal(err)
	}
	rv := &Receiver{Sink: &Sink{Checker: ch}, Secret: testSecret}
	h := rv.Handler()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/fastly", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testSecret)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("answered %d %s", w.Code, w.Body)
		}
	}
}

// Pushes held at once hold at most MaxInFlight bytes: one more is
// answered 503 with Retry-After, and taken once the others are done.
func TestReceiverInFlight(t *testing.T) {
	rv := startReceiver(t, func(rv *Receiver) { rv.MaxInFlight = 1 << 20 })
	line := append(bytes.Split(fixture(t, "fastly.ndjson"), []byte("\n"))[0], '\n')
	bearer := http.Header{"Authorization": {"Bearer " + testSecret}}
	// A push of 600 kB that arrives slowly, holding its buffer.
	slow := bytes.Repeat(line, 600_000/len(line))
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, rv.url+"/fastly", pr)
		req.Header = bearer
		req.ContentLength = int64(len(slow))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	pw.Write(slow[:len(line)])
	for deadline := time.Now().Add(10 * time.Second); rv.inFlight.Load() == 0; runtime.Gosched() {
		if time.Now().After(deadline) {
			pw.CloseWithError(io.ErrUnexpectedEOF)
			t.Fatal("the slow push never held its buffer")
		}
	}
	second := bytes.Repeat(line, 500_000/len(line))
	req, _ := http.NewRequest(http.MethodPost, rv.url+"/fastly", bytes.NewReader(second))
	req.Header = bearer
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a push past MaxInFlight answered %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	pw.Write(slow[len(line):])
	pw.Close()
	if status := <-done; status != http.StatusOK {
		t.Errorf("the slow push answered %d", status)
	}
	if status, body := post(t, rv.url+"/fastly", bearer, second); status != http.StatusOK {
		t.Errorf("the push retried answered %d %s", status, body)
	}
	if got, want := strings.Join(rv.refused.get(), "\n"), "POST /fastly from 127.0.0.1: 503 busy: pushes being read hold 1048576 bytes"; got != want {
		t.Errorf("refusals told: %q, want %q", got, want)
	}
	if rv.inFlight.Load() != 0 {
		t.Errorf("%d bytes still held", rv.inFlight.Load())
	}
}

// trickle is a body that sends a byte every 10 ms, up to 300 bytes.
type trickle struct{ sent int }

func (r *trickle) Read(p []byte) (int, error) {
	if r.sent == 300 {
		return 0, io.EOF
	}
	time.Sleep(10 * time.Millisecond)
	r.sent++
	p[0] = '{'
	return 1, nil
}

// A body that does not arrive within ReadTimeout is cut off and answered
// 408, however steadily it trickles.
func TestReceiverSlowBody(t *testing.T) {
	rv := startReceiver(t, func(rv *Receiver) { rv.ReadTimeout = 100 * time.Millisecond })
	req, _ := http.NewRequest(http.MethodPost, rv.url+"/fastly", &trickle{})
	req.Header.Set("Authorization", "Bearer "+testSecret)
	req.ContentLength = 1000
	if resp, err := http.DefaultClient.Do(req); err == nil {
		// The answer may come before the client sees the connection close.
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("answered %d, want 408", resp.StatusCode)
		}
	}
	if got, want := strings.Join(rv.refused.get(), "\n"), "POST /fastly from 127.0.0.1: 408 push not read within 100ms"; got != want {
		t.Errorf("refusals told: %q, want %q", got, want)
	}
}
