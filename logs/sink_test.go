package logs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/cachefence/cachefence/fence"
)

// A Sink with an Origin names each finding and bad line by where its line
// came from, in what it emits and in what its Window hands to alerting.
func TestSinkOrigin(t *testing.T) {
	data, err := os.ReadFile("testdata/fastly.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	data = append([]byte("not a log line\n"), data...)
	ch, err := NewChecker(Config{Rules: fence.Config{IgnoreCookies: []string{"_ga*"}, PrivatePaths: []string{"/account*"}}})
	if err != nil {
		t.Fatal(err)
	}
	origin := func(n int64) (string, int64) { return fmt.Sprintf("record-%d", n), 100 + n }
	var emitted, bad []string
	w := &Window{}
	s := &Sink{Checker: ch, Window: w, Origin: origin,
		Emit: func(f *Finding) { emitted = append(emitted, fmt.Sprintf("%s:%d", f.Source, f.Line)) },
		Bad:  func(source string, b BadLine) { bad = append(bad, fmt.Sprintf("%s:%d", source, b.Line)) }}
	if _, err := s.Read("joined", bytes.NewReader(data), Options{Format: Fastly}); err != nil {
		t.Fatal(err)
	}
	if len(emitted) == 0 {
		t.Fatal("no finding: the test proves nothing")
	}
	for _, e := range emitted {
		var n, line int64
		if _, err := fmt.Sscanf(e, "record-%d:%d", &n, &line); err != nil || line != 100+n {
			t.Errorf("finding named %q, want record-N:100+N", e)
		}
	}
	if fmt.Sprint(bad) != "[record-1:101]" {
		t.Errorf("bad lines named %v, want [record-1:101]", bad)
	}
	for _, c := range w.Run(context.Background()).Causes {
		if f := c.Detail.(*Finding); f.Line < 100 {
			t.Errorf("the window's finding is named %s:%d, not by its origin", f.Source, f.Line)
		}
	}
}
