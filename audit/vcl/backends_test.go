package vcl

import "testing"

// Backends finds each declaration's fields by their spans, comments and
// probes passed over; the spans hold the values with their quotes.
func TestBackends(t *testing.T) {
	src := "vcl 4.1;\n# backend commented { .host = \"no\"; }\nbackend app {\n  .host = \"db.internal\"; # .port = \"1\";\n  .probe = { .url = \"/\"; .port = \"9\"; }\n  .port = {\"8080\"};\n}\nbackend sock { .path = \"/run/a.sock\"; }\nsub vcl_recv { set req.backend_hint = app; }\n"
	got, err := Backends([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "app" || got[0].Line != 3 || got[1].Name != "sock" {
		t.Fatalf("%+v", got)
	}
	text := func(s Span) string { return src[s.Start:s.End] }
	if text(got[0].Host) != `"db.internal"` || text(got[0].Port) != `{"8080"}` || got[0].Path != (Span{}) {
		t.Errorf("app: host %q port %q", text(got[0].Host), text(got[0].Port))
	}
	if src[got[0].Open-1] != '{' {
		t.Errorf("app opens at %d", got[0].Open)
	}
	if text(got[1].Path) != `"/run/a.sock"` || got[1].Host != (Span{}) {
		t.Errorf("sock: %+v", got[1])
	}
	if _, err := Backends([]byte("backend x { .host = \"unterminated; }")); err == nil {
		t.Error("a string not closed on its line lexes")
	}
}
