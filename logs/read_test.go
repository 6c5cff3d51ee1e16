package logs

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/internal/loggen"
)

const nginxLine = "1796006221.596\twww.example.com\tGET\t/account\t200\tHIT\t-\t-\t-\tsession=alice\n"

// readAll reads s with o and returns the stats and the records' paths.
func readAll(t *testing.T, r io.Reader, o Options) (Stats, []string, error) {
	t.Helper()
	var paths []string
	st, err := Read(r, o, func(_ Format, rec *Record) { paths = append(paths, rec.Path) })
	return st, paths, err
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	io.WriteString(zw, s)
	zw.Close()
	return b.Bytes()
}

func TestReadBadInput(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, tc := range []struct {
		name      string
		input     string
		opts      Options
		records   int64
		bad       []BadLine
		wantErr   string
		unparsing bool
	}{
		{name: "bad lines are counted with their numbers, the run goes on",
			input:   nginxLine + "garbage\n" + nginxLine + "1\t2\n" + nginxLine,
			opts:    Options{Format: Nginx},
			records: 3, bad: []BadLine{{2, "want 11 tab-separated fields (10 without Cache-Control), got 1"}, {4, "want 11 tab-separated fields (10 without Cache-Control), got 2"}}},
		{name: "a line over the limit is bad, and the next line reads",
			input:   nginxLine + "1\t" + long + "\n" + nginxLine,
			opts:    Options{Format: Nginx, MaxLine: 256},
			records: 2, bad: []BadLine{{2, "longer than 256 bytes"}}},
		{name: "a last line over the limit, with no newline",
			input:   nginxLine + long,
			opts:    Options{Format: Nginx, MaxLine: 256},
			records: 1, bad: []BadLine{{2, "longer than 256 bytes"}}},
		{name: "invalid UTF-8 and CRLF are read as they are",
			input:   strings.Replace(nginxLine, "session=alice", "s=\xff\xfe", 1) + strings.Replace(nginxLine, "\n", "\r\n", 1),
			opts:    Options{Format: Nginx},
			records: 2},
		{name: "invalid JSON",
			input:   `{"reqPath":"/a","reqTimeSec":"1"}` + "\n" + `{"reqPath":"/a",` + "\n" + `{"reqPath":"\x01"}` + "\n",
			opts:    Options{Format: Akamai},
			records: 1, bad: []BadLine{{2, "invalid JSON"}, {3, "invalid JSON"}}, unparsing: true},
		{name: "mostly unparsable",
			input:   "a\nb\n" + nginxLine,
			opts:    Options{Format: Nginx},
			records: 1, bad: []BadLine{{1, "want 11 tab-separated fields (10 without Cache-Control), got 1"}, {2, "want 11 tab-separated fields (10 without Cache-Control), got 1"}}, unparsing: true},
		{name: "no format given and none told",
			input: nginxLine, wantErr: "cannot tell the log format"},
		{name: "blank lines before the first record",
			input: "\n\n" + `{"reqPath":"/x","reqTimeSec":"1700000000"}` + "\n", records: 1},
		{name: "a W3C record before #Fields",
			input: "#Version: 1.0\n2019-12-04\t21:02:31\n", records: 0,
			bad: []BadLine{{2, "record before the #Fields line"}}, unparsing: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, paths, err := readAll(t, strings.NewReader(tc.input), tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Records != tc.records || int64(len(paths)) != tc.records || st.Bad != int64(len(tc.bad)) {
				t.Errorf("records %d (%d emitted), bad %d %v; want %d and %v", st.Records, len(paths), st.Bad, st.BadLines, tc.records, tc.bad)
			}
			for i, b := range tc.bad {
				if i < len(st.BadLines) && st.BadLines[i] != b {
					t.Errorf("bad line %d: %v, want %v", i, st.BadLines[i], b)
				}
			}
			if st.Unparsable() != tc.unparsing {
				t.Errorf("Unparsable() = %v", st.Unparsable())
			}
		})
	}
}

// No bad line quotes its content: a malformed line may hold a cookie.
func TestBadLinesQuoteNoContent(t *testing.T) {
	secret := "session=s3cr3t-value"
	for _, f := range Formats {
		input := "1\t" + secret + "\n" + `{"reqPath":"` + secret + "\n" + secret + "\n"
		st, _, _ := readAll(t, strings.NewReader(input), Options{Format: f, Fields: []string{"timestamp", "cs-uri-stem"}})
		for _, b := range st.BadLines {
			if strings.Contains(b.Reason, "s3cr3t") {
				t.Errorf("%s: %v", f, b)
			}
		}
	}
}

func TestReadGzip(t *testing.T) {
	// Two members, as concatenated log files are.
	data := append(gzipped(t, nginxLine+nginxLine), gzipped(t, nginxLine)...)
	st, paths, err := readAll(t, bytes.NewReader(data), Options{Format: Nginx})
	if err != nil || st.Records != 3 || len(paths) != 3 {
		t.Fatalf("records %d, err %v", st.Records, err)
	}
	corrupt := gzipped(t, nginxLine)
	corrupt = corrupt[:len(corrupt)-6]
	if _, _, err := readAll(t, bytes.NewReader(corrupt), Options{Format: Nginx}); err == nil {
		t.Error("a truncated gzip stream read without error")
	}
}

// A gzip member that inflates to one enormous line is read past in
// bounded memory: the line is bad, and the records around it count.
func TestReadHugeGzipMember(t *testing.T) {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	io.WriteString(zw, nginxLine)
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for range 32 { // 32 MiB of one line, 512 times the limit
		zw.Write(chunk)
	}
	io.WriteString(zw, "\n"+nginxLine)
	zw.Close()
	st, _, err := readAll(t, &b, Options{Format: Nginx})
	if err != nil || st.Records != 2 || st.Bad != 1 {
		t.Fatalf("records %d bad %d err %v", st.Records, st.Bad, err)
	}
}

func TestDetect(t *testing.T) {
	for line, want := range map[string]Format{
		"#Version: 1.0":                                 CloudFront,
		"#Fields: date time x-edge-location":            CloudFront,
		`{"content":"tests"}`:                           Cloudflare,
		`{"RayID":"7c0a","EdgeStartTimestamp":1}`:       Cloudflare,
		`{"version":1,"reqTimeSec":"1573840000"}`:       Akamai,
		`{"insertId":"x","httpRequest":{"status":200}}`: CloudCDN,
		`{"time":1,"fastly_state":"HIT"}`:               Fastly,
	} {
		if got, err := detect(line); got != want || err != nil {
			t.Errorf("detect(%q) = %q, %v; want %q", line, got, err, want)
		}
	}
	for _, line := range []string{nginxLine, `{"message":"x"}`, "{"} {
		if got, err := detect(line); err == nil {
			t.Errorf("detect(%q) = %q, want an error", line, got)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats {
		if got, err := ParseFormat(string(f)); got != f || err != nil {
			t.Errorf("ParseFormat(%q) = %q, %v", f, got, err)
		}
	}
	if got, err := ParseFormat("auto"); got != "" || err != nil {
		t.Errorf("auto: %q, %v", got, err)
	}
	if _, err := ParseFormat("apache"); err == nil || !strings.Contains(err.Error(), "cloudfront-realtime") {
		t.Errorf("apache: %v", err)
	}
	for _, fields := range [][]string{nil, {"timestamp"}, {"timestamp", "cs-uri-stem", "x-nonsense"}} {
		if err := CheckFields(fields); err == nil {
			t.Errorf("CheckFields(%q) accepted", fields)
		}
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]string{
		"1700000000":           "2023-11-14T22:13:20Z",
		"1700000000.5":         "2023-11-14T22:13:20.5Z",
		"1700000000123":        "2023-11-14T22:13:20.123Z",
		"1700000000123456":     "2023-11-14T22:13:20.123456Z",
		"1700000000123456789":  "2023-11-14T22:13:20.123456789Z",
		"2023-11-14T22:13:20Z": "2023-11-14T22:13:20Z",
	} {
		got, ok := parseTime(in)
		if !ok || got.Format(time.RFC3339Nano) != want {
			t.Errorf("parseTime(%q) = %s, %v; want %s", in, got.Format(time.RFC3339Nano), ok, want)
		}
	}
	for _, in := range []string{"", "-", "0", "12a", "1.2.3", "yesterday"} {
		if _, ok := parseTime(in); ok {
			t.Errorf("parseTime(%q) accepted", in)
		}
	}
}

// Follow reads like tail -F: from the end, then what is appended, across
// a rename (the new file from its start) and a copy-and-truncate.
func TestFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	write := func(name, s string, flag int) {
		t.Helper()
		f, err := os.OpenFile(name, flag|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(f, s)
		f.Close()
	}
	line := func(p string) string { return strings.Replace(nginxLine, "/account", p, 1) }
	write(path, line("/old"), os.O_TRUNC)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 16)
	done := make(chan error, 1)
	src := Follow(ctx, path, 10*time.Millisecond)
	defer src.Close()
	go func() {
		_, err := Read(src, Options{Format: Nginx}, func(_ Format, r *Record) { got <- r.Path })
		done <- err
	}()
	next := func(want string) {
		t.Helper()
		select {
		case p := <-got:
			if p != want {
				t.Fatalf("read %s, want %s", p, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("nothing read, want %s", want)
		}
	}
	write(path, line("/one"), os.O_APPEND)
	next("/one")
	// Rotation by rename: the rest of a line cut at the rotation is its
	// own (bad) line, and the new file is read from its start.
	write(path, strings.TrimSuffix(line("/cut"), "\n"), os.O_APPEND)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	write(path, line("/two"), os.O_TRUNC)
	next("/cut")
	next("/two")
	// Rotation by copy and truncate, seen as a file shorter than what
	// was read (as tail -F sees it).
	write(path, line("/3"), os.O_TRUNC)
	next("/3")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not end with its context")
	}
	select {
	case p := <-got:
		t.Errorf("read %s after the end", p)
	default:
	}
}

// Follow waits for a file that does not exist yet.
func TestFollowWaitsForTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.log")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	src := Follow(ctx, path, 10*time.Millisecond)
	defer src.Close()
	go func() {
		time.Sleep(50 * time.Millisecond)
		os.WriteFile(path, []byte(nginxLine), 0o644)
	}()
	buf := make([]byte, len(nginxLine))
	if _, err := io.ReadFull(src, buf); err != nil || string(buf) != nginxLine {
		t.Fatalf("read %q, %v", buf, err)
	}
	cancel()
	if _, err := src.Read(buf); !errors.Is(err, io.EOF) {
		t.Errorf("after the context: %v", err)
	}
}

// Nothing appended before a rotation is lost, however the reader's polls
// fall between the writer's appends, renames and new files.
func TestFollowLosesNothingAcrossRotations(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A reader that polls without pause is between its read and its look at
	// the path as often as it can be.
	src := Follow(ctx, path, time.Nanosecond)
	defer src.Close()
	const rotations = 300
	got := make(chan string, 2*rotations)
	go Read(src, Options{Format: Nginx}, func(_ Format, r *Record) { got <- r.Path })
	line := func(p string) string { return strings.Replace(nginxLine, "/account", p, 1) }
	for i := 0; i < rotations; i++ {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(f, line(fmt.Sprintf("/before-%d", i)))
		f.Close()
		if err := os.Rename(path, path+".1"); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(line(fmt.Sprintf("/after-%d", i))), 0o644); err != nil {
			t.Fatal(err)
		}
		// Each rotation is seen on its own: a second rotation before the
		// reader looks would replace a file that it never saw.
		for _, want := range []string{fmt.Sprintf("/before-%d", i), fmt.Sprintf("/after-%d", i)} {
			select {
			case p := <-got:
				if p != want {
					t.Fatalf("rotation %d: read %s, want %s", i, p, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("rotation %d: nothing read, want %s", i, want)
			}
		}
	}
}

// A JSON format's records may come as JSON arrays, one or several,
// pretty-printed or not, among lines; an array is read element by
// element, each bounded like a line.
func TestReadJSONArrays(t *testing.T) {
	const a, b = `{"reqPath":"/a","reqTimeSec":"1"}`, `{"reqPath":"/b,]","q":["x",{"y":"]"}],"e":"\"]"}`
	for _, tc := range []struct {
		name  string
		input string
		opts  Options
		paths string // the records' paths, then their lines
		lines string
		bad   []BadLine
	}{
		{name: "one line", input: "[" + a + "," + b + "]\n", paths: "/a /b,]", lines: "1 1"},
		{name: "pretty-printed, strings and nesting holding , and ]",
			input: "[\n  " + a + ",\n  " + b + "\n]\n", paths: "/a /b,]", lines: "2 3"},
		{name: "arrays and lines mixed", input: a + "\n[" + b + "]\n  [ " + a + " ]\n" + b + "\n",
			paths: "/a /b,] /a /b,]", lines: "1 2 3 4"},
		{name: "empty arrays", input: "[]\n[ ]\n" + a + "\n", paths: "/a", lines: "3"},
		{name: "format given", input: "[" + a + "]", opts: Options{Format: Akamai}, paths: "/a", lines: "1"},
		{name: "an empty element", input: "[" + a + ",," + a + "]\n",
			paths: "/a /a", lines: "1 1", bad: []BadLine{{1, "invalid JSON"}}},
		{name: "an element that is no object", input: "[" + a + ",\n 7]\n",
			paths: "/a", lines: "1", bad: []BadLine{{2, "invalid JSON"}}},
		{name: "an element over the limit, then the next", input: `[{"x":"` + strings.Repeat("x", 300) + `"},` + a + "]",
			opts: Options{Format: Akamai, MaxLine: 256}, paths: "/a", lines: "1", bad: []BadLine{{1, "longer than 256 bytes"}}},
		{name: "unterminated", input: "[" + a + ",\n" + a,
			paths: "/a", lines: "1", bad: []BadLine{{2, "unterminated JSON array"}}},
		{name: "text after the array is a line", input: "[" + a + "] " + b + "\n",
			paths: "/a /b,]", lines: "1 1"},
		{name: "a tab format has no arrays", input: "[x\n" + nginxLine, opts: Options{Format: Nginx},
			paths: "/account", lines: "2", bad: []BadLine{{1, "want 11 tab-separated fields (10 without Cache-Control), got 1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var paths, lines []string
			st, err := Read(strings.NewReader(tc.input), tc.opts, func(_ Format, r *Record) {
				paths = append(paths, r.Path)
				lines = append(lines, fmt.Sprint(r.Line))
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(paths, " "); got != tc.paths || strings.Join(lines, " ") != tc.lines {
				t.Errorf("paths %q on lines %q, want %q on %q", got, strings.Join(lines, " "), tc.paths, tc.lines)
			}
			if fmt.Sprint(st.BadLines) != fmt.Sprint(tc.bad) {
				t.Errorf("bad lines %v, want %v", st.BadLines, tc.bad)
			}
			if st.Lines != st.Records+st.Skipped+st.Bad {
				t.Errorf("lines %d != records %d + skipped %d + bad %d", st.Lines, st.Records, st.Skipped, st.Bad)
			}
		})
	}
}

// Bad lines found before the format is told are reported with the format
// once it is, or as unknown; never with an empty format.
func TestBadLinesBeforeTheFormat(t *testing.T) {
	long := strings.Repeat("x", 300) + "\n"
	akamai := `{"reqPath":"/a","reqTimeSec":"1"}` + "\n"
	for _, tc := range []struct {
		name, input string
		want        []Format // the format each bad line is reported with
		format      Format
	}{
		{"told after", long + long + akamai, []Format{Akamai, Akamai}, Akamai},
		{"never told", long, []Format{Unknown}, Unknown},
		{"no line", "", nil, Unknown},
		{"more than are held back", strings.Repeat(long, MaxBadLines+1) + akamai,
			append(slices.Repeat([]Format{Unknown}, 1), slices.Repeat([]Format{Akamai}, MaxBadLines)...), Akamai},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []Format
			o := Options{MaxLine: 256, onBad: func(f Format, _ BadLine) { got = append(got, f) }}
			st, err := Read(strings.NewReader(tc.input), o, func(Format, *Record) {})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) || st.Format != tc.format {
				t.Errorf("reported as %q, stream %q; want %q, %q", got, st.Format, tc.want, tc.format)
			}
		})
	}
}

// A requester digest that is not one ("v1." and 22 base64url characters)
// makes a bad line in every format that carries digests, and the reason
// never quotes it: a misconfigured edge may log a credential there.
func TestMalformedRequesterDigest(t *testing.T) {
	const secret = "s3cr3t-session"
	tab := "1796006221.596\twww.example.com\tGET\t/account\t200\tHIT\t-\t-\t-\t-\t-\t"
	rt := "1607374400.000\t192.0.2.1\t0.100\t200\t900\tGET\thttps\twww.example.com\t/account\t300\tSEA19-C1\trid==\td.cloudfront.net\t0.100\tHTTP/2.0\tIPv4\tcurl/8.0\t-\t-\t-\tHit\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\t-\t-\ttext/html\t507\t-\t-\t50000\tHit\tUS\tgzip\t*/*\t/account*\tCache-Fence-Requester:"
	logpush := `{"ClientRequestURI":"/account","CacheCacheStatus":"hit",`
	for _, tc := range []struct {
		name, line string
		o          Options
	}{
		{"nginx, v1. and more", tab + "v1." + secret, Options{Format: Nginx}},
		{"nginx, v1. and too few", tab + "v1.WG1i5os8sXWL5QUyZMFOd", Options{Format: Nginx}},
		{"varnishncsa, v1. and a bad character", tab + "v1.WG1i5os8sXWL5QUyZMFO+A", Options{Format: Varnishncsa}},
		{"fastly", `{"url":"/account","fastly_state":"HIT","requester":"` + secret + `"}`, Options{Format: Fastly}},
		{"cloudflare request header", logpush + `"RequestHeaders":{"cache-fence-requester":"` + secret + `"}}`, Options{Format: Cloudflare}},
		{"cloudflare response header", logpush + `"ResponseHeaders":{"cache-fence-requester":"v1.` + secret + `"}}`, Options{Format: Cloudflare}},
		{"cloudfront real-time", rt + secret + "%0A\tHost%0A\t1", Options{Format: CloudFrontRealtime, Fields: realtimeFields}},
		{"akamai custom field", `{"reqPath":"/account","cacheStatus":"1","customField":"v1.WG1i5os8sXWL5QUyZMFOdA|requester=` + secret + `"}`, Options{Format: Akamai}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _, _ := readAll(t, strings.NewReader(tc.line+"\n"), tc.o)
			if st.Bad != 1 || st.Records != 0 || len(st.BadLines) != 1 {
				t.Fatalf("%d records, %d bad %v; want one bad line", st.Records, st.Bad, st.BadLines)
			}
			if reason := st.BadLines[0].Reason; reason != errBadRequester.Error() || strings.Contains(reason, secret) {
				t.Errorf("reason %q", reason)
			}
		})
	}
}

// BenchmarkReadDigest reads BenchmarkRead's traffic as an edge logs it
// with and without requester digests, side by side: "raw" logs each
// requester's cookie, which the checker turns into an identity and an
// HMAC, "digest" the digest the edge made, which costs neither. The
// generated traffic has 100 sessions, whose identities and HMACs the
// checker remembers; "-fresh" gives every line a session of its own, as a
// site with more sessions than the checker remembers does. nginx's raw
// lines get the Cache-Control field that its digest lines need, so that
// both judge the same headers.
func BenchmarkReadDigest(b *testing.B) {
	for _, f := range []Format{Nginx, Fastly, Cloudflare} {
		for _, mode := range []string{"raw", "digest", "raw-fresh", "digest-fresh"} {
			b.Run(string(f)+"/"+mode, func(b *testing.B) {
				found := 0
				data, sink, o := benchLog(b, f, 0, func(*Finding) { found++ })
				data = relog(b, sink.Checker.policy, f, mode, data)
				readBench(b, sink, data, o)
				if found != 0 {
					b.Fatalf("%d findings in clean traffic", found)
				}
			})
		}
	}
}

// relog rewrites a generated log of format f as mode says: in digest
// mode, each requester's credentials replaced by their digest; fresh,
// with a session per line, stamped for it.
func relog(b *testing.B, policy *fence.Policy, f Format, mode string, data []byte) []byte {
	digest, fresh := strings.HasPrefix(mode, "digest"), strings.HasSuffix(mode, "-fresh")
	digestOf := func(cookie string) string {
		h := http.Header{}
		if cookie != "" {
			h.Set("Cookie", cookie)
		}
		return fence.OwnerStamp(loggen.Key, policy.Identity(h, &url.URL{}))
	}
	// requester rewrites a line's cookie and stamp, and returns the
	// digest and cookie to log.
	requester := func(i int, cookie, stamp *string) (string, string) {
		if fresh && strings.Contains(*cookie, "session=") {
			*cookie += fmt.Sprint("-", i)
			if *stamp != "" {
				*stamp = digestOf(*cookie)
			}
		}
		if digest {
			return digestOf(*cookie), ""
		}
		return "", *cookie
	}
	var out []byte
	i := 0
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSuffix(line, "\n")
		i++
		if f == Nginx {
			// time host method uri status cache stamp set-cookie authorization cookie
			fields := strings.Split(line, "\t")
			cookie, stamp := dash(fields[9]), dash(fields[6])
			d, c := requester(i, &cookie, &stamp)
			fields = append(fields[:6], cmp.Or(stamp, "-"), "-", "-", "-", cmp.Or(c, "-"))
			if d != "" {
				fields = append(fields, d)
			}
			out = append(append(out, strings.Join(fields, "\t")...), '\n')
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			b.Fatal(err)
		}
		if f == Fastly {
			cookie, stamp := fastlyValue(`"`+rec["cookie"].(string)+`"`), fastlyValue(`"`+rec["cache_fence_owner"].(string)+`"`)
			d, c := requester(i, &cookie, &stamp)
			rec["cookie"], rec["cache_fence_owner"] = cmp.Or(c, "(null)"), cmp.Or(stamp, "(null)")
			if d != "" {
				rec["requester"] = d
			}
		} else {
			var pairs []string
			for name, v := range rec["Cookies"].(map[string]any) {
				pairs = append(pairs, name+"="+v.(string))
			}
			slices.Sort(pairs)
			cookie := strings.Join(pairs, "; ")
			response := rec["ResponseHeaders"].(map[string]any)
			stamp, _ := response["cache-fence-owner"].(string)
			d, c := requester(i, &cookie, &stamp)
			response["cache-fence-owner"] = stamp
			rec["Cookies"] = map[string]string{}
			for pair := range strings.SplitSeq(c, "; ") {
				if name, v, ok := strings.Cut(pair, "="); ok {
					rec["Cookies"].(map[string]string)[name] = v
				}
			}
			if d != "" {
				rec["RequestHeaders"] = map[string]string{"cache-fence-requester": d}
			}
		}
		j, err := json.Marshal(rec)
		if err != nil {
			b.Fatal(err)
		}
		out = append(append(out, j...), '\n')
	}
	return out
}
