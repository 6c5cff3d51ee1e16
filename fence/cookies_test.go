package fence

import (
	"net/http"
	"strings"
	"testing"
)

// TestCookiesAsFrameworksReadThem: a cookie the fence reads as ignored or
// absent must not be one that some framework reads as a session cookie.
// Each case is what a framework's own parser does, from its source (cited)
// and, where marked [run], checked by running the parser (PHP 8.2,
// CPython 3.11, Django 3.2, Rack 2.2, Go 1.26).
func TestCookiesAsFrameworksReadThem(t *testing.T) {
	sessions := Config{SessionCookies: []string{"sessionid", "sess_id", "PHPSESSID", "ASP.NET_SessionId"}}
	ignoring := Config{IgnoreCookies: []string{"_ga*", "consent", "theme"}}
	for _, tc := range []struct {
		name   string
		config Config
		cookie string
		want   bool
	}{
		// Separators. Python's http.cookies ends a pair at whitespace
		// (cpython Lib/http/cookies.py _CookiePattern: `\s*(\s+|;|$)`)
		// [run: "a=1 b=2" gives a and b]; ASP.NET Core splits on ";" and
		// "," (dotnet/aspnetcore src/Http/Shared/CookieHeaderParserShared.cs
		// GetNextNonEmptyOrWhitespaceIndex); Tomcat's LegacyCookieProcessor
		// and Rack before 2.2.3 (parse_query(header, ';,')) too.
		{"python: space-separated pair", sessions, "_ga=1 sessionid=2", true},
		{"python: tab-separated pair", ignoring, "_ga=1\tsid=2", true},
		{"aspnet core: comma-separated pair", sessions, "_ga=1, sessionid=2", true},
		{"aspnet core: comma without space", ignoring, "theme=dark,sid=2", true},
		{"a space inside a value is not a pair", ignoring, "consent=yes please", false},

		// Names PHP rewrites (php-src main/php_variables.c
		// php_register_variable_ex: ' ' and '.' become '_', '[' starts an
		// array key or becomes '_'; leading white space is dropped)
		// [run: sess.id, "sess id", "sess[id" all read as sess_id].
		{"php: dot", sessions, "sess.id=1", true},
		{"php: inner space", sessions, "sess id=1", true},
		{"php: open bracket", sessions, "sess[id=1", true},
		{"php: array key", sessions, "PHPSESSID[x]=1", true},
		{"php: leading tab", sessions, "_ga=1;\tPHPSESSID=1", true},
		{"php: trailing space becomes _", Config{SessionCookies: []string{"sid_"}}, "sid =1", true},
		{"php: ASP.NET_SessionId read under its mangled name", Config{SessionCookies: []string{"ASP_NET_SessionId"}}, "ASP.NET_SessionId=1", true},

		// Python's str.strip in Django (django/http/cookie.py parse_cookie
		// key.strip()) and Werkzeug >= 2.3 removes Unicode white space
		// from a Latin-1 header [run: "\xa0sessionid", "\x85sessionid",
		// "\x1csessionid" all read as sessionid].
		{"django: no-break space", sessions, "\xa0sessionid=1", true},
		{"django: next line", sessions, "\x85sessionid=1", true},
		{"django: file separator", sessions, "\x1csessionid=1", true},
		{"django: trailing no-break space", sessions, "sessionid\xa0=1", true},

		// Percent-decoded names: PHP before the CVE-2020-7070 fix and Rack
		// before 2.2.3 decoded cookie names.
		{"old php and rack: encoded name", sessions, "%73essionid=1", true},
		{"old php and rack: plus as space", Config{SessionCookies: []string{"sess id"}}, "sess+id=1", true},

		// ASP.NET Core skips an invalid pair one character at a time and
		// finds a valid one inside it (CookieHeaderParserShared.TryParseValues:
		// "Skip the invalid values and keep trying. index++").
		{"aspnet core: resynchronises after an invalid character", sessions, "a@sessionid=1", true},
		{"aspnet core: in ignore mode", ignoring, "_ga@sid=1", true},

		// ASP.NET (System.Web HttpCookieCollection, OrdinalIgnoreCase) and
		// ASP.NET Core (RequestCookieCollection, OrdinalIgnoreCase) look
		// names up without regard to case; Jetty's session lookup too
		// (AbstractSessionManager equalsIgnoreCase).
		{"aspnet: case folded", sessions, "asp.net_sessionid=1", true},
		{"aspnet: upper case", sessions, "SESSIONID=1", true},

		// A pair without '=' has no name to compare: it identifies.
		{"no equals sign", ignoring, "_ga=1; garbage", true},
		{"empty name", ignoring, "=value", true},
		{"blank name", ignoring, " =value", true},

		// What stays shared.
		{"ignored cookies only", ignoring, "_ga=GA1.2.3; _ga_x=1, consent=yes", false},
		{"ignored cookies with spaces and a trailing separator", ignoring, "  _ga = 1 ;   consent=2  ; ", false},
		{"ignore globs are exact: case matters", ignoring, "_GA=1", true},
		{"no session cookie among several pairs", sessions, "_ga=1; theme=dark;  lang=en ", false},
		{"a value that looks like a pair is not one", sessions, "prefs=sessionid=1", false},
		{"base64 padding in a value", ignoring, "consent=eyJhIjoxfQ==", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPolicy(t, tc.config)
			req := requestTo(t, p, http.Header{"Cookie": {tc.cookie}}, "/")
			if req.IdentifyingCookie != tc.want {
				t.Errorf("Cookie %q: IdentifyingCookie = %v, want %v (forms of each name: %q)", tc.cookie, req.IdentifyingCookie, tc.want, namesOf(tc.cookie))
			}
			if len(namesOf(tc.cookie)) == 0 {
				t.Errorf("Cookie %q: no pair read", tc.cookie)
			}
		})
	}
}

func namesOf(cookie string) [][5]string {
	var forms [][5]string
	for name := range cookiePairs([]string{cookie}) {
		forms = append(forms, cookieNameForms(name))
	}
	return forms
}

func TestCookieLines(t *testing.T) {
	ignoring := newPolicy(t, Config{IgnoreCookies: []string{"_ga*"}})
	for _, tc := range []struct {
		name        string
		lines       []string
		pairs       int
		identifying bool
	}{
		{"no cookie header", nil, 0, false},
		{"empty cookie header", []string{""}, 0, false},
		{"only separators", []string{" ; ;;  "}, 0, false},
		// HTTP/2 clients may split Cookie into several fields.
		{"unknown cookie on a second line", []string{"_ga=1", "sid=2"}, 2, true},
		{"ignored cookies on two lines", []string{"_ga=1", "_gat=2"}, 2, false},
	} {
		h := http.Header{}
		if tc.lines != nil {
			h["Cookie"] = tc.lines
		}
		req := requestTo(t, ignoring, h, "/")
		pairs := 0
		for range cookiePairs(tc.lines) {
			pairs++
		}
		if pairs != tc.pairs || req.IdentifyingCookie != tc.identifying {
			t.Errorf("%s: %d pairs, IdentifyingCookie=%v; want %d, %v", tc.name, pairs, req.IdentifyingCookie, tc.pairs, tc.identifying)
		}
	}
}

func TestCredentialsInRequests(t *testing.T) {
	p := newPolicy(t, Config{})
	for _, tc := range []struct {
		target          string
		header          http.Header
		byHeader, byURL bool
	}{
		{"/", http.Header{"X-Api-Key": {"k"}}, true, false},
		{"/", http.Header{"Cf-Access-Jwt-Assertion": {"eyJ"}}, true, false},
		{"/", http.Header{"X-Forwarded-Client-Cert": {"By=...;Hash=..."}}, true, false},
		{"/", http.Header{"X-Request-Id": {"1"}, "Accept": {"*/*"}}, false, false},
		// CGI and FastCGI read "_" as "-": PHP sees HTTP_X_API_KEY.
		{"/", http.Header{"X_api_key": {"k"}}, true, false},
		{"/", http.Header{"Remote_user": {"alice"}}, true, false},
		{"/", http.Header{"X_request_id": {"1"}}, false, false},
		{"/api/me?access_token=t", nil, false, true},
		{"/api/me?ACCESS_TOKEN=t", nil, false, true},
		{"/api/me?access%5Ftoken=t", nil, false, true},
		{"/api/me?access.token=t", nil, false, true},                   // PHP reads it as access_token
		{"/api/me?access_token[]=t", nil, false, true},                 // PHP array
		{"/api/me?access_token%00x=t", nil, false, true},               // PHP ends the name at a NUL
		{"/api/me?x=1;access_token=t", nil, false, true},               // ";" separates in Rack 2
		{"/api/me?x=1&apikey=k", nil, false, true},                     // Kong
		{"/api/me?subscription-key=k", nil, false, true},               // Azure API Management
		{"/cart;jsessionid=ABC", nil, false, true},                     // servlet URL rewriting
		{"/cart;JSESSIONID=ABC/x", nil, false, true},                   //
		{"/cart%3Bjsessionid=ABC", nil, false, true},                   // decoded path
		{"/cart?PHPSESSID=abc", nil, false, true},                      // PHP use_trans_sid
		{"/(S(lit3py55t21z5v55vlm25s55))/page.aspx", nil, false, true}, // ASP.NET cookieless
		{"/reset?token=abc", nil, false, true},
		{"/search?q=token", nil, false, false},
		{"/items?tokens=3", nil, false, false},
		{"/items;v=2", nil, false, false},
		{"/", nil, false, false},
	} {
		req := requestTo(t, p, tc.header, tc.target)
		if req.CredentialHeader != tc.byHeader || req.CredentialParam != tc.byURL {
			t.Errorf("%q %v: CredentialHeader=%v CredentialParam=%v, want %v %v", tc.target, tc.header, req.CredentialHeader, req.CredentialParam, tc.byHeader, tc.byURL)
		}
	}
	// Handlers inside the chain may add credentials after Request read
	// them (forward_auth's copy_headers): Recheck adds them.
	req := requestTo(t, p, http.Header{"Accept": {"*/*"}}, "/")
	p.Recheck(&req, http.Header{"Accept": {"*/*"}})
	if req.CredentialHeader || req.Authorization {
		t.Errorf("Recheck found credentials in a request without any: %+v", req)
	}
	p.Recheck(&req, http.Header{"Remote-User": {"alice"}, "Authorization": {"Basic x"}})
	if !req.CredentialHeader || !req.Authorization {
		t.Errorf("Recheck missed the credentials added since: %+v", req)
	}
	p.Recheck(&req, http.Header{})
	if !req.CredentialHeader || !req.Authorization {
		t.Errorf("Recheck forgot the credentials the client sent: %+v", req)
	}
	// forward_auth removes the client's copy of a header it copies and adds
	// what the auth server returned: as many headers as before.
	req = requestTo(t, p, http.Header{"X-Tenant": {"spoofed"}}, "/")
	p.Recheck(&req, http.Header{"Remote-User": {"alice"}})
	if !req.CredentialHeader {
		t.Errorf("Recheck missed a credential header that replaced another: %+v", req)
	}

	// A configured list replaces the defaults.
	custom := newPolicy(t, Config{CredentialHeaders: []string{"X-Tenant-Token"}, CredentialParams: []string{"sig"}})
	if req := requestTo(t, custom, http.Header{"X-Api-Key": {"k"}}, "/?access_token=t"); req.CredentialHeader || req.CredentialParam {
		t.Errorf("defaults still apply under a configured list: %+v", req)
	}
	if req := requestTo(t, custom, http.Header{"X-Tenant-Token": {"k"}}, "/?SIG=1"); !req.CredentialHeader || !req.CredentialParam {
		t.Errorf("configured names not seen: %+v", req)
	}
}

// Every spelling of a credential header that an origin reads as it counts,
// whatever the filter in front of the map lookup. Names without "_" are
// tried as net/http stores them, canonical; names with "_" in any case,
// since isCredentialHeader canonicalizes those itself.
func TestCredentialHeaderSpellings(t *testing.T) {
	p := newPolicy(t, Config{})
	for _, name := range DefaultCredentialHeaders() {
		under := strings.ReplaceAll(name, "-", "_")
		for _, key := range []string{name, under, http.CanonicalHeaderKey(under), strings.ToUpper(under), strings.ToLower(under)} {
			if !strings.Contains(key, "_") {
				key = http.CanonicalHeaderKey(key)
			}
			if !p.isCredentialHeader(key) {
				t.Errorf("isCredentialHeader(%q) = false (a spelling of %s)", key, name)
			}
		}
	}
	for _, key := range []string{"Accept", "Accept-Encoding", "Accept-Language", "User-Agent", "Referer", "Cookie",
		"If-None-Match", "Sec-Fetch-Mode", "Upgrade-Insecure-Requests", "X-Request-Id", "Authorization", ""} {
		if p.isCredentialHeader(key) {
			t.Errorf("isCredentialHeader(%q) = true", key)
		}
	}
}
