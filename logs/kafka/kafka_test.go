package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The tests run a real Kafka protocol: kfake is an in-process cluster on
// 127.0.0.1 that answers the group, fetch and commit requests as Kafka does.

const (
	topic      = "cdn-logs"
	partitions = 4
	// testBatch keeps batches small so that a stream is many batches and
	// a rebalance falls in the middle of it.
	testBatch = 16
	// testDeadline only stops a test that hangs; no assertion is timed.
	testDeadline = 30 * time.Second
)

func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// produce writes n records keyed by URL, every third holding three lines
// as vendors batch them, and returns the lines written.
func produce(t *testing.T, addrs []string, n int, opts ...kgo.Opt) []string {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var lines []string
	var recs []*kgo.Record
	for i := range n {
		key := fmt.Sprintf("www.example.com/account/%d", i%10)
		value := fmt.Sprintf("%s line %d", key, i)
		lines = append(lines, value)
		if i%3 == 0 {
			more := []string{value + ".b", value + ".c"}
			lines = append(lines, more...)
			value += "\n" + more[0] + "\r\n\n" + more[1] + "\n"
		}
		recs = append(recs, &kgo.Record{Key: []byte(key), Value: []byte(value)})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// stream writes n records to a new cluster and returns a context that
// ends at testDeadline, a Config to read them in small batches as a group,
// and the lines written.
func stream(t *testing.T, n int) (context.Context, context.CancelFunc, Config, []string) {
	t.Helper()
	c := newCluster(t)
	want := produce(t, c.ListenAddrs(), n)
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	return ctx, cancel, Config{Brokers: c.ListenAddrs(), Topic: topic, Group: "watchers", MaxRecords: testBatch}, want
}

// tally counts the lines handled, by all consumers.
type tally struct {
	mu   sync.Mutex
	seen map[string]int
	// until is closed once cond holds.
	cond   func(seen map[string]int) bool
	until  chan struct{}
	closed bool
}

func newTally(cond func(map[string]int) bool) *tally {
	return &tally{seen: map[string]int{}, cond: cond, until: make(chan struct{})}
}

func (ta *tally) add(batch []Record) []string {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	var lines []string
	for _, r := range batch {
		ta.seen[string(r.Text)]++
		lines = append(lines, string(r.Text))
	}
	if !ta.closed && ta.cond(ta.seen) {
		close(ta.until)
		ta.closed = true
	}
	return lines
}

// handle is a handler that tallies the batch.
func (ta *tally) handle(_ context.Context, batch []Record) error {
	ta.add(batch)
	return nil
}

// consume runs Consume in the background; its error comes on the channel.
func consume(ctx context.Context, cfg Config, handle func(context.Context, []Record) error) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- Consume(ctx, cfg, handle) }()
	return errc
}

func (ta *tally) wait(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-ta.until:
	case <-ctx.Done():
		ta.mu.Lock()
		defer ta.mu.Unlock()
		t.Fatalf("gave up after %s with %d distinct lines handled", testDeadline, len(ta.seen))
	}
}

// all holds once every line of want was handled, and each of again twice.
func all(want, again []string) func(map[string]int) bool {
	return func(seen map[string]int) bool {
		for _, l := range want {
			if seen[l] < 1 {
				return false
			}
		}
		for _, l := range again {
			if seen[l] < 2 {
				return false
			}
		}
		return true
	}
}

var errKilled = errors.New("killed mid-batch")

// TestKillMidStream runs two consumers in one group over four partitions
// and kills one with a batch in hand: every line is handled, none is
// skipped, and the only lines handled twice are those of the killed
// batch, which its partition's next owner reads again.
func TestKillMidStream(t *testing.T) {
	ctx, cancel, cfg, want := stream(t, 300)
	defer cancel()

	// The killed batch is known only once A is killed; until then, wait
	// for the lines alone.
	var killed []string
	var killedMu sync.Mutex
	ta := newTally(func(seen map[string]int) bool {
		killedMu.Lock()
		defer killedMu.Unlock()
		return killed != nil && all(want, killed)(seen)
	})

	ctxA, killA := context.WithCancel(ctx)
	defer killA()
	started := make(chan struct{})
	batches := 0
	errA := consume(ctxA, cfg, func(_ context.Context, batch []Record) error {
		batches++
		// A handles the batch, then dies before its commit.
		lines := ta.add(batch)
		switch batches {
		case 1:
			close(started)
		case 3:
			killedMu.Lock()
			killed = lines
			killedMu.Unlock()
			killA()
			return errKilled
		}
		return nil
	})
	<-started
	ctxB, stopB := context.WithCancel(ctx)
	defer stopB()
	errB := consume(ctxB, cfg, ta.handle)
	ta.wait(t, ctx)
	stopB()
	if err := <-errA; !errors.Is(err, errKilled) {
		t.Errorf("killed consumer: %v, want %v", err, errKilled)
	}
	if err := <-errB; err != nil {
		t.Errorf("surviving consumer: %v", err)
	}

	ta.mu.Lock()
	defer ta.mu.Unlock()
	inKilled := map[string]bool{}
	for _, l := range killed {
		inKilled[l] = true
	}
	dups := 0
	for _, l := range want {
		switch n := ta.seen[l]; {
		case n == 0:
			t.Errorf("line %q skipped", l)
		case n > 1 && !inKilled[l]:
			t.Errorf("line %q handled %d times, not in the killed batch", l, n)
		case n > 2:
			t.Errorf("line %q handled %d times", l, n)
		case n == 2:
			dups++
		}
	}
	if len(ta.seen) != len(want) {
		t.Errorf("%d distinct lines handled, %d written", len(ta.seen), len(want))
	}
	// Bound: the killed batch, read again once, and nothing else.
	if len(killed) == 0 || dups != len(killed) {
		t.Errorf("%d lines handled twice, want the killed batch's %d", dups, len(killed))
	}
}

// TestRestart stops a consumer after it committed part of the stream, then
// starts another in the same group: it resumes at the commit, reading
// again only a batch that was failed.
func TestRestart(t *testing.T) {
	for _, tc := range []struct {
		name string
		// last is what the first consumer's handler returns for its
		// last batch, after cancelling its context.
		last error
	}{
		{"stopped after handling its batch", nil},
		{"failed its batch", errKilled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel, cfg, want := stream(t, 200)
			defer cancel()

			committed := map[string]bool{}
			ctx1, stop1 := context.WithCancel(ctx)
			defer stop1()
			batches := 0
			err := Consume(ctx1, cfg, func(_ context.Context, batch []Record) error {
				batches++
				last := batches == 4
				if last {
					stop1()
					if tc.last != nil {
						return tc.last
					}
				}
				for _, r := range batch {
					committed[string(r.Text)] = true
				}
				return nil
			})
			if !errors.Is(err, tc.last) {
				t.Fatalf("first consumer: %v, want %v", err, tc.last)
			}
			var rest []string
			for _, l := range want {
				if !committed[l] {
					rest = append(rest, l)
				}
			}
			if len(committed) == 0 || len(rest) == 0 {
				t.Fatalf("first consumer handled %d of %d lines: the test needs a part", len(committed), len(want))
			}

			ta := newTally(all(rest, nil))
			ctx2, stop2 := context.WithCancel(ctx)
			defer stop2()
			errc := consume(ctx2, cfg, ta.handle)
			ta.wait(t, ctx)
			stop2()
			if err := <-errc; err != nil {
				t.Errorf("second consumer: %v", err)
			}
			ta.mu.Lock()
			defer ta.mu.Unlock()
			// Lines come in offset order per partition: a commit behind
			// would show committed lines again before the rest.
			if got := slices.Sorted(maps.Keys(ta.seen)); !slices.Equal(got, slices.Sorted(slices.Values(rest))) {
				t.Errorf("second consumer read %d lines, want the %d not committed", len(got), len(rest))
			}
			for l, n := range ta.seen {
				if n != 1 {
					t.Errorf("line %q read %d times", l, n)
				}
			}
		})
	}
}

func TestSplitLines(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  []string // "line number:text"
	}{
		{"a", []string{"1:a"}},
		{"a\n", []string{"1:a"}},
		{"a\r\nb\r\n", []string{"1:a", "2:b"}},
		{"a\n\n\nd", []string{"1:a", "4:d"}},
		{"\n", nil},
		{"", nil},
		{"a\rb", []string{"1:a\rb"}},
	} {
		batch := appendLines(nil, &kgo.Record{Topic: "t", Partition: 2, Offset: 7, Value: []byte(tc.value)})
		var got []string
		for _, r := range batch {
			if r.Source() != "kafka:t/2:7" {
				t.Errorf("%q: source %q", tc.value, r.Source())
			}
			got = append(got, fmt.Sprintf("%d:%s", r.Line, r.Text))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: lines %q, want %q", tc.value, got, tc.want)
		}
	}
}

func TestJoin(t *testing.T) {
	batch := []Record{{Text: []byte("a")}, {Text: []byte("bc")}}
	if got := string(Join(batch)); got != "a\nbc\n" {
		t.Errorf("Join: %q", got)
	}
	if got := string(Join(nil)); got != "" {
		t.Errorf("Join(nil): %q", got)
	}
}

func TestConsumeNeeds(t *testing.T) {
	for _, cfg := range []Config{
		{Topic: topic, Group: "g"},
		{Brokers: []string{"127.0.0.1:1"}, Group: "g"},
		{Brokers: []string{"127.0.0.1:1"}, Topic: topic},
	} {
		err := Consume(context.Background(), cfg, func(context.Context, []Record) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "needed") {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

// TestRebalanceWaitsForBatch has a second consumer join while the first
// holds a batch: the partitions move only once the batch is handled and
// committed, so no line is handled twice and no partition by two
// consumers at once.
func TestRebalanceWaitsForBatch(t *testing.T) {
	ctx, cancel, cfg, want := stream(t, 300)
	defer cancel()
	ta := newTally(all(want, nil))

	// inHand counts, per partition, the consumers handling a batch of it.
	var mu sync.Mutex
	inHand := map[int32]int{}
	hold := func(batch []Record, during func()) {
		parts := partitionSet(batch)
		mu.Lock()
		for p := range parts {
			if inHand[p]++; inHand[p] > 1 {
				t.Errorf("partition %d handled by two consumers at once", p)
			}
		}
		mu.Unlock()
		during()
		ta.add(batch)
		mu.Lock()
		for p := range parts {
			inHand[p]--
		}
		mu.Unlock()
	}

	// The rebalance B's join starts is held up by A's batch, which kgo
	// signals; were it not, B would get partitions and handle a batch.
	blocked, bHandled := make(chan struct{}), make(chan struct{})
	var blockedOnce, bOnce sync.Once
	holding := make(chan struct{})
	// A's first batch is all it can fetch at once: every partition, so
	// that whichever B is given, B would read lines A holds.
	cfgA := cfg
	cfgA.MaxRecords = 0
	cfgA.opts = []kgo.Opt{kgo.OnPartitionsCallbackBlocked(func(context.Context, *kgo.Client) {
		blockedOnce.Do(func() { close(blocked) })
	})}
	batches := 0
	errA := consume(ctx, cfgA, func(_ context.Context, batch []Record) error {
		if batches++; batches != 1 {
			hold(batch, func() {})
			return nil
		}
		if n := len(partitionSet(batch)); n != partitions {
			t.Errorf("first batch holds %d partitions, the test needs all %d", n, partitions)
		}
		hold(batch, func() {
			close(holding)
			select {
			case <-blocked:
			case <-bHandled:
			case <-ctx.Done():
			}
		})
		return nil
	})
	<-holding
	errB := consume(ctx, cfg, func(_ context.Context, batch []Record) error {
		hold(batch, func() {})
		bOnce.Do(func() { close(bHandled) })
		return nil
	})
	ta.wait(t, ctx)
	cancel()
	for _, errc := range []<-chan error{errA, errB} {
		if err := <-errc; err != nil {
			t.Errorf("consumer: %v", err)
		}
	}
	ta.mu.Lock()
	defer ta.mu.Unlock()
	for _, l := range want {
		if n := ta.seen[l]; n != 1 {
			t.Errorf("line %q handled %d times", l, n)
		}
	}
}

func partitionSet(batch []Record) map[int32]bool {
	parts := map[int32]bool{}
	for _, r := range batch {
		parts[r.Partition] = true
	}
	return parts
}
