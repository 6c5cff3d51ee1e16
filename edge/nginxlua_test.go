package edge

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/internal/stampvectors"
	"github.com/cachefence/cachefence/internal/testnet"
)

// nginxGuardKeyName is the environment variable the tests' guards read
// the key from.
const nginxGuardKeyName = "NGINX_GUARD_TEST_KEY"

// TestNginxLuaVectors runs the guard that the nginx-lua target writes in
// real nginx with Debian's Lua module, one nginx per configuration of the
// shared stamp vectors. For every vector, the identity and the stamp the
// guard computes for the request must be the vector's, its page stamped
// with the vector's stamp must reach the requester untouched, and the
// same page with another stamp must be refused.
func TestNginxLuaVectors(t *testing.T) {
	vf, err := stampvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	servers := map[string]string{}
	for name, c := range vf.Configs {
		guard := nginxGuardGenerate(t, c.Fence())
		servers[name] = nginxGuardStart(t, guard, map[string]string{nginxGuardKeyName: vf.Key}).Addr
	}
	for _, v := range vf.Vectors {
		addr := servers[v.Config]
		resp, body := nginxGuardGet(t, addr, v.URL, v.Headers, "X-Nginxguard-Test: identity")
		lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
		if resp.StatusCode != 200 || len(lines) != 2 {
			t.Errorf("%s: the identity request answered %d %q", v.Name, resp.StatusCode, body)
			continue
		}
		id, err := hex.DecodeString(lines[0])
		if err != nil {
			t.Fatalf("%s: identity %q: %v", v.Name, lines[0], err)
		}
		if string(id) != v.Identity || lines[1] != v.Stamp {
			t.Errorf("%s: identity %q stamp %s, want %q %s", v.Name, id, lines[1], v.Identity, v.Stamp)
		}

		resp, body = nginxGuardGet(t, addr, v.URL, v.Headers, "X-Nginxguard-Stamp: "+v.Stamp)
		if resp.StatusCode != 200 || body != "owner's page\n" || resp.Header.Get(GuardHeader) != "" {
			t.Errorf("%s: the page stamped for the requester: %d %q, guard %q; want it untouched", v.Name, resp.StatusCode, body, resp.Header.Get(GuardHeader))
		}
		other := v.Stamp[:len(v.Stamp)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(v.Stamp, "A")]
		resp, body = nginxGuardGet(t, addr, v.URL, v.Headers, "X-Nginxguard-Stamp: "+other)
		nginxGuardRefused(t, v.Name+", a page stamped for someone else", resp, body)
	}

	// A page sent in many pieces: all of it, or nothing of it.
	v := vf.Vectors[2]
	resp, body := nginxGuardGet(t, servers[v.Config], v.URL, v.Headers, "X-Nginxguard-Stamp: "+v.Stamp, "X-Nginxguard-Chunks: 1000")
	if resp.StatusCode != 200 || body != strings.Repeat("owner's page\n", 1000) {
		t.Errorf("the owner's page in 1000 pieces: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body = nginxGuardGet(t, servers[v.Config], v.URL, [][2]string{{"Cookie", "session=bob"}}, "X-Nginxguard-Stamp: "+v.Stamp, "X-Nginxguard-Chunks: 1000")
	nginxGuardRefused(t, "another's page in 1000 pieces", resp, body)

	// The session cookie after 150 other headers, past ngx_lua's default
	// limit of 100: the guard still reads it, as the fence does.
	var many [][2]string
	for i := range 150 {
		many = append(many, [2]string{fmt.Sprintf("X-Filler-%d", i), "x"})
	}
	resp, _ = nginxGuardGet(t, servers[v.Config], v.URL, append(many, v.Headers...), "X-Nginxguard-Stamp: "+v.Stamp)
	if resp.StatusCode != 200 || resp.Header.Get(GuardHeader) != "" {
		t.Errorf("the owner's page, her cookie after 150 headers: %d, guard %q; want it delivered", resp.StatusCode, resp.Header.Get(GuardHeader))
	}
}

// TestNginxLuaRedirects: a response that sends nginx elsewhere for its
// body (X-Accel-Redirect), or whose answer an error_page replaces, is
// judged by its own stamp as well as the final one's, however many
// upstreams answer in turn; where the guard cannot know a stamp, everyone
// is refused; unstamped, it passes. A page with a header the guard cannot
// remove gets no answer. Nothing of the requests' queries reaches the
// error log.
func TestNginxLuaRedirects(t *testing.T) {
	vf, err := stampvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	v := vf.Vectors[2] // a session cookie
	rules := vf.Configs[v.Config].Fence()
	nginx := nginxGuardStart(t, nginxGuardGenerate(t, rules), map[string]string{nginxGuardKeyName: vf.Key})
	p, err := fence.New(rules)
	if err != nil {
		t.Fatal(err)
	}
	bob := [][2]string{{"Cookie", "session=bob"}}
	bobsStamp := fence.OwnerStamp([]byte(vf.Key), p.Identity(http.Header{"Cookie": {"session=bob"}}, &url.URL{Path: "/"}))
	// X-Nginxguard-Stamp2 stamps /file-stamped for whoever asks.
	stamped := "X-Nginxguard-Stamp: " + v.Stamp
	for _, tc := range []struct {
		path                         string
		ownerGetsIt, unstampedGetsIt bool // the owner gets her file; unstamped, anyone gets it
	}{
		{"/origin/accel", true, true},               // a file of this nginx
		{"/origin/accel-proxied", true, true},       // through another proxy_pass
		{"/origin/accel-named", true, true},         // through a named location
		{"/origin/accel-own-rewrite", false, false}, // where the guard's rewrite block does not run: unknown
		{"/origin/accel-chain", true, true},         // sent on again, unstamped, by a second upstream
		{"/origin/accel-restamped", true, true},     // a second upstream stamps for the requester
		{"/origin/accel-missing", true, true},       // a second upstream's 404 replaced by a third's answer
	} {
		resp, body := nginxGuardGet(t, nginx.Addr, tc.path+"?q=SECRET", v.Headers, stamped, "X-Nginxguard-Stamp2: "+v.Stamp)
		if tc.ownerGetsIt && (resp.StatusCode != 200 || body != "owner's file\n" || resp.Header.Get(GuardHeader) != "") {
			t.Errorf("%s, its owner: %d %q, guard %q; want her file", tc.path, resp.StatusCode, body, resp.Header.Get(GuardHeader))
		} else if !tc.ownerGetsIt {
			nginxGuardRefused(t, tc.path+", its owner, a stamp unknown", resp, body)
		}
		resp, body = nginxGuardGet(t, nginx.Addr, tc.path+"?q=SECRET", bob, stamped, "X-Nginxguard-Stamp2: "+bobsStamp)
		nginxGuardRefused(t, tc.path+", another requester", resp, body)
		resp, body = nginxGuardGet(t, nginx.Addr, tc.path, bob, "X-Nginxguard-Stamp2: "+bobsStamp)
		if tc.unstampedGetsIt && (resp.StatusCode != 200 || body != "owner's file\n") {
			t.Errorf("%s, unstamped: %d %q; want it delivered", tc.path, resp.StatusCode, body)
		} else if !tc.unstampedGetsIt {
			nginxGuardRefused(t, tc.path+", unstamped, a stamp unknown", resp, body)
		}
	}

	// A header whose name has "_", which ngx.header cannot remove: another
	// requester gets no answer at all rather than the header.
	resp, body := nginxGuardGet(t, nginx.Addr, "/origin/underscore", v.Headers, stamped)
	if resp.StatusCode != 200 || body != "owner's page\n" || resp.Header.Get("X_Owner_Token") != "owners-token" {
		t.Errorf("the owner's page with a header named with \"_\": %d %q, headers %v; want it delivered", resp.StatusCode, body, resp.Header)
	}
	if resp, body, err := nginxGuardSend(nginx.Addr, "/origin/underscore?token=SECRET", bob, stamped); err == nil {
		t.Errorf("another's page with a header named with \"_\": %d %q, headers %v; want no answer", resp.StatusCode, body, resp.Header)
	}
	nginxGuardLogged(t, nginx, "a header nginx's Lua cannot remove")
}

// TestNginxLuaKeys holds the guard to the key's rotation, and to failing
// closed without a key.
func TestNginxLuaKeys(t *testing.T) {
	vf, err := stampvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	v := vf.Vectors[2] // a session cookie
	guard := nginxGuardGenerate(t, vf.Configs[v.Config].Fence())
	future, past := time.Now().Add(time.Hour).UTC(), time.Now().Add(-time.Minute).UTC()
	for _, tc := range []struct {
		name   string
		env    map[string]string
		passes bool
	}{
		{"the key", map[string]string{nginxGuardKeyName: vf.Key}, true},
		{"no key", map[string]string{}, false},
		{"another key", map[string]string{nginxGuardKeyName: "another-key-0123456789abcdef0123"}, false},
		{"the previous key, until later", map[string]string{nginxGuardKeyName: "new-key-0123456789abcdef01234567",
			nginxGuardKeyName + "_PREVIOUS": vf.Key, nginxGuardKeyName + "_PREVIOUS_UNTIL": future.Format(time.RFC3339)}, true},
		{"the previous key, until later with an offset", map[string]string{nginxGuardKeyName: "new-key-0123456789abcdef01234567",
			nginxGuardKeyName + "_PREVIOUS": vf.Key, nginxGuardKeyName + "_PREVIOUS_UNTIL": future.In(time.FixedZone("", -5*3600)).Format(time.RFC3339Nano)}, true},
		{"the previous key, expired", map[string]string{nginxGuardKeyName: "new-key-0123456789abcdef01234567",
			nginxGuardKeyName + "_PREVIOUS": vf.Key, nginxGuardKeyName + "_PREVIOUS_UNTIL": past.Format(time.RFC3339)}, false},
		{"the previous key, expired with an offset", map[string]string{nginxGuardKeyName: "new-key-0123456789abcdef01234567",
			nginxGuardKeyName + "_PREVIOUS": vf.Key, nginxGuardKeyName + "_PREVIOUS_UNTIL": past.In(time.FixedZone("", 5*3600)).Format(time.RFC3339)}, false},
		{"the previous key, no time", map[string]string{nginxGuardKeyName: "new-key-0123456789abcdef01234567",
			nginxGuardKeyName + "_PREVIOUS": vf.Key, nginxGuardKeyName + "_PREVIOUS_UNTIL": "tomorrow"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := nginxGuardStart(t, guard, tc.env).Addr
			resp, body := nginxGuardGet(t, addr, v.URL, v.Headers, "X-Nginxguard-Stamp: "+v.Stamp)
			if !tc.passes {
				nginxGuardRefused(t, "the page", resp, body)
			} else if resp.StatusCode != 200 || resp.Header.Get(GuardHeader) != "" {
				t.Errorf("the page: %d, guard %q; want it delivered", resp.StatusCode, resp.Header.Get(GuardHeader))
			}
		})
	}
}

// TestNginxLuaGenerate holds what the nginx-lua target writes:
// the key's name where nginx needs it, the configuration's digest, pass
// refused with the reason, names that are not an environment variable's
// refused, and rules that nginx's parser of Lua blocks reads as written.
func TestNginxLuaGenerate(t *testing.T) {
	c := Config{Rules: fence.Config{IgnoreCookies: []string{"_ga*"}}, KeyName: "MY_KEY",
		OnMismatch: OnMismatchRefuse, Source: "Caddyfile", Version: "cachefence v9"}
	out, err := Generate("nginx-lua", c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"env MY_KEY;", "env MY_KEY_PREVIOUS;", "env MY_KEY_PREVIOUS_UNTIL;",
		"cachefence v9", "from Caddyfile", "(configuration sha256:", "header_filter_by_lua_block {", "body_filter_by_lua_block {"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("the guard lacks %q", want)
		}
	}

	pass := c
	pass.OnMismatch = OnMismatchPass
	if _, err := Generate("nginx-lua", pass); err == nil || !strings.Contains(err.Error(), "ngx.exec") {
		t.Errorf("--on-mismatch pass: %v, want an error saying ngx_lua disables ngx.exec there", err)
	}
	for _, name := range []string{"", "MY-KEY", "KEY;", "KEY }", "KEY\n"} {
		bad := c
		bad.KeyName = name
		if _, err := Generate("nginx-lua", bad); err == nil {
			t.Errorf("key name %q accepted", name)
		}
	}

	// Names that a naive writer would let break out of a Lua string or
	// an nginx block, in a guard that nginx must still load and run.
	odd := c
	odd.KeyName = nginxGuardKeyName
	odd.Rules = fence.Config{IgnoreCookies: []string{`a"b`, `c\\d`, "e}f", "g{h", "_ga*"}}
	guard, err := Generate("nginx-lua", odd)
	if err != nil {
		t.Fatal(err)
	}
	addr := nginxGuardStart(t, guard, map[string]string{nginxGuardKeyName: "k-0123456789abcdef0123456789abcdef"}).Addr
	cookie := `a"b=1; e}f=2; g{h=3; c\d=4; _ga1=6; sid=5`
	resp, body := nginxGuardGet(t, addr, "/", [][2]string{{"Cookie", cookie}}, "X-Nginxguard-Test: identity")
	id, err := hex.DecodeString(strings.SplitN(body, "\n", 2)[0])
	p, perr := fence.New(odd.Rules)
	if perr != nil {
		t.Fatal(perr)
	}
	want := p.Identity(http.Header{"Cookie": {cookie}}, &url.URL{Path: "/"})
	if resp.StatusCode != 200 || err != nil || string(id) != want || strings.Contains(want, "_ga1") {
		t.Errorf("odd cookie names: %d identity %q (%v), want the fence's %q", resp.StatusCode, id, err, want)
	}
}

// nginxGuardGenerate writes the nginx-lua guard for rules, refusing
// mismatches, with the key in nginxGuardKeyName.
func nginxGuardGenerate(t *testing.T, rules fence.Config) []byte {
	t.Helper()
	guard, err := Generate("nginx-lua", Config{Rules: rules, KeyName: nginxGuardKeyName,
		OnMismatch: OnMismatchRefuse, Source: "the stamp vectors", Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return guard
}

// nginxGuardModules are the dynamic modules Debian's nginx loads the Lua
// module with.
var nginxGuardModules = []string{"/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_lua_module.so"}

var nginxGuardConf = template.Must(template.ParseFiles(filepath.Join("testdata", "nginxlua", "nginx.conf")))

// nginxGuard is an nginx running a guard: where it listens, and the
// file it writes its warnings and errors to.
type nginxGuard struct {
	Addr, ErrorLog string
}

// nginxGuardStart runs nginx in the foreground with guard included, the
// environment env passed to it, on a free port of 127.0.0.1, once it
// answers.
func nginxGuardStart(t *testing.T, guard []byte, env map[string]string) nginxGuard {
	t.Helper()
	nginx := requireTool(t, "nginx", "nginx")
	for _, m := range nginxGuardModules {
		if _, err := os.Stat(m); err != nil {
			t.Fatalf("nginx's Lua module is not installed (%v): apt-get install -y libnginx-mod-http-lua (scripts/test installs it)", err)
		}
	}
	prefix := t.TempDir()
	guardFile := filepath.Join(prefix, "guard.conf")
	if err := os.WriteFile(guardFile, guard, 0o644); err != nil {
		t.Fatal(err)
	}
	names := []string{nginxGuardKeyName, nginxGuardKeyName + "_PREVIOUS", nginxGuardKeyName + "_PREVIOUS_UNTIL"}
	environ := []string{}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, nginxGuardKeyName) {
			environ = append(environ, e)
		}
	}
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	for attempt := 1; ; attempt++ {
		addr := testnet.FreeAddr(t)
		_, port, _ := net.SplitHostPort(addr)
		var conf bytes.Buffer
		if err := nginxGuardConf.Execute(&conf, map[string]any{"Prefix": prefix, "Port": port,
			"Guard": guardFile, "Env": names, "KeyName": nginxGuardKeyName}); err != nil {
			t.Fatal(err)
		}
		confFile := filepath.Join(prefix, "nginx.conf")
		if err := os.WriteFile(confFile, conf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		cmd := exec.Command(nginx, "-p", prefix, "-c", confFile, "-e", "stderr", "-g", "daemon off;")
		cmd.Env, cmd.Stdout, cmd.Stderr = environ, &out, &out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
			}
		}
		if nginxGuardReady(addr, exited) {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("nginx's log:\n%s", out.String())
				}
			})
			return nginxGuard{Addr: addr, ErrorLog: filepath.Join(prefix, "error.log")}
		}
		stop()
		if attempt == 3 {
			t.Fatalf("nginx did not start:\n%s", out.String())
		}
	}
}

// nginxGuardReady waits until nginx at addr answers /healthz (a response
// that also builds the guard in its worker), or exits.
func nginxGuardReady(addr string, exited <-chan struct{}) bool {
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			return false
		default:
		}
		if resp, err := client.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return true
		}
	}
	return false
}

// nginxGuardGet sends GET target with exactly the header fields given,
// in order and with their names as written, then the extra lines, and
// returns the response and its body.
func nginxGuardGet(t *testing.T, addr, target string, fields [][2]string, extra ...string) (*http.Response, string) {
	t.Helper()
	resp, body, err := nginxGuardSend(addr, target, fields, extra...)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// nginxGuardSend is nginxGuardGet returning its error.
func nginxGuardSend(addr, target string, fields [][2]string, extra ...string) (*http.Response, string, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: guard.test\r\nConnection: close\r\n", target)
	for _, f := range fields {
		fmt.Fprintf(&req, "%s: %s\r\n", f[0], f[1])
	}
	for _, line := range extra {
		req.WriteString(line + "\r\n")
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(conn, req.String()); err != nil {
		return nil, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: %w", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: %w", target, err)
	}
	return resp, string(body), nil
}

// nginxGuardRefused checks that what got is the guard's refusal: a 503
// that no cache stores, with nothing of the page, in its body or in its
// headers, which are exactly the refusal's own and nginx's.
func nginxGuardRefused(t *testing.T, what string, resp *http.Response, body string) {
	t.Helper()
	want := map[string]string{"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "private, no-store",
		"Retry-After": "1", GuardHeader: "refused"}
	for _, nginxOwn := range []string{"Server", "Date"} {
		if v, ok := resp.Header[nginxOwn]; ok {
			want[nginxOwn] = strings.Join(v, "\n")
		}
	}
	got := map[string]string{}
	for name, values := range resp.Header {
		got[name] = strings.Join(values, "\n")
	}
	if resp.StatusCode != 503 || body != "This page was not made for you. Please retry.\n" || !maps.Equal(got, want) {
		t.Errorf("%s: %d %q, headers %v; want the guard's 503 with exactly the headers %v", what, resp.StatusCode, body, got, want)
	}
}

// nginxGuardLog returns nginx's error log once done says it holds what
// the test waits for (the guard logs from timers, after the response),
// or after ten seconds.
func nginxGuardLog(t *testing.T, nginx nginxGuard, done func(log string) bool) string {
	t.Helper()
	var log string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		data, err := os.ReadFile(nginx.ErrorLog)
		if err != nil {
			t.Fatal(err)
		}
		if log = string(data); done(log) {
			break
		}
	}
	return log
}

// nginxGuardLogged checks that nginx's error log says want, and holds no
// SECRET, which the tests send in queries and path parameters.
func nginxGuardLogged(t *testing.T, nginx nginxGuard, want string) {
	t.Helper()
	log := nginxGuardLog(t, nginx, func(log string) bool { return strings.Contains(log, want) })
	if !strings.Contains(log, want) || strings.Contains(log, "SECRET") {
		t.Errorf("nginx's error log must say %q and never SECRET:\n%s", want, log)
	}
}
