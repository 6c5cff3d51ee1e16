package cli

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/internal/testnet"
)

// sidecar runs the built binary's sidecar with args, and waits until
// addr takes connections. The process is killed when the test ends.
func sidecar(t *testing.T, addr string, args ...string) (cmd *exec.Cmd, out *syncBuffer, exited <-chan struct{}) {
	t.Helper()
	isolateCaddy(t)
	cmd = exec.Command(buildCachefence(t), append([]string{"sidecar"}, args...)...)
	out = new(syncBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	exited, _ = start(t, cmd)
	until(t, exited, out, "listening on "+addr, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return cmd, out, exited
}

// until polls cond until it holds; the test fails if the process exits
// first, or after 15s.
func until(t *testing.T, exited <-chan struct{}, out *syncBuffer, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("exited before %s:\n%s", what, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not %s after 15s:\n%s", what, out)
		}
	}
}

// check returns the status and body of a GET of url, or 0 and the error
// if there was no response.
func check(url string) (int, string) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// Liveness answers whether or not the origin does; readiness waits for
// the origin to take connections, and follows it once it does.
func TestSidecarHealth(t *testing.T) {
	from, metrics, originAddr := testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t)
	_, out, exited := sidecar(t, from, "--from", from, "--to", originAddr, "--metrics", metrics)

	if code, body := check("http://" + metrics + livePath); code != 200 {
		t.Errorf("%s with no origin: %d %q, want 200", livePath, code, body)
	}
	if code, body := check("http://" + metrics + readyPath); code != 503 || !strings.Contains(body, "origin "+originAddr) {
		t.Errorf("%s with no origin: %d %q, want 503 naming the origin", readyPath, code, body)
	}
	if code, body := check("http://" + metrics + "/metrics"); code != 200 || !strings.Contains(body, "caddy_") {
		t.Errorf("/metrics: %d, want 200 and Caddy's metrics:\n%s", code, body)
	}

	l, err := net.Listen("tcp", originAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	until(t, exited, out, readyPath+" 200 once the origin listens", func() bool {
		code, _ := check("http://" + metrics + readyPath)
		return code == 200
	})
}

// On SIGTERM, a request in flight is answered in full, no new connection
// is taken, and the process exits 0 once the request is done.
func TestSidecarDrainsOnSIGTERM(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	originAddr := serveOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		io.WriteString(w, "done")
	}))
	from := testnet.FreeAddr(t)
	cmd, out, exited := sidecar(t, from, "--from", from, "--to", originAddr, "--grace-period", "1m")

	type result struct {
		code int
		body string
	}
	answered := make(chan result, 1)
	go func() {
		// No client timeout: the request lasts as long as the test holds
		// the origin, however slow the machine.
		resp, err := http.Get("http://" + from + "/slow")
		if err != nil {
			answered <- result{0, err.Error()}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		answered <- result{resp.StatusCode, string(body)}
	}()
	<-arrived
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	until(t, exited, out, "refusing new connections", func() bool {
		c, err := net.DialTimeout("tcp", from, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	close(release)
	if got := <-answered; got.code != 200 || got.body != "done" {
		t.Errorf("the request in flight got %d %q, want 200 \"done\"\n%s", got.code, got.body, out)
	}
	<-exited
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit %d after draining, want 0:\n%s", code, out)
	}
}

// During the shutdown delay, readiness fails while the sidecar still
// proxies and is live, so that a load balancer moves traffic away first.
func TestSidecarNotReadyWhileShuttingDown(t *testing.T) {
	originAddr := serveOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "page")
	}))
	from, metrics := testnet.FreeAddr(t), testnet.FreeAddr(t)
	cmd, out, exited := sidecar(t, from, "--from", from, "--to", originAddr, "--metrics", metrics, "--shutdown-delay", "1h")
	if code, body := check("http://" + metrics + readyPath); code != 200 {
		t.Fatalf("%s before SIGTERM: %d %q, want 200", readyPath, code, body)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	until(t, exited, out, readyPath+" 503 after SIGTERM", func() bool {
		code, body := check("http://" + metrics + readyPath)
		return code == 503 && body == "shutting down\n"
	})
	if code, body := check("http://" + from + "/"); code != 200 || body != "page" {
		t.Errorf("proxying during the shutdown delay: %d %q, want 200 \"page\"", code, body)
	}
	if code, _ := check("http://" + metrics + livePath); code != 200 {
		t.Errorf("%s during the shutdown delay: %d, want 200", livePath, code)
	}
}

// --owner-stamp-key-file stamps fenced responses with the key in the
// file, which appears in no output; a file that cannot be read is a
// failed start that names the flag.
func TestSidecarOwnerStampKeyFile(t *testing.T) {
	const key = "0123456789abcdef-owner-stamp-key"
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	from := testnet.FreeAddr(t)
	_, out, _ := sidecar(t, from, "--from", from, "--to", origin(t), "--session-cookie", "sid",
		"--owner-stamp-key-file", keyFile, "--debug")
	resp := get(t, "http://"+from+"/account", "sid=alice")

	policy, err := fence.New(fence.Config{SessionCookies: []string{"sid"}})
	if err != nil {
		t.Fatal(err)
	}
	want := fence.OwnerStamp([]byte(key), policy.Identity(http.Header{"Cookie": {"sid=alice"}}, resp.Request.URL))
	if got := resp.Header.Get(fence.DefaultStampHeader); got != want {
		t.Errorf("%s = %q, want %q (the file's key, its newline dropped)", fence.DefaultStampHeader, got, want)
	}
	if strings.Contains(out.String(), key) {
		t.Errorf("the log shows the key:\n%s", out)
	}

	code, msg := runCachefence(t, buildCachefence(t), dir, "sidecar", "--to", "127.0.0.1:1", "--owner-stamp-key-file", "missing")
	if code != 1 || !strings.Contains(msg, "--owner-stamp-key-file: open missing: no such file") {
		t.Errorf("exit %d, want 1 naming the flag and the file:\n%s", code, msg)
	}
}

// serveOrigin serves h on a free 127.0.0.1 port until the test ends.
func serveOrigin(t *testing.T, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}
