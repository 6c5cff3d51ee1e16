package integration

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
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/cachefence/cachefence/internal/testnet"
)

// The processes under test and the harness's own waits are bounded by
// these; none of them is an assertion on speed.
const (
	startTimeout   = 60 * time.Second // for a server to answer HTTP
	stopTimeout    = 10 * time.Second // between SIGTERM and SIGKILL
	requestTimeout = 30 * time.Second // per HTTP request
)

var runStart = time.Now()

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	printSummary()
	os.Exit(code)
}

// ---- the summary printed at the end of the run ----

var summary struct {
	sync.Mutex
	lines []string
}

// report logs a result line and keeps it for the end-of-run summary.
func report(t *testing.T, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	summary.Lock()
	summary.lines = append(summary.lines, line)
	summary.Unlock()
}

func printSummary() {
	summary.Lock()
	defer summary.Unlock()
	if len(summary.lines) == 0 {
		return
	}
	sort.Strings(summary.lines)
	fmt.Println("\n==== cachefence integration summary ====")
	for _, l := range summary.lines {
		fmt.Println(l)
	}
	fmt.Printf("total run time: %s\n", time.Since(runStart).Round(100*time.Millisecond))
}

// ---- binaries ----

// installHint is the one way to get the programs the suite runs: the
// caches, and PHP for the framework origin of the hardening tests.
const installHint = "install them with: apt-get update && apt-get install -y varnish nginx php-cli"

// tool finds an installed program, also in /usr/sbin, which is not on
// every PATH. A missing tool fails the test: the suite never skips.
func tool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
		if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
			return p
		}
	}
	t.Fatalf("%s not found: the integration tests need varnishd, varnishstat, nginx, php and python3; %s", name, installHint)
	return ""
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// repoRoot is the module root: this package lives in <root>/integration.
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// cachefenceBinary builds ./cmd/cachefence once per run.
func cachefenceBinary(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "cachefence-integration-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "cachefence")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/cachefence")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/cachefence: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// ---- processes ----

// process is a server the test started, in its own process group so that
// its children (Varnish's cache process, nginx's workers) go with it.
type process struct {
	name   string
	cmd    *exec.Cmd
	out    lockedBuffer
	exited chan struct{}
	err    error // set before exited closes
}

func startProcess(t *testing.T, name string, env []string, bin string, args ...string) *process {
	t.Helper()
	p := &process{name: name, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.WaitDelay = stopTimeout
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("---- output of %s ----\n%s", p.name, p.out.tail(8000))
		}
	})
	return p
}

// stop ends the process group: SIGTERM, then SIGKILL if it lingers.
func (p *process) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	}
	// Children that outlived their parent's exit.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// lockedBuffer collects a process's output; the exec package writes it
// from its own goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// ---- ports and readiness ----

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	_, port, err := net.SplitHostPort(testnet.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// serve starts a server on a free port and waits until it answers HTTP.
// The port is picked and released before the server binds it, so another
// process can take it in between; the server then exits and serve tries
// again with a new port.
func serve(t *testing.T, name string, launch func(port int) *process) int {
	t.Helper()
	const attempts = 3
	for i := 1; ; i++ {
		port := freePort(t)
		p := launch(port)
		err := waitHTTP(p, port)
		if err == nil {
			return port
		}
		p.stop()
		if i == attempts {
			t.Fatalf("%s did not start: %v\n---- output ----\n%s", name, err, p.out.tail(8000))
		}
		t.Logf("%s did not start on port %d (%v); retrying on another port", name, port, err)
	}
}

// waitHTTP polls until the server on port answers any HTTP response, the
// process exits, or startTimeout passes.
func waitHTTP(p *process, port int) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	probe := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: 2 * time.Second}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited: %v", p.name, p.err)
		default:
		}
		if resp, err := probe.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("no HTTP answer within " + startTimeout.String())
}

// ---- configuration files ----

// config is what the templates in testdata may refer to.
type config struct {
	Port        int    // where the server listens on 127.0.0.1
	BackendPort int    // where it forwards to on 127.0.0.1
	Prefix      string // a private working directory (nginx)
	StampKey    string // cache_fence owner_stamp key; "" for none
	// For testdata/hardening.Caddyfile: whether the router fences, and
	// the framework origins it routes to.
	Fenced              bool
	PHPPort, PythonPort int
	// Files is a directory the router serves with Caddy's file_server.
	Files string
}

// render executes the templates files (the first one is executed; the
// others may define templates it calls) into dir/name.
func render(t *testing.T, dir, name string, data config, files ...string) string {
	t.Helper()
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join("testdata", f)
	}
	tmpl, err := template.ParseFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, files[0], data); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// ---- the fences ----

// fenceFunc puts a fence in front of the origin at originPort and returns
// the port the cache should forward to.
type fenceFunc func(t *testing.T, originPort int) int

// caddyfileFence runs `cachefence run` with testdata/fence.Caddyfile.
func caddyfileFence(t *testing.T, originPort int) int {
	return stampingFence("")(t, originPort)
}

// stampingFence is caddyfileFence with owner stamps made with key ("" for
// none).
func stampingFence(key string) fenceFunc {
	return func(t *testing.T, originPort int) int {
		t.Helper()
		bin := cachefenceBinary(t)
		dir := t.TempDir()
		return serve(t, "cachefence", func(port int) *process {
			file := render(t, dir, "Caddyfile", config{Port: port, BackendPort: originPort, StampKey: key}, "fence.Caddyfile")
			return startProcess(t, "cachefence", caddyEnv(dir), bin, "run", "--config", file, "--adapter", "caddyfile")
		})
	}
}

// sidecarFence runs the one-liner `cachefence sidecar`, with its defaults.
func sidecarFence(t *testing.T, originPort int) int {
	t.Helper()
	bin := cachefenceBinary(t)
	dir := t.TempDir()
	return serve(t, "cachefence sidecar", func(port int) *process {
		return startProcess(t, "cachefence sidecar", caddyEnv(dir), bin, "sidecar",
			"--from", fmt.Sprintf("127.0.0.1:%d", port),
			"--to", fmt.Sprintf("127.0.0.1:%d", originPort))
	})
}

// caddyEnv keeps Caddy's config and data directories (autosave, storage)
// inside the test's temporary directory.
func caddyEnv(dir string) []string {
	return []string{
		"HOME=" + dir,
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
	}
}

// ---- contexts ----

// testContext is cancelled when the test ends or after limit, a safety net
// against a hung server rather than a measure of speed.
func testContext(t *testing.T, limit time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	return ctx
}

// firstLines keeps a log readable when many things went wrong.
func firstLines(lines []string, n int) string {
	if len(lines) > n {
		lines = append(lines[:n:n], fmt.Sprintf("… and %d more", len(lines)-n))
	}
	return strings.Join(lines, "\n")
}
