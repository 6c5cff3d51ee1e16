package fence

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pquerna/cachecontrol/cacheobject"
)

// fuzzPolicy is fixed so that the oracle below knows the configuration.
var fuzzPolicy = Policy{IgnoreCookies: []string{"_ga*", "consent"}, TagHeader: tagName}

// FuzzClassify runs the rules on arbitrary headers and checks them against
// a small oracle written here, independently of the package's helpers, for
// the triggers that need no judgement. Multi-line headers are given as
// lines joined by "\n"; an empty string means the header is absent.
//
// The seeds in testdata/fuzz/FuzzClassify cover each rule; the f.Add seeds
// below repeat the most important ones so that `go test` alone runs them.
func FuzzClassify(f *testing.F) {
	type seed struct {
		auth                        bool
		cookie, setCookie, cc, vary string
		tagged                      bool
		tag                         string
		private, public             bool
		path, contentType           string
	}
	for _, s := range []seed{
		{path: "/"},
		{auth: true, path: "/"},
		{cookie: "sid=1; _ga=2", path: "/account", contentType: "text/html"},
		{cookie: "_ga=1; consent=yes", cc: "no-cache", path: "/"},
		{setCookie: "sid=1", public: true, path: "/"},
		{private: true, path: "/me"},
		{tagged: true, tag: "maybe", cookie: "sid=1", path: "/"},
		{tagged: true, tag: " Public ", cookie: "sid=1", path: "/"},
		{cc: "public, max-age=60\nmax-age=0", path: "/"},
		{cc: "max-age=60, max-age=0", path: "/"},
		{cc: `private="Set-Cookie"`, path: "/"},
		{cc: "max-age=abc", path: "/"},
		{vary: "Accept-Encoding, Cookie", path: "/"},
		{vary: "*", path: "/"},
		{path: "/account;x.css", contentType: "text/html"},
		{path: "/api/x.json", contentType: "application/problem+json"},
	} {
		f.Add(s.auth, s.cookie, s.setCookie, s.cc, s.vary, s.tagged, s.tag, s.private, s.public, s.path, s.contentType)
	}

	f.Fuzz(func(t *testing.T, auth bool, cookie, setCookie, cc, vary string, tagged bool, tag string,
		private, public bool, urlPath, contentType string) {
		reqHdr := http.Header{}
		if auth {
			reqHdr["Authorization"] = []string{""}
		}
		if cookie != "" {
			reqHdr["Cookie"] = strings.Split(cookie, "\n")
		}
		resp := http.Header{}
		if setCookie != "" {
			resp["Set-Cookie"] = []string{setCookie}
		}
		var ccLines, varyLines []string
		if cc != "" {
			ccLines = strings.Split(cc, "\n")
			resp["Cache-Control"] = ccLines
		}
		if vary != "" {
			varyLines = strings.Split(vary, "\n")
			resp["Vary"] = varyLines
		}
		if tagged {
			resp[tagName] = []string{tag}
		}
		if contentType != "" {
			resp["Content-Type"] = []string{contentType}
		}
		respBefore := resp.Clone()

		req := fuzzPolicy.Request(reqHdr, urlPath, private, public)
		rs := fuzzPolicy.Classify(req, 200, resp)

		// Classify is pure: it must not touch the headers it reads.
		if !headersEqual(resp, respBefore) {
			t.Fatalf("Classify modified the response headers: %v, was %v", resp, respBefore)
		}

		// The oracle: each entry is a trigger that must fence, with the
		// reason it must report.
		type must struct {
			why    string
			reason Reason
		}
		var musts []must
		if auth {
			musts = append(musts, must{"Authorization present", Authorization})
		}
		if setCookie != "" {
			musts = append(musts, must{"Set-Cookie present", SetCookie})
		}
		if private {
			musts = append(musts, must{"private path", PrivatePath})
		}
		if len(ccLines) > 1 {
			musts = append(musts, must{"several Cache-Control lines", CacheControlConflict})
		}
		for _, line := range ccLines {
			if _, err := cacheobject.ParseResponseCacheControl(line); err != nil {
				musts = append(musts, must{"Cache-Control " + strconv.Quote(line) + " rejected by cacheobject", CacheControlInvalid})
			}
		}
		for _, line := range varyLines {
			for _, m := range strings.Split(line, ",") {
				m = strings.TrimSpace(m)
				switch {
				case m == "*":
					musts = append(musts, must{"Vary: *", VaryStar})
				case strings.EqualFold(m, "cookie"), strings.EqualFold(m, "authorization"):
					musts = append(musts, must{"Vary names " + m, VaryCredentials})
				}
			}
		}
		if tagged {
			v := strings.TrimSpace(tag)
			switch {
			case strings.EqualFold(v, "private"):
				musts = append(musts, must{"tag private", PrivateTag})
			case strings.EqualFold(v, "public"):
			default:
				musts = append(musts, must{"tag " + strconv.Quote(tag) + " is neither private nor public", TagInvalid})
			}
		}
		for _, m := range musts {
			if !rs.Has(m.reason) {
				t.Errorf("%s: want %s in the reasons, got %s", m.why, m.reason, show(rs))
			}
		}

		// The trivial case must stay shared: nothing personal, nothing
		// ambiguous, so nothing to fence whatever the path. (Without a
		// Content-Type, a static-looking path is ambiguous: net/http would
		// sniff the body as HTML; so the trivial case has a neutral type.)
		if len(musts) == 0 && cookie == "" && !private && !public && !tagged && cc == "" && vary == "" && contentType == "" {
			typed := resp.Clone()
			typed.Set("Content-Type", "application/octet-stream")
			if rs := fuzzPolicy.Classify(req, 200, typed); rs != 0 {
				t.Errorf("request and response carry nothing to fence (path %q), got %s", urlPath, show(rs))
			}
		}

		// A public path lifts the cookie rule and nothing else.
		other := fuzzPolicy.Request(reqHdr, urlPath, private, !public)
		rsOther := fuzzPolicy.Classify(other, 200, resp)
		if rs&^reasons(SessionCookie) != rsOther&^reasons(SessionCookie) {
			t.Errorf("public=%v gives %s but public=%v gives %s: only session_cookie may differ",
				public, show(rs), !public, show(rsOther))
		}
		if public && rs.Has(SessionCookie) {
			t.Errorf("public path still reports session_cookie: %s", show(rs))
		}

		// The reason names and verdict must agree with the set.
		if rs.Fenced() != (rs.String() != "") || rs.Fenced() != (rs.Verdict() == "fenced") {
			t.Errorf("inconsistent set: Fenced()=%v String()=%q Verdict()=%q", rs.Fenced(), rs.String(), rs.Verdict())
		}

		if !rs.Fenced() {
			return
		}
		setCookieBefore := slices.Clone(resp["Set-Cookie"])
		Rewrite(resp)
		ccAfter := resp["Cache-Control"]
		if len(ccAfter) != 1 || !hasDirective(ccAfter[0], "private") || !hasDirective(ccAfter[0], "no-store") {
			t.Errorf("after Rewrite, Cache-Control = %q, want one line with private and no-store", ccAfter)
		}
		if sc := resp["Surrogate-Control"]; len(sc) != 1 || sc[0] != "no-store" {
			t.Errorf("after Rewrite, Surrogate-Control = %q, want exactly [no-store]", sc)
		}
		if !slices.Equal(resp["Set-Cookie"], setCookieBefore) {
			t.Errorf("Rewrite changed Set-Cookie from %q to %q", setCookieBefore, resp["Set-Cookie"])
		}
	})
}

// hasDirective reports whether the comma-separated value holds the bare
// directive d, compared the way a cache would (case-insensitive, trimmed).
func hasDirective(value, d string) bool {
	for _, m := range strings.Split(value, ",") {
		if strings.EqualFold(strings.TrimSpace(m), d) {
			return true
		}
	}
	return false
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !slices.Equal(v, w) {
			return false
		}
	}
	return true
}
