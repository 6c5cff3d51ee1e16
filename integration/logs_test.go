package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachefence/cachefence/logs"
)

// TestLogs runs real caches in front of the fence with owner stamps,
// lets signed-in users, a bearer-token client and anonymous visitors
// through them one after another and all at once, and runs `cachefence
// logs` over the access log the cache wrote: varnishncsa's for Varnish,
// nginx's own. With a cache that ignores "private" (as a misconfigured CDN
// does) the stamp_mismatch findings must be exactly the responses where
// one identity's stamped page reached another, and no public page may be
// flagged; with a cache that honours "private" there must be no finding
// at all.
func TestLogs(t *testing.T) {
	t.Parallel()
	for _, lc := range []struct {
		name, cache, config string
		leaks               bool
	}{
		{"varnish/ignores_private", "varnish", "varnish_forced_ttl.vcl", true},
		{"varnish/honours_private", "varnish", "varnish_2017.vcl", false},
		{"nginx/ignores_private", "nginx", "logs_nginx_ignores_private.conf", true},
		{"nginx/honours_private", "nginx", "logs_nginx_honors_private.conf", false},
	} {
		t.Run(lc.name, func(t *testing.T) {
			t.Parallel()
			o := startOrigin(t)
			backend := stampingFence(stampKey)(t, o.port)
			c, logFile, logged := startLoggingCache(t, lc.cache, lc.config, backend)
			truth := visitAll(t, c)
			// Every request must be in the log before it is read.
			waitLines(t, logFile, logged, len(truth))

			got := runLogs(t, lc.cache, logFile)
			var mismatches []string
			for _, f := range got {
				if slices.Contains(logsPublicPaths, f.Path) {
					t.Errorf("a public page flagged: %s", f.String())
				}
				if f.Check == logs.StampMismatch {
					mismatches = append(mismatches, fmt.Sprintf("%s %s>%s", f.Path, f.Owner, f.Requester))
				}
			}
			var want []string
			for _, v := range truth {
				if v.stamped && v.owner != v.visitor {
					want = append(want, fmt.Sprintf("%s %s>%s", v.path, v.owner, v.visitor))
				}
			}
			slices.Sort(mismatches)
			slices.Sort(want)
			report(t, "logs       %-26s %-8s %d requests, %d reached another identity, %d findings (%d stamp_mismatch)",
				lc.name, lc.cache, len(truth), len(want), len(got), len(mismatches))
			if !slices.Equal(mismatches, want) {
				t.Errorf("stamp_mismatch findings:\n%s\nwant, from what each visitor got:\n%s",
					strings.Join(mismatches, "\n"), strings.Join(want, "\n"))
			}
			switch {
			case lc.leaks && len(want) == 0:
				t.Fatal("no stamped page reached another identity: the test cannot show the watcher finds leaks")
			case !lc.leaks && len(got) > 0:
				t.Errorf("%d findings with a cache that honours private, first %s", len(got), got[0].String())
			}
		})
	}
}

// The identities of the test: users with a session cookie, one with a
// bearer token, and anonymous visitors (who carry only an analytics
// cookie, which the fence ignores).
var (
	logsUsers = []visitor{user("alice"), user("bob"), user("carol"), {name: "dave", user: "dave", bearer: true}}
	logsAnons = []visitor{anon("anon1"), anon("anon2")}
	// Personal pages: private paths, a personal page the origin marks
	// public, a login that sets a cookie.
	logsPersonalPaths = []string{"/account", "/orders/42", "/wishlist", "/login"}
	// Public pages and assets, which must never be flagged.
	logsPublicPaths = []string{"/", "/news/1", "/static/app.css"}
)

// visit is what one visitor got: the owner named in the body, and
// whether the response carried an owner stamp.
type visit struct {
	visitor, path, owner string
	stamped              bool
}

// identityName is how the watcher names v: its account, or anonymous.
func identityName(v visitor) string {
	if v.user == "" {
		return "anonymous"
	}
	return v.user
}

// visitAll sends the mixed traffic: everyone through every page one after
// another, then everyone at once on the slow personal page, twice.
func visitAll(t *testing.T, c *cache) []visit {
	t.Helper()
	ctx := testContext(t, 2*time.Minute)
	everyone := append(slices.Clone(logsUsers), logsAnons...)
	var mu sync.Mutex
	var got []visit
	fetch := func(v visitor, path string) {
		owner, stamped, err := fetchStamped(ctx, c, v, path)
		if err != nil {
			t.Errorf("%s: GET %s: %v", v.name, path, err)
			return
		}
		mu.Lock()
		got = append(got, visit{identityName(v), path, owner, stamped})
		mu.Unlock()
	}
	for _, path := range slices.Concat(logsPersonalPaths, logsPublicPaths) {
		for _, v := range everyone {
			fetch(v, path)
		}
	}
	for range 2 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, v := range everyone {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				fetch(v, "/live")
			}()
		}
		close(start)
		wg.Wait()
	}
	if t.Failed() {
		t.FailNow()
	}
	return got
}

// fetchStamped fetches path as v does (visitor.get) and returns the owner
// the body names and whether the response carried an owner stamp.
func fetchStamped(ctx context.Context, c *cache, v visitor, path string) (owner string, stamped bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+path, nil)
	if err != nil {
		return "", false, err
	}
	cookie := "_ga=GA1.2." + v.name
	switch {
	case v.user != "" && v.bearer:
		req.Header.Set("Authorization", "Bearer "+v.user)
	case v.user != "":
		cookie += "; session=" + v.user
	}
	req.Header.Set("Cookie", cookie)
	resp, err := client.Do(req)
	if err != nil {
		return "", false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", false, err
	}
	if m := ownerRE.FindSubmatch(body); m != nil {
		owner = string(m[1])
	}
	return owner, resp.Header.Get("Cache-Fence-Owner") != "", nil
}

// startLoggingCache runs the cache with its access log in the
// recommended format, and returns it, the log's path, and the number of
// lines already logged before the test's requests (readiness probes).
func startLoggingCache(t *testing.T, kind, variant string, backend int) (*cache, string, int) {
	t.Helper()
	if kind == "nginx" {
		nginx := tool(t, "nginx")
		c := &cache{kind: "nginx"}
		prefix := t.TempDir()
		port := serve(t, "nginx", func(port int) *process {
			file := render(t, prefix, "nginx.conf", config{Port: port, BackendPort: backend, Prefix: prefix}, "logs_nginx.conf", variant)
			return startProcess(t, "nginx", nil, nginx, "-p", prefix, "-c", file, "-e", "stderr", "-g", "daemon off;")
		})
		c.url = fmt.Sprintf("http://127.0.0.1:%d", port)
		logFile := filepath.Join(prefix, "access.log")
		return c, logFile, countLines(t, logFile)
	}
	c := startVarnish(t, variant, backend)
	format, err := os.ReadFile(filepath.Join("testdata", "logs_varnishncsa.format"))
	if err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(t.TempDir(), "varnishncsa.log")
	startProcess(t, "varnishncsa", nil, tool(t, "varnishncsa"),
		"-n", c.workdir, "-F", strings.TrimSpace(string(format)), "-w", logFile)
	// varnishncsa logs what happens once it is attached: wait for a
	// request to show, then count it out.
	deadline := time.Now().Add(startTimeout)
	for countLines(t, logFile) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("varnishncsa logged nothing")
		}
		if resp, err := client.Get(c.url + "/healthz"); err == nil {
			resp.Body.Close()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return c, logFile, countLines(t, logFile)
}

// countLines counts the lines of file; a missing file has none.
func countLines(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

// waitLines waits, bounded, until file holds before+n lines.
func waitLines(t *testing.T, file string, before, n int) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for countLines(t, file) < before+n {
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d lines, want %d", file, countLines(t, file), before+n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runLogs runs `cachefence logs` over file as docs/logs.md says to, with
// the fence's key and cookie rules and the test accounts, and returns its
// findings. Its exit code must say whether it found anything.
func runLogs(t *testing.T, kind, file string) []logs.Finding {
	t.Helper()
	format := "nginx"
	if kind == "varnish" {
		format = "varnishncsa"
	}
	args := []string{"logs", "--format", format, "--output", "json",
		"--ignore-cookie", "_ga*", "--ignore-cookie", "_gid",
		"--private-path", "/account*", "--private-path", "/orders/*", "--private-path", "/live"}
	env := []string{"CACHE_FENCE_KEY=" + stampKey}
	for _, v := range logsUsers {
		envName := "LOGS_ACCOUNT_" + strings.ToUpper(v.name)
		cred := "session=" + v.user
		if v.bearer {
			cred = "Authorization: Bearer " + v.user
		}
		args = append(args, "--account", v.user+"="+envName)
		env = append(env, envName+"="+cred)
	}
	cmd := exec.CommandContext(testContext(t, time.Minute), cachefenceBinary(t), append(args, file)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	exit := 0
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			t.Fatalf("running cachefence logs: %v", err)
		}
		exit = exitErr.ExitCode()
	}
	t.Logf("cachefence logs exit %d\n%s", exit, stderr.String())
	var found []logs.Finding
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var f logs.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("a finding that is not JSON: %v: %s", err, sc.Text())
		}
		found = append(found, f)
	}
	if want := map[bool]int{true: 1, false: 0}[len(found) > 0]; exit != want {
		t.Errorf("exit %d with %d findings, want %d", exit, len(found), want)
	}
	if strings.Contains(stdout.String()+stderr.String(), "session=") {
		t.Error("a cookie value reached the output")
	}
	return found
}
