package logs

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const testSecret = "push-secret-0123456789"

// collected is a Sink's findings, safe for the receiver's goroutines.
type collected struct {
	mu    sync.Mutex
	lines []string
}

func (c *collected) add(f *Finding) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, f.Source+" "+f.Check+" "+f.Path)
}

func (c *collected) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// startReceiver serves a Receiver on 127.0.0.1 (httptest binds loopback).
func startReceiver(t *testing.T) (*httptest.Server, *collected, *Window) {
	t.Helper()
	found := &collected{}
	window := &Window{}
	rv := &Receiver{
		Sink:   &Sink{Checker: newTestChecker(t, testConfig()), Window: window, Emit: found.add},
		Secret: testSecret, Fields: realtimeFields, FastlyServices: []string{"SU1Z0isxPaozGVKXdv0eY"},
		MaxBody: 1 << 20,
	}
	srv := httptest.NewServer(rv.Handler())
	t.Cleanup(srv.Close)
	return srv, found, window
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(t *testing.T, url string, header http.Header, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
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

func TestReceiver(t *testing.T) {
	srv, found, window := startReceiver(t)
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
	}{
		{"logpush validation upload", "/cloudflare", bearer, gzipped(t, `{"content":"tests"}`), 200, "", nil},
		{"logpush batch, gzip without Content-Encoding", "/cloudflare", bearer, gzipped(t, string(fixture(t, "cloudflare.ndjson"))), 200, "", []string{
			"push:cloudflare stamp_mismatch /account", "push:cloudflare cached_personal /account",
			"push:cloudflare stamp_mismatch /account", "push:cloudflare cached_personal /account",
			"push:cloudflare cached_personal /account", "push:cloudflare cached_personal /login", "push:cloudflare cached_personal /account"}},
		{"logpush without the secret", "/cloudflare", http.Header{}, gzipped(t, string(fixture(t, "cloudflare.ndjson"))), 401, "", nil},
		{"logpush with a wrong secret", "/cloudflare", http.Header{"Authorization": {"Bearer " + testSecret + "x"}}, []byte("{}"), 401, "", nil},
		{"logpush batch with a bad line is refused whole", "/cloudflare", bearer,
			gzipped(t, string(fixture(t, "cloudflare.ndjson"))+"{not json\n"), 400, "1 unreadable lines, first line 10: invalid JSON", nil},
		{"fastly batch, Content-Encoding gzip", "/fastly", http.Header{"Authorization": {"Bearer " + testSecret}, "Content-Encoding": {"gzip"}},
			gzipped(t, string(fixture(t, "fastly.ndjson"))), 200, "", []string{
				"push:fastly stamp_mismatch /account", "push:fastly cached_personal /account", "push:fastly cached_personal /login", "push:fastly cached_personal /account"}},
		{"fastly, too large", "/fastly", bearer, bytes.Repeat([]byte("x"), 2<<20), 413, "push larger than", nil},
		{"firehose", "/firehose", firehose, firehoseBody(t, realtime...), 200, `"requestId":"ed4acda5-034f-9f42-bba1-f29aea6d7d8f"`, []string{
			"push:firehose cached_personal /account", "push:firehose cached_personal /account", "push:firehose collapse_suspected /account"}},
		{"firehose, wrong key", "/firehose", http.Header{"X-Amz-Firehose-Access-Key": {"nope"}}, firehoseBody(t, realtime...), 401, `"errorMessage":"bad or missing access key"`, nil},
		{"firehose, a bad record", "/firehose", firehose, firehoseBody(t, realtime[0], "1607374321.541\t127.0.0.1\n"), 400, `"errorMessage":"record 2: want 40 tab-separated fields, got 2"`, nil},
		{"firehose, not base64", "/firehose", firehose, []byte(`{"requestId":"x","records":[{"data":"%%%"}]}`), 400, `record 1: bad base64`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(found.get())
			status, body := post(t, srv.URL+tc.path, tc.header, tc.body)
			if status != tc.status || !strings.Contains(body, tc.body2) {
				t.Fatalf("answered %d %q, want %d with %q", status, body, tc.status, tc.body2)
			}
			got := found.get()[before:]
			if strings.Join(got, "\n") != strings.Join(tc.found, "\n") {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.found, "\n"))
			}
		})
	}
	// Three pushes were refused as unreadable: the window cannot resolve.
	// Its causes: stamp_mismatch and cached_personal on /account,
	// cached_personal on /login, collapse_suspected on /account.
	if run := window.Run(context.Background()); run.Errors != 3 || len(run.Causes) != 4 {
		t.Errorf("window: %d errors, %d causes", run.Errors, len(run.Causes))
	}
}

func TestFastlyChallenge(t *testing.T) {
	srv, _, _ := startReceiver(t)
	resp, err := http.Get(srv.URL + "/.well-known/fastly/logging/challenge")
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
	srv, _, _ := startReceiver(t)
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
	} {
		status, body := post(t, srv.URL+tc.path, tc.header, tc.body)
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
