package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cachefence/cachefence/catalog"
	"github.com/cachefence/cachefence/internal/sarif/schema"
	"github.com/cachefence/cachefence/logs"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cachefence/cachefence/alert"
	"github.com/cachefence/cachefence/internal/testnet"
)

// The fixtures' stamp key and accounts (logs/testdata).
var logsEnv = map[string]string{
	"CACHE_FENCE_KEY":        "logs-test-key-0123456789abcdef",
	"LOGS_ALICE":             "session=alice",
	"LOGS_BOB":               "Authorization: Bearer bob",
	"CACHEFENCE_LOGS_SECRET": "push-secret-0123456789",
}

// logsArgs are the fence's rules of the fixtures.
var logsArgs = []string{"logs", "--ignore-cookie", "_ga*", "--private-path", "/account*", "--private-path", "/orders/*",
	"--account", "alice=LOGS_ALICE", "--account", "bob=LOGS_BOB"}

func setLogsEnv(t *testing.T) {
	for k, v := range logsEnv {
		t.Setenv(k, v)
	}
}

// fixturePath is a fixture of the logs package, absolute: commands run in
// a temporary directory.
func fixturePath(name string) string {
	p, err := filepath.Abs(filepath.Join("..", "logs", "testdata", name))
	if err != nil {
		panic(err)
	}
	return p
}

func TestLogsCommandLine(t *testing.T) {
	bin := buildCachefence(t)
	dir := t.TempDir()
	setLogsEnv(t)
	t.Setenv("LOGS_EMPTY", "")
	// The Kinesis row reaches only its endpoint on 127.0.0.1, never the
	// instance metadata service.
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret-of-anyone")
	nginx := fixturePath("nginx.log")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"logs", "--format", "apache", nginx}, 2, `cachefence logs: --format: unknown log format "apache"`},
		{[]string{"logs", "--output", "xml", nginx}, 2, `--output "xml": want text, json or sarif`},
		{[]string{"logs", "--output", "sarif", "--follow", nginx}, 2, "--output sarif writes one document at the end, so it needs files"},
		{[]string{"logs"}, 2, "no input: name files, - for stdin, --listen, --kafka-brokers or --kinesis-stream"},
		{[]string{"logs", "--bogus", nginx}, 2, "unknown flag: --bogus"},
		{[]string{"logs", "--follow", "--listen", "127.0.0.1:0", nginx}, 2, "--follow, --listen, --kafka-brokers and --kinesis-stream exclude each other"},
		{[]string{"logs", "--listen", "127.0.0.1:0", nginx}, 2, `unexpected argument "` + nginx + `": only --follow and a batch read files`},
		{[]string{"logs", "--kafka-topic", "cdn"}, 2, "--kafka-brokers: give at least one broker, host:port"},
		{[]string{"logs", "--kafka-brokers", "127.0.0.1", "--kafka-topic", "cdn", "--kafka-group", "g"}, 2, `--kafka-brokers: "127.0.0.1" is not host:port`},
		{[]string{"logs", "--kafka-brokers", "127.0.0.1:1", "--kafka-topic", "cdn"}, 2, "--kafka-group is needed"},
		{[]string{"logs", "--kafka-brokers", "127.0.0.1:1", "--kafka-topic", "cdn", "--kafka-group", "g", "--kafka-sasl", "PLAIN", "--kafka-user", "u"}, 2, "--kafka-sasl PLAIN sends the password in clear"},
		{[]string{"logs", "--kafka-brokers", "127.0.0.1:1", "--kafka-topic", "cdn", "--kafka-group", "g", "--kafka-sasl", "SCRAM-SHA-256", "--kafka-user", "u", "--kafka-password-env", "LOGS_EMPTY"}, 2, "$LOGS_EMPTY, which holds the password, is not set"},
		{[]string{"logs", "--kafka-brokers", "127.0.0.1:1", "--kafka-topic", "cdn", "--kafka-group", "g", "--listen", "127.0.0.1:0"}, 2, "--follow, --listen, --kafka-brokers and --kinesis-stream exclude each other"},
		{[]string{"logs", "--kafka-brokers", "127.0.0.1:1", "--kafka-topic", "cdn", "--kafka-group", "g", nginx}, 2, "only --follow and a batch read files"},
		{[]string{"logs", "--kafka-brokers", "127.0.0.1:1", "--kafka-topic", "cdn", "--kafka-group", "g", "--output", "sarif"}, 2, "--output sarif writes one document at the end"},
		{[]string{"logs", "--kinesis-region", "us-east-1"}, 2, "--kinesis-stream is needed"},
		{[]string{"logs", "--kinesis-stream", "cf", "--kinesis-shards", "3/2"}, 2, `--kinesis-shards "3/2"`},
		{[]string{"logs", "--kinesis-stream", "cf", "--kinesis-poll", "10ms"}, 2, "--kinesis-poll 10ms: at least 200ms"},
		{[]string{"logs", "--kinesis-stream", "cf", "--kafka-brokers", "127.0.0.1:1", "--kafka-topic", "cdn", "--kafka-group", "g"}, 2, "--kafka-brokers and --kinesis-stream exclude each other"},
		{[]string{"logs", "--kinesis-stream", "cf", nginx}, 2, "only --follow and a batch read files"},
		{[]string{"logs", "--kinesis-stream", "cf", "--kinesis-region", "us-east-1", "--kinesis-endpoint", "http://127.0.0.1:1", "--kinesis-checkpoint", dir + "/cp.json"}, 2,
			"reading Kinesis stream cf, positions kept in " + dir + "/cp.json\ncachefence logs: kinesis: listing the shards of cf: "},
		{[]string{"logs", "--kafka-brokers", "127.0.0.1:1", "--kafka-topic", "cdn", "--kafka-group", "g", "--kafka-sasl", "scram-sha-512", "--kafka-user", "u", "--kafka-password-env", "LOGS_ALICE"}, 2,
			"reading Kafka topic cdn as a member of group g from 127.0.0.1:1 (TLS off, SASL SCRAM-SHA-512 as \"u\")\ncachefence logs: kafka: connecting to 127.0.0.1:1: "},
		{[]string{"logs", "--follow", "-"}, 2, "--follow reads files, not stdin"},
		{[]string{"logs", "--webhook", "http://127.0.0.1:1/hook-secret", nginx}, 2, "--webhook and --metrics need --follow, --listen, --kafka-brokers or --kinesis-stream"},
		{[]string{"logs", "--format", "cloudfront-realtime", nginx}, 2, "needs the real-time log configuration's fields (--fields)"},
		{[]string{"logs", "--fields", "timestamp,cs-uri-stem,x-nope", nginx}, 2, `"x-nope" is not a CloudFront real-time log field`},
		{[]string{"logs", "--account", "alice", nginx}, 2, `--account: "alice": want name=ENV`},
		{[]string{"logs", "--account", "alice=LOGS_EMPTY", nginx}, 2, "--account: alice: $LOGS_EMPTY is empty"},
		{[]string{"logs", "--account", "alice=LOGS_ALICE", "--account", "twin=LOGS_ALICE", nginx}, 2, `accounts "alice" and "twin" have the same credentials`},
		{[]string{"logs", "--session-cookie", "[x", nginx}, 2, `session_cookies: bad cookie name pattern "[x"`},
		{[]string{"logs", "--max-line", "10", nginx}, 2, "--max-line 10: want 256 to 1048576 bytes"},
		{[]string{"logs", "--max-line", "99999999999", nginx}, 2, "--max-line 99999999999: want 256 to 1048576 bytes"},
		{[]string{"logs", "--follow", "--every", "10ms", nginx}, 2, "--every 10ms: at least 1s"},
		{[]string{"logs", "--follow", "--every", "0s", nginx}, 2, "--every 0s: at least 1s"},
		{[]string{"logs", "--listen", "127.0.0.1:0", "--every", "0s"}, 2, "--every 0s: at least 1s"},
		{[]string{"logs", "--listen", "127.0.0.1:0", "--secret-env", "LOGS_EMPTY"}, 2, "$LOGS_EMPTY must hold a secret of at least 16 bytes"},
		{[]string{"logs", "--follow", "--webhook", "hooks.example/hook-secret", nginx}, 2, "--webhook: want an absolute http or https URL"},
		{[]string{"logs", "no-such-file.log"}, 2, "no-such-file.log: open no-such-file.log: no such file or directory"},
		{[]string{"logs", "--help"}, 0, "\n  cachefence logs [--format <format>]"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out := runCachefence(t, bin, dir, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want %d, with %q in:\n%s", code, tc.code, tc.want, out)
			}
			// LOGS_ALICE's value is also a row's SASL password.
			if strings.Contains(out, "hook-secret") || strings.Contains(out, logsEnv["CACHE_FENCE_KEY"]) || strings.Contains(out, logsEnv["LOGS_ALICE"]) {
				t.Errorf("the output shows a secret:\n%s", out)
			}
		})
	}
}

// Batch mode exits like probe: 0 clean, 1 findings, 2 when an input is
// unreadable or mostly unparsable, findings winning over errors. Cookie
// and token values never reach the output.
func TestLogsBatch(t *testing.T) {
	bin := buildCachefence(t)
	dir := t.TempDir()
	setLogsEnv(t)
	clean := filepath.Join(dir, "clean.log")
	if err := os.WriteFile(clean, []byte("1796006221.596\twww.example.com\tGET\t/news/1\t200\tHIT\t-\t-\t-\tsession=alice\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.log")
	if err := os.WriteFile(garbage, []byte("not\na\nlog\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(dir, "nginx.log.gz")
	raw := mustRead(t, fixturePath("nginx.log"))
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	zw.Write(raw)
	zw.Close()
	os.WriteFile(gz, zbuf.Bytes(), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"findings", append(logsArgs, fixturePath("cloudflare.ndjson")), 1, []string{
			"cloudflare.ndjson:4: critical stamp_mismatch: www.example.com/account: page stamped for alice served to v1.",
			"cloudflare.ndjson:5: critical stamp_mismatch: www.example.com/account: page stamped for alice served to anonymous (updating)",
			"cloudflare.ndjson:7: high cached_personal: www.example.com/login: personal response (set_cookie) served from cache (hit) to anonymous",
			`cloudflare.ndjson:9: high cached_personal: www.example.com/account: personal response (private_path, Cache-Control "private, no-store" says private and no-store) served from cache (hit) to v1.`,
			"cloudflare.ndjson: cloudflare, 8 records, 0 bad lines",
			// The catalogue's words, once per check, under its first finding.
			"\n  stamp_mismatch: A page stamped for one user was served to another. To do: Stop the cache",
			"\n  cached_personal: A personal response was served from cache. To do: "}},
		{"gzip, format given", append(logsArgs, "--format", "nginx", gz), 1, []string{
			"nginx.log.gz:3: critical stamp_mismatch: www.example.com/account: page stamped for alice served to v1."}},
		{"clean", append(logsArgs, "--format", "nginx", clean), 0, []string{"clean.log: nginx, 1 records, 0 bad lines"}},
		{"mostly unparsable", append(logsArgs, "--format", "nginx", garbage), 2, []string{
			"garbage.log: line 1: want 11 tab-separated fields (10 without Cache-Control), got 1", "garbage.log: mostly unparsable (3 bad lines, 0 records)"}},
		{"findings win over errors", append(logsArgs, "--format", "nginx", garbage, fixturePath("nginx.log")), 1, []string{"nginx.log:3: critical stamp_mismatch"}},
		{"no key: stamps unchecked", []string{"logs", "--key-env", "NO_SUCH_KEY", "--format", "nginx", clean}, 0, []string{"$NO_SUCH_KEY is not set: owner stamps are checked only against logged requester digests (Cache-Fence-Requester), and no one is named"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runCachefence(t, bin, dir, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in:\n%s", w, out)
				}
			}
			for _, check := range logs.Checks {
				if n := strings.Count(out, "\n  "+check+": "); n > 1 {
					t.Errorf("%s explained %d times:\n%s", check, n, out)
				}
			}
			for _, secret := range []string{"session=", "Bearer bob", logsEnv["CACHE_FENCE_KEY"]} {
				if strings.Contains(out, secret) {
					t.Errorf("the output shows %q:\n%s", secret, out)
				}
			}
		})
	}
	// stdin, JSON output.
	cmd := exec.Command(bin, append(logsArgs, "--output", "json", "-")...)
	cmd.Stdin = bytes.NewReader(mustRead(t, fixturePath("akamai.ndjson")))
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Run(); cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("stdin: %v", err)
	}
	var f struct{ Check, Owner, Source, Path, Title, Doc string }
	if err := json.Unmarshal(bytes.SplitN(stdout.Bytes(), []byte("\n"), 2)[0], &f); err != nil || f.Check != "stamp_mismatch" || f.Owner != "alice" || f.Source != "stdin" || f.Path != "/account" ||
		f.Title != catalog.Must("stamp_mismatch").Title || !strings.HasSuffix(f.Doc, "docs/logs.md#checks") {
		t.Errorf("stdin JSON finding %+v, %v:\n%s", f, err, stdout.String())
	}

	// SARIF: one document after the files, each finding at its log line,
	// an unusable file as an error.
	cmd = exec.Command(bin, append(logsArgs, "--format", "nginx", "--output", "sarif", fixturePath("nginx.log"), garbage)...)
	cmd.Dir = dir
	stdout.Reset()
	cmd.Stdout = &stdout
	if err := cmd.Run(); cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("SARIF run: %v:\n%s", err, stdout.String())
	}
	sarifOut := stdout.String()
	if err := schema.Validate([]byte(sarifOut)); err != nil {
		t.Fatalf("not SARIF 2.1.0: %v\n%s", err, sarifOut)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID    string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
			Invocations []struct{ ExecutionSuccessful bool }
		}
	}
	if err := json.Unmarshal([]byte(sarifOut), &log); err != nil || len(log.Runs[0].Results) == 0 {
		t.Fatalf("%v:\n%s", err, sarifOut)
	}
	first := log.Runs[0].Results[0]
	if loc := first.Locations[0].PhysicalLocation; first.RuleID != "stamp_mismatch" || !strings.HasSuffix(loc.ArtifactLocation.URI, "nginx.log") ||
		loc.Region.StartLine != 3 || log.Runs[0].Invocations[0].ExecutionSuccessful {
		t.Errorf("first result %+v; invocations %+v", first, log.Runs[0].Invocations)
	}
	for _, secret := range []string{"session=", "Bearer bob", logsEnv["CACHE_FENCE_KEY"]} {
		if strings.Contains(sarifOut, secret) {
			t.Errorf("the SARIF output shows %q", secret)
		}
	}
}

// hookMessages is a webhook receiver on 127.0.0.1.
type hookMessages struct {
	mu   sync.Mutex
	msgs []alert.Message
}

func (h *hookMessages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m alert.Message
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.msgs = append(h.msgs, m)
	h.mu.Unlock()
}

func (h *hookMessages) messages() []alert.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]alert.Message(nil), h.msgs...)
}

func (h *hookMessages) wait(t *testing.T, n int) []alert.Message {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		h.mu.Lock()
		if len(h.msgs) >= n {
			defer h.mu.Unlock()
			return append([]alert.Message(nil), h.msgs...)
		}
		h.mu.Unlock()
	}
	t.Fatalf("fewer than %d webhook messages", n)
	return nil
}

func startHookServer(t *testing.T) (*hookMessages, string) {
	t.Helper()
	h := &hookMessages{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return h, "http://" + l.Addr().String() + "/hook"
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startCommand runs the binary with args in the background, and stops it
// with SIGTERM when the test ends: it must exit cleanly. It returns the
// command's output so far, stdout and stderr together.
func startCommand(t *testing.T, bin string, args ...string) *lockedOutput {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out := &lockedOutput{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out.killCmd = func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
	out.stopCmd = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("cachefence %s ended with %v:\n%s", args[0], err, out.String())
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("cachefence %s did not stop on SIGTERM", args[0])
		}
	}
	t.Cleanup(out.stop)
	return out
}

type lockedOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer

	stopOnce         sync.Once
	stopCmd, killCmd func()
}

// stop stops the command with SIGTERM, once, and waits for a clean exit.
func (o *lockedOutput) stop() { o.stopOnce.Do(o.stopCmd) }

// kill kills the command with SIGKILL, giving it no chance to clean up.
func (o *lockedOutput) kill() { o.stopOnce.Do(o.killCmd) }

func (o *lockedOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *lockedOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// wait waits for the output to match re: the command's output comes
// through a pipe.
func (o *lockedOutput) wait(t *testing.T, re string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if regexp.MustCompile(re).MatchString(o.String()) {
			return
		}
	}
	t.Fatalf("no %s in:\n%s", re, o)
}

// waitHTTPUp polls url until it answers.
func waitHTTPUp(t *testing.T, url string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
	}
	t.Fatalf("%s never answered", url)
}

// --listen: a Logpush push is checked, alerted once per cause, counted in
// the metrics, and resolved after the quiet period.
func TestLogsListen(t *testing.T) {
	bin := buildCachefence(t)
	setLogsEnv(t)
	hook, hookURL := startHookServer(t)
	listen, metrics := testnet.FreeAddr(t), testnet.FreeAddr(t)
	out := startCommand(t, bin, append(logsArgs, "--listen", listen, "--metrics", metrics, "--webhook", hookURL, "--every", "1s")...)
	waitHTTPUp(t, "http://"+metrics+"/metrics")
	out.wait(t, regexp.QuoteMeta("cachefence logs: listening on http://"+listen+": POST /cloudflare, POST /fastly, POST /akamai, POST /firehose, GET /.well-known/fastly/logging/challenge\n"))
	// A refused push is told on stderr, without the secret presented.
	wrong := "Bearer not-the-" + logsEnv["CACHEFENCE_LOGS_SECRET"]
	req, _ := http.NewRequest(http.MethodPost, "http://"+listen+"/fastly", strings.NewReader("{}\n"))
	req.Header.Set("Authorization", wrong)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a push with a wrong secret: %v %v", resp, err)
	}
	out.wait(t, `cachefence logs: refused POST /fastly from 127\.0\.0\.1:\d+: 401 bad or missing secret\n`)
	if strings.Contains(out.String(), "not-the-") {
		t.Errorf("the secret presented is told:\n%s", out)
	}

	body := mustRead(t, fixturePath("cloudflare.ndjson"))
	req, _ = http.NewRequest(http.MethodPost, "http://"+listen+"/cloudflare", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+logsEnv["CACHEFENCE_LOGS_SECRET"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("push answered %d", resp.StatusCode)
	}
	// Findings are printed while listening, not only at the end.
	out.wait(t, `www\.example\.com/account: page stamped for alice served to`)
	msgs := hook.wait(t, 2) // fired, then resolved two quiet runs later
	var firing, resolved []string
	for _, m := range msgs[:2] {
		for _, c := range m.Firing {
			firing = append(firing, c.Key)
		}
		for _, c := range m.Resolved {
			resolved = append(resolved, c.Key)
		}
	}
	const want = "[stamp_mismatch|www.example.com|/account cached_personal|www.example.com|/account cached_personal|www.example.com|/login]"
	if fmt.Sprint(firing) != want || fmt.Sprint(resolved) != want {
		t.Errorf("firing %v, resolved %v; want each %s", firing, resolved, want)
	}
	resp, err = http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		page.WriteString(sc.Text() + "\n")
	}
	for _, w := range []string{
		`cachefence_logs_records_total{format="cloudflare"} 8`,
		`cachefence_logs_cache_status_total{format="cloudflare",verdict="hit"} 6`,
		`cachefence_logs_findings_total{check="stamp_mismatch",severity="critical"} 2`,
		`cachefence_logs_findings_total{check="cached_personal",severity="high"} 5`,
		`cachefence_logs_runs_total`,
	} {
		if !strings.Contains(page.String(), w) {
			t.Errorf("metrics lack %q", w)
		}
	}
}

// --follow: lines appended to a followed file are checked as they come.
func TestLogsFollow(t *testing.T) {
	bin := buildCachefence(t)
	setLogsEnv(t)
	hook, hookURL := startHookServer(t)
	file := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	startCommand(t, bin, append(logsArgs, "--format", "nginx", "--follow", "--webhook", hookURL, "--every", "1s", file)...)
	raw := mustRead(t, fixturePath("nginx.log"))
	// Follow starts at the end of the file, once the command has started:
	// append until something is alerted.
	var msgs []alert.Message
	for attempt := 0; len(msgs) == 0; attempt++ {
		if attempt == 40 {
			t.Fatal("nothing alerted on lines appended to the followed file")
		}
		f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(raw)
		f.Close()
		time.Sleep(500 * time.Millisecond)
		msgs = hook.messages()
	}
	var keys []string
	for _, c := range msgs[0].Firing {
		keys = append(keys, c.Key)
	}
	if fmt.Sprint(keys) != "[stamp_mismatch|www.example.com|/account cached_personal|www.example.com|/account cached_personal|www.example.com|/cart cached_personal|www.example.com|/login]" {
		t.Errorf("firing %v", keys)
	}
	if !strings.Contains(msgs[0].Text, "page stamped for alice served to v1.") {
		t.Errorf("message text %q", msgs[0].Text)
	}
}

// A followed file's bad lines are reported and counted as they come, not
// when the follow ends: a log turned unreadable is never silently clean.
func TestLogsFollowBadLines(t *testing.T) {
	bin := buildCachefence(t)
	setLogsEnv(t)
	file := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	metrics := testnet.FreeAddr(t)
	out := startCommand(t, bin, append(logsArgs, "--format", "nginx", "--follow", "--metrics", metrics, file)...)
	waitHTTPUp(t, "http://"+metrics+"/metrics")
	for attempt := 0; ; attempt++ {
		if attempt == 40 {
			t.Fatalf("bad lines appended to the followed file were neither counted nor reported:\n%s", out)
		}
		f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("garbage sid=SECRETCOOKIE\n")
		f.Close()
		time.Sleep(250 * time.Millisecond)
		resp, err := http.Get("http://" + metrics + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(page), `cachefence_logs_parse_errors_total{format="nginx"}`) && strings.Contains(out.String(), "want 11 tab-separated fields") {
			break
		}
	}
	if strings.Contains(out.String(), "SECRETCOOKIE") {
		t.Errorf("a bad line's content was printed:\n%s", out)
	}
}

// A follower that cannot go on (here: a first line whose format cannot be
// told) stops the command with an error instead of leaving the file
// unwatched while the watcher reports clean runs.
func TestLogsFollowStopsLoudly(t *testing.T) {
	bin := buildCachefence(t)
	setLogsEnv(t)
	file := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append(logsArgs, "--follow", "--every", "1s", file)...)
	var out lockedOutput
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	raw := mustRead(t, fixturePath("nginx.log"))
	for attempt := 0; ; attempt++ {
		if attempt == 40 {
			cmd.Process.Kill()
			t.Fatalf("the command went on after its follower stopped:\n%s", out.String())
		}
		f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(raw)
		f.Close()
		select {
		case err := <-done:
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Errorf("ended with %v, want exit status 2", err)
			}
			if !strings.Contains(out.String(), "stopped following: cannot tell the log format") {
				t.Errorf("output does not say why:\n%s", out.String())
			}
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}
