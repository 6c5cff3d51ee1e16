package kafka

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/internal/loggen"
	"github.com/cachefence/cachefence/logs"
)

var (
	benchLines = flag.Int("kafka-lines", 200000, "BenchmarkConsume: lines in the topic")
	scalingSVG = flag.String("scaling-svg", "", "BenchmarkConsume: write lines/s against consumers to this SVG file")
)

const (
	benchTopic      = "cdn-logs-bench"
	benchPartitions = 8
	maxConsumers    = 4
)

// BenchmarkConsume reads a topic of 8 partitions holding CloudFront
// real-time log lines (loggen's traffic, one line per record, keyed by
// host and path as docs/logs.md asks) with 1 to 4 consumers in one group,
// each with its own logs.Sink, as `cachefence logs --kafka-brokers` runs
// them, until every line is read. "transport" is one consumer that checks
// nothing: what Kafka itself costs.
//
// It reports lines per second of wall time from the consumers' start
// (joining the group included) to the last line, and CPU microseconds per line (user and system, of the whole
// process: the consumers, their clients and the in-process kfake broker,
// which is measured alone in "transport").
func BenchmarkConsume(b *testing.B) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(benchPartitions, benchTopic))
	if err != nil {
		b.Fatal(err)
	}
	defer cluster.Close()
	n := produceLog(b, cluster.ListenAddrs(), *benchLines)
	// A first read warms the broker and the runtime up: the first group
	// to read the topic took twice the CPU of the next ones.
	consumeOnce(b, Config{Brokers: cluster.ListenAddrs(), Topic: benchTopic, Group: "warm-up"}, n, 1, false)
	perSecond := map[int]float64{}
	for k := 1; k <= maxConsumers; k++ {
		b.Run(fmt.Sprintf("consumers=%d", k), func(b *testing.B) {
			perSecond[k] = consumeAll(b, cluster.ListenAddrs(), n, k, true)
		})
	}
	b.Run("transport", func(b *testing.B) { consumeAll(b, cluster.ListenAddrs(), n, 1, false) })
	if *scalingSVG != "" && len(perSecond) == maxConsumers {
		if err := os.WriteFile(*scalingSVG, scalingPlot(perSecond), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// produceLog writes n lines of loggen's CloudFront real-time traffic, one
// per record keyed by host and path, and returns n.
func produceLog(b *testing.B, addrs []string, n int) int {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(benchTopic), kgo.ProducerLinger(10*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	g := loggen.New()
	var mu sync.Mutex
	var firstErr error
	for i := range n {
		line := g.Line(nil, string(logs.CloudFrontRealtime), i)
		f := strings.Split(string(line), "\t")
		cl.Produce(context.Background(), &kgo.Record{Key: []byte(f[4] + f[5]), Value: bytes.TrimSuffix(line, []byte{'\n'})},
			func(_ *kgo.Record, err error) {
				mu.Lock()
				defer mu.Unlock()
				if firstErr == nil {
					firstErr = err
				}
			})
	}
	if err := cl.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	return n
}

// consumeAll reads the whole topic b.N times, each time as a new group of
// k consumers, checking every line if check is set, and returns lines per
// second.
func consumeAll(b *testing.B, addrs []string, n, k int, check bool) float64 {
	var wall time.Duration
	cpu0 := cpuTime()
	for i := range b.N {
		wall += consumeOnce(b, Config{Brokers: addrs, Topic: benchTopic, Group: fmt.Sprintf("%s-%d-%d", b.Name(), i, time.Now().UnixNano())}, n, k, check)
	}
	cpu := cpuTime() - cpu0
	lines := float64(b.N * n)
	b.ReportMetric(lines/wall.Seconds(), "lines/s")
	b.ReportMetric(float64(cpu.Microseconds())/lines, "cpu-µs/line")
	b.ReportMetric(lines/cpu.Seconds(), "lines/cpu-s")
	return lines / wall.Seconds()
}

// consumeOnce runs k consumers of one group until n lines are read, and
// returns the time from their start, joining the group included, to the
// last line.
func consumeOnce(b *testing.B, cfg Config, n, k int, check bool) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var read, findings atomic.Int64
	var last sync.Once
	var done time.Time
	errs := make(chan error, k)
	start := time.Now()
	for range k {
		ch, err := logs.NewChecker(logs.Config{Key: loggen.Key,
			Rules: fence.Config{IgnoreCookies: []string{"_ga*"}, PrivatePaths: []string{"/account*"}}})
		if err != nil {
			b.Fatal(err)
		}
		sink := &logs.Sink{Checker: ch, Emit: func(*logs.Finding) { findings.Add(1) }}
		opts := logs.Options{Format: logs.CloudFrontRealtime, Fields: loggen.RealtimeFields}
		go func() {
			errs <- Consume(ctx, cfg, func(_ context.Context, batch []Record) error {
				if check {
					st, err := sink.Read("kafka", bytes.NewReader(Join(batch)), opts)
					if err != nil || st.Bad != 0 {
						return fmt.Errorf("read %d records, %d bad %v: %v", st.Records, st.Bad, st.BadLines, err)
					}
				}
				if read.Add(int64(len(batch))) >= int64(n) {
					last.Do(func() { done = time.Now() })
					cancel()
				}
				return nil
			})
		}()
	}
	for range k {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	// No rebalance here should read a line twice: a partition moves only
	// at a committed offset.
	if got := read.Load(); got != int64(n) {
		b.Fatalf("read %d lines of %d", got, n)
	}
	if findings.Load() != 0 {
		b.Fatalf("%d findings in clean traffic", findings.Load())
	}
	return done.Sub(start)
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scalingPlot draws lines per second against consumers, from 0, as SVG.
func scalingPlot(perSecond map[int]float64) []byte {
	const w, h, left, bottom, top, right = 480, 320, 70, 50, 30, 20
	top0 := 0.0
	for _, v := range perSecond {
		top0 = max(top0, v)
	}
	// A round axis top: 1, 2 or 5 times a power of ten, above the highest.
	step := 1.0
	for step*10 <= top0 {
		step *= 10
	}
	axis := step
	for _, m := range []float64{1, 2, 5, 10} {
		if axis = step * m; axis >= top0*1.1 {
			break
		}
	}
	x := func(k int) float64 { return left + float64(k-1)*(w-left-right)/float64(maxConsumers-1) }
	y := func(v float64) float64 { return h - bottom - v/axis*(h-bottom-top) }
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&s, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&s, `<text x="%d" y="18" font-size="14">cachefence logs from Kafka: lines/s against consumers</text>`+"\n", left)
	fmt.Fprintf(&s, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, h-bottom, w-right, h-bottom)
	fmt.Fprintf(&s, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, h-bottom)
	for i := 0; i <= 4; i++ {
		v := axis * float64(i) / 4
		fmt.Fprintf(&s, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%.0fk</text>`+"\n",
			left, y(v), w-right, y(v), left-6, y(v)+4, v/1000)
	}
	var points []string
	for k := 1; k <= maxConsumers; k++ {
		points = append(points, fmt.Sprintf("%.1f,%.1f", x(k), y(perSecond[k])))
		fmt.Fprintf(&s, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(k), h-bottom+18, k)
		fmt.Fprintf(&s, `<circle cx="%.1f" cy="%.1f" r="4" fill="#1f77b4"/><text x="%.1f" y="%.1f" text-anchor="middle">%.0fk</text>`+"\n",
			x(k), y(perSecond[k]), x(k), y(perSecond[k])-10, perSecond[k]/1000)
	}
	fmt.Fprintf(&s, `<polyline points="%s" fill="none" stroke="#1f77b4" stroke-width="2"/>`+"\n", strings.Join(points, " "))
	fmt.Fprintf(&s, `<text x="%d" y="%d" text-anchor="middle">consumers in one group (8 partitions; 2 shared cores)</text>`+"\n", (w+left)/2, h-12)
	fmt.Fprintf(&s, `<text transform="translate(16 %d) rotate(-90)" text-anchor="middle">lines per second</text>`+"\n", (h-bottom+top)/2)
	s.WriteString("</svg>\n")
	return []byte(s.String())
}
