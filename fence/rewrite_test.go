package fence

import (
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// wantRewritten is the header set a fenced response must leave with,
// written out here rather than read from the package so that a change to
// fencedHeaders shows up as a test failure: the headers always sent, and
// those removed ("").
var wantRewritten = map[string]string{
	"Cache-Control":                "private, no-store",
	"Surrogate-Control":            "no-store",
	"Cdn-Cache-Control":            "no-store",
	"Edge-Control":                 "no-store",
	"X-Accel-Expires":              "0",
	"Cloudflare-Cdn-Cache-Control": "",
}

// wantReplaced are sent only in place of an origin's value.
var wantReplaced = map[string]string{
	"Expires": "0",
	"Pragma":  "no-cache",
}

func TestRewrite(t *testing.T) {
	t.Run("replaces conflicting lines", func(t *testing.T) {
		h := http.Header{}
		h.Add("Cache-Control", "public, max-age=3600")
		h.Add("Cache-Control", "s-maxage=86400")
		h.Add("CDN-Cache-Control", "max-age=600")
		h.Add("Cloudflare-CDN-Cache-Control", "max-age=600")
		h.Add("X-Accel-Expires", "3600")
		h.Add("Expires", "Fri, 01 Jan 2100 00:00:00 GMT")
		h.Add("Surrogate-Control", "max-age=3600")
		h.Add("Edge-Control", "!no-store")
		h.Add("Edge-Control", "cache-maxage=1h")
		h.Add("Pragma", "public")
		h.Add("Set-Cookie", "sid=abc; Path=/; HttpOnly")
		h.Add("Set-Cookie", "theme=dark; Path=/")
		h.Add("Content-Type", "text/html; charset=utf-8")
		h.Add("Vary", "Accept-Encoding")
		h.Add("ETag", `"v1"`)

		Rewrite(h)

		checkRewritten(t, h, true)
		if got, want := h["Set-Cookie"], []string{"sid=abc; Path=/; HttpOnly", "theme=dark; Path=/"}; !slices.Equal(got, want) {
			t.Errorf("Set-Cookie after Rewrite = %q, want %q (untouched)", got, want)
		}
		for k, want := range map[string]string{"Content-Type": "text/html; charset=utf-8", "Vary": "Accept-Encoding", "Etag": `"v1"`} {
			if got := h[k]; !slices.Equal(got, []string{want}) {
				t.Errorf("%s after Rewrite = %q, want [%q] (untouched)", k, got, want)
			}
		}
		// Nothing else appears: only the controlled headers and the
		// untouched ones.
		want := []string{"Cache-Control", "Cdn-Cache-Control", "Content-Type", "Edge-Control", "Etag", "Expires", "Pragma", "Set-Cookie", "Surrogate-Control", "Vary", "X-Accel-Expires"}
		if got := slices.Sorted(maps.Keys(h)); !slices.Equal(got, want) {
			t.Errorf("header names after Rewrite = %q, want %q", got, want)
		}
	})

	t.Run("empty header", func(t *testing.T) {
		h := http.Header{}
		Rewrite(h)
		checkRewritten(t, h, false)
		if want := []string{"Cache-Control", "Cdn-Cache-Control", "Edge-Control", "Surrogate-Control", "X-Accel-Expires"}; !slices.Equal(slices.Sorted(maps.Keys(h)), want) {
			t.Errorf("Rewrite of an empty header set %q, want %q", slices.Sorted(maps.Keys(h)), want)
		}
	})

	t.Run("every vendor's targeted field", func(t *testing.T) {
		h := http.Header{
			"Vercel-Cdn-Cache-Control":  {"max-age=3600"},
			"Netlify-Cdn-Cache-Control": {"public, s-maxage=60", "durable"},
			"Cache-Control":             {"private"},
		}
		Rewrite(h)
		checkRewritten(t, h, false)
		for _, name := range []string{"Vercel-Cdn-Cache-Control", "Netlify-Cdn-Cache-Control"} {
			if got, ok := h[name]; ok {
				t.Errorf("%s after Rewrite = %q, want it removed", name, got)
			}
		}
	})

	t.Run("idempotent", func(t *testing.T) {
		h := http.Header{"Cache-Control": {"public"}, "Expires": {"0"}, "Pragma": {"public"}}
		Rewrite(h)
		Rewrite(h)
		checkRewritten(t, h, true)
	})

	t.Run("a rewritten response is unstorable by the fence's own judgement", func(t *testing.T) {
		// The rewrite must not itself produce something the fence would
		// call ambiguous or storing if it saw it again (for example behind
		// a second fence).
		h := http.Header{"Cache-Control": {"public", "max-age=abc"}, "Surrogate-Control": {"max-age=60"}}
		Rewrite(h)
		if rs := newPolicy(t, Config{}).Classify(&Request{Path: "/"}, 200, h); rs != 0 {
			t.Errorf("Classify(rewritten headers) = %s, want shared", show(rs))
		}
		if problems := StorageProblems(h); len(problems) != 0 {
			t.Errorf("StorageProblems(rewritten headers) = %q", problems)
		}
	})
}

// Apply keeps the rewritten values with the request: a handler that later
// changes a fenced header in place, or appends to it, changes that
// response only.
func TestApplyValuesAreNotShared(t *testing.T) {
	p := newPolicy(t, Config{})
	fence := func() http.Header {
		req := requestTo(t, p, http.Header{"Cookie": {"sid=a"}}, "/")
		h := http.Header{"Expires": {"Thu, 01 Jan 2099 00:00:00 GMT"}, "Pragma": {""}}
		if rs := p.Apply(&req, 0, 200, h); !rs.Fenced() {
			t.Fatalf("not fenced: %s", rs)
		}
		return h
	}
	first := fence()
	first["Cache-Control"][0] = "public, max-age=3600" // in place
	first["Expires"] = append(first["Expires"], "tomorrow")
	first["Edge-Control"][0] = "!no-store"
	second := fence()
	checkRewritten(t, second, true)
	if got := second["Expires"]; len(got) != 1 {
		t.Errorf("Expires of the next response = %q: an append leaked into it", got)
	}
}

// checkRewritten asserts exactly one line of each header always sent with
// its expected value, no line of the removed ones, and, when replaced is
// set (the response had Expires and Pragma), their replacements.
func checkRewritten(t *testing.T, h http.Header, replaced bool) {
	t.Helper()
	for k, want := range wantRewritten {
		got, ok := h[k]
		switch {
		case want == "" && ok:
			t.Errorf("%s after Rewrite = %q, want it removed", k, got)
		case want != "" && (len(got) != 1 || got[0] != want):
			t.Errorf("%s after Rewrite = %q, want exactly [%q]", k, got, want)
		}
	}
	for k, want := range wantReplaced {
		if got := h[k]; replaced && (len(got) != 1 || got[0] != want) {
			t.Errorf("%s after Rewrite = %q, want exactly [%q]", k, got, want)
		}
	}
}

// The table behind Rewrite must use canonical names, or Rewrite would add a
// second line next to one added with Header.Add.
func TestFencedHeadersTable(t *testing.T) {
	if len(fencedHeaders) != len(wantRewritten)+len(wantReplaced) {
		t.Fatalf("Rewrite controls %d headers, want %d", len(fencedHeaders), len(wantRewritten)+len(wantReplaced))
	}
	seen := map[string]bool{}
	for _, f := range fencedHeaders {
		want, always := wantRewritten[f.name]
		if !always {
			want = wantReplaced[f.name]
		}
		if want != f.value || f.always != (always && want != "") {
			t.Errorf("entry %q: %q (always %v), want %q (always %v)", f.name, f.value, f.always, want, always && want != "")
		}
		if f.name != http.CanonicalHeaderKey(f.name) {
			t.Errorf("name %q is not canonical", f.name)
		}
		if seen[f.name] {
			t.Errorf("%q listed twice", f.name)
		}
		seen[f.name] = true
	}
}

// TestAltered: after Rewrite, any change that a cache would read as leave
// to store is reported, naming the header; other headers do not matter.
func TestAltered(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(http.Header)
		want   string
	}{
		{"untouched", func(http.Header) {}, ""},
		{"a cookie set afterwards", func(h http.Header) { h.Add("Set-Cookie", "a=1") }, ""},
		{"Cache-Control replaced", func(h http.Header) { h.Set("Cache-Control", "public, max-age=600") }, "Cache-Control"},
		{"Cache-Control added to", func(h http.Header) { h.Add("Cache-Control", "max-age=600") }, "Cache-Control"},
		{"Cache-Control removed", func(h http.Header) { h.Del("Cache-Control") }, "Cache-Control"},
		{"CDN-Cache-Control replaced", func(h http.Header) { h.Set("CDN-Cache-Control", "max-age=600") }, "Cdn-Cache-Control"},
		{"CDN-Cache-Control removed", func(h http.Header) { h.Del("CDN-Cache-Control") }, "Cdn-Cache-Control"},
		{"Surrogate-Control replaced", func(h http.Header) { h.Set("Surrogate-Control", "max-age=600") }, "Surrogate-Control"},
		{"Surrogate-Control added to", func(h http.Header) { h.Add("Surrogate-Control", `content="ESI/1.0"`) }, "Surrogate-Control"},
		{"Cloudflare-CDN-Cache-Control re-added", func(h http.Header) { h.Set("Cloudflare-CDN-Cache-Control", "max-age=600") }, "Cloudflare-Cdn-Cache-Control"},
		{"a vendor's CDN-Cache-Control", func(h http.Header) { h.Set("Vercel-CDN-Cache-Control", "max-age=600") }, "Vercel-Cdn-Cache-Control"},
		{"a non-canonical key", func(h http.Header) { h["cdn-cache-control"] = []string{"max-age=600"} }, "cdn-cache-control"},
		{"Edge-Control removed", func(h http.Header) { h.Del("Edge-Control") }, "Edge-Control"},
		{"X-Accel-Expires changed", func(h http.Header) { h.Set("X-Accel-Expires", "600") }, "X-Accel-Expires"},
		{"a future Expires", func(h http.Header) { h.Set("Expires", "Thu, 01 Jan 2099 00:00:00 GMT") }, "Expires"},
		{"a Pragma added", func(h http.Header) { h.Set("Pragma", "public") }, "Pragma"},
		{"a header removed and a targeted one added", func(h http.Header) {
			h.Del("Content-Type")
			h.Set("Vercel-CDN-Cache-Control", "max-age=600")
		}, "Vercel-Cdn-Cache-Control"},
		{"two changes: the first fenced header is named", func(h http.Header) {
			h.Set("Netlify-CDN-Cache-Control", "max-age=600")
			h.Set("X-Accel-Expires", "600")
			h.Set("Cache-Control", "public")
		}, "Cache-Control"},
	} {
		h := http.Header{"Expires": {"Thu, 01 Jan 1970 00:00:00 GMT"}, "Content-Type": {"text/html"}}
		Rewrite(h)
		if got := Altered(h); got != "" {
			t.Fatalf("Altered right after Rewrite = %q", got)
		}
		tc.change(h)
		if got := Altered(h); got != tc.want {
			t.Errorf("%s: Altered = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// The walks of canonicalize and Altered look closer only at names that
// end like a caching header: every fenced and targeted name must.
func TestEndsLikeCachingHeader(t *testing.T) {
	for _, f := range fencedHeaders {
		for _, name := range []string{f.name, strings.ToLower(f.name), strings.ToUpper(f.name)} {
			if !endsLikeCachingHeader(name) {
				t.Errorf("endsLikeCachingHeader(%q) = false", name)
			}
		}
	}
	if !endsLikeCachingHeader("Vercel" + vendorTargetedSuffix) {
		t.Error("a vendor's targeted header is not looked at")
	}
	for _, name := range []string{"Content-Type", "Via", "Set-Cookie", "Vary", "Control-X"} {
		if endsLikeCachingHeader(name) {
			t.Errorf("endsLikeCachingHeader(%q) = true", name)
		}
	}
}

// TestPolicyFence: the fail-closed path drops the tag and an origin's
// forged stamp, like Apply.
func TestPolicyFence(t *testing.T) {
	p := newPolicy(t, Config{TagHeader: "X-Tag", StampKey: []byte("0123456789abcdef0123456789abcdef")})
	h := http.Header{"X-Tag": {"public"}, DefaultStampHeader: {"v1.forged"}, "Cache-Control": {"public, max-age=60"}}
	p.Fence(h)
	if _, ok := h["X-Tag"]; ok {
		t.Error("the tag header was left")
	}
	if _, ok := h[DefaultStampHeader]; ok {
		t.Error("the origin's stamp was left")
	}
	if got := Altered(h); got != "" || h.Get("Cache-Control") != "private, no-store" {
		t.Errorf("not fenced: %v (Altered %q)", h, got)
	}
}

func TestCanonicalize(t *testing.T) {
	h := http.Header{
		"set-cookie":    {"a=1"},
		"Set-Cookie":    {"b=2"},
		"cache-control": {"public, max-age=600"},
		"Content-Type":  {"text/html"},
	}
	canonicalize(h)
	if got := h["Set-Cookie"]; len(got) != 2 {
		t.Errorf("Set-Cookie = %q, want both lines", got)
	}
	if got := h["Cache-Control"]; len(got) != 1 || got[0] != "public, max-age=600" {
		t.Errorf("Cache-Control = %q", got)
	}
	for k := range h {
		if k != http.CanonicalHeaderKey(k) {
			t.Errorf("non-canonical key %q left", k)
		}
	}
	if rs := newPolicy(t, Config{}).Classify(&Request{Path: "/"}, 200, h); !rs.Has(SetCookie) {
		t.Errorf("after Canonicalize, Set-Cookie is not seen: %s", rs)
	}
}

// isCanonicalKey must never call a key canonical that CanonicalHeaderKey
// would change: canonicalize would then leave a "set-cookie" unseen.
func TestIsCanonicalKey(t *testing.T) {
	for _, k := range []string{
		"Content-Type", "content-type", "Set-Cookie", "set-Cookie", "SET-COOKIE", "Set-cookie",
		"X-CDN-Cache", "X-Cdn-Cache", "X-1abc", "X-1Abc", "Www-Authenticate", "WWW-Authenticate",
		"A", "a", "-", "--a", "-A", "Bad Key", "bad key", "X_Api_Key", "x_api_key", "", "Ünicode", "\xffA",
		"Cdn-Cache-Control", "cdn-cache-control", "Vercel-CDN-Cache-Control", "Te", "TE",
	} {
		canonical := http.CanonicalHeaderKey(k) == k
		if got := isCanonicalKey(k); got && !canonical {
			t.Errorf("isCanonicalKey(%q) = true, but CanonicalHeaderKey gives %q", k, http.CanonicalHeaderKey(k))
		}
	}
	for k, want := range map[string]bool{"Content-Type": true, "X-1abc": true, "content-type": false, "X-CDN-Cache": false} {
		if got := isCanonicalKey(k); got != want {
			t.Errorf("isCanonicalKey(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestReasons(t *testing.T) {
	t.Run("empty set", func(t *testing.T) {
		var rs Reasons
		if rs.Fenced() || rs.Verdict() != "shared" || rs.String() != "" || len(rs.Names()) != 0 || len(rs.List()) != 0 {
			t.Errorf("zero Reasons: Fenced=%v Verdict=%q String=%q Names=%q List=%v, want false, shared, empty",
				rs.Fenced(), rs.Verdict(), rs.String(), rs.Names(), rs.List())
		}
	})

	t.Run("names in report order whatever the insertion order", func(t *testing.T) {
		rs := Reasons(0).With(PathConfusion).With(Authorization).With(VaryStar).With(SetCookie)
		wantNames := []string{"authorization", "set_cookie", "vary_star", "path_confusion"}
		if got := rs.Names(); !slices.Equal(got, wantNames) {
			t.Errorf("Names() = %q, want %q", got, wantNames)
		}
		if got, want := rs.String(), "authorization,set_cookie,vary_star,path_confusion"; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
		if got, want := rs.List(), []Reason{Authorization, SetCookie, VaryStar, PathConfusion}; !slices.Equal(got, want) {
			t.Errorf("List() = %v, want %v", got, want)
		}
		if !rs.Fenced() || rs.Verdict() != "fenced" {
			t.Errorf("Fenced()=%v Verdict()=%q, want true, fenced", rs.Fenced(), rs.Verdict())
		}
	})

	t.Run("with is idempotent", func(t *testing.T) {
		rs := Reasons(0).With(SessionCookie)
		if rs.With(SessionCookie) != rs {
			t.Errorf("With(SessionCookie) twice = %s, want %s", rs.With(SessionCookie), rs)
		}
	})

	t.Run("each reason alone", func(t *testing.T) {
		for _, r := range AllReasons() {
			rs := Reasons(0).With(r)
			for _, other := range AllReasons() {
				if rs.Has(other) != (other == r) {
					t.Errorf("Reasons{%s}.Has(%s) = %v", r, other, rs.Has(other))
				}
			}
			if got := rs.String(); got != r.String() {
				t.Errorf("Reasons{%s}.String() = %q, want %q", r, got, r.String())
			}
			if !rs.Fenced() || rs.Verdict() != "fenced" {
				t.Errorf("Reasons{%s}: Fenced()=%v Verdict()=%q, want fenced", r, rs.Fenced(), rs.Verdict())
			}
		}
	})

	t.Run("all reasons", func(t *testing.T) {
		all := AllReasons()
		snake := regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)
		names := map[string]bool{}
		var set Reasons
		for i, r := range all {
			if r != Reason(i) {
				t.Errorf("AllReasons()[%d] = %d, want report order", i, r)
			}
			name := r.String()
			if !snake.MatchString(name) {
				t.Errorf("Reason(%d).String() = %q, want snake_case", r, name)
			}
			if name == "unknown" {
				t.Errorf("Reason(%d) has no name", r)
			}
			if names[name] {
				t.Errorf("name %q used by two reasons", name)
			}
			names[name] = true
			set = set.With(r)
		}
		if len(names) != len(all) {
			t.Errorf("AllReasons() has %d reasons but %d distinct names", len(all), len(names))
		}
		// Names of the full set are the names of AllReasons, in order.
		wantNames := make([]string, len(all))
		for i, r := range all {
			wantNames[i] = r.String()
		}
		if got := set.Names(); !slices.Equal(got, wantNames) {
			t.Errorf("Names() of every reason = %q, want %q", got, wantNames)
		}
		// Every name the rules emit must be in the list, and the list is
		// the one the metrics document.
		for _, want := range []string{
			"authorization", "credential_header", "credential_param", "session_cookie", "set_cookie", "set_credential", "private_path", "private_tag",
			"vary_credentials", "cache_control_invalid", "cache_control_conflict",
			"cache_control_qualified", "vary_star", "targeted_override", "tag_invalid",
			"path_confusion", "error_response", "internal_error",
		} {
			if !names[want] {
				t.Errorf("AllReasons() lacks %q", want)
			}
		}
		if len(all) != 18 {
			t.Errorf("len(AllReasons()) = %d, want 18", len(all))
		}
		// A Reasons is a uint32 bit set; every reason must fit.
		if len(all) > 32 {
			t.Errorf("%d reasons do not fit in a 32-bit Reasons", len(all))
		}
		if got := Reason(len(all)).String(); got != "unknown" {
			t.Errorf("Reason(%d).String() = %q, want unknown", len(all), got)
		}
	})
}
