package fence

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzPathForms checks the path matchers on arbitrary paths as sent:
//   - a public (strict) match is always a private (lenient) match of the
//     same patterns: strictness only ever narrows;
//   - a path that every origin resolves to itself (plainPath) has one
//     route form, the path decoded (as the standard library reads it)
//     and case-folded: upper-cased, then lower-cased;
//   - nothing panics.
func FuzzPathForms(f *testing.F) {
	for _, p := range []string{
		"/", "/static/app.css", "/STATIC/app.css", "//static/x", "/static/..;/account",
		"/%2561ccount", `/x\..\me`, "/(S(abc))/me", "/me%00.css", "/caf%C3%A9/x", "/a;b=c/d",
	} {
		f.Add(p)
	}
	patterns, err := compilePathPatterns("public_paths", []string{"/static/*", "*.css", "/me", "*acc*", "/a/*/b"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		strict, lenient := matchStrict(patterns, raw), matchLenient(patterns, raw)
		if strict && !lenient {
			t.Errorf("%q matches strictly but not leniently", raw)
		}
		if !plainPath(raw) {
			return
		}
		decoded, err := url.PathUnescape(raw)
		if err != nil {
			t.Fatalf("plainPath(%q) but it does not unescape: %v", raw, err)
		}
		cleaned, _ := routeForms(raw)
		if want := strings.ToLower(strings.ToUpper(decoded)); cleaned != want {
			t.Errorf("routeForms(%q) cleaned = %q, want %q", raw, cleaned, want)
		}
	})
}
