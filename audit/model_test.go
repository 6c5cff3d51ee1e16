package audit

import (
	"strings"
	"testing"
)

// Header values are digests by position, whatever the header is called,
// except on the short list of headers a cache audit reads, or when they
// are only nginx variables or empty.
func TestHeaderValue(t *testing.T) {
	const secret = "q8Zr7uVb2KpX4mN9wT3e"
	for _, tc := range []struct {
		value string
		names []string
		clear bool
	}{
		{secret, []string{"X-Origin-Verify"}, false},
		{secret, []string{"x_origin_verify"}, false},
		{secret, nil, false},
		{secret, []string{"Cache-Control", "X-Origin-Verify"}, false},
		{"public, max-age=60", []string{"Cache-Control"}, true},
		{"no-store", []string{"CACHE_CONTROL"}, true},
		{"no-store", []string{"Cloudflare-CDN-Cache-Control"}, true},
		{"no-store", []string{" surrogate-control "}, true},
		{"www.example.com", []string{"Host"}, true},
		{"$host", []string{"X-Origin-Verify"}, true},
		{"$host:443", []string{"X-Forwarded-Host"}, true},
		{"${host}:$server_port", []string{"X-Anything"}, true},
		{"$proxy_add_x_forwarded_for", nil, true},
		{"$host:" + secret, []string{"X-Origin-Verify"}, false},
		{"$scheme://" + secret, []string{"X-Origin-Verify"}, false},
		{"", []string{"Authorization"}, true},
	} {
		got := HeaderValue(tc.value, tc.names...)
		if want := map[bool]string{true: tc.value, false: Digest(tc.value)}[tc.clear]; got != want {
			t.Errorf("HeaderValue(%q, %q) = %q, want %q", tc.value, tc.names, got, want)
		}
	}
	if d := Digest(secret); !strings.HasPrefix(d, "sha256:") || len(d) != len("sha256:")+16 || strings.Contains(d, secret) {
		t.Errorf("Digest = %q", d)
	}
}

// A baseline of version 1 kept header values in clear: it is refused, so
// that drift does not print them, and the error says what to do.
func TestBaselineVersion1(t *testing.T) {
	_, err := ReadBaseline(strings.NewReader(`{"version": 1, "files": {"a.conf": {"x": "y"}}}`))
	if err == nil || !strings.Contains(err.Error(), "write it again with --write-baseline") {
		t.Errorf("error %v", err)
	}
}
