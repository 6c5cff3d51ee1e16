package kafka

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/logs"
)

// TestFeedsSink reads Fastly's fixture from Kafka, as Fastly's Kafka
// endpoint delivers it, into a logs.Sink: the findings are those of the
// file, each named by the Kafka record that held its line.
func TestFeedsSink(t *testing.T) {
	const fixture = "../testdata/fastly.ndjson"
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	newSink := func(emit func(*logs.Finding)) *logs.Sink {
		ch, err := logs.NewChecker(logs.Config{Rules: fence.Config{IgnoreCookies: []string{"_ga*"}, PrivatePaths: []string{"/account*"}}})
		if err != nil {
			t.Fatal(err)
		}
		return &logs.Sink{Checker: ch, Emit: emit}
	}
	opts := logs.Options{Format: logs.Fastly}
	var fromFile []string
	if _, err := newSink(func(f *logs.Finding) { fromFile = append(fromFile, f.Check+" "+f.Path) }).
		Read(fixture, bytes.NewReader(data), opts); err != nil {
		t.Fatal(err)
	}
	if len(fromFile) == 0 {
		t.Fatal("the fixture has no finding: the test proves nothing")
	}

	// One record per line, but the last three lines batched in one record.
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	values := lines[:len(lines)-3]
	values = append(values, strings.Join(lines[len(lines)-3:], "\n"))
	c := newCluster(t)
	p, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// One partition, as keying by URL gives one URL's records.
	for _, v := range values {
		if err := p.ProduceSync(context.Background(), &kgo.Record{Value: []byte(v), Partition: 1}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	var fromKafka, sources []string
	read := 0
	sink := newSink(nil)
	err = Consume(ctx, Config{Brokers: c.ListenAddrs(), Topic: topic, Group: "g"}, func(_ context.Context, batch []Record) error {
		// A Sink per batch names each finding by its Kafka record.
		s := *sink
		s.Emit = func(f *logs.Finding) {
			r := &batch[f.Line-1]
			fromKafka = append(fromKafka, f.Check+" "+f.Path)
			sources = append(sources, fmt.Sprintf("%s:%d", r.Source(), r.Line))
		}
		if _, err := s.Read("kafka", bytes.NewReader(Join(batch)), opts); err != nil {
			return err
		}
		if read += len(batch); read == len(lines) {
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fromKafka, fromFile) {
		t.Errorf("findings from Kafka:\n%q\nfrom the file:\n%q", fromKafka, fromFile)
	}
	// The file's last line, a finding, is the batched record's third.
	if last := fmt.Sprintf("kafka:%s/1:%d:3", topic, len(values)-1); !slices.Contains(sources, last) {
		t.Errorf("findings name %q; want %s", sources, last)
	}
}
