package kinesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/cachefence/cachefence/internal/ctxsleep"
)

// shardOf makes a shard whose records hold lines named after it; every
// third record holds two lines, as a producer that batches lines would.
func shardOf(id string, records int, closed bool, parents ...string) *fakeShard {
	s := &fakeShard{id: id, closed: closed}
	if len(parents) > 0 {
		s.parent = parents[0]
	}
	if len(parents) > 1 {
		s.adjacent = parents[1]
	}
	for i := range records {
		s.data = append(s.data, record(id, i))
	}
	return s
}

func record(shard string, i int) string {
	data := fmt.Sprintf("%s line %d\n", shard, i)
	if i%3 == 0 {
		data += fmt.Sprintf("%s line %d.b\n", shard, i)
	}
	return data
}

func shardID(i int) string { return fmt.Sprintf("shardId-%012d", i) }

// lines are every line the fake's shards hold.
func (f *fakeKinesis) lines() []string {
	var out []string
	for _, s := range f.shards {
		for _, d := range s.data {
			out = append(out, strings.Split(strings.TrimSuffix(d, "\n"), "\n")...)
		}
	}
	return out
}

// testDeadline bounds a consumer's run in a test.
const testDeadline = 30 * time.Second

// run is one test's consumers and what they handled.
type run struct {
	t   *testing.T
	f   *fakeKinesis
	cfg Config

	mu   sync.Mutex
	seen map[string]int
	// order lists the lines as first handled, by consumer (Part).
	order map[int][]string
	// failed are the lines of the batch a handler failed.
	failed []string
	// polls counts the poll waits asked for; backoffs lists the others,
	// below relistEvery.
	polls    int
	backoffs []time.Duration
}

func newRun(t *testing.T, f *fakeKinesis) *run {
	if f.stream == "" {
		f.stream = "cf-realtime"
	}
	srv := f.start(t)
	r := &run{t: t, f: f, seen: map[string]int{}, order: map[int][]string{}}
	r.cfg = Config{Stream: f.stream, Region: "us-east-1", Endpoint: srv.URL,
		Checkpoint: filepath.Join(t.TempDir(), "cp.json"), Poll: MinPoll, sleep: r.sleep,
		// The SDK's retries are off, so that throttling and expiry reach
		// Consume's own handling.
		opts: []func(*sdk.Options){func(o *sdk.Options) { o.Retryer = aws.NopRetryer{} }}}
	fakeCredentials(t)
	return r
}

// fakeCredentials feeds the standard credential chain dummy static keys
// through the environment, and keeps it off this machine's own files and
// instance metadata.
func fakeCredentials(t testing.TB) {
	dir := t.TempDir()
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIDFAKEFORTESTS", "AWS_SECRET_ACCESS_KEY": "fake-secret-for-tests",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED": "true"} {
		if b, ok := t.(interface{ Setenv(k, v string) }); ok {
			b.Setenv(k, v)
		} else {
			os.Setenv(k, v)
		}
	}
}

// sleep counts the wait asked for and waits a thousandth of it: tests
// count waits, they never time them.
func (r *run) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	switch {
	case d == MinPoll:
		r.polls++
	case d < relistEvery:
		r.backoffs = append(r.backoffs, d)
	}
	r.mu.Unlock()
	return ctxsleep.Sleep(ctx, d/1000)
}

// consume runs a consumer until every line of the stream was handled (by
// any consumer), or its handler fails its failAt-th batch (from 1; 0,
// never).
func (r *run) consume(ctx context.Context, cfg Config, failAt int) error {
	// A stall fails the test rather than hang it; no test comes near.
	ctx, cancel := context.WithTimeout(ctx, testDeadline)
	defer cancel()
	defer func() {
		if ctx.Err() == context.DeadlineExceeded {
			r.t.Errorf("consumer %d/%d stalled: %d of %d lines handled", cfg.Part, cfg.Parts, len(r.seen), len(r.f.lines()))
		}
	}()
	all := len(r.f.lines())
	batches := 0
	var inHandle atomic.Int32
	return Consume(ctx, cfg, func(_ context.Context, batch []Record) error {
		// Batches come one at a time: the handler needs no lock.
		if inHandle.Add(1) != 1 {
			r.t.Error("handle called while handling another batch")
		}
		defer inHandle.Add(-1)
		runtime.Gosched()
		r.mu.Lock()
		defer r.mu.Unlock()
		batches++
		for _, rec := range batch {
			line := string(rec.Text)
			if src := rec.Source(); !strings.HasPrefix(src, "kinesis:"+cfg.Stream+"/"+strings.Fields(line)[0]+":") {
				r.t.Errorf("line %q has source %q", line, src)
			}
			if want := 1 + strings.Count(line, ".b"); rec.Line != want {
				r.t.Errorf("line %q is line %d of its record, want %d", line, rec.Line, want)
			}
			if r.seen[line] == 0 {
				r.order[cfg.Part] = append(r.order[cfg.Part], line)
			}
			r.seen[line]++
			if batches == failAt {
				r.failed = append(r.failed, line)
			}
		}
		if batches == failAt {
			return errors.New("handler failed")
		}
		if len(r.seen) == all {
			cancel()
		}
		return nil
	})
}

// check asserts every line was handled once, twice if its batch failed,
// each consumer's lines of a shard after those of its parents that it
// read, and GetRecords called at most once per wait or new iterator.
func (r *run) check() {
	t := r.t
	for _, l := range r.f.lines() {
		want := 1
		if slices.Contains(r.failed, l) {
			want = 2
		}
		if got := r.seen[l]; got != want {
			t.Errorf("%q handled %d times, want %d", l, got, want)
		}
	}
	if len(r.seen) != len(r.f.lines()) {
		t.Errorf("handled %d distinct lines, the stream holds %d", len(r.seen), len(r.f.lines()))
	}
	for part, order := range r.order {
		first, last := map[string]int{}, map[string]int{}
		for i, l := range order {
			s := strings.Fields(l)[0]
			if _, ok := first[s]; !ok {
				first[s] = i
			}
			last[s] = i
		}
		for _, s := range r.f.shards {
			for _, p := range []string{s.parent, s.adjacent} {
				_, readChild := first[s.id]
				_, readParent := last[p]
				if readChild && readParent && first[s.id] < last[p] {
					t.Errorf("consumer %d read %s before the end of its parent %s", part, s.id, p)
				}
			}
		}
	}
	if gr, it := r.f.count("GetRecords"), r.f.count("GetShardIterator"); gr > r.polls+len(r.backoffs)+it {
		t.Errorf("%d GetRecords calls for %d polls, %d backoffs and %d iterators", gr, r.polls, len(r.backoffs), it)
	}
}

// split is a stream whose first shard was split in two; merged one whose
// two shards were merged into one.
func split() []*fakeShard {
	return []*fakeShard{shardOf(shardID(0), 7, true), shardOf(shardID(1), 5, false),
		shardOf(shardID(2), 6, false, shardID(0)), shardOf(shardID(3), 4, false, shardID(0))}
}

func merged() []*fakeShard {
	return []*fakeShard{shardOf(shardID(0), 5, true), shardOf(shardID(1), 8, true),
		shardOf(shardID(2), 6, false, shardID(0), shardID(1))}
}

func TestConsume(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *fakeKinesis
		// failAt fails the handler's n-th batch; the consumer is then
		// started again, from its checkpoint.
		failAt int
	}{
		{name: "pages of shards", f: &fakeKinesis{page: 2, perCall: 3, shards: []*fakeShard{
			shardOf(shardID(0), 5, false), shardOf(shardID(1), 9, false), shardOf(shardID(2), 1, false),
			shardOf(shardID(3), 0, false), shardOf(shardID(4), 4, false)}}},
		{name: "split", f: &fakeKinesis{page: 3, perCall: 2, shards: split()}},
		{name: "merge", f: &fakeKinesis{page: 1, perCall: 2, shards: merged()}},
		{name: "split then merge", f: &fakeKinesis{page: 2, perCall: 3, shards: []*fakeShard{
			shardOf(shardID(0), 7, true), shardOf(shardID(1), 5, false),
			shardOf(shardID(2), 6, true, shardID(0)), shardOf(shardID(3), 4, true, shardID(0)),
			shardOf(shardID(4), 5, false, shardID(2), shardID(3))}}},
		{name: "expired iterators", f: &fakeKinesis{page: 10, perCall: 2, expire: 3, shards: split()}},
		{name: "throttled", f: &fakeKinesis{page: 2, perCall: 2, throttle: 2, limit: 2, shards: split()}},
		{name: "restart", f: &fakeKinesis{page: 2, perCall: 2, shards: split()}, failAt: 3},
		{name: "restart, throttled and expired", f: &fakeKinesis{page: 2, perCall: 1, expire: 4, throttle: 3, limit: 3,
			shards: merged()}, failAt: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRun(t, tc.f)
			err := r.consume(t.Context(), r.cfg, tc.failAt)
			if tc.failAt > 0 {
				if err == nil || err.Error() != "handler failed" {
					t.Fatalf("Consume = %v, want the handler's error", err)
				}
				if len(r.failed) == 0 {
					t.Fatal("the failing batch was empty")
				}
				err = r.consume(t.Context(), r.cfg, 0)
			}
			if err != nil {
				t.Fatal(err)
			}
			r.check()
			if tc.f.expire > 0 && tc.f.types[shardID(2)+" AFTER_SEQUENCE_NUMBER"] == 0 {
				t.Errorf("no iterator after a handled record: %v", tc.f.types)
			}
		})
	}
}

// TestBackoff throttles each shard's first reads in a row: the waits
// double, with jitter, up to maxBackoff, and reading recovers.
func TestBackoff(t *testing.T) {
	f := &fakeKinesis{page: 10, perCall: 5, throttleFirst: 9, shards: []*fakeShard{shardOf(shardID(0), 4, false)}}
	r := newRun(t, f)
	if err := r.consume(t.Context(), r.cfg, 0); err != nil {
		t.Fatal(err)
	}
	r.check()
	if len(r.backoffs) != f.throttleFirst {
		t.Fatalf("%d backoffs for %d throttled calls: %v", len(r.backoffs), f.throttleFirst, r.backoffs)
	}
	for i, d := range r.backoffs {
		ceiling := min(MinPoll<<i, maxBackoff)
		if d < ceiling/2 || d > ceiling {
			t.Errorf("backoff %d is %v, want %v to %v", i, d, ceiling/2, ceiling)
		}
	}
}

// TestCheckpoint starts from a checkpoint: a closed shard whose end it
// holds is not read again, an open one resumes after its sequence number,
// and the entries of shards gone from the stream are dropped.
func TestCheckpoint(t *testing.T) {
	f := &fakeKinesis{page: 10, perCall: 3, shards: split()}
	r := newRun(t, f)
	if err := r.consume(t.Context(), r.cfg, 0); err != nil {
		t.Fatal(err)
	}
	r.check()
	cp := readCheckpoint(t, r.cfg.Checkpoint)
	if m := cp.Shards[shardID(0)]; m == nil || !m.Ended || m.Seq != f.shards[0].seq(6) {
		t.Fatalf("closed shard's checkpoint %+v, want ended at %s", m, f.shards[0].seq(6))
	}
	// A shard that expired from the stream since.
	cp.Shards["shardId-000000000099"] = &shardMark{Seq: "1", Ended: true}
	writeCheckpoint(t, r.cfg.Checkpoint, cp)

	// New lines in an open shard: the restart handles them alone.
	clear(r.seen)
	f.add(shardID(2), record(shardID(2), 6), record(shardID(2), 7))
	f.mu.Lock()
	f.types = map[string]int{}
	f.mu.Unlock()
	r.consumeUntil(shardID(2)+" line 6", shardID(2)+" line 6.b", shardID(2)+" line 7")
	f.mu.Lock()
	for k, n := range f.types {
		if strings.HasPrefix(k, shardID(0)) || !strings.HasSuffix(k, "AFTER_SEQUENCE_NUMBER") {
			t.Errorf("restart asked %d iterators %s", n, k)
		}
	}
	f.mu.Unlock()
	if _, ok := readCheckpoint(t, r.cfg.Checkpoint).Shards["shardId-000000000099"]; ok {
		t.Error("the expired shard's checkpoint was kept")
	}
}

// consumeUntil runs a consumer until it handled the last of want, and
// checks that it handled want and nothing else. The consumer runs until
// the test's deadline otherwise, which fails the test.
func (r *run) consumeUntil(want ...string) {
	r.t.Helper()
	ctx, cancel := context.WithCancel(r.t.Context())
	defer cancel()
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		err = r.consume(ctx, r.cfg, 0)
	}()
	for last := want[len(want)-1]; !r.handled(last); {
		select {
		case <-done:
			r.t.Fatalf("the consumer stopped before handling %q: %v", last, err)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	<-done
	if err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if got := slices.Sorted(maps.Keys(r.seen)); !slices.Equal(got, want) {
		r.t.Errorf("handled %q, want %q", got, want)
	}
}

func (r *run) handled(line string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[line] > 0
}

func readCheckpoint(t *testing.T, path string) checkpointFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cp checkpointFile
	if err := json.Unmarshal(data, &cp); err != nil {
		t.Fatal(err)
	}
	return cp
}

func writeCheckpoint(t *testing.T, path string, cp checkpointFile) {
	t.Helper()
	data, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestLatest starts at the newest records: older ones are not handled,
// newer ones are, also those that came while the first iterator, taken
// before any was handled, expired.
func TestLatest(t *testing.T) {
	f := &fakeKinesis{page: 10, perCall: 2, expire: 2, shards: []*fakeShard{shardOf(shardID(0), 3, false)}}
	f.shards[0].arrived = slices.Repeat([]time.Time{time.Now().Add(-2 * latestSkew)}, 3)
	f.onExpire = func(s *fakeShard) {
		if len(s.data) == 3 {
			s.add(record(s.id, 3), record(s.id, 4))
		}
	}
	r := newRun(t, f)
	r.cfg.Latest = true
	r.consumeUntil(shardID(0)+" line 3", shardID(0)+" line 3.b", shardID(0)+" line 4")
}

// TestParts splits a stream that was split and merged between two
// consumers: together they handle every line once, each shard is read by
// one of them, and each reads a child of its own parent after it.
func TestParts(t *testing.T) {
	f := &fakeKinesis{page: 3, perCall: 2}
	for i := range 6 {
		f.shards = append(f.shards, shardOf(shardID(i), 4, true))
	}
	for i := range 6 {
		// Each of 0-5 split in two, then each pair merged.
		f.shards = append(f.shards, shardOf(shardID(6+2*i), 3, true, shardID(i)), shardOf(shardID(7+2*i), 3, true, shardID(i)))
	}
	for i := range 6 {
		f.shards = append(f.shards, shardOf(shardID(18+i), 5, false, shardID(6+2*i), shardID(7+2*i)))
	}
	// The test proves something only if some children have their parent
	// in their part and some in the other.
	var same, other int
	c := consumer{cfg: Config{Parts: 2}}
	for _, s := range f.shards {
		for _, p := range []string{s.parent, s.adjacent} {
			switch {
			case p == "":
			case c.mine(p) == c.mine(s.id):
				same++
			default:
				other++
			}
		}
	}
	if same == 0 || other == 0 {
		t.Fatalf("%d children in their parent's part, %d in the other: pick other shard IDs", same, other)
	}
	r := newRun(t, f)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for i := range 2 {
		cfg := r.cfg
		cfg.Part, cfg.Parts = i, 2
		cfg.Checkpoint = filepath.Join(t.TempDir(), "cp.json")
		wg.Go(func() {
			// Each consumer stops when every line was handled, by either.
			errs[i] = r.consume(ctx, cfg, 0)
			cancel()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	r.check()
	for part, order := range r.order {
		for _, l := range order {
			if s := strings.Fields(l)[0]; !(&consumer{cfg: Config{Part: part, Parts: 2}}).mine(s) {
				t.Errorf("consumer %d read %s, not its own", part, s)
			}
		}
	}
}

func TestConsumeErrors(t *testing.T) {
	fakeCredentials(t)
	dir := t.TempDir()
	other := filepath.Join(dir, "other.json")
	writeCheckpoint(t, other, checkpointFile{Stream: "other", Parts: 1})
	half := filepath.Join(dir, "half.json")
	writeCheckpoint(t, half, checkpointFile{Stream: "s", Part: 0, Parts: 2})
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no stream"},
		{Config{Stream: "s", Poll: 100 * time.Millisecond}, "5 GetRecords calls a second"},
		{Config{Stream: "s", Part: 2, Parts: 2}, "part 2 of 2"},
		{Config{Stream: "s", Checkpoint: other, Region: "eu-west-1"}, `stream "other"'s`},
		{Config{Stream: "s", Checkpoint: half, Region: "eu-west-1"}, "consumer 0/2, not 0/1"},
		{Config{Stream: "s", Checkpoint: filepath.Join(dir, "new.json")}, "no region"},
	} {
		err := Consume(t.Context(), tc.cfg, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		f    Flags
		want Config
		err  string
	}{
		{f: Flags{Stream: "cf-realtime"}, want: Config{Stream: "cf-realtime"}},
		{f: Flags{Stream: "cf", Region: "us-gov-west-1", Endpoint: "https://vpce-1.kinesis.us-gov-west-1.vpce.amazonaws.com",
			Checkpoint: "cp.json", Poll: time.Second, Latest: true, Shards: "1/3"},
			want: Config{Stream: "cf", Region: "us-gov-west-1", Endpoint: "https://vpce-1.kinesis.us-gov-west-1.vpce.amazonaws.com",
				Checkpoint: "cp.json", Poll: time.Second, Latest: true, Part: 1, Parts: 3}},
		{f: Flags{}, err: "--kinesis-stream is needed"},
		{f: Flags{Stream: "a b"}, err: `--kinesis-stream "a b"`},
		{f: Flags{Stream: "s", Region: "Virginia"}, err: `--kinesis-region "Virginia"`},
		{f: Flags{Stream: "s", Poll: time.Millisecond}, err: "--kinesis-poll 1ms: at least 200ms"},
		{f: Flags{Stream: "s", Endpoint: "kinesis.local:4566"}, err: "--kinesis-endpoint"},
		{f: Flags{Stream: "s", Checkpoint: dir}, err: "is a directory"},
		{f: Flags{Stream: "s", Shards: "3/2"}, err: `--kinesis-shards "3/2": want i/n with 0 <= i < n`},
		{f: Flags{Stream: "s", Shards: "-1/2"}, err: "--kinesis-shards"},
		{f: Flags{Stream: "s", Shards: "1"}, err: "--kinesis-shards"},
		{f: Flags{Stream: "s", Shards: "0/0"}, err: "--kinesis-shards"},
		{f: Flags{Stream: "s", Shards: "a/b"}, err: "--kinesis-shards"},
	} {
		got, err := tc.f.Config()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%+v: %v", tc.f, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%+v: %v, want %q", tc.f, err, tc.err)
		case tc.err == "" && fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.want):
			t.Errorf("%+v: %+v, want %+v", tc.f, got, tc.want)
		}
	}
}
