package fence

import (
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/internal/rfcgrammar"
)

// fuzzConfig is fixed so that the oracle below knows the configuration.
var fuzzConfig = Config{
	IgnoreCookies: []string{"_ga*", "consent"},
	TagHeader:     tagName,
	PrivatePaths:  []string{"/account*"},
	PublicPaths:   []string{"/static/*"},
}

// FuzzClassify runs the rules on arbitrary requests and responses and
// checks them against an oracle written here with the standard library,
// independently of the package's helpers, for the triggers that need no
// judgement. Multi-line headers are given as lines joined by "\n"; an
// empty string means the header is absent. reqHeader and targeted are one
// "Name: value" line each.
//
// The seeds in testdata/fuzz/FuzzClassify cover each rule and each class of
// issue 9; the f.Add seeds below repeat the most important ones so that
// `go test` alone runs them.
func FuzzClassify(f *testing.F) {
	type seed struct {
		auth                        bool
		cookie, setCookie, cc, vary string
		tagged                      bool
		tag                         string
		private, public             bool
		target, contentType         string
		reqHeader, targeted         string
	}
	for _, s := range []seed{
		{target: "/"},
		{auth: true, target: "/"},
		{cookie: "sid=1; _ga=2", target: "/account", contentType: "text/html"},
		{cookie: "_ga=1; consent=yes", cc: "no-cache", target: "/"},
		{cookie: "_ga=1 sid=2", target: "/"},
		{setCookie: "sid=1", public: true, target: "/"},
		{private: true, target: "/me"},
		{cookie: "sid=1", target: "/Account;x=1"},
		{cookie: "sid=1", target: "/STATIC/app.css", contentType: "text/css"},
		{cookie: "sid=1", target: "//static/app.css", contentType: "text/css"},
		{tagged: true, tag: "maybe", cookie: "sid=1", target: "/"},
		{tagged: true, tag: " Public ", cookie: "sid=1", target: "/"},
		{cc: "public, max-age=60\nmax-age=0", target: "/"},
		{cc: "s-maxage=1, stale-while-revalidate", target: "/"},
		{cc: `private="Set-Cookie"`, target: "/"},
		{cc: "max-age=abc", target: "/"},
		{vary: "Accept-Encoding, Cookie", target: "/"},
		{vary: "*", target: "/"},
		{target: "/account;x.css", contentType: "text/html"},
		{target: "/account/x.css", contentType: "text/plain"},
		{target: "/app.js.map", contentType: "application/json"},
		{target: "/?access_token=abc"},
		{target: "/cart;jsessionid=abc"},
		{reqHeader: "X-Api-Key: k", target: "/"},
		{cc: "private", targeted: "Vercel-CDN-Cache-Control: max-age=60", target: "/"},
		{cc: "private", targeted: "Surrogate-Control: no-store;other-device", target: "/"},
	} {
		f.Add(s.auth, s.cookie, s.setCookie, s.cc, s.vary, s.tagged, s.tag, s.private, s.public, s.target, s.contentType, s.reqHeader, s.targeted)
	}
	p, err := New(fuzzConfig)
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, auth bool, cookie, setCookie, cc, vary string, tagged bool, tag string,
		private, public bool, target, contentType, reqHeader, targeted string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(target, "/") {
			return // not a request a server would hand over
		}
		reqHdr := http.Header{}
		if auth {
			reqHdr["Authorization"] = []string{""}
		}
		if cookie != "" {
			reqHdr["Cookie"] = strings.Split(cookie, "\n")
		}
		reqName, reqValue, _ := strings.Cut(reqHeader, ":")
		switch http.CanonicalHeaderKey(reqName) {
		case "Cookie", "Authorization":
			return // those have parameters of their own
		}
		if reqName != "" {
			reqHdr[http.CanonicalHeaderKey(reqName)] = []string{reqValue}
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
		targetedName, targetedValue, _ := strings.Cut(targeted, ":")
		targetedName = http.CanonicalHeaderKey(strings.TrimSpace(targetedName))
		if !strings.HasSuffix(targetedName, "-Cache-Control") && targetedName != "Surrogate-Control" &&
			targetedName != "Edge-Control" && targetedName != "X-Accel-Expires" {
			targetedName = "" // only targeted headers; the others have parameters of their own
		}
		if targetedName != "" {
			resp[targetedName] = []string{strings.TrimSpace(targetedValue)}
		}
		respBefore := resp.Clone()

		req := p.Request(reqHdr, u)
		req.PrivatePath = req.PrivatePath || private
		req.PublicPath = req.PublicPath || public
		rs := p.Classify(&req, 200, resp)

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
		if slices.Contains(DefaultCredentialHeaders(), http.CanonicalHeaderKey(reqName)) {
			musts = append(musts, must{"credential header " + reqName, CredentialHeader})
		}
		if q, err := url.ParseQuery(u.RawQuery); err == nil && q.Has("access_token") {
			musts = append(musts, must{"access_token in the query", CredentialParam})
		}
		if strings.Contains(strings.ToLower(u.Path), ";jsessionid=") {
			musts = append(musts, must{";jsessionid= in the path", CredentialParam})
		}
		if setCookie != "" {
			musts = append(musts, must{"Set-Cookie present", SetCookie})
		}
		if private {
			musts = append(musts, must{"private path", PrivatePath})
		}
		// The private path, as the standard library reads the path: decoded
		// once, cleaned, lower case, path parameters dropped.
		if routed := strings.ToLower(path.Clean(u.Path)); strings.HasPrefix(routed, "/account") ||
			strings.HasPrefix(strings.Split(routed, ";")[0], "/account") {
			musts = append(musts, must{"a form of /account* (" + routed + ")", PrivatePath})
		}
		ccAllValid := true
		for _, line := range ccLines {
			if !rfcgrammar.CacheControlValid(line) {
				ccAllValid = false
				musts = append(musts, must{"Cache-Control " + strconv.Quote(line) + " breaks the RFC 9111 grammar or a directive's argument", CacheControlInvalid})
			}
		}
		// Several valid lines are one list (RFC 9110 §5.3): they conflict
		// when a restriction may be missed by a cache that reads only the
		// first, or when a name repeats; otherwise they must not.
		if len(ccLines) > 1 && ccAllValid {
			var names []string
			for _, line := range ccLines {
				names = append(names, rfcgrammar.DirectiveNames(line)...)
			}
			restricts, repeats := false, len(names) > 16
			seen := map[string]bool{}
			for _, n := range names {
				restricts = restricts || n == "private" || n == "no-store" || n == "no-cache"
				repeats = repeats || seen[n]
				seen[n] = true
			}
			switch {
			case restricts:
				musts = append(musts, must{"a restriction on one of several Cache-Control lines", CacheControlConflict})
			case !repeats && !(seen["public"] && (seen["private"] || seen["no-store"])) && rs.Has(CacheControlConflict):
				t.Errorf("Cache-Control lines %q agree (no restriction, no repeat), but the fence says %s", ccLines, show(rs))
			}
		}
		// Where the grammar accepts a value, the fence must not call it
		// invalid.
		if ccAllValid && rs.Has(CacheControlInvalid) {
			t.Errorf("Cache-Control %q is valid RFC 9111, but the fence says %s", ccLines, show(rs))
		}
		for _, line := range varyLines {
			for _, m := range strings.Split(line, ",") {
				// Members are trimmed of OWS, spaces and tabs (RFC 9110
				// §5.6.3): "\f*" is a member no cache reads as "*".
				if strings.Trim(m, " \t") == "*" {
					musts = append(musts, must{"Vary: *", VaryStar})
				}
			}
		}
		// A Vary on credentials the request did not carry says nothing
		// about this response.
		if cookie == "" && !auth && rs.Has(VaryCredentials) {
			t.Errorf("Vary %q on a request without cookies or Authorization gives %s", varyLines, show(rs))
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
		// A session cookie first in the header, on a path that does not
		// start with /static/ exactly as sent, and without a public tag,
		// must stay fenced.
		if strings.HasPrefix(strings.TrimLeft(cookie, " "), "sid=") && !public && !tagged &&
			!strings.HasPrefix(u.EscapedPath(), "/static/") {
			musts = append(musts, must{"session cookie off the public path", SessionCookie})
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
		if len(musts) == 0 && cookie == "" && reqName == "" && !private && !public && !tagged && cc == "" &&
			vary == "" && contentType == "" && targetedName == "" && !req.CredentialParam && !req.PrivatePath {
			typed := resp.Clone()
			typed.Set("Content-Type", "application/octet-stream")
			if rs := p.Classify(&req, 200, typed); rs != 0 {
				t.Errorf("request and response carry nothing to fence (target %q), got %s", target, show(rs))
			}
		}

		// A public path lifts the cookie rule and nothing else.
		other := req
		other.PublicPath = !req.PublicPath
		rsOther := p.Classify(&other, 200, resp)
		if rs&^reasons(SessionCookie) != rsOther&^reasons(SessionCookie) {
			t.Errorf("public=%v gives %s but public=%v gives %s: only session_cookie may differ",
				req.PublicPath, show(rs), other.PublicPath, show(rsOther))
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
		if ec := resp["Edge-Control"]; len(ec) != 1 || ec[0] != "no-store" {
			t.Errorf("after Rewrite, Edge-Control = %q, want exactly [no-store]", ec)
		}
		for _, name := range []string{"Surrogate-Control", "Cdn-Cache-Control"} {
			if v := resp[name]; len(v) != 1 || v[0] != "no-store" {
				t.Errorf("after Rewrite, %s = %q, want exactly [no-store]", name, v)
			}
		}
		if vendor, ok := strings.CutSuffix(targetedName, "-Cdn-Cache-Control"); ok && vendor != "" {
			if v, ok := resp[targetedName]; ok {
				t.Errorf("after Rewrite, %s = %q, want it removed", targetedName, v)
			}
		}
		if problems := StorageProblems(resp); len(problems) > 0 {
			t.Errorf("after Rewrite, the fence's own judgement finds %q", problems)
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
