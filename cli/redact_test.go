package cli

import (
	"context"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cachefence/cachefence/internal/testnet"
)

// The filter hides what the fence reads as a credential, as the fence reads
// it, and nothing else.
func TestCredentialFilter(t *testing.T) {
	for _, tc := range []struct {
		name          string
		filter        credentialFilter
		header        http.Header
		hidden, shown []string // header names
		// urls are URL-valued headers and how they must be logged.
		urls         map[string]string
		uri, wantURI string
	}{{
		name: "defaults",
		header: http.Header{
			"X-Api-Key": {"k1"}, "X_api_key": {"k2"}, "Private-Token": {"glpat"}, "Remote-User": {"alice"},
			"Accept": {"*/*"}, "X-Request-Id": {"r1"},
			"Referer":  {"https://app.example/dashboard?access_token=s3"},
			"Location": {"/callback?page=1&token=s4"}, "X-Original-Uri": {"/api?api_key=s5"},
			"Content-Location": {"/public/page?page=2"},
		},
		hidden: []string{"X-Api-Key", "X_api_key", "Private-Token", "Remote-User"},
		shown:  []string{"Accept", "X-Request-Id", "Content-Location"},
		urls: map[string]string{
			"Referer":  "https://app.example/dashboard?access_token=REDACTED",
			"Location": "/callback?page=1&token=REDACTED", "X-Original-Uri": "/api?api_key=REDACTED",
		},
		uri: "/api/me;jsessionid=s1?page=2&ACCESS_TOKEN=s2", wantURI: "/api/me;REDACTED?page=2&ACCESS_TOKEN=REDACTED",
	}, {
		name:   "configured lists",
		filter: credentialFilter{CredentialHeaders: []string{"X_Tenant_Token"}, CredentialParams: []string{"sig"}},
		header: http.Header{"X-Tenant-Token": {"t"}, "X-Api-Key": {"k"}},
		hidden: []string{"X-Tenant-Token"},
		shown:  []string{"X-Api-Key"},
		uri:    "/dl?sig=s&access_token=a", wantURI: "/dl?sig=REDACTED&access_token=a",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.filter
			if err := f.Provision(caddy.Context{}); err != nil {
				t.Fatal(err)
			}
			original := tc.header.Clone()
			out := f.Filter(zap.Object("headers", caddyhttp.LoggableHTTPHeader{Header: tc.header}))
			got := out.Interface.(caddyhttp.LoggableHTTPHeader).Header
			for _, name := range tc.hidden {
				if v := got[name]; len(v) != 1 || v[0] != "REDACTED" {
					t.Errorf("%s logged as %q", name, v)
				}
			}
			for _, name := range tc.shown {
				if v := got[name]; len(v) != 1 || v[0] != tc.header[name][0] {
					t.Errorf("%s logged as %q, want %q", name, v, tc.header[name])
				}
			}
			for name, want := range tc.urls {
				if v := got[name]; len(v) != 1 || v[0] != want {
					t.Errorf("%s logged as %q, want %q", name, v, want)
				}
			}
			for name, v := range original {
				if tc.header[name][0] != v[0] {
					t.Errorf("the filter changed the request's own %s", name)
				}
			}
			if got := f.Filter(zap.String("uri", tc.uri)).String; got != tc.wantURI {
				t.Errorf("uri logged as %q, want %q", got, tc.wantURI)
			}
			if other := f.Filter(zap.Int("status", 200)); other.Type != zapcore.Int64Type || other.Integer != 200 {
				t.Errorf("the filter changed a field it has no business with: %+v", other)
			}
		})
	}
}

// `cachefence sidecar --access-log --debug` logs every request (Caddy's
// access log, the reverse proxy's debug entries, the error log of a request
// whose origin is down) with no credential the fence knows: request
// headers in either spelling, cookies, Authorization, URL parameters, the
// origin's Set-Cookie and a session handed out in a response header. The
// rest of each request is still there.
func TestSidecarLogsHideCredentials(t *testing.T) {
	bin := buildCachefence(t)
	secrets := []string{"HDRSECRET", "UNDERSECRET", "GITLABSECRET", "BEARERSECRET", "COOKIESECRET",
		"QUERYSECRET", "PHPSECRET", "PATHSECRET", "SETCOOKIESECRET", "RESPTOKENSECRET", "REFERERSECRET"}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	originSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "session=SETCOOKIESECRET; Path=/")
		w.Header().Set("X-Auth-Token", "RESPTOKENSECRET") // Spring Session's REST mode
		w.Write([]byte("page"))
	})}
	go originSrv.Serve(l)
	t.Cleanup(func() { originSrv.Close() })

	from := testnet.FreeAddr(t)
	out := new(syncBuffer)
	cmd := exec.Command(bin, "sidecar", "--from", from, "--to", l.Addr().String(), "--access-log", "--debug")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = t.TempDir()
	exited, stop := start(t, cmd)
	base := "http://" + from
	waitUp(t, base, exited)

	requests := []struct {
		target string
		header http.Header
	}{
		{"/visible-1?page=2&access_token=QUERYSECRET", http.Header{"X-Api-Key": {"HDRSECRET"}, "X-Request-Id": {"marker-1"}, "Referer": {"http://app.example/p?token=REFERERSECRET"}}},
		{"/visible-2?access.token=PHPSECRET", http.Header{"X_Api_Key": {"UNDERSECRET"}, "Private-Token": {"GITLABSECRET"}}},
		{"/visible-3;jsessionid=PATHSECRET", http.Header{"Authorization": {"Bearer BEARERSECRET"}, "Cookie": {"session=COOKIESECRET"}}},
	}
	send := func(target string, header http.Header) int {
		req, _ := http.NewRequest("GET", base+target, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, r := range requests {
		send(r.target, r.header)
	}
	originSrv.Close() // Caddy logs the next request as an error: 502
	if status := send("/visible-4?access_token=QUERYSECRET", http.Header{"X-Api-Key": {"HDRSECRET"}}); status != http.StatusBadGateway {
		t.Fatalf("with the origin down: status %d, want 502", status)
	}
	// Caddy writes each entry as it comes; give the last one a moment.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "/visible-4") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	stop()

	log := out.String()
	for _, want := range []string{"handled request", "upstream roundtrip", `"status":502`,
		`"uri":"/visible-1?page=2&access_token=REDACTED"`, `"uri":"/visible-2?access.token=REDACTED"`, `"uri":"/visible-3;REDACTED"`,
		`"X-Request-Id":["marker-1"]`, `"X-Api-Key":["REDACTED"]`, `"X_api_key":["REDACTED"]`, `"Private-Token":["REDACTED"]`,
		`"X-Auth-Token":["REDACTED"]`} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %s:\n%s", want, log)
		}
	}
	for _, secret := range secrets {
		if strings.Contains(log, secret) {
			t.Errorf("the log shows %s:\n%s", secret, log)
		}
	}
}

// waitUp waits until the server at base answers, or the process exits.
func waitUp(t *testing.T, base string, exited <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-exited:
			t.Fatal("the sidecar exited")
		case <-ctx.Done():
			t.Fatal("the sidecar did not answer within 30s")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// syncBuffer collects a process's output, which the test reads while the
// process still writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
