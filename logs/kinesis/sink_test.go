package kinesis

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/logs"
)

// TestFeedsSink reads the CloudFront real-time fixture from a stream, one
// line per Kinesis record as CloudFront writes them, into a logs.Sink:
// the findings are those of the file, each named by the Kinesis record
// that held its line.
func TestFeedsSink(t *testing.T) {
	const fixture = "../testdata/cloudfront_realtime.tsv"
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	// The stream holds the records alone; the fields are the
	// configuration's, given as the command line gives them.
	var fields []string
	s := &fakeShard{id: shardID(0)}
	for line := range strings.Lines(string(data)) {
		if f, ok := strings.CutPrefix(line, "#Fields:"); ok {
			fields = strings.Fields(f)
		} else if !strings.HasPrefix(line, "#") {
			s.data = append(s.data, line)
		}
	}
	o := logs.Options{Format: logs.CloudFrontRealtime, Fields: fields}
	newSink := func() *logs.Sink {
		ch, err := logs.NewChecker(logs.Config{Rules: fence.Config{PrivatePaths: []string{"/account*"}}})
		if err != nil {
			t.Fatal(err)
		}
		return &logs.Sink{Checker: ch}
	}
	var fromFile []string
	sink := newSink()
	sink.Emit = func(f *logs.Finding) { fromFile = append(fromFile, f.Check+" "+f.Path) }
	if _, err := sink.Read(fixture, bytes.NewReader(data), o); err != nil {
		t.Fatal(err)
	}
	if len(fromFile) == 0 {
		t.Fatal("the fixture has no finding: the test proves nothing")
	}

	f := &fakeKinesis{page: 10, perCall: 2, shards: []*fakeShard{s}}
	r := newRun(t, f)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var fromStream, sources []string
	sink = newSink()
	read := 0
	err = Consume(ctx, r.cfg, func(_ context.Context, batch []Record) error {
		s := *sink
		s.Origin = func(n int64) (string, int64) { return batch[n-1].Source(), int64(batch[n-1].Line) }
		s.Emit = func(f *logs.Finding) {
			fromStream = append(fromStream, f.Check+" "+f.Path)
			sources = append(sources, f.Source)
		}
		if _, err := s.Read("kinesis", bytes.NewReader(Join(batch)), o); err != nil {
			return err
		}
		if read += len(batch); read == len(f.lines()) {
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fromStream, fromFile) {
		t.Errorf("findings from the stream:\n%q\nfrom the file:\n%q", fromStream, fromFile)
	}
	// The fixture's last line, a finding, is the shard's last record.
	if last := "kinesis:cf-realtime/" + s.id + ":" + s.seq(len(s.data)-1); !slices.Contains(sources, last) {
		t.Errorf("findings name %q; want %s", sources, last)
	}
}
