package caddymodule

import (
	"slices"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func TestFindHandlers(t *testing.T) {
	const caddyfile = `
http://www.example.com {
	cache_fence {
		ignore_cookies _ga*
		owner_stamp {env.K} X-Owner
	}
	respond ok
}
http://api.example.com, http://api2.example.com {
	cache_fence {
		session_cookies sid
		credential_headers X-Key
	}
	respond ok
}
http://static.example.com {
	respond ok
}
`
	config, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		t.Fatal(err)
	}
	found, err := FindHandlers(config)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 {
		t.Fatalf("found %d handlers, want 2", len(found))
	}
	byHost := map[string]*Handler{}
	for _, f := range found {
		for _, h := range f.Hosts {
			byHost[h] = f.Handler
		}
	}
	www, api := byHost["www.example.com"], byHost["api2.example.com"]
	if www == nil || api == nil || byHost["api.example.com"] != api {
		t.Fatalf("hosts %v", found)
	}
	if !slices.Equal(www.IgnoreCookies, []string{"_ga*"}) || www.OwnerStamp == nil || www.OwnerStamp.Key != "{env.K}" || www.OwnerStamp.Header != "X-Owner" {
		t.Errorf("www's handler: %+v", www)
	}
	if !slices.Equal(api.SessionCookies, []string{"sid"}) || !slices.Equal(api.CredentialHeaders, []string{"X-Key"}) || api.OwnerStamp != nil {
		t.Errorf("api's handler: %+v", api)
	}
	if _, err := FindHandlers([]byte("{")); err == nil {
		t.Error("a broken config gave no error")
	}
}
