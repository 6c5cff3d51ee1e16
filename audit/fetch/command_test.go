package fetch

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// A command's output is the configuration; a command that fails, prints
// nothing, prints too much or runs too long is an error that shows the
// end of its standard error with credentials hidden.
func TestCommand(t *testing.T) {
	const secret = "fence-cmd-secret-do-not-print"
	t.Setenv("FENCE_TEST_API_TOKEN", secret)
	distribution := "../cloudfront/testdata/proxy/distribution.json"
	long := strings.Repeat("x", 3*stderrTail)
	for _, tc := range []struct {
		name, line string
		max        int64
		timeout    time.Duration
		wantName   string
		err        []string // what the error says; nil for none
		absent     []string // what the error must not show
	}{
		{name: "a JSON export", line: "cat " + distribution, wantName: "cmd:cat"},
		{name: "a pipeline, named by its first program", line: "cat " + distribution + " | cat", wantName: "cmd:cat"},
		{name: "an assignment is not its name", line: "FENCE_TOKEN=" + secret + " cat " + distribution, wantName: "cmd:cat"},
		{name: "a failure shows its standard error, credentials hidden", line: "echo using $FENCE_TEST_API_TOKEN >&2; echo 'Authorization: Bearer abcdefgh12345' >&2; echo denied >&2; exit 3",
			wantName: "cmd:echo", err: []string{"exit status 3", "using [redacted]", "Bearer [redacted]", "denied"}, absent: []string{"abcdefgh12345"}},
		{name: "only the end of a long standard error", line: "echo " + long + "start >&2; echo the reason >&2; exit 1",
			err: []string{"…", "the reason"}, absent: []string{long}},
		{name: "printing nothing", line: "true", err: []string{"printed nothing"}},
		{name: "printing too much", line: "cat " + distribution, max: 100, err: []string{"printed more than 100 bytes"}},
		{name: "running too long, with a child", line: "sleep 30 | cat", timeout: 200 * time.Millisecond,
			err: []string{"stopped: context deadline exceeded"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			src, err := Parse(ctx, "cmd:"+tc.line, Options{MaxBytes: tc.max})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantName != "" && src.Name() != tc.wantName {
				t.Errorf("named %q, want %q", src.Name(), tc.wantName)
			}
			files, err := src.Fetch(ctx)
			noSecret(t, texts(files, err), secret)
			if !failed(t, files, err, tc.err) {
				want, _ := os.ReadFile(distribution)
				if len(files) != 1 || files[0].Path != src.Name() || string(files[0].Data) != string(want) {
					t.Errorf("files %+v, want the command's output under %s", files, src.Name())
				}
				return
			}
			for _, not := range tc.absent {
				if strings.Contains(err.Error(), not) {
					t.Errorf("error shows %.40q", not)
				}
			}
			if len(err.Error()) > 3*stderrTail {
				t.Errorf("error of %d bytes, want the tail of standard error alone", len(err.Error()))
			}
		})
	}
}
