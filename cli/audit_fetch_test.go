package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachefence/cachefence/alert"
	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/fetch/fetchtest"
	"github.com/cachefence/cachefence/internal/testnet"
)

const (
	fetchZone  = "023e105f4ecef8ad9ca31a8372d0c353"
	fetchToken = "fence-cli-token-do-not-print-0001"
)

// TestAuditFetch runs audit on a cloudflare: source against a fake API,
// once and in watch mode, from one build.
func TestAuditFetch(t *testing.T) {
	bin := buildCachefence(t)
	t.Setenv("CLOUDFLARE_API_TOKEN", fetchToken)
	t.Run("single run", func(t *testing.T) { auditFetchOnce(t, bin) })
	t.Run("watch mode", func(t *testing.T) { auditFetchWatch(t, bin) })
}

// startZone starts the fake API with the zone's cache rules from the
// stores_private example, bad or good, and no Page Rules.
func startZone(t *testing.T, example string) *fetchtest.Cloudflare {
	api := fetchtest.NewCloudflare(t, fetchToken)
	api.SetRuleset(t, mustRead(t, fixture(t, "cloudflare/testdata/stores_private/"+example+".json")))
	api.SetPageRules(t, []byte(`{"success": true, "result": []}`), 0)
	return api
}

// A fetched configuration exits as a file's does: 1 with findings, and 2
// when it cannot be fetched, never 0; the token never shows.
func auditFetchOnce(t *testing.T, bin string) {
	bad, good := startZone(t, "bad"), startZone(t, "good")
	throttled := startZone(t, "good")
	throttled.SetFail(func(string, int) *fetchtest.Failure {
		return &fetchtest.Failure{Status: http.StatusTooManyRequests, Code: 971, Message: "Please wait", RetryAfter: "300"}
	})
	src := "cloudflare:" + fetchZone
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"findings", []string{"--cloudflare-api", bad.URL, src}, 1,
			"CRITICAL stores_private  " + src + "/cache-rules.json:"},
		{"below --fail-on", []string{"--cloudflare-api", good.URL, src}, 0, "1 medium (0 to fix at the CDN) in 1 scopes; 0 skipped, 0 errors"},
		{"throttled", []string{"--cloudflare-api", throttled.URL, src}, 2,
			"ERROR    " + src + ": fetching: GET /zones/" + fetchZone + "/rulesets/phases/http_request_cache_settings/entrypoint: 429 Too Many Requests"},
		{"a token from another variable", []string{"--cloudflare-api", good.URL, "--cloudflare-token-env", "FENCE_NO_SUCH_VARIABLE", src}, 2,
			"cachefence audit: " + src + ": $FENCE_NO_SUCH_VARIABLE is empty"},
		{"mixed with a path", []string{"--cloudflare-api", good.URL, src, fixture(t, "cloudfront/testdata/safe")}, 0, "in 3 scopes; 0 skipped, 0 errors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runCachefence(t, bin, t.TempDir(), append([]string{"audit"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.want) || strings.Contains(out, fetchToken) {
				t.Errorf("exit %d, want %d, with %q and no token in:\n%s", code, tc.code, tc.want, out)
			}
		})
	}
}

// In watch mode a change made in the console fires once, a failed fetch
// is an error that resolves nothing, and the change undone recovers once.
// SIGHUP runs the audit at once, in place of waiting for --every.
func auditFetchWatch(t *testing.T, bin string) {
	api := startZone(t, "good")
	hook, hookURL := startHookServer(t)
	metrics := testnet.FreeAddr(t)
	src := "cloudflare:" + fetchZone
	cmd := exec.Command(bin, "audit", "--every", "1h", "--quiet", "1ms", "--webhook", hookURL, "--metrics", metrics,
		"--cloudflare-api", api.URL, src)
	out := &lockedOutput{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("cachefence audit ended with %v:\n%s", err, out)
		}
		if strings.Contains(out.String(), fetchToken) {
			t.Errorf("the token shows in the output:\n%s", out)
		}
	})
	page := waitMetric(t, metrics, `cachefence_audit_runs_total 1`)
	if !regexp.MustCompile(`cachefence_audit_last_fetch_success_timestamp_seconds\{source="` + src + `"\} [1-9]`).MatchString(page) {
		t.Errorf("no last successful fetch for %s in:\n%s", src, page)
	}
	rerun := func(runs string) string {
		t.Helper()
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		return waitMetric(t, metrics, `cachefence_audit_runs_total `+runs)
	}

	// A console change: one message, firing the finding.
	api.SetRuleset(t, mustRead(t, fixture(t, "cloudflare/testdata/stores_private/bad.json")))
	rerun("2")
	msgs := hook.wait(t, 1)
	firing := msgs[0].Firing
	if len(firing) == 0 || len(msgs[0].Resolved) != 0 || firing[0].Kind != "stores_private" || firing[0].Severity != audit.Critical ||
		!strings.Contains(firing[0].Summary, src+"/cache-rules.json") {
		t.Fatalf("first message %+v, want stores_private firing in %s", msgs[0], src)
	}

	// The API fails: an error, counted, that resolves nothing.
	api.SetFail(func(string, int) *fetchtest.Failure {
		return &fetchtest.Failure{Status: http.StatusForbidden, Code: 9109, Message: "Invalid access token"}
	})
	api.SetRuleset(t, mustRead(t, fixture(t, "cloudflare/testdata/stores_private/good.json")))
	page = rerun("3")
	if !strings.Contains(page, `cachefence_audit_fetch_errors_total{source="`+src+`"} 1`) {
		t.Errorf("the failed fetch is not counted:\n%s", page)
	}
	if !strings.Contains(out.String(), "9109 Invalid access token (check the API token in $CLOUDFLARE_API_TOKEN") {
		t.Errorf("the failed fetch is not reported:\n%s", out)
	}

	// The API answers again, the change undone: one message, resolving
	// what fired.
	api.SetFail(nil)
	rerun("4")
	msgs = hook.wait(t, 2)
	if len(msgs) != 2 || len(msgs[1].Firing) != 0 || keysOf(msgs[1].Resolved) != keysOf(firing) {
		t.Errorf("messages %+v, want a second one resolving %s alone", msgs, keysOf(firing))
	}
	if posted, _ := json.Marshal(msgs); strings.Contains(string(posted), fetchToken) {
		t.Errorf("the token shows in a webhook message: %s", posted)
	}
}

// waitMetric waits for the metrics page at addr to hold want, and
// returns it.
func waitMetric(t *testing.T, addr, want string) string {
	t.Helper()
	var page string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if page = string(body); strings.Contains(page, want) {
			return page
		}
	}
	t.Fatalf("no %q in the metrics:\n%s", want, page)
	return ""
}

// keysOf lists the keys of causes.
func keysOf(causes []alert.Cause) string {
	var keys []string
	for _, c := range causes {
		keys = append(keys, c.Key)
	}
	return strings.Join(keys, ",")
}
