package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binary is the cachefence binary, built once from the repository's root
// for the tests that need it, and removed by TestMain.
var binary struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// cachefence returns the path of the binary built from ../cmd/cachefence.
func cachefence(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		if binary.dir, binary.err = os.MkdirTemp("", "cachefence-deploy-test"); binary.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binary.dir, "./cmd/cachefence")
		cmd.Dir = ".." // the root module; this one is nested in it
		if out, err := cmd.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build ./cmd/cachefence: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return filepath.Join(binary.dir, "cachefence")
}

// run runs the binary with args and returns its exit code and output.
func run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, cachefence(t), args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// accepts fails the test unless the binary takes args (a subcommand and
// its flags, with their values) as a command line. The flags are parsed
// in full before --help is honoured, so an unknown flag, or a value the
// flag cannot take (a duration that is none), fails here.
func accepts(t *testing.T, where string, args []string) {
	t.Helper()
	if code, out := run(t, append(args, "--help")...); code != 0 {
		t.Errorf("%s: cachefence %s: exit %d, want 0:\n%s", where, strings.Join(args, " "), code, out)
	}
}

// TestAcceptsRefuses shows that accepts fails on what a renamed flag or a
// bad value looks like, so that the tests that use it can fail.
func TestAcceptsRefuses(t *testing.T) {
	for _, args := range [][]string{
		{"sidecar", "--to", "127.0.0.1:3000", "--no-such-flag"},
		{"sidecar", "--to", "127.0.0.1:3000", "--grace-period", "twenty"},
		{"no-such-command"},
	} {
		if code, out := run(t, append(args, "--help")...); code == 0 {
			t.Errorf("cachefence %s --help: exit 0, want a failure:\n%s", strings.Join(args, " "), out)
		}
	}
}

// flagValue returns the value of the last --name in args, as the binary
// reads it (the last of repeated flags wins); "" if there is none.
func flagValue(args []string, name string) string {
	value := ""
	for i, a := range args {
		switch {
		case a == "--"+name && i+1 < len(args):
			value = args[i+1]
		case strings.HasPrefix(a, "--"+name+"="):
			value = strings.TrimPrefix(a, "--"+name+"=")
		}
	}
	return value
}

// port returns the port of a listen address such as ":8080".
func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return p
}

// listen listens on a free port of 127.0.0.1.
func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startSidecar runs the binary with args until the test ends, and waits
// until a GET of waitURL answers.
func startSidecar(t *testing.T, waitURL string, args ...string) *syncBuffer {
	t.Helper()
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	out := new(syncBuffer)
	cmd := exec.Command(cachefence(t), args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("cachefence %s exited:\n%s", strings.Join(args, " "), out)
		default:
		}
		if resp, err := client.Get(waitURL); err == nil {
			resp.Body.Close()
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no answer after 15s:\n%s", waitURL, out)
		}
	}
}

// syncBuffer is a process's output, read while the process writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
