package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	xcaddyVersion = "v0.4.5"
	caddyVersion  = "v2.11.9"
	// The module root is a package that registers the Caddy module, so the
	// plugin is named as users name it: by its module path, replaced by
	// the checkout.
	modulePath = "github.com/cachefence/cachefence"
	// A cold build of Caddy with all standard modules takes minutes on two
	// cores; this bounds a hung download or build, it measures nothing.
	xcaddyTimeout = 15 * time.Minute
)

// TestXcaddyBuild builds the module into stock Caddy the way a user would,
// with xcaddy, and checks that the handler is in it and fences.
func TestXcaddyBuild(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), xcaddyTimeout)
	defer cancel()
	dir := t.TempDir()
	env := xcaddyEnv(ctx, t, dir)

	// xcaddy itself, built in a scratch module. `go run
	// github.com/caddyserver/xcaddy/cmd/xcaddy@v0.4.5` would do the same but
	// also asks the proxy for xcaddy's version list (to look for a
	// deprecation notice) and fails outright when the proxy refuses that
	// list; `go get` of the exact version only warns.
	src := filepath.Join(dir, "xcaddy-src")
	xcaddy := filepath.Join(dir, "xcaddy")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	goRun(ctx, t, src, env, "go", "mod", "init", "xcaddy-build")
	goRun(ctx, t, src, env, "go", "get", "github.com/caddyserver/xcaddy/cmd/xcaddy@"+xcaddyVersion)
	goRun(ctx, t, src, env, "go", "build", "-o", xcaddy, "github.com/caddyserver/xcaddy/cmd/xcaddy")

	caddy := filepath.Join(dir, "caddy")
	goRun(ctx, t, dir, env, xcaddy, "build", caddyVersion,
		"--with", modulePath+"="+repoRoot(t),
		"--output", caddy)

	modules := goRun(ctx, t, dir, env, caddy, "list-modules")
	if !strings.Contains(modules, "http.handlers.cache_fence") {
		t.Fatalf("caddy list-modules does not list http.handlers.cache_fence:\n%s", modules)
	}

	cfgDir := t.TempDir()
	port := serve(t, "caddy (xcaddy)", func(port int) *process {
		file := render(t, cfgDir, "Caddyfile", config{Port: port}, "xcaddy.Caddyfile")
		return startProcess(t, "caddy (xcaddy)", caddyEnv(cfgDir), caddy, "run", "--config", file, "--adapter", "caddyfile")
	})
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for name, want := range map[string]string{
		"Cache-Control":     "private, no-store",
		"Surrogate-Control": "no-store",
		"Cdn-Cache-Control": "no-store",
		"Edge-Control":      "no-store",
		"X-Accel-Expires":   "0",
	} {
		if got := resp.Header.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want exactly %q", name, got, want)
		}
	}
	if resp.Header.Get("Set-Cookie") == "" {
		t.Errorf("the fence must leave Set-Cookie to the browser; it is gone")
	}
	report(t, "xcaddy     %s build %s --with %s: list-modules has http.handlers.cache_fence; response fenced (Cache-Control %q)",
		xcaddyVersion, caddyVersion, modulePath+"=<repo root>", resp.Header.Get("Cache-Control"))
}

// xcaddyEnv is the environment of the go commands, xcaddy's included.
func xcaddyEnv(ctx context.Context, t *testing.T, dir string) []string {
	t.Helper()
	proxy := strings.TrimSpace(goRun(ctx, t, dir, os.Environ(), "go", "env", "GOPROXY"))
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(),
		// xcaddy runs `go get` on the plugin's module, which exists only as
		// the local replacement. The go command still asks the proxy for
		// the module's versions: a 404 or 410 makes it fall back to the
		// replacement, but any other answer (the proxy here says 403
		// Forbidden) stops the build. "off" after "|" turns every proxy
		// failure into "not found".
		"GOPROXY="+fallbackProxy(proxy),
		// xcaddy's scratch module has no vendor directory and must be
		// allowed to update its go.mod, whatever the caller's GOFLAGS.
		"GOFLAGS=-mod=mod",
		"GOWORK=off",
		"GOTOOLCHAIN=local",
		// xcaddy's build directory goes under the test's own.
		"TMPDIR="+tmp,
	)
}

// fallbackProxy turns a GOPROXY list into one that tries the same proxies
// and then reports "not found": "https://proxy.golang.org,direct" becomes
// "https://proxy.golang.org|off". "direct" is dropped: it would try to clone
// the plugin's repository, which the replacement stands for.
func fallbackProxy(list string) string {
	var proxies []string
	for _, p := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == '|' }) {
		if p != "direct" && p != "off" {
			proxies = append(proxies, p)
		}
	}
	return strings.Join(append(proxies, "off"), "|")
}

// goRun runs a build command in its own process group, killed with it when
// ctx ends, and returns its output; a failure fails the test.
func goRun(ctx context.Context, t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = stopTimeout
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s (%s)", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(time.Second))
	if err != nil {
		if len(out) > 8000 {
			out = append([]byte("…"), out[len(out)-8000:]...)
		}
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
