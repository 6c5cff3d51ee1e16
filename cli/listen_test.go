package cli

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/cachefence/cachefence/internal/testnet"
)

// caddyListener listens on a free 127.0.0.1 port as a running Caddy,
// sidecar or dev proxy does, with SO_REUSEPORT, and returns its address.
// A second Caddy would share it without a word.
func caddyListener(t *testing.T) string {
	t.Helper()
	na, err := caddy.ParseNetworkAddress("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := na.Listen(context.Background(), 0, net.ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	l := ln.(net.Listener)
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

// unixListener listens on a unix socket in a temporary directory, and
// returns the socket's path and a function that closes the listener but
// leaves the file behind, as a killed server does.
func unixListener(t *testing.T) (string, func()) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	t.Cleanup(func() { l.Close() })
	return path, func() { l.Close() }
}

func TestCheckFree(t *testing.T) {
	busy, busy2, free := caddyListener(t), caddyListener(t), testnet.FreeAddr(t)
	_, busyPort, _ := net.SplitHostPort(busy)
	t.Setenv("CF_TEST_HOST", "127.0.0.1")
	sock, _ := unixListener(t)
	stale, closeStale := unixListener(t)
	closeStale()
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("the stale socket's file is gone: %v", err)
	}

	for _, tc := range []struct {
		name string
		ls   []listener
		want string // "" for no error
	}{
		{"in use", []listener{{busy, "--from"}}, busy + " (--from): already in use by another process"},
		{"with a network", []listener{{"tcp4/" + busy, "server srv0"}}, "tcp4/" + busy + " (server srv0): already in use"},
		{"a placeholder, replaced as Caddy does", []listener{{"{env.CF_TEST_HOST}:" + busyPort, "server srv0"}}, busy + " (server srv0): already in use"},
		{"every one in use is named", []listener{{free, "--from"}, {busy, "server a"}, {busy2, "admin endpoint"}},
			busy + " (server a), " + busy2 + " (admin endpoint): already in use"},
		{"a live unix socket", []listener{{"unix/" + sock, "server srv0"}}, "unix/" + sock + " (server srv0): already in use"},
		{"a unix socket with permission bits", []listener{{"unix/" + sock + "|0222", "server srv0"}}, "unix/" + sock + "|0222 (server srv0): already in use"},
		{"free", []listener{{free, "--from"}}, ""},
		{"a stale unix socket, which Caddy unlinks", []listener{{"unix/" + stale, "server srv0"}}, ""},
		{"no unix socket yet", []listener{{"unix/" + filepath.Join(t.TempDir(), "new.sock"), "server srv0"}}, ""},
		{"any port", []listener{{"127.0.0.1:0", "--from"}}, ""},
		{"an unknown placeholder is Caddy's to report", []listener{{"{nope}:" + busyPort, "server srv0"}}, ""},
		{"a bad address is Caddy's to report", []listener{{"127.0.0.1:port", "server srv0"}}, ""},
		{"a file descriptor is handed over", []listener{{"fd/3", "server srv0"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkFree(tc.ls...)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// The check binds and closes: the address is free again for Caddy.
	if err := checkFree(listener{free, "--from"}); err != nil {
		t.Errorf("checking an address twice: %v", err)
	}
}

func TestListenersOf(t *testing.T) {
	admin := listener{caddy.DefaultAdminListen, "admin endpoint"}
	for _, tc := range []struct {
		name, config string
		want         []listener
	}{
		{"no config runs the admin endpoint", ``, []listener{admin}},
		{"the default admin endpoint", `{"admin": {"config": {"persist": false}}}`, []listener{admin}},
		{"admin elsewhere", `{"admin": {"listen": "unix//run/caddy-admin.sock"}}`,
			[]listener{{"unix//run/caddy-admin.sock", "admin endpoint"}}},
		{"servers in order of name, then admin", `{"apps": {"http": {"servers": {
			"web": {"listen": [":443", "127.0.0.1:8000-8002"]},
			"api": {"listen": ["{env.API_ADDR}"]}}}}}`,
			[]listener{{"{env.API_ADDR}", "server api"}, {":443", "server web"}, {"127.0.0.1:8000-8002", "server web"}, admin}},
		{"admin off", `{"admin": {"disabled": true}, "apps": {"http": {"servers": {"srv0": {"listen": [":8080"]}}}}}`,
			[]listener{{":8080", "server srv0"}}},
		{"HTTP/3 alone listens on UDP only", `{"admin": {"disabled": true}, "apps": {"http": {"servers": {
			"quic": {"listen": [":443"], "protocols": ["h3"]},
			"mixed": {"listen": [":8443", ":9443"], "protocols": ["h3"], "listen_protocols": [["h1", "h3"], null]},
			"split": {"listen": [":7443", ":6443"], "listen_protocols": [["h3"], [""]]}}}}}`,
			[]listener{{":8443", "server mixed"}, {":6443", "server split"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := listenersOf([]byte(tc.config))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v\n want %v", got, tc.want)
			}
		})
	}
}

// refuse runs the binary with args and wants it to exit 1, before it
// serves anything, with each of wants in its output.
func refuse(t *testing.T, dir string, args []string, wants ...string) {
	t.Helper()
	start := time.Now()
	code, out := runCachefence(t, buildCachefence(t), dir, args...)
	if code != 1 {
		t.Errorf("exit %d after %v, want 1:\n%s", code, time.Since(start), out)
	}
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
}

// A sidecar or dev proxy started on an address that another process listens
// on exits 1 and names the address, instead of taking part of its traffic.
func TestProxyRefusesAddressInUse(t *testing.T) {
	isolateCaddy(t)
	busy, free := caddyListener(t), testnet.FreeAddr(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"sidecar", []string{"sidecar", "--from", busy, "--to", "127.0.0.1:1"}, busy + " (--from)"},
		{"sidecar --report", []string{"sidecar", "--from", busy, "--to", "127.0.0.1:1", "--report"}, busy + " (--from)"},
		{"sidecar --metrics", []string{"sidecar", "--from", free, "--metrics", busy, "--to", "127.0.0.1:1"}, busy + " (--metrics)"},
		{"dev", []string{"dev", "--from", busy, "--to", "127.0.0.1:1"}, busy + " (--from)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refuse(t, t.TempDir(), tc.args, tc.want+": already in use by another process")
		})
	}
}

// run refuses an address that another process listens on, from whichever
// config it would load: --config, the Caddyfile in the working directory,
// or the autosaved config with --resume. Caddyfile environment variables
// and listen placeholders are read as run reads them.
func TestRunRefusesAddressInUse(t *testing.T) {
	isolateCaddy(t)
	busy, free := caddyListener(t), testnet.FreeAddr(t)
	_, busyPort, _ := net.SplitHostPort(busy)
	_, freePort, _ := net.SplitHostPort(free)
	t.Setenv("CF_TEST_PORT", busyPort)
	dir := t.TempDir()
	write(t, dir, "Caddyfile", siteCaddyfile("{$CF_TEST_PORT}", "admin off"))
	write(t, dir, "free.Caddyfile", siteCaddyfile(freePort, "admin off"))
	write(t, dir, "busy-admin.json", `{"admin": {"listen": "`+busy+`"},
		"apps": {"http": {"servers": {"srv0": {"listen": ["`+free+`"]}}}}}`)
	write(t, dir, "placeholder.json", `{"admin": {"disabled": true},
		"apps": {"http": {"servers": {"srv0": {"listen": ["127.0.0.1:{env.CF_TEST_PORT}"]}}}}}`)
	write(t, os.Getenv("XDG_CONFIG_HOME"), "caddy/autosave.json", `{"admin": {"disabled": true},
		"apps": {"http": {"servers": {"srv0": {"listen": ["`+busy+`"]}}}}}`)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--config", "Caddyfile", "--adapter", "caddyfile"}, busy + " (server srv0): already in use"},
		{[]string{"run"}, busy + " (server srv0): already in use"},
		{[]string{"run", "--config", "busy-admin.json"}, busy + " (admin endpoint): already in use"},
		{[]string{"run", "--config", "placeholder.json"}, busy + " (server srv0): already in use"},
		{[]string{"run", "--resume", "--config", "free.Caddyfile"}, busy + " (server srv0): already in use"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			refuse(t, dir, tc.args, tc.want)
		})
	}
}

// A free address still serves, with sidecar, dev and run alike. An
// environment file that moves run's address elsewhere is obeyed: the
// pre-flight does not judge a config that run reads differently.
func TestFreeAddressServes(t *testing.T) {
	isolateCaddy(t)
	busy := caddyListener(t)
	_, busyPort, _ := net.SplitHostPort(busy)
	to := origin(t)
	dir := t.TempDir()
	free := func() (addr, port string) {
		addr = testnet.FreeAddr(t)
		_, port, _ = net.SplitHostPort(addr)
		return addr, port
	}
	site, sitePort := free()
	admin, _ := free()
	write(t, dir, "site.Caddyfile", siteCaddyfile(sitePort, "admin "+admin))
	moved, movedPort := free()
	write(t, dir, "moved.Caddyfile", siteCaddyfile("{$CF_TEST_PORT:"+busyPort+"}", "admin off"))
	write(t, dir, "moved.env", "CF_TEST_PORT="+movedPort+"\n")
	sidecar, _ := free()
	dev, _ := free()

	for _, tc := range []struct {
		name, addr string
		args       []string
	}{
		{"sidecar", sidecar, []string{"sidecar", "--from", sidecar, "--to", to}},
		{"dev", dev, []string{"dev", "--from", dev, "--to", to}},
		{"run", site, []string{"run", "--config", "site.Caddyfile"}},
		{"run --envfile", moved, []string{"run", "--config", "moved.Caddyfile", "--envfile", "moved.env"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			serve(t, dir, tc.addr, tc.args...)
			resp := get(t, "http://"+tc.addr+"/news", "")
			if resp.StatusCode != 200 {
				t.Errorf("status %d, want 200", resp.StatusCode)
			}
		})
	}
}

// serve starts the binary with args in dir, waits until addr takes
// connections, and stops the process when the test ends.
func serve(t *testing.T, dir, addr string, args ...string) {
	t.Helper()
	cmd := exec.Command(buildCachefence(t), args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	exited, stop := start(t, cmd)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("exited with %v:\n%s", cmd.ProcessState, &out)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("nothing listens on %s after 15s:\n%s", addr, &out)
		}
	}
}

// start starts cmd, and kills it when the test ends. exited is closed
// once it has exited; stop kills it and waits for that.
func start(t *testing.T, cmd *exec.Cmd) (exited <-chan struct{}, stop func()) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	stop = func() {
		cmd.Process.Kill()
		<-done
	}
	t.Cleanup(stop)
	return done, stop
}

// siteCaddyfile is a Caddyfile with the global option opt and a site on
// 127.0.0.1:port that answers "ok".
func siteCaddyfile(port, opt string) string {
	return "{\n\t" + opt + "\n}\nhttp://127.0.0.1:" + port + " {\n\tbind 127.0.0.1\n\trespond \"ok\"\n}\n"
}

// isolateCaddy points Caddy's config and data directories, in this test's
// processes and the ones it starts, at temporary ones.
func isolateCaddy(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_DATA_HOME", t.TempDir())
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
