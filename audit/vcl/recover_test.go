package vcl

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
)

// A construct the parser does not know is passed over, named by its kind
// and line and never by its text (which may hold a credential), and the
// rest of the file is read.
func TestParseRecovers(t *testing.T) {
	const secret = "q8Zr7uVb2KpX4mN9wT3e"
	for _, c := range []struct {
		name, src string
		skipped   []string
		subs      []string
		stmts     int // statements of the last sub
	}{
		{"template tag at the top", "{% if prod %}\nsub vcl_recv {\n  return (pass);\n}\n{% endif %}\n",
			[]string{"1 a top-level construct that is not VCL", "5 a top-level construct that is not VCL"}, []string{"vcl_recv"}, 1},
		{"statement that does not parse", "sub vcl_fetch {\n  set beresp.http.X " + secret + ";\n  unset beresp.http.Set-Cookie;\n}\n",
			[]string{"2 a statement set that does not parse"}, []string{"vcl_fetch"}, 1},
		{"if whose condition does not close", "sub vcl_fetch {\n  if (x ~ \"" + secret + "\" {\n    return (pass);\n  } else {\n    set beresp.ttl = 1s;\n  }\n  return (deliver);\n}\n",
			[]string{"2 a statement if that does not parse"}, []string{"vcl_fetch"}, 1},
		{"sub without a name, then one with", "sub {\n  return (pass);\n}\nsub vcl_recv {\n  return (hash);\n}\n",
			[]string{"1 a sub without a name"}, []string{"vcl_recv"}, 1},
		{"nesting too deep", "sub vcl_recv {\n" + strings.Repeat("{", maxDepth+2) + strings.Repeat("}", maxDepth+2) + "\n  return (hash);\n}\n",
			[]string{"2 a statement that does not parse"}, []string{"vcl_recv"}, 2},
		{"declaration never ended", "sub vcl_recv {\n  return (hash);\n}\ntoken " + secret + "\n",
			[]string{"4 a declaration that is not terminated", "4 a top-level construct that is not VCL"}, []string{"vcl_recv"}, 1},
		{"known declarations pass silently", "vcl 4.1;\nimport std;\nbackend b { .host = \"h\"; }\npragma optional_param x true;\ntable t { \"a\": \"b\" }\nsub vcl_recv {\n}\n",
			nil, []string{"vcl_recv"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse([]byte(c.src))
			if err != nil {
				t.Fatal(err)
			}
			var skipped, subs []string
			for _, s := range f.Skipped {
				if strings.Contains(s.What, secret) {
					t.Errorf("a skip quotes the source: %q", s.What)
				}
				skipped = append(skipped, fmt.Sprintf("%d %s", s.Line, s.What))
			}
			for _, s := range f.Subs {
				subs = append(subs, s.Name)
			}
			slices.Sort(skipped)
			if !slices.Equal(skipped, c.skipped) || !slices.Equal(subs, c.subs) {
				t.Errorf("skipped %q, subs %q; want %q, %q", skipped, subs, c.skipped, c.subs)
			}
			if n := len(f.Subs); n > 0 && len(f.Subs[n-1].Body) != c.stmts {
				t.Errorf("%d statements, want %d", len(f.Subs[n-1].Body), c.stmts)
			}
		})
	}
}

// A header removed under a condition is treated alike whichever header
// it is: under a condition on static URLs, in that scope only; under any
// other, for every response, with the condition in the finding.
func TestConditionalRemovals(t *testing.T) {
	const static = `bereq.url ~ "\.(css|js)$"`
	const other = `bereq.http.x-feed == "1"`
	for _, c := range []struct {
		name  string
		d     Dialect
		fetch string
		want  []string // check line (scope static?) when-condition-noted
	}{
		{"varnish: unconditional", Varnish, "unset beresp.http.Cache-Control;\n  unset beresp.http.Set-Cookie;",
			[]string{"ignores_private 2 dynamic", "strips_set_cookie 3 dynamic"}},
		{"varnish: under another condition", Varnish, "if (" + other + ") {\n    unset beresp.http.Cache-Control;\n    unset beresp.http.Set-Cookie;\n  }",
			[]string{"ignores_private 3 dynamic noted", "strips_set_cookie 4 dynamic noted"}},
		{"varnish: under a static condition", Varnish, "if (" + static + ") {\n    unset beresp.http.Cache-Control;\n    unset beresp.http.Set-Cookie;\n  }",
			nil},
		{"varnish: overwritten Surrogate-Control under another condition", Varnish, "if (" + other + ") {\n    set beresp.http.Surrogate-Control = \"max-age=60\";\n  }",
			[]string{"stores_private 3 dynamic noted"}},
		{"varnish: static, then return", Varnish, "if (" + static + ") {\n    unset beresp.http.Cache-Control;\n    return (deliver);\n  }",
			[]string{"static_rule_ignores_headers 4 static noted"}},
		{"fastly: removed before the check", Fastly, "if (" + other + ") {\n    unset beresp.http.Cache-Control;\n    unset beresp.http.Set-Cookie;\n  }\n  if (beresp.http.Cache-Control ~ \"(private|no-store)\") {\n    return (pass);\n  }\n  return (deliver);",
			[]string{"stores_private 3 dynamic noted", "strips_set_cookie 4 dynamic noted"}},
		{"fastly: removed after the check", Fastly, "if (beresp.http.Cache-Control ~ \"(private|no-store)\") {\n    return (pass);\n  }\n  if (" + other + ") {\n    unset beresp.http.Cache-Control;\n    unset beresp.http.Set-Cookie;\n  }\n  return (deliver);",
			[]string{"strips_set_cookie 7 dynamic noted"}},
		{"fastly: image optimizer", Fastly, "if (req.http.X-Fastly-Imageopto-Api) {\n    unset beresp.http.Set-Cookie;\n  }\n  if (beresp.http.Cache-Control ~ \"(private|no-store)\") {\n    return (pass);\n  }\n  return (deliver);",
			nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			sub := "vcl_backend_response"
			if c.d.Vendor == audit.Fastly {
				sub = "vcl_fetch"
			}
			f, err := Parse([]byte("sub " + sub + " {\n  " + c.fetch + "\n}\n"))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, fi := range audit.Run(Scopes("f.vcl", f, c.d)) {
				scope := "dynamic"
				if strings.Contains(fi.Scope, " when ") {
					scope = "static"
				}
				g := fmt.Sprintf("%s %d %s", fi.ID, fi.Line, scope)
				if strings.Contains(fi.Value, " when ") {
					g += " noted"
				}
				got = append(got, g)
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// Subroutines of one name are joined in the order their files come in,
// each statement keeping its file; an include met again is skipped.
func TestProgram(t *testing.T) {
	files := map[string]string{
		"main":  "include \"begin\";\nsub vcl_recv {\n  set req.http.A = \"1\";\n}\ninclude \"end\";\ninclude \"begin\";\n",
		"begin": "sub vcl_recv {\n#FASTLY recv\n}\n",
		"end":   "sub vcl_recv {\n  return (lookup);\n}\n",
	}
	parse := func(name string) *File {
		f, err := Parse([]byte(files[name]))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	var skipped []string
	load := func(_ string, inc Include) (string, *File, bool) {
		f := parse(inc.Path)
		SetFile(f, inc.Path)
		return inc.Path, f, true
	}
	p, keys := Program("main", parse("main"), load, func(from string, inc Include) {
		skipped = append(skipped, fmt.Sprintf("%s:%d", from, inc.Line))
	})
	if !slices.Equal(keys, []string{"begin", "end"}) || !slices.Equal(skipped, []string{"main:6"}) {
		t.Errorf("keys %q, skipped %q", keys, skipped)
	}
	var got []string
	for _, st := range p.Sub("vcl_recv").Body {
		got = append(got, fmt.Sprintf("%s:%d %s", st.File, st.Line, st.head()))
	}
	if want := []string{"begin:2 #FASTLY recv", ":3 set req.http.A", "end:2 return (lookup)"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
