package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestContainerImage builds deploy/Dockerfile with podman and runs the
// image as its README says, in front of an origin on 127.0.0.1: the
// sidecar must answer its health checks, fence a personal page and pass a
// public one, with a read-only root filesystem, as the image's non-root
// user, and exit cleanly on SIGTERM.
//
// There is no registry here, so the Dockerfile's build stage (FROM
// golang) is replaced by a build context holding the static binary this
// test builds the same way (podman build --build-context build=DIR): the
// final stage, the image users run, is built as written.
//
// Two options work around this machine's sandbox, not the image: crun
// fails here with "cgroups in hybrid mode not supported", so the runtime
// is runc; and the sandbox lacks CAP_SYS_RESOURCE, so podman's default
// rlimits (above the host's) fail with "setrlimit RLIMIT_NOFILE:
// Operation not permitted"; the container gets lower ones.
func TestContainerImage(t *testing.T) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Fatalf("podman not found: install it with apt-get install -y podman runc (scripts/test does)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Fatalf("runc not found: install it with apt-get install -y runc (scripts/test does)")
	}
	root := repoRoot(t)
	ctx := testContext(t, 5*time.Minute)

	// The build stage's output: /out/cachefence and /out/data.
	stage := t.TempDir()
	if err := os.MkdirAll(filepath.Join(stage, "out", "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(stage, "out", "cachefence"), "./cmd/cachefence")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build (static): %v\n%s", err, out)
	}

	tag := fmt.Sprintf("localhost/cachefence-test:%d", os.Getpid())
	podmanRun(t, podman, "build", "--build-context", "build="+stage, "-f", filepath.Join(root, "deploy", "Dockerfile"), "-t", tag, stage)
	t.Cleanup(func() { exec.Command(podman, "rmi", "-f", tag).Run() })
	if user := strings.TrimSpace(podmanRun(t, podman, "image", "inspect", "--format", "{{.Config.User}}", tag)); user != "65532:65532" {
		t.Errorf("the image's user is %q, want 65532:65532", user)
	}

	origin := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		io.WriteString(w, "page")
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go origin.Serve(l)
	t.Cleanup(func() { origin.Close() })

	name := fmt.Sprintf("cachefence-test-%d", os.Getpid())
	from, metrics := freePort(t), freePort(t)
	p := startProcess(t, "container", nil, podman, "--runtime", "runc", "run", "--rm", "--name", name,
		"--network", "host", "--read-only", "--tmpfs", "/data:rw,mode=1777",
		"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
		tag, "--to", l.Addr().String(), "--session-cookie", "sid",
		"--from", fmt.Sprintf("127.0.0.1:%d", from), "--metrics", fmt.Sprintf("127.0.0.1:%d", metrics))
	t.Cleanup(func() { exec.Command(podman, "rm", "-f", name).Run() })
	// waitHTTP asks for /healthz, which the metrics address answers.
	if err := waitHTTP(p, metrics); err != nil {
		t.Fatalf("the container: %v\n%s", err, p.out.tail(8000))
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		if code := getPage(t, fmt.Sprintf("http://127.0.0.1:%d%s", metrics, path), "").StatusCode; code != 200 {
			t.Errorf("%s: %d, want 200", path, code)
		}
	}
	personal := getPage(t, fmt.Sprintf("http://127.0.0.1:%d/account", from), "sid=alice")
	if cc := personal.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("a page asked for with a session cookie: Cache-Control %q, want it fenced (no-store)", cc)
	}
	public := getPage(t, fmt.Sprintf("http://127.0.0.1:%d/news", from), "")
	if cc := public.Header.Get("Cache-Control"); cc != "public, max-age=60" {
		t.Errorf("a page asked for without credentials: Cache-Control %q, want the origin's", cc)
	}

	p.stop() // SIGTERM to podman, which passes it to the sidecar
	out := p.out.tail(1 << 20)
	for _, want := range []string{`"msg":"shutdown complete","signal":"SIGTERM","exit_code":0`} {
		if !strings.Contains(out, want) {
			t.Errorf("the container's log has no %s:\n%s", want, out)
		}
	}
	// /data is Caddy's data directory; nothing else needs to be written.
	if strings.Contains(out, "read-only file system") {
		t.Errorf("the sidecar tried to write outside /data:\n%s", out)
	}
}

// podmanRun runs podman with args and returns its output, or fails.
func podmanRun(t *testing.T, podman string, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(testContext(t, 5*time.Minute), podman, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// getPage GETs url with cookie and returns the response, its body read.
func getPage(t *testing.T, url, cookie string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}
