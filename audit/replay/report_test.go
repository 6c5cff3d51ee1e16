package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func testReport() *Report {
	r := &Report{File: "site.vcl", Server: "varnish", SessionCookie: "sid", CookieFrom: "configuration", CredentialHeader: "Authorization",
		Cells: []*Cell{
			{Origin: "none", Credential: CredentialHeader, Timing: Sequential, Path: Static, URL: "/account/cfr3/app.css",
				Reached: true, LeakedTo: []string{SecondUser, Anonymous}, FencedReached: true, FencedLeakedTo: []string{SecondUser}},
			{Origin: "private", Credential: CredentialCookie, Timing: Concurrent, Path: Dynamic, URL: "/account/cfr5",
				Reached: true, LeakedTo: []string{Anonymous}, FencedReached: true},
			{Origin: "private_no_store", Credential: CredentialCookie, Timing: Sequential, Path: Dynamic, URL: "/account/cfr7", Reached: true, FencedReached: true},
			{Origin: "set_cookie", Credential: CredentialCookie, Timing: Sequential, Path: Dynamic, URL: "/account/cfr9"},
			{Origin: "no_cache_expired", Credential: CredentialHeader, Timing: Sequential, Path: Static, URL: "/account/cfr11/app.css",
				FencedURL: "/account/cfr12/app.css", Reached: true, FencedReached: true, FencedLeakedTo: []string{SecondUser}},
		}}
	r.findings()
	return r
}

// A finding per leaking cell, which says whether the fence's rewrite
// stopped it and how to reproduce it with placeholders.
func TestFindings(t *testing.T) {
	r := testReport()
	if len(r.Findings) != 3 || r.ExitCode() != 1 {
		t.Fatalf("%d findings, exit %d", len(r.Findings), r.ExitCode())
	}
	none, private, worse := r.Findings[0], r.Findings[1], r.Findings[2]
	if none.ID != "run_leak" || none.Severity != "critical" || none.DefendedByFence || !private.DefendedByFence || none.Fenced || private.Fenced {
		t.Errorf("findings %+v %+v", none, private)
	}
	// A leak only with the fence's rewrite is the fence's full rewrite
	// leaking: reproduced on its own URL, with the fence's headers.
	if !worse.Fenced || worse.DefendedByFence || !strings.Contains(worse.Reproduce[0], "/account/cfr12/app.css") ||
		!slices.Contains(worse.OriginSends, "Cache-Control: private, no-store") || !slices.Contains(worse.OriginSends, "Expires: 0") {
		t.Errorf("fenced finding %+v", worse)
	}
	if got := strings.Join(none.OriginSends, "; "); got != "no caching header" {
		t.Errorf("origin sends %q", got)
	}
	if got := strings.Join(private.OriginSends, "; "); got != "Cache-Control: private" {
		t.Errorf("origin sends %q", got)
	}
	wantSeq := []string{
		`curl -s -H "Authorization: Bearer $USER_A_TOKEN" "$CACHE/account/cfr3/app.css"`,
		`curl -s -H "Authorization: Bearer $USER_B_TOKEN" "$CACHE/account/cfr3/app.css"`,
		`curl -s "$CACHE/account/cfr3/app.css"`,
	}
	if strings.Join(none.Reproduce, "\n") != strings.Join(wantSeq, "\n") {
		t.Errorf("reproduce:\n%s", strings.Join(none.Reproduce, "\n"))
	}
	conc := strings.Join(private.Reproduce, "\n")
	if !strings.Contains(conc, `curl -s -H "Cookie: sid=$USER_A_SESSION" "$CACHE/account/cfr5" &`) || !strings.HasSuffix(conc, "wait") {
		t.Errorf("reproduce:\n%s", conc)
	}
	clean := &Report{Cells: r.Cells[2:4]}
	clean.findings()
	if len(clean.Findings) != 0 || clean.ExitCode() != 0 {
		t.Errorf("no leak, yet %d findings, exit %d", len(clean.Findings), clean.ExitCode())
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := testReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`cachefence audit --run site.vcl (varnish): session cookie "sid" (configuration), credential header Authorization`,
		"LEAKED to second_user, anonymous  LEAKED to second_user",
		"no leak", "no personal page", "3 of 5 cells leaked.",
		"the fence's rewrite of no_cache_expired header sequential /account/cfr12/app.css: leaked to second_user; the origin's own headers did not leak, the fence's rewrite of them did",
		"critical run_leak: The running cache served one user's page to another",
		"the fence's rewrite does not stop it: fix the cache", "the fence's rewrite stops it\n",
		"docs/audit-run.md#run_leak",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := testReport().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		SessionCookie string `json:"session_cookie"`
		Cells         []map[string]any
		Findings      []struct {
			ID              string `json:"id"`
			DefendedByFence bool   `json:"defended_by_fence"`
			Words           struct{ Title, Doc string }
			Cell            struct{ URL string }
		}
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.SessionCookie != "sid" || len(got.Cells) != 5 || len(got.Findings) != 3 || got.Findings[0].Cell.URL != "/account/cfr3/app.css" ||
		got.Findings[0].Words.Title == "" || !strings.HasSuffix(got.Findings[0].Words.Doc, "#run_leak") {
		t.Errorf("%s", b.String())
	}
}

// A missing server is named with the Debian package that installs it.
func TestMissingServer(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	saved := sbinDirs
	sbinDirs = nil
	t.Cleanup(func() { sbinDirs = saved })
	dir := t.TempDir()
	for _, tc := range []struct{ file, text, want string }{
		{"site.vcl", "vcl 4.1;\nbackend b { .host = \"x\"; }\n", "varnishd not found: install it first (Debian, Ubuntu: apt-get install varnish)"},
		{"nginx.conf", "events {}\nhttp { server { location / { proxy_pass http://x; } } }\n", "nginx not found: install it first (Debian, Ubuntu: apt-get install nginx)"},
	} {
		path := filepath.Join(dir, tc.file)
		if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Run(context.Background(), path, Options{})
		var missing *MissingError
		if !errors.As(err, &missing) || err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.file, err, tc.want)
		}
	}
}
