package logs

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/internal/loggen"
)

// benchLines is the size of a benchmark's log, read again b.N times.
const benchLines = 20000

// BenchmarkRead reads and checks a log of each format, as `cachefence
// logs` does with a file: parse, check every record (owner stamps
// verified with HMAC-SHA256, private paths matched, collapse state kept),
// count the records. It reports lines per second.
func BenchmarkRead(b *testing.B) {
	for _, f := range Formats {
		b.Run(string(f), func(b *testing.B) {
			g := loggen.New()
			var buf bytes.Buffer
			loggen.Header(&buf, string(f))
			var line []byte
			for i := range benchLines {
				line = g.Line(line[:0], string(f), i)
				buf.Write(line)
			}
			ch, err := NewChecker(Config{Key: loggen.Key,
				Rules: fence.Config{IgnoreCookies: []string{"_ga*"}, PrivatePaths: []string{"/account*"}}})
			if err != nil {
				b.Fatal(err)
			}
			found := 0
			sink := &Sink{Checker: ch, Emit: func(*Finding) { found++ }}
			o := Options{Format: f, Fields: loggen.RealtimeFields}
			data := buf.Bytes()
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				st, err := sink.Read("bench", bytes.NewReader(data), o)
				if err != nil || st.Records != benchLines || st.Bad != 0 {
					b.Fatalf("records %d, bad %d %v, err %v", st.Records, st.Bad, st.BadLines, err)
				}
			}
			b.ReportMetric(float64(b.N*benchLines)/time.Since(start).Seconds(), "lines/s")
			if found != 0 {
				b.Fatal(fmt.Sprintf("%d findings in clean traffic", found))
			}
		})
	}
}
