package fastly

import (
	"slices"
	"strconv"
	"testing"

	"github.com/cachefence/cachefence/audit"
)

// Custom VCL held in the service JSON is audited at the line of its
// string; a request setting that forces a lookup is put where Fastly puts
// it; a syntax error in a snippet names the snippet's line and the VCL's.
func TestServiceJSON(t *testing.T) {
	const service = `{"version": {
  "vcls": [{"name": "main", "main": true,
    "content": "sub vcl_recv {\n#FASTLY recv\n  return(pass);\n}\nsub vcl_fetch {\n  if (beresp.http.Cache-Control ~ \"(private|no-store)\") { return(pass); }\n  return(deliver);\n}\n"}],
  "request_settings": [{"name": "force lookup", "action": "lookup", "request_condition": ""}],
  "snippets": []
}}`
	cfg := Read([]audit.File{{Path: "svc.json", Data: []byte(service)}})
	var got []string
	for _, f := range audit.Run(cfg.Scopes) {
		got = append(got, f.ID+" "+f.Setting+" line "+strconv.Itoa(f.Line))
	}
	// The forced lookup (line 4) comes before the VCL's pass: requests
	// with cookies reach the cache.
	if want := []string{"cookies_not_in_key sub vcl_recv line 4"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	bad := `{"version": {"snippets": [{"name": "s", "type": "fetch", "content": "if (x {"}], "cache_settings": []}}`
	cfg = Read([]audit.File{{Path: "svc.json", Data: []byte(bad)}})
	if len(cfg.Errors) != 1 || cfg.Errors[0].Error() != "svc.json:1: VCL line 2: if: condition is not closed" {
		t.Errorf("errors %v", cfg.Errors)
	}
}
