package fence

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestDirectives(t *testing.T) {
	type member struct {
		name, value, params string
		ok                  bool
	}
	for _, tc := range []struct {
		lines []string
		want  []member
	}{
		{[]string{"public, max-age=60"}, []member{{"public", "", "", true}, {"max-age", "60", "", true}}},
		{[]string{` private="Set-Cookie, X-User" ,no-cache`}, []member{{"private", `"Set-Cookie, X-User"`, "", true}, {"no-cache", "", "", true}}},
		{[]string{",, a ,", "b=1"}, []member{{"a", "", "", true}, {"b", "1", "", true}}},
		{[]string{"no-store;device-a, max-age=60;b"}, []member{{"no-store", "", ";device-a", true}, {"max-age", "60", ";b", true}}},
		{[]string{"no-store=?0"}, []member{{"no-store", "?0", "", true}}},
		{[]string{"max-age=60 max-age=0, public"}, []member{{"max-age", "60", "", false}, {"public", "", "", true}}},
		{[]string{`a="unterminated, b`}, []member{{"a", `"unterminated, b`, "", false}}},
		{[]string{"=60, b"}, []member{{"", "60", "", false}, {"b", "", "", true}}},
		{[]string{"a=, b"}, []member{{"a", "", "", false}, {"b", "", "", true}}},
		{[]string{`a="x\"y", b`}, []member{{"a", `"x\"y"`, "", true}, {"b", "", "", true}}},
		{nil, nil},
	} {
		var got []member
		for d, ok := range directives(tc.lines) {
			got = append(got, member{d.name, d.value, d.params, ok})
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("directives(%q) = %+v, want %+v", tc.lines, got, tc.want)
		}
	}
}

func TestTargetedHeaderJudgements(t *testing.T) {
	for _, tc := range []struct {
		header, value string
		storing       bool
	}{
		{"Surrogate-Control", "no-store", false},
		{"Surrogate-Control", "NO-STORE, max-age=60", false},
		{"Surrogate-Control", "max-age=60", true},
		{"Surrogate-Control", `content="ESI/1.0"`, true},
		{"Surrogate-Control", `content="no-store"`, true},
		{"Surrogate-Control", "no-store;device-a", true},
		{"Surrogate-Control", "no-store-remote", true},
		{"Surrogate-Control", "", true},
		{"Cdn-Cache-Control", "no-store", false},
		{"Cdn-Cache-Control", "private", false},
		{"Cdn-Cache-Control", "no-store=?1", false},
		{"Cdn-Cache-Control", "no-store=?0", true},
		{"Cdn-Cache-Control", "No-Store", true}, // not a Structured Field key: ignored by CDNs
		{"Cdn-Cache-Control", "max-age=600", true},
		{"Cdn-Cache-Control", "none", true},
		{"Cdn-Cache-Control", "no-store, max-age=a/b", false},
		{"Cdn-Cache-Control", `no-store, x="unterminated`, true},
		{"Cdn-Cache-Control", "no-store;a=1", false},
		{"Cdn-Cache-Control", "no-store;A=1", true},
		{"Edge-Control", "no-store", false},
		{"Edge-Control", "bypass-cache", false},
		{"Edge-Control", "!no-store", true},
		{"Edge-Control", "no-store, !no-store", true},
		{"Edge-Control", "max-age=1h", true},
		{"X-Accel-Expires", "0", false},
		{"X-Accel-Expires", " 0 ", false},
		{"X-Accel-Expires", "60", true},
		{"X-Accel-Expires", "@1893456000", true},
		{"X-Accel-Expires", "abc", true},
	} {
		i := slices.IndexFunc(targetedHeaders[:], func(th targetedHeader) bool { return th.name == tc.header })
		if i < 0 {
			t.Fatalf("%s is not in the table", tc.header)
		}
		if got := targetedHeaders[i].storing([]string{tc.value}); got != tc.storing {
			t.Errorf("%s: %q: storing = %v, want %v", tc.header, tc.value, got, tc.storing)
		}
	}
}

func TestVendorTargetedFamily(t *testing.T) {
	for name, want := range map[string]bool{
		"Vercel-Cdn-Cache-Control":     true,
		"Netlify-Cdn-Cache-Control":    true,
		"Bunny-Cdn-Cache-Control":      true,
		"Cdn-Cache-Control":            false, // in the table
		"Cloudflare-Cdn-Cache-Control": false, // in the table
		"-Cdn-Cache-Control":           false,
		"X-Cdn-Cache-Controls":         false,
		"Cache-Control":                false,
	} {
		if got := isVendorTargeted(name); got != want {
			t.Errorf("isVendorTargeted(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestStorageProblems(t *testing.T) {
	fenced := http.Header{}
	Rewrite(fenced)
	if got := StorageProblems(fenced); len(got) != 0 {
		t.Errorf("StorageProblems(a fenced response) = %q, want none", got)
	}
	for _, tc := range []struct {
		name string
		h    http.Header
		want []string // substrings, one problem each, in order
	}{
		{"no cache-control", http.Header{}, []string{"no Cache-Control"}},
		{"no-cache and private lack no-store", http.Header{"Cache-Control": {"no-cache, private"}}, []string{"`no-cache, private` lacks no-store"}},
		{"no-store lacks private", http.Header{"Cache-Control": {"no-store"}}, []string{"lacks private"}},
		{"public lacks both", http.Header{"Cache-Control": {"public, max-age=60"}}, []string{"lacks private and no-store"}},
		{"invalid", http.Header{"Cache-Control": {"private, no-store, max-age=x"}}, []string{"does not parse"}},
		{"split", http.Header{"Cache-Control": {"private", "no-store"}}, []string{"split over 2 lines"}},
		{"qualified", http.Header{"Cache-Control": {`private="Set-Cookie", no-store`}}, []string{"lacks private", "qualifies"}},
		{"surrogate max-age", http.Header{"Cache-Control": {"private, no-store"}, "Surrogate-Control": {"max-age=60"}},
			[]string{"Surrogate-Control `max-age=60` lets Varnish's builtin VCL and Fastly store it"}},
		{"vercel", http.Header{"Cache-Control": {"private, no-store"}, "Vercel-Cdn-Cache-Control": {"max-age=60"}},
			[]string{"Vercel-Cdn-Cache-Control `max-age=60`"}},
		{"vendor field under a non-canonical key", http.Header{"Cache-Control": {"private, no-store"}, "netlify-cdn-cache-control": {"max-age=60"}},
			[]string{"Netlify-Cdn-Cache-Control `max-age=60`"}},
	} {
		got := StorageProblems(tc.h)
		ok := len(got) == len(tc.want)
		for i := 0; ok && i < len(got); i++ {
			ok = strings.Contains(strings.ReplaceAll(got[i], `"`, "`"), tc.want[i])
		}
		if !ok {
			t.Errorf("%s: StorageProblems = %q, want one problem containing each of %q", tc.name, got, tc.want)
		}
	}
}
