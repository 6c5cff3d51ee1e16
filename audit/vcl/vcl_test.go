package vcl

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	src := `vcl 4.1;
import std;
backend default { .host = "127.0.0.1"; .probe = { .url = "/"; } }
acl purge { "localhost"; }
/* a
   comment */
sub vcl_recv {
#FASTLY recv
    if (req.url ~ "^/admin") {
        return (pass);
    } elsif (req.http.Cookie) {
        set req.http.X = {"long
string"};
    } else if (req.method == "GET") {
        unset req.http.Cookie;
    } else {
        call normalize;
    }
    std.log("x");
    return (hash);
}
`
	f, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Subs) != 1 || f.Subs[0].Name != "vcl_recv" || f.Subs[0].Line != 7 {
		t.Fatalf("subs %+v", f.Subs)
	}
	body := f.Subs[0].Body
	kinds := []StmtKind{Macro, If, Other, Return}
	if len(body) != len(kinds) {
		t.Fatalf("%d statements, want %d", len(body), len(kinds))
	}
	for i, k := range kinds {
		if body[i].Kind != k {
			t.Errorf("statement %d: kind %d, want %d", i, body[i].Kind, k)
		}
	}
	ifs := body[1].Branches
	if len(ifs) != 4 || ifs[0].Cond != `req.url ~ "^/admin"` || ifs[3].Cond != "" || ifs[2].Line != 14 {
		t.Errorf("branches %+v", ifs)
	}
	if set := ifs[1].Body[0]; set.Kind != Set || set.Target != "req.http.X" || !strings.Contains(set.Value, "long") {
		t.Errorf("set %+v", set)
	}
	if ret := body[3]; ret.Target != "hash" || ret.Line != 20 {
		t.Errorf("return %+v", ret)
	}
}

func TestParseErrors(t *testing.T) {
	for src, want := range map[string]string{
		"sub vcl_recv {\n":                           "line 1: block is not closed",
		"sub vcl_recv {\n  if (x {\n}\n":             "line 2: if: condition is not closed",
		"sub vcl_recv {\n  set x \"a\";\n}\n":        "line 2: set x: want an assignment",
		"sub {\n}\n":                                 "line 1: sub needs a name",
		"sub vcl_recv {\n  set x = \"unclosed;\n}\n": "line 2: string is not closed on its line",
		"/* never closed":                            "line 1: comment is not closed",
		"backend x {\n":                              "line 1: block is not closed",
	} {
		if _, err := Parse([]byte(src)); err == nil || err.Error() != want {
			t.Errorf("Parse(%q) = %v, want %s", src, err, want)
		}
	}
}
