package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// audit --run: usage errors name the flag and exit 2; a leaky
// configuration exits 1 with its findings, a safe one 0, in text and
// JSON; a VCL that varnishd refuses exits 2 with its messages, and
// without the VCL line, which may hold a credential. No run's credential
// is ever shown.
func TestAuditRunCommandLine(t *testing.T) {
	bin := buildCachefence(t)
	dir := t.TempDir()
	const vclSecret = "c2VjcmV0OnNlY3JldA"
	for name, text := range map[string]string{
		"notes.txt": "hello\n",
		"leaky.conf": "events {}\nhttp {\n\tproxy_cache_path /var/cache/nginx keys_zone=z:1m;\n\tserver {\n\t\tlisten 80;\n" +
			"\t\tlocation / { proxy_pass http://app:3000; proxy_cache z; proxy_cache_valid 200 1m; proxy_ignore_headers Cache-Control Set-Cookie Expires; }\n\t}\n}\n",
		"bad.conf":   "events {}\nhttp {\n\tserver {\n\t\tlisten 80;\n\t\tbogus_directive on;\n\t\tlocation / { proxy_pass http://app; }\n\t}\n}\n",
		"safe.conf":  "events {}\nhttp {\n\tserver {\n\t\tlisten 80;\n\t\tlocation / { proxy_pass http://app:3000; }\n\t}\n}\n",
		"broken.vcl": "vcl 4.1;\nbackend b { .host = \"app\"; }\nsub vcl_recv {\n  if (req.http.Authorization == \"Basic " + vclSecret + "\") { return (pass) }\n}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"audit", "--run", "safe.conf", "extra.vcl"}, 2, "cachefence audit: --run takes one configuration file, and no other path or source"},
		{[]string{"audit", "--run", "safe.conf", "--every", "1h"}, 2, "cachefence audit: --run goes with a single run, not --every"},
		{[]string{"audit", "--run", "safe.conf", "--format", "sarif"}, 2, `cachefence audit: --format "sarif": --run writes text or json`},
		{[]string{"audit", "--run", "safe.conf", "--session-cookie", "a b"}, 2, `cachefence audit: --session-cookie "a b": not a valid name`},
		{[]string{"audit", "--run", "safe.conf", "--credential-header", "Cookie"}, 2, "cachefence audit: --credential-header Cookie: name the cookie with --session-cookie"},
		{[]string{"audit", "--run", "missing.vcl"}, 2, "cachefence audit: open missing.vcl: no such file or directory"},
		{[]string{"audit", "--run", "notes.txt"}, 2, "cachefence audit: notes.txt: neither VCL nor an nginx configuration"},
		{[]string{"audit", "--run", "broken.vcl"}, 2, "('broken.vcl' Line 4 Pos"},
		{[]string{"audit", "--run", "bad.conf"}, 2, `unknown directive "bogus_directive" in bad.conf:5`},
		{[]string{"audit", "--run", "safe.conf"}, 0, "0 of 40 cells leaked."},
		{[]string{"audit", "--run", "leaky.conf", "--session-cookie", "sid", "--credential-header", "X-Api-Key"}, 1,
			`curl -s -H "X-Api-Key: $USER_B_TOKEN" "$CACHE/account/cfr`},
		{[]string{"audit", "--run", "leaky.conf"}, 1, "critical run_leak: The running cache served one user's page to another"},
		{[]string{"audit", "explain", "run_leak"}, 0, "run_leak (run, critical): The running cache served one user's page to another"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out := runCachefence(t, bin, dir, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want %d, with %q in:\n%s", code, tc.code, tc.want, out)
			}
			if strings.Contains(out, vclSecret) {
				t.Errorf("the output quotes the VCL's credential:\n%s", out)
			}
			if token := regexp.MustCompile(`[0-9a-f]{32}`).FindString(out); token != "" {
				t.Errorf("the output shows a run's credential %q", token)
			}
		})
	}

	code, out := runCachefence(t, bin, dir, "audit", "--run", "leaky.conf", "--format", "json")
	var report struct {
		Server        string `json:"server"`
		SessionCookie string `json:"session_cookie"`
		Cells         []struct {
			Origin   string   `json:"origin"`
			LeakedTo []string `json:"leaked_to"`
		} `json:"cells"`
		Findings []struct {
			ID              string `json:"id"`
			DefendedByFence bool   `json:"defended_by_fence"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil || code != 1 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if report.Server != "nginx" || report.SessionCookie != "session" || len(report.Cells) != 40 || len(report.Findings) == 0 {
		t.Errorf("%+v", report)
	}
	for _, f := range report.Findings {
		// proxy_ignore_headers leaves X-Accel-Expires, which the fence
		// sets to 0: it stops every leak of this configuration.
		if f.ID != "run_leak" || !f.DefendedByFence {
			t.Errorf("finding %+v", f)
		}
	}
}
