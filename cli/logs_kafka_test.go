package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestLogsKafka runs `cachefence logs` as two members of one consumer
// group on a real Kafka protocol (kfake, in process, on 127.0.0.1), over
// four partitions keyed by URL, as docs/logs.md says to key them:
//   - both members together report every finding of the lines produced,
//     and each cause is alerted once, by the member that owns its URL;
//   - alerts leave before the offsets are committed: with --every 1h, the
//     only runs that post are those a batch with findings asks for;
//   - after one member stops, the other takes its partitions and reads
//     what follows, and nothing already handled again;
//   - a member started after both stopped resumes at the committed
//     offsets.
func TestLogsKafka(t *testing.T) {
	bin := buildCachefence(t)
	setLogsEnv(t)
	c, hook, args := kafkaGroup(t, "--every", "1h")
	fixture := string(mustRead(t, fixturePath("fastly.ndjson")))
	// Each copy of the fixture is on its own host, so its findings are
	// its own.
	copyOn := func(host string) string { return strings.ReplaceAll(fixture, "www.example.com", host) }
	want := func(host string) []string { return findingsOf(t, batchFindings(t, bin, copyOn(host))) }

	a := startCommand(t, bin, args...)
	b := startCommand(t, bin, args...)
	a.wait(t, "reading Kafka topic cdn-logs as a member of group cachefence")
	b.wait(t, "reading Kafka topic cdn-logs as a member of group cachefence")
	produceByURL(t, c.ListenAddrs(), copyOn("one.example"))
	want1 := want("one.example")
	if len(want1) == 0 {
		t.Fatal("the fixture has no finding: the test proves nothing")
	}
	waitFindings(t, want1, a, b)
	// One alert per cause: its URL's records are all in one partition,
	// read by one member.
	fired := map[string]int{}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		clear(fired)
		for _, m := range hook.messages() {
			for _, c := range m.Firing {
				fired[c.Key]++
			}
		}
		if len(fired) >= 3 || time.Now().After(deadline) {
			break
		}
	}
	for key, n := range fired {
		if n != 1 {
			t.Errorf("%s fired %d times", key, n)
		}
	}
	if keys := slices.Sorted(maps.Keys(fired)); fmt.Sprint(keys) != "[cached_personal|one.example|/account cached_personal|one.example|/login stamp_mismatch|one.example|/account]" {
		t.Errorf("fired %v", keys)
	}

	a.stop()
	produceByURL(t, c.ListenAddrs(), copyOn("two.example"))
	waitFindings(t, append(want1, want("two.example")...), a, b)

	b.stop()
	produceByURL(t, c.ListenAddrs(), copyOn("three.example"))
	c3 := startCommand(t, bin, args...)
	waitFindings(t, want("three.example"), c3)
	// The lines read before stay read.
	time.Sleep(time.Second)
	waitFindings(t, want("three.example"), c3)
}

// TestLogsKafkaKilled kills one of two members with SIGKILL while the
// stream is read: once the group has given up on it
// (--kafka-session-timeout), the other reads what it left uncommitted.
// Every finding is printed and every cause alerted at least once.
func TestLogsKafkaKilled(t *testing.T) {
	bin := buildCachefence(t)
	setLogsEnv(t)
	c, hook, args := kafkaGroup(t, "--kafka-session-timeout", "6s", "--every", "1h")
	fixture := string(mustRead(t, fixturePath("fastly.ndjson")))
	// Six sites, three causes each: a message lists up to 20 causes by
	// key, so every alert can be told by its key.
	const sites = 6
	logOf := func(from, to int) string {
		var log strings.Builder
		for i := from; i < to; i++ {
			log.WriteString(strings.ReplaceAll(fixture, "www.example.com", fmt.Sprintf("site%d.example", i)))
		}
		return log.String()
	}
	want := findingsOf(t, batchFindings(t, bin, logOf(0, sites)))

	a := startCommand(t, bin, args...)
	b := startCommand(t, bin, args...)
	a.wait(t, "reading Kafka topic")
	b.wait(t, "reading Kafka topic")
	produceByURL(t, c.ListenAddrs(), logOf(0, sites/2))
	// Kill a once the group reads: with a batch in hand if it owns one
	// of the partitions written to.
	for deadline := time.Now().Add(30 * time.Second); len(findingsOf(t, a.String()+b.String())) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("nothing read:\n%s\n---\n%s", a, b)
		}
	}
	a.kill()
	produceByURL(t, c.ListenAddrs(), logOf(sites/2, sites))
	// What the killed member printed counts: it was printed before its
	// batch was committed, or is printed again by the other.
	got := map[string]int{}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		clear(got)
		for _, f := range append(findingsOf(t, a.String()), findingsOf(t, b.String())...) {
			got[f]++
		}
		missing := 0
		for _, f := range want {
			if got[f] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d findings never printed", missing, len(want))
		}
	}
	for f := range got {
		if !slices.Contains(want, f) {
			t.Errorf("finding %q is not the log's", f)
		}
	}
	// The alerts go out after the findings are printed: wait for them.
	var keys []string
	for i := range sites {
		for _, key := range []string{"stamp_mismatch|site%d.example|/account", "cached_personal|site%d.example|/account", "cached_personal|site%d.example|/login"} {
			keys = append(keys, strings.ReplaceAll(key, "%d", fmt.Sprint(i)))
		}
	}
	fired := map[string]bool{}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		for _, m := range hook.messages() {
			for _, c := range m.Firing {
				fired[c.Key] = true
			}
		}
		if !slices.ContainsFunc(keys, func(k string) bool { return !fired[k] }) || time.Now().After(deadline) {
			break
		}
	}
	for _, key := range keys {
		if !fired[key] {
			t.Errorf("%s never alerted", key)
		}
	}
}

// kafkaGroup starts a Kafka of four partitions (kfake, in process, on
// 127.0.0.1) and a webhook, and returns the arguments of a `cachefence
// logs` member of group cachefence reading topic cdn-logs as Fastly's
// JSON, with more.
func kafkaGroup(t *testing.T, more ...string) (*kfake.Cluster, *hookMessages, []string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "cdn-logs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	hook, hookURL := startHookServer(t)
	args := append(slices.Clone(logsArgs), "--format", "fastly", "--output", "json",
		"--kafka-brokers", strings.Join(c.ListenAddrs(), ","), "--kafka-topic", "cdn-logs", "--kafka-group", "cachefence",
		"--webhook", hookURL)
	return c, hook, append(args, more...)
}

// batchFindings reads log in batch mode and returns its JSON findings.
func batchFindings(t *testing.T, bin, log string) string {
	t.Helper()
	dir := t.TempDir()
	name := dir + "/access.ndjson"
	if err := os.WriteFile(name, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out := runCachefence(t, bin, dir, append(slices.Clone(logsArgs), "--format", "fastly", "--output", "json", name)...)
	return out
}

// findingsOf lists the findings in a command's output, as check, host and
// path, sorted.
func findingsOf(t *testing.T, out string) []string {
	t.Helper()
	var found []string
	for line := range strings.Lines(out) {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var f struct{ Check, Host, Path string }
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		found = append(found, f.Check+" "+f.Host+f.Path)
	}
	slices.Sort(found)
	return found
}

// waitFindings waits until the commands together have printed exactly
// want's findings.
func waitFindings(t *testing.T, want []string, cmds ...*lockedOutput) {
	t.Helper()
	slices.Sort(want)
	var got []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got = nil
		for _, c := range cmds {
			got = append(got, findingsOf(t, c.String())...)
		}
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
	}
	var outs []string
	for _, c := range cmds {
		outs = append(outs, c.String())
	}
	t.Fatalf("findings\n%s\nwant\n%s\noutputs:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), strings.Join(outs, "\n---\n"))
}

// produceByURL writes each line of log as a record keyed by its host and
// URL.
func produceByURL(t *testing.T, brokers []string, log string) {
	t.Helper()
	p, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("cdn-logs"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for line := range strings.Lines(log) {
		var r struct{ Host, URL string }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		rec := &kgo.Record{Key: []byte(r.Host + r.URL), Value: []byte(strings.TrimSuffix(line, "\n"))}
		if err := p.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}
