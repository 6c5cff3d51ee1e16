package caddymodule

import (
	"context"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// stampKeyVar holds a valid owner-stamp key during the lifecycle tests.
const stampKeyVar = "CACHE_FENCE_LIFECYCLE_KEY"

// configCases are handler configurations as JSON gives them, each valid
// (want "") or with the text its error must hold: the option and the
// value, never the stamp key.
var configCases = []struct {
	name string
	h    Handler
	want string
}{
	{"zero value", Handler{}, ""},
	{"report", Handler{Mode: ModeReport}, ""},
	{"unknown mode", Handler{Mode: "Enforce"}, `mode: unknown mode "Enforce"`},
	{"bad glob", Handler{SessionCookies: []string{"a["}}, `session_cookies: bad cookie name pattern "a["`},
	{"empty glob", Handler{IgnoreCookies: []string{""}}, "ignore_cookies: empty cookie name pattern"},
	{"empty path", Handler{PublicPaths: []string{""}}, `public_paths: path pattern ""`},
	{"placeholder path", Handler{PrivatePaths: []string{"/{env.PRIVATE}/*"}}, `private_paths: path pattern "/{env.PRIVATE}/*" holds a placeholder`},
	{"malformed glob path", Handler{PublicPaths: []string{"/static/[a-"}}, `public_paths: path pattern "/static/[a-" is not a valid glob`},
	{"prefix path with a bracket", Handler{PrivatePaths: []string{"/a[1]/*"}}, ""},
	{"escaped path", Handler{PrivatePaths: []string{"/a%5B/*/x"}}, ""},
	{"glob path", Handler{PrivatePaths: []string{"/orders/*/invoice", "/u/[0-9]*/x"}}, ""},
	{"tag header Set-Cookie", Handler{TagHeader: "set-cookie"}, `tag_header: "set-cookie"`},
	{"owner stamp without key", Handler{OwnerStamp: &OwnerStamp{}}, "owner_stamp: key is required"},
	{"owner stamp key with a placeholder", Handler{OwnerStamp: &OwnerStamp{Key: "{env." + stampKeyVar + "}"}}, ""},
	{"owner stamp header is the tag header", Handler{TagHeader: "X-T", OwnerStamp: &OwnerStamp{Key: "{env." + stampKeyVar + "}", Header: "x-t"}}, "also the tag_header"},
	{"short literal owner stamp key", Handler{OwnerStamp: &OwnerStamp{Key: "short-secret"}}, "owner_stamp: key must be at least 16 bytes"},
	{"credential header cookie", Handler{CredentialHeaders: []string{"Cookie"}}, "credential_headers: Cookie"},
	{"credential header with an underscore", Handler{CredentialHeaders: []string{"X_Api_Key"}}, ""},
	{"no credential headers", Handler{CredentialHeaders: []string{}}, ""},
	{"credential param with a delimiter", Handler{CredentialParams: []string{"a;b"}}, `credential_params: "a;b"`},
}

// checkError fails the test unless err is what want says (nil for "").
func checkError(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("got error %v, want one containing %q", err, want)
	case err != nil && strings.Contains(err.Error(), "short-secret"):
		t.Fatalf("error %q shows the owner_stamp key", err)
	}
}

// A JSON config skips the Caddyfile: Caddy provisions the handler, then
// validates it, and one of the two reports every bad value.
func TestProvisionThenValidate(t *testing.T) {
	t.Setenv(stampKeyVar, "lifecycle-key-0123456789")
	for _, tc := range configCases {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			err := h.Provision(caddy.Context{Context: context.Background()})
			if err == nil {
				err = h.Validate()
			}
			checkError(t, err, tc.want)
			if err == nil && h.policy == nil {
				t.Fatal("provisioned without a policy")
			}
		})
	}
}

// CheckConfig reports, without provisioning, what Provision and Validate
// would: the Caddyfile adapter and the sidecar rely on it. A key with
// placeholders is not known yet, and is accepted.
func TestCheckConfig(t *testing.T) {
	for _, tc := range configCases {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			checkError(t, h.CheckConfig(), tc.want)
			if h.policy != nil {
				t.Fatal("CheckConfig provisioned the handler")
			}
		})
	}
}

// Provision leaves the mode to Validate, as Caddy's modules leave checks
// of what they do not build; and it builds the policy itself, without
// calling Validate, which builds none.
func TestProvisionAndValidateApart(t *testing.T) {
	h := Handler{Mode: "audit"}
	if err := h.Provision(caddy.Context{Context: context.Background()}); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	if err := h.Validate(); err == nil || !strings.Contains(err.Error(), `"audit"`) {
		t.Fatalf("Validate after Provision = %v, want the unknown mode", err)
	}
	var unprovisioned Handler
	if err := unprovisioned.Validate(); err != nil || unprovisioned.policy != nil {
		t.Fatalf("Validate = %v and policy %v; want nil and no policy built", err, unprovisioned.policy)
	}
}
