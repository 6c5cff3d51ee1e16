package vcl

import (
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
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

// A file whose braces do not balance is an error, at the first statement
// that does not parse.
func TestParseErrors(t *testing.T) {
	for src, want := range map[string]string{
		"sub vcl_recv {\n":                           "line 1: block is not closed",
		"sub vcl_recv {\n  if (x {\n}\n":             "line 2: if: condition is not closed",
		"sub vcl_recv {\n  set x \"a\";\n":           "line 2: set: want an assignment",
		"sub {\n":                                    "line 1: sub needs a name",
		"sub vcl_recv {\n}\n}\n":                     `line 3: unexpected "}"`,
		"sub vcl_recv {\n  set x = \"unclosed;\n}\n": "line 2: string is not closed on its line",
		"/* never closed":                            "line 1: comment is not closed",
		"backend x {\n":                              "line 1: block is not closed",
	} {
		if _, err := Parse([]byte(src)); err == nil || err.Error() != want {
			t.Errorf("Parse(%q) = %v, want %s", src, err, want)
		}
	}
}

// Hide hides what VCL sends as a header, or compares a header with, in
// each clause that names one, and keeps the rest as written.
func TestHide(t *testing.T) {
	const secret = "q8Zr7uVb2KpX4mN9wT3e"
	d := audit.Digest(secret)
	for text, want := range map[string]string{
		`set bereq.http.X-Origin-Verify = "` + secret + `";`:                                    `set bereq.http.X-Origin-Verify = ` + d + `;`,
		`req.url ~ "^/admin" && req.http.X-Origin-Verify != "` + secret + `"`:                   `req.url ~ "^/admin" && req.http.X-Origin-Verify != ` + d,
		`std.tolower(req.http.X-Key) == {"` + secret + `"}`:                                     `std.tolower(req.http.X-Key) == ` + d,
		`set req.http.X-Pin = 4815162342;`:                                                      `set req.http.X-Pin = ` + audit.Digest("4815162342") + `;`,
		`beresp.http.Cache-Control ~ "private"`:                                                 `beresp.http.Cache-Control ~ "private"`,
		`set req.http.Host = "example.com"; # the origin's name`:                                `set req.http.Host = "example.com"; # the origin's name`,
		`error 603 "SSL is required";`:                                                          `error 603 "SSL is required";`,
		"sub vcl_recv {\n  # verify\n  set req.http.X-Origin-Verify = \"" + secret + "\";\n}\n": "sub vcl_recv {\n  # verify\n  set req.http.X-Origin-Verify = " + d + ";\n}\n",
		`req.http.X == "` + secret:                                                              audit.Digest(`req.http.X == "` + secret),
		// A boolean or a small integer is shown: its digest would hide nothing.
		`req.http.x-cache-auth == "true" || req.http.X-Off == "FALSE"`: `req.http.x-cache-auth == "true" || req.http.X-Off == "FALSE"`,
		`req.http.X-Status == "404" && req.http.X-Try == 2`:            `req.http.X-Status == "404" && req.http.X-Try == 2`,
		`req.http.X-Pin == "1234" || req.http.X == "truely" || req.http.Y == "-1"`: `req.http.X-Pin == ` + audit.Digest("1234") +
			` || req.http.X == ` + audit.Digest("truely") + ` || req.http.Y == ` + audit.Digest("-1"),
	} {
		if got := Hide(text); got != want {
			t.Errorf("Hide(%q) =\n\t%q, want\n\t%q", text, got, want)
		}
	}
	if got := hide(`"`+secret+`"`, "X-Origin-Verify"); got != d {
		t.Errorf("the value of a set of a header: %q", got)
	}
}

// Only "import NAME;" is plain, whatever comments and newlines hide the
// rest of an import.
func TestPlainImports(t *testing.T) {
	for src, want := range map[string]bool{
		"vcl 4.1;\nimport std;\nimport directors ;\n":     true,
		"import std; # import evil from \"/x.so\";\n":     true,
		"sub vcl_recv { set req.http.import = \"1\"; }\n": true,
		`import evil from "/x.so";`:                       false,
		`import evil /* x */ from "/x.so";`:               false,
		"import evil # x\nfrom \"/x.so\";":                false,
		"import evil // x\nfrom \"/x.so\";":               false,
		"import\nevil\nfrom\n\"/x.so\";":                  false,
		"import std":                                      false,
		"import \"std\";":                                 false,
		"import evil from \"/x.so\"; /* never closed":     false,
	} {
		if got := PlainImports([]byte(src)); got != want {
			t.Errorf("PlainImports(%q) = %v, want %v", src, got, want)
		}
	}
}

// A Cookie removed under a condition keeps cookies out of a lookup only
// where the condition holds for every request that reaches it: in the
// lookup's own branch, or when its complement was passed. Any other
// condition is not proven, and said to be unknown, not a leak.
func TestCookieRemovals(t *testing.T) {
	const (
		clean   = "clean"
		leak    = "leak"
		unknown = "unknown"
	)
	for _, c := range []struct {
		name, body, want string
	}{
		{"no removal", `return (hash);`, leak},
		{"unconditional removal", `unset req.http.Cookie; return (hash);`, clean},
		{"removal in the lookup's branch", `if (req.url ~ "^/api") { unset req.http.Cookie; return (hash); }`, clean},
		// WordPress's common pattern.
		{"complement passed after", `if (req.http.Authorization) { return (pass); }
			if (req.url !~ "wp-admin|wp-login") { unset req.http.Cookie; }
			if (req.url ~ "wp-admin|wp-login") { return (pass); }
			return (hash);`, clean},
		{"complement passed before", `if (req.http.X-Debug == "1") { return (pass); }
			if (req.http.X-Debug != "1") { unset req.http.Cookie; }
			return (hash);`, clean},
		{"negation passed", `if (!req.http.X-Public) { return (pass); } if (req.http.X-Public) { unset req.http.Cookie; } return (hash);`, clean},
		{"parenthesized negation passed", `if (req.url ~ "^/a" && req.method == "GET") { unset req.http.Cookie; }
			if (!(req.url ~ "^/a" && req.method == "GET")) { return (pass); }
			return (hash);`, clean},
		{"passed in an else", `if (req.url ~ "^/static") { unset req.http.Cookie; } else { return (pass); } return (hash);`, clean},
		{"complement passed only after the lookup", `if (req.url !~ "^/a") { unset req.http.Cookie; } return (hash); if (req.url ~ "^/a") { return (pass); }`, unknown},
		{"not a complement", `if (req.backend_hint != agatho) { unset req.http.Cookie; } return (hash);`, unknown},
		{"a negation of one side only", `if (!req.http.A && req.http.B) { unset req.http.Cookie; } if (req.http.A && req.http.B) { return (pass); } return (hash);`, unknown},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse([]byte("sub vcl_recv {\n" + c.body + "\n}\n"))
			if err != nil {
				t.Fatal(err)
			}
			got := clean
			if u := Scopes("f.vcl", f, Varnish)[0].Unkeyed; u != nil && u.Unknown {
				got = unknown
			} else if u != nil {
				got = leak
			}
			if got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}
