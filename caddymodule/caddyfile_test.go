package caddymodule

import (
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		want  Handler
	}{
		{name: "bare directive", input: `cache_fence`, want: Handler{}},
		{name: "empty block", input: `cache_fence {
		}`, want: Handler{}},
		{name: "every option", input: `cache_fence {
			mode report
			session_cookies sid sess_*
			ignore_cookies _ga* consent
			credential_headers X-Api-Key X-Tenant-Token
			credential_params access_token sid
			private_paths /account* /cart
			public_paths /static/*
			tag_header X-Cache-Fence-Tag
			explain
		}`, want: Handler{
			Mode:              "report",
			SessionCookies:    []string{"sid", "sess_*"},
			IgnoreCookies:     []string{"_ga*", "consent"},
			CredentialHeaders: []string{"X-Api-Key", "X-Tenant-Token"},
			CredentialParams:  []string{"access_token", "sid"},
			PrivatePaths:      []string{"/account*", "/cart"},
			PublicPaths:       []string{"/static/*"},
			TagHeader:         "X-Cache-Fence-Tag",
			Explain:           true,
		}},
		{name: "owner stamp with default header", input: `cache_fence {
			owner_stamp {env.CACHE_FENCE_KEY}
		}`, want: Handler{OwnerStamp: &OwnerStamp{Key: "{env.CACHE_FENCE_KEY}"}}},
		{name: "owner stamp with header", input: `cache_fence {
			owner_stamp {env.CACHE_FENCE_KEY} X-Owner
		}`, want: Handler{OwnerStamp: &OwnerStamp{Key: "{env.CACHE_FENCE_KEY}", Header: "X-Owner"}}},
		{name: "repeated list options add up", input: `cache_fence {
			ignore_cookies _ga*
			ignore_cookies _gid
		}`, want: Handler{IgnoreCookies: []string{"_ga*", "_gid"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got Handler
			if err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input)); err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Every bad value must be rejected when the Caddyfile is adapted, with a
// message that names the option and the value.
func TestUnmarshalCaddyfileErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		want  []string // substrings of the error
	}{
		{"argument on directive", `cache_fence enforce`, []string{"wrong argument count"}},
		{"unknown mode", `cache_fence {
			mode audit
		}`, []string{"mode", `"audit"`}},
		{"mode without value", `cache_fence {
			mode
		}`, []string{"wrong argument count"}},
		{"mode with two values", `cache_fence {
			mode enforce report
		}`, []string{"mode", `"report"`}},
		{"bad session cookie glob", `cache_fence {
			session_cookies [sid
		}`, []string{"session_cookies", `"[sid"`}},
		{"bad ignore cookie glob", `cache_fence {
			ignore_cookies _ga[
		}`, []string{"ignore_cookies", `"_ga["`}},
		{"empty list", `cache_fence {
			private_paths
		}`, []string{"private_paths", "at least one"}},
		{"relative private path", `cache_fence {
			private_paths account
		}`, []string{"private_paths", `"account"`}},
		{"relative public path", `cache_fence {
			public_paths static/*
		}`, []string{"public_paths", `"static/*"`}},
		{"malformed private path glob", `cache_fence {
			private_paths /a/*/[x
		}`, []string{"private_paths", `"/a/*/[x"`, "glob"}},
		{"empty tag header", `cache_fence {
			tag_header ""
		}`, []string{"tag_header", "empty"}},
		{"empty mode", `cache_fence {
			mode ""
		}`, []string{"mode", "empty"}},
		{"tag header with space", `cache_fence {
			tag_header "X Tag"
		}`, []string{"tag_header", `"X Tag"`}},
		{"tag header that caches read", `cache_fence {
			tag_header Cache-Control
		}`, []string{"tag_header", `"Cache-Control"`}},
		{"owner stamp without key", `cache_fence {
			owner_stamp
		}`, []string{"owner_stamp", "<key>"}},
		{"owner stamp header that caches read", `cache_fence {
			owner_stamp {env.K} Vary
		}`, []string{"owner_stamp", `"Vary"`}},
		{"mode twice", `cache_fence {
			mode report
			mode enforce
		}`, []string{"mode: given twice"}},
		{"explain with value", `cache_fence {
			explain yes
		}`, []string{"explain", `"yes"`}},
		{"credential header that is not a name", `cache_fence {
			credential_headers "X Key"
		}`, []string{"credential_headers", `"X Key"`}},
		{"credential headers without values", `cache_fence {
			credential_headers
		}`, []string{"credential_headers", "at least one"}},
		{"credential param with a delimiter", `cache_fence {
			credential_params a=b
		}`, []string{"credential_params", `"a=b"`}},
		{"public path with a placeholder", `cache_fence {
			public_paths /{http.request.host}/*
		}`, []string{"public_paths", "placeholder"}},
		{"unknown option", `cache_fence {
			fence_everything
		}`, []string{`"fence_everything"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if err == nil {
				t.Fatalf("no error for %s", tc.input)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %s", err, want)
				}
			}
		})
	}
}

// The order option can put cache_fence where responses bypass it; the
// Caddyfile is refused with the fix.
func TestCheckOrder(t *testing.T) {
	for _, tc := range []struct {
		order []string
		want  string // "" for accepted
	}{
		{[]string{"map", "vars", "root", "cache_fence", "header", "respond"}, ""},
		{[]string{"tracing", "rewrite", "uri", "try_files", "request_header", "cache_fence", "reverse_proxy"}, ""},
		{[]string{"header", "cache_fence", "respond"}, "after header"},
		{[]string{"map", "handle", "route", "cache_fence", "respond"}, "after handle"},
		{[]string{"encode", "cache_fence"}, "after encode"},
		{[]string{"reverse_proxy", "file_server", "cache_fence"}, "after reverse_proxy"},
	} {
		err := checkOrder(tc.order)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("checkOrder(%q) = %v, want nil", tc.order, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "order cache_fence before header")):
			t.Errorf("checkOrder(%q) = %v, want an error naming %q and the fix", tc.order, err, tc.want)
		}
	}
}
