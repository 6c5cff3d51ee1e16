package fence

import (
	"net/http"
	"slices"
	"testing"
)

// A configured credential header name with "_" matches the requests that
// an origin reads as that header, whichever of "_" and "-" they are spelt
// with: CGI and FastCGI (PHP's $_SERVER['HTTP_X_API_KEY']) read both as
// one. Request header keys are given as net/http stores them.
func TestConfiguredCredentialHeaderSpellings(t *testing.T) {
	for _, tc := range []struct {
		configured string
		requests   []string // header map keys that must count
		others     []string // keys that must not
	}{
		{"X_Api_Key", []string{"X-Api-Key", "X_api_key", "X-Api_key", "X_api-key"}, []string{"X-Api", "Api-Key", "X-Api-Keys"}},
		{"x_api_key", []string{"X-Api-Key", "X_api_key"}, []string{"X-Apikey"}},
		{"api_key", []string{"Api_key", "Api-Key"}, []string{"Apikey", "X-Api-Key"}},
		{"SM_USER", []string{"Sm_user", "Sm-User"}, []string{"Sm-Users"}},
		{"X-Tenant-Token", []string{"X-Tenant-Token", "X_tenant_token"}, []string{"X-Tenant"}},
		// PHP reads "." in a header name as "_" too.
		{"X-Api-Key", []string{"X.api.key", "X.Api.Key", "X.api-key"}, []string{"X.api", "Xapi.key"}},
		{"X.Api.Key", []string{"X-Api-Key", "X_api_key"}, []string{"X-Apikey"}},
	} {
		p := newPolicy(t, Config{CredentialHeaders: []string{tc.configured}})
		for _, key := range tc.requests {
			if !p.isCredentialHeader(key) {
				t.Errorf("credential_headers %s: request header %q does not count", tc.configured, key)
			}
			req := requestTo(t, p, http.Header{key: {"alice"}}, "/")
			if !req.CredentialHeader {
				t.Errorf("credential_headers %s: a request with %q is not personal", tc.configured, key)
			}
		}
		for _, key := range tc.others {
			if p.isCredentialHeader(key) {
				t.Errorf("credential_headers %s: request header %q counts", tc.configured, key)
			}
		}
	}
}

// The default lists cannot be changed through the slices their functions
// return: a caller that appends to or overwrites one changes neither the
// next caller's copy nor a Policy built afterwards.
func TestDefaultListsAreCopies(t *testing.T) {
	for _, list := range []struct {
		name string
		get  func() []string
	}{{"DefaultCredentialHeaders", DefaultCredentialHeaders}, {"DefaultCredentialParams", DefaultCredentialParams}} {
		want := list.get()
		got := list.get()
		for i := range got {
			got[i] = "Changed"
		}
		if again := list.get(); !slices.Equal(again, want) {
			t.Errorf("%s: a caller's change shows in the next call: %q", list.name, again)
		}
	}
	headers := DefaultCredentialHeaders()
	headers[0] = "X-Not-A-Credential"
	if req := requestTo(t, newPolicy(t, Config{}), http.Header{"X-Api-Key": {"k"}}, "/"); !req.CredentialHeader {
		t.Errorf("X-Api-Key no longer counts once a caller overwrote its copy of the defaults")
	}
}

// Each default credential header is a request header a product documents
// as carrying a credential or an identity (see DefaultCredentialHeaders);
// the ones added for issue 16 are checked by name, as a client sends them.
func TestDefaultCredentialHeadersNamedByProducts(t *testing.T) {
	p := newPolicy(t, Config{})
	for _, sent := range []string{
		"PRIVATE-TOKEN", "JOB-TOKEN", // GitLab
		"X-Vault-Token", "X-Consul-Token", "X-Nomad-Token", // HashiCorp
		"X-JFrog-Art-Api",                                              // Artifactory
		"access-token",                                                 // devise_token_auth
		"X-Plex-Token",                                                 // Plex
		"X-Emby-Token", "X-MediaBrowser-Token", "X-Emby-Authorization", // Jellyfin, Emby
		"X-Parse-Session-Token",                                                           // Parse Server
		"X-Rundeck-Auth-Token",                                                            // Rundeck
		"X-Remote-User",                                                                   // Kubernetes request-header authentication
		"Cf-Access-Authenticated-User-Email",                                              // Cloudflare Access
		"X-authentik-username", "X-authentik-uid", "X-authentik-email", "X-authentik-jwt", // authentik
		"SM_USER", "SM-USER", // SiteMinder, Spring Security's pre-authentication default
	} {
		if req := requestTo(t, p, http.Header{http.CanonicalHeaderKey(sent): {"v"}}, "/"); !req.CredentialHeader {
			t.Errorf("%s is not a default credential header", sent)
		}
	}
	// devise_token_auth's client and uid come only with its access-token,
	// and are too generic to count alone.
	for _, generic := range []string{"Client", "Uid", "Token-Type", "Expiry"} {
		if p.isCredentialHeader(generic) {
			t.Errorf("%s counts as a credential header by itself", generic)
		}
	}
	for _, target := range []string{"/api/v4/user?private_token=glpat-x", "/api/v4/jobs?job_token=x", "/library/sections?X-Plex-Token=x"} {
		if req := requestTo(t, p, nil, target); !req.CredentialParam {
			t.Errorf("%s carries no default credential parameter", target)
		}
	}
}

// RedactURI hides every credential parameter the rules read, however its
// name is spelt, and keeps the rest of the URI as sent.
func TestRedactURI(t *testing.T) {
	p := newPolicy(t, Config{})
	custom := newPolicy(t, Config{CredentialParams: []string{"sig"}})
	for _, tc := range []struct {
		policy *Policy
		uri    string
		want   string
	}{
		{p, "/account", "/account"},
		{p, "/search?q=token&page=2", "/search?q=token&page=2"},
		{p, "/api/me?access_token=s3cr3t", "/api/me?access_token=REDACTED"},
		{p, "/api/me?page=2&ACCESS_TOKEN=s3cr3t&x", "/api/me?page=2&ACCESS_TOKEN=REDACTED&x"},
		{p, "/api/me?access.token=s3cr3t", "/api/me?access.token=REDACTED"},     // PHP reads access_token
		{p, "/api/me?%61ccess_token=s3cr3t", "/api/me?%61ccess_token=REDACTED"}, // decoded
		{p, "/api/me?access_token[]=s3cr3t", "/api/me?access_token[]=REDACTED"}, // PHP array
		{p, "/api/me?x=1;apikey=s3cr3t;y=2", "/api/me?x=1;apikey=REDACTED;y=2"}, // ";" separates
		{p, "/api/v4/user?private_token=glpat-s3cr3t", "/api/v4/user?private_token=REDACTED"},
		{p, "/cart;jsessionid=s3cr3t?page=2", "/cart;REDACTED?page=2"},               // RedactPath
		{p, "/(S(lit3py55t21z5v55vlm25s55))/page.aspx", "/(REDACTED)/page.aspx"},     // cookieless session
		{p, "/api/me?tokens=3&token", "/api/me?tokens=3&token"},                      // no value to hide
		{custom, "/dl?sig=s3cr3t&access_token=x", "/dl?sig=REDACTED&access_token=x"}, // a configured list replaces the defaults
	} {
		if got := tc.policy.RedactURI(tc.uri); got != tc.want {
			t.Errorf("RedactURI(%q) = %q, want %q", tc.uri, got, tc.want)
		}
	}
}

// IsCredentialHeader is the rules' reading of a header name, for callers
// outside the package (the sidecar's log filter).
func TestIsCredentialHeader(t *testing.T) {
	p := newPolicy(t, Config{CredentialHeaders: []string{"X_Tenant_Token"}})
	for name, want := range map[string]bool{
		"X-Tenant-Token": true, "X_tenant_token": true, "X-Api-Key": false, "Authorization": false, "Cookie": false,
	} {
		if got := p.IsCredentialHeader(name); got != want {
			t.Errorf("IsCredentialHeader(%q) = %v, want %v", name, got, want)
		}
	}
}
