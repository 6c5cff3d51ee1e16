package fetch

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/cachefence/cachefence/audit"
)

// Command is a command whose standard output is a configuration: a
// vendor's own CLI (gcloud compute backend-services describe ...
// --format=json, terraform show -json, an Akamai or Fastly export). It
// runs through sh -c, so that it may be a pipeline, with no input.
type Command struct {
	// Line is the command line, as sh reads it.
	Line string
	// MaxBytes bounds its output; 0 means DefaultMaxBytes.
	MaxBytes int64
}

// stderrTail is how much of a failed command's standard error its error
// shows: the end, where the reason usually is.
const stderrTail = 2 << 10

// Name is "cmd:" and the program's name alone: the rest of the line may
// hold a credential (an environment assignment, a header).
func (c *Command) Name() string {
	for _, word := range strings.Fields(c.Line) {
		if !strings.Contains(word, "=") {
			return "cmd:" + filepath.Base(word)
		}
	}
	return "cmd:sh"
}

// Fetch runs the command and returns its output. A command that fails,
// prints nothing, or prints more than MaxBytes is an error; its error
// shows the end of its standard error, with credentials hidden. When ctx
// ends, the command and every process it started are killed.
func (c *Command) Fetch(ctx context.Context) ([]audit.File, error) {
	cmd := exec.CommandContext(ctx, "sh", "-c", c.Line)
	killGroup(cmd)
	// Output a killed command's children still hold open is not waited
	// for long.
	cmd.WaitDelay = time.Second
	stdout := &capped{max: cmp.Or(c.MaxBytes, DefaultMaxBytes)}
	stderr := &tail{max: stderrTail}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		err = fmt.Errorf("stopped: %w", ctx.Err())
	case stdout.over:
		err = fmt.Errorf("printed more than %d bytes", stdout.max)
	case err != nil:
		err = fmt.Errorf("%w%s", err, stderr.describe())
	case stdout.buf.Len() == 0:
		err = fmt.Errorf("printed nothing%s", stderr.describe())
	}
	if err != nil {
		return nil, scrubbed(err)
	}
	return []audit.File{{Path: c.Name(), Data: stdout.buf.Bytes()}}, nil
}

// capped keeps up to max bytes, and fails the write beyond, which ends
// the copy from the command.
type capped struct {
	buf  bytes.Buffer
	max  int64
	over bool
}

func (w *capped) Write(p []byte) (int, error) {
	if int64(w.buf.Len()+len(p)) > w.max {
		w.over = true
		return 0, errors.New("output too large")
	}
	return w.buf.Write(p)
}

// tail keeps the last max bytes written.
type tail struct {
	buf []byte
	max int
	cut bool
}

func (w *tail) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	if len(w.buf) > w.max {
		w.buf, w.cut = w.buf[len(w.buf)-w.max:], true
	}
	return len(p), nil
}

// describe is ": " and the tail, for an error, or "".
func (w *tail) describe() string {
	text := strings.TrimSpace(strings.ToValidUTF8(string(w.buf), ""))
	if text == "" {
		return ""
	}
	if w.cut {
		text = "…" + text
	}
	return ": " + text
}
