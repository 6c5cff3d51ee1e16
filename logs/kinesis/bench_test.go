package kinesis

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/internal/loggen"
	"github.com/cachefence/cachefence/logs"
)

// BenchmarkConsume reads CloudFront real-time lines, one per Kinesis
// record as CloudFront writes them, from the fake stream's shards into a
// logs.Sink that checks each, as `cachefence logs` would: GetRecords
// over HTTP with base64 data, line splitting, batch joining, parsing,
// checking, checkpointing. Poll waits are skipped, so it measures what a
// consumer's CPU keeps up with, not Kinesis's 5 calls a second per shard.
// It reports lines per second and the mean line length.
func BenchmarkConsume(b *testing.B) {
	const shards, perShard = 4, 5000
	g := loggen.New()
	f := &fakeKinesis{stream: "cf-realtime", page: 1000, perCall: 10000}
	size := 0
	for s := range shards {
		sh := &fakeShard{id: shardID(s), closed: true}
		var line []byte
		for i := range perShard {
			line = g.Line(line[:0], string(logs.CloudFrontRealtime), s*perShard+i)
			sh.data = append(sh.data, string(line))
			size += len(line)
		}
		f.shards = append(f.shards, sh)
	}
	srv := f.start(b)
	fakeCredentials(b)
	ch, err := logs.NewChecker(logs.Config{Key: loggen.Key,
		Rules: fence.Config{IgnoreCookies: []string{"_ga*"}, PrivatePaths: []string{"/account*"}}})
	if err != nil {
		b.Fatal(err)
	}
	found := 0
	sink := &logs.Sink{Checker: ch, Emit: func(*logs.Finding) { found++ }}
	o := logs.Options{Format: logs.CloudFrontRealtime, Fields: loggen.RealtimeFields}
	b.SetBytes(int64(size))
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		ctx, cancel := context.WithCancel(b.Context())
		cfg := Config{Stream: f.stream, Region: "us-east-1", Endpoint: srv.URL, Checkpoint: filepath.Join(b.TempDir(), "cp.json"),
			sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
		read := 0
		err := Consume(ctx, cfg, func(_ context.Context, batch []Record) error {
			st, err := sink.Read("kinesis", bytes.NewReader(Join(batch)), o)
			if err != nil || st.Records != int64(len(batch)) || st.Bad != 0 {
				return fmt.Errorf("records %d of %d, bad %d %v, err %v", st.Records, len(batch), st.Bad, st.BadLines, err)
			}
			if read += len(batch); read == shards*perShard {
				cancel()
			}
			return nil
		})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*shards*perShard)/time.Since(start).Seconds(), "lines/s")
	b.ReportMetric(float64(size)/(shards*perShard), "B/line")
	if found != 0 {
		b.Fatalf("%d findings in clean traffic", found)
	}
}
