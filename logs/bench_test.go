package logs

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cachefence/cachefence/catalog"
	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/internal/loggen"
)

// benchLines is the size of a benchmark's log, read again b.N times.
const benchLines = 20000

// benchLog is a generated log of benchLines lines in format f, a leak
// every leakEvery lines (none if 0), and a Sink checking it as the
// benchmarks' `cachefence logs` does.
func benchLog(b *testing.B, f Format, leakEvery int, emit func(*Finding)) ([]byte, *Sink, Options) {
	g := loggen.New()
	g.LeakEvery = leakEvery
	var buf bytes.Buffer
	if err := g.Write(&buf, string(f), 0, benchLines); err != nil {
		b.Fatal(err)
	}
	ch, err := NewChecker(Config{Key: loggen.Key,
		Rules: fence.Config{IgnoreCookies: []string{"_ga*"}, PrivatePaths: []string{"/account*"}}})
	if err != nil {
		b.Fatal(err)
	}
	return buf.Bytes(), &Sink{Checker: ch, Emit: emit}, Options{Format: f, Fields: loggen.RealtimeFields}
}

// readBench reads data b.N times with sink, and reports lines per second.
func readBench(b *testing.B, sink *Sink, data []byte, o Options) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		st, err := sink.Read("bench", bytes.NewReader(data), o)
		if err != nil || st.Records != benchLines || st.Bad != 0 {
			b.Fatalf("records %d, bad %d %v, err %v", st.Records, st.Bad, st.BadLines, err)
		}
	}
	b.ReportMetric(float64(b.N*benchLines)/time.Since(start).Seconds(), "lines/s")
}

// BenchmarkRead reads and checks a log of each format, as `cachefence
// logs` does with a file: parse, check every record (owner stamps
// verified with HMAC-SHA256, private paths matched, collapse state kept),
// count the records. It reports lines per second.
func BenchmarkRead(b *testing.B) {
	for _, f := range Formats {
		b.Run(string(f), func(b *testing.B) {
			found := 0
			data, sink, o := benchLog(b, f, 0, func(*Finding) { found++ })
			readBench(b, sink, data, o)
			if found != 0 {
				b.Fatal(fmt.Sprintf("%d findings in clean traffic", found))
			}
		})
	}
}

// BenchmarkFindings reads a log where a third of the lines are personal
// pages served from cache to another user, and writes every finding as
// `cachefence logs` does, as text and as JSON: the cost of many findings.
func BenchmarkFindings(b *testing.B) {
	for _, f := range []Format{CloudFront, Fastly} {
		for _, output := range []string{"text", "json"} {
			b.Run(string(f)+"/"+output, func(b *testing.B) {
				var out []byte
				found := 0
				data, sink, o := benchLog(b, f, 3, func(fd *Finding) {
					found++
					if output == "json" {
						out, _ = fd.AppendJSON(out)
						out = append(out, '\n')
					} else {
						out = fd.AppendText(out)
					}
					if len(out) > 64<<10 {
						out = out[:0]
					}
				})
				readBench(b, sink, data, o)
				if found < b.N*benchLines/3 {
					b.Fatalf("%d findings in %d reads; want a leak every third line", found, b.N)
				}
			})
		}
	}
}

// The text and JSON of a finding are written by hand, for the benchmarks
// above: they are byte for byte what fmt and encoding/json wrote, whatever
// a logged value holds, and cost no allocation.
func TestFindingFormats(t *testing.T) {
	// Every byte, alone and among others, and the runes encoding/json
	// treats apart.
	odd := []string{"", "<a href=\"x\">&amp;</a>", "tab\there\r\nnul\x00del\x7f", "\xff\xfe bad \xe2\x80", "line\u2028para\u2029",
		"\ufffd é 中 😀", `back\slash "quoted"`}
	for c := range 256 {
		odd = append(odd, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"é")
	}
	t0 := time.Date(2026, 11, 30, 1, 2, 3, 456789000, time.UTC)
	var findings []Finding
	for i, s := range odd {
		check := Checks[i%len(Checks)]
		findings = append(findings, Finding{Check: check, Severity: "high", Source: "src" + s, Line: int64(i) * 1e9,
			Time: []time.Time{{}, t0, t0.In(time.FixedZone("", -7*3600))}[i%3], Host: "h" + s, Path: "/p" + s,
			Cache: "hit", CacheWord: s, Owner: s, Requester: []string{"", "anonymous", s}[i%3],
			Why: [][]string{nil, {}, {s}, {"private_path", s, "set_cookie"}}[i%4]})
	}
	type plain Finding
	for _, f := range findings {
		// What the formats were before they were written by hand.
		summary := func() string {
			where := f.Host + f.Path
			switch f.Check {
			case StampMismatch:
				return fmt.Sprintf("%s: page stamped for %s served to %s (%s)", where, f.Owner, f.Requester, f.CacheWord)
			case CachedPersonal:
				return fmt.Sprintf("%s: personal response (%s) served from cache (%s) to %s", where, strings.Join(f.Why, ", "), f.CacheWord, f.Requester)
			case GuardStoppedLeak:
				return fmt.Sprintf("%s: the edge guard stopped a page stamped for %s (%s) for %s: %s", where, cmp.Or(f.Owner, "someone else"), f.CacheWord, f.Requester, strings.Join(f.Why, ", "))
			}
			return fmt.Sprintf("%s: %s", where, strings.Join(f.Why, "; "))
		}()
		text := fmt.Sprintf("%s:%d: %s %s: %s", f.Source, f.Line, f.Severity, f.Check, summary)
		want, err := json.Marshal(struct {
			plain
			catalog.Words
		}{plain(f), catalog.Must(f.Check).Words()})
		if err != nil {
			t.Fatal(err)
		}
		if got := f.String(); got != text {
			t.Errorf("String:\n got %q\nwant %q", got, text)
		}
		if got := f.AppendText([]byte("x")); string(got) != "x"+text+"\n" {
			t.Errorf("AppendText:\n got %q\nwant %q", got, "x"+text+"\n")
		}
		if got, err := f.AppendJSON([]byte("x")); err != nil || string(got) != "x"+string(want) {
			t.Errorf("AppendJSON (%v):\n got %s\nwant x%s", err, got, want)
		}
		// Through encoding/json, which checks that it is valid JSON.
		if got, err := json.Marshal(f); err != nil || !bytes.Equal(got, want) {
			t.Errorf("json.Marshal (%v):\n got %s\nwant %s", err, got, want)
		}
		if got := f.summary(); got != summary {
			t.Errorf("summary:\n got %q\nwant %q", got, summary)
		}
	}
	f := findings[len(findings)-1]
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() {
		buf = f.AppendText(buf[:0])
		buf, _ = f.AppendJSON(buf[:0])
	}); n != 0 {
		t.Errorf("%v allocations per finding written", n)
	}
}

// A requester's name is an HMAC, computed once per identity, not once per
// finding.
func TestNameRemembered(t *testing.T) {
	for _, key := range [][]byte{loggen.Key, nil} {
		ch, err := NewChecker(Config{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		id := "cookie\x00session=user1\x00"
		first := ch.name(id)
		if n := testing.AllocsPerRun(100, func() {
			if ch.name(id) != first {
				t.Fatal("the name changed")
			}
		}); n != 0 {
			t.Errorf("key %v: %v allocations per name: the digest is computed again", key != nil, n)
		}
	}
}

// Identities are remembered by all they are made of, within bounds.
func TestIdentitiesRemembered(t *testing.T) {
	ch, err := NewChecker(Config{Rules: fence.Config{CredentialParams: []string{"token"}, CredentialHeaders: []string{"X-Api-Key"}}})
	if err != nil {
		t.Fatal(err)
	}
	identity := func(r Record) string {
		v := view{r: &r, c: ch}
		return v.identity()
	}
	base := Record{Path: "/account", Query: "token=1", Cookie: "session=a"}
	for range 2 { // the second time from memory
		seen := map[string]string{}
		for name, r := range map[string]Record{
			"base":          base,
			"query":         {Path: base.Path, Query: "token=2", Cookie: base.Cookie},
			"cookie":        {Path: base.Path, Query: base.Query, Cookie: "session=b"},
			"authorization": {Path: base.Path, Query: base.Query, Cookie: base.Cookie, Authorization: "Bearer x"},
			"header":        {Path: base.Path, Query: base.Query, Cookie: base.Cookie, Header: http.Header{"X-Api-Key": {"k"}}},
			"path param":    {Path: base.Path + ";token=3", Query: base.Query, Cookie: base.Cookie},
		} {
			id := identity(r)
			if other, dup := seen[id]; dup {
				t.Errorf("%s and %s have one identity", name, other)
			}
			seen[id] = name
		}
	}
	for i := range 3 * maxRemembered {
		identity(Record{Path: "/", Cookie: fmt.Sprintf("session=%d", i)})
	}
	if len(ch.identities) > maxRemembered {
		t.Errorf("%d identities remembered", len(ch.identities))
	}
}
