package replay

import (
	"regexp"
	"strings"

	nginxconf "github.com/cachefence/cachefence/audit/nginx"
	"github.com/cachefence/cachefence/audit/vcl"
)

// detectSessionCookie returns the name of a cookie on which the
// configuration in file (VCL or nginx) skips the cache, so that the
// replay's session cookie is one the configuration means to protect: in
// VCL, the first name in a regex that an if matches req.http.Cookie
// against when its branch returns (pass); in nginx, the first
// $cookie_NAME in a *_no_cache or *_cache_bypass directive, else the
// first name in a regex matched against $http_cookie in an if or a map.
// It returns "" when there is none. A name that a regex only starts
// ("wordpress_logged_in_") is completed so that the regex matches it.
// A cookie the configuration only keys on (Magento's X-Magento-Vary) is
// no session: each user's value keeps their pages apart.
func detectSessionCookie(file string, data []byte) string {
	var patterns []cookiePattern
	if strings.HasSuffix(file, ".vcl") {
		f, err := vcl.Parse(data)
		if err != nil {
			return ""
		}
		for _, s := range f.Subs {
			patterns = append(patterns, vclCookiePatterns(s.Body)...)
		}
	} else {
		ds, err := nginxconf.Parse(file, data)
		if err != nil {
			return ""
		}
		for _, d := range walkAll(ds) {
			guard := strings.HasSuffix(d.Name, "_no_cache") || strings.HasSuffix(d.Name, "_cache_bypass")
			for i, a := range d.Args {
				if m := nginxCookieVar.FindStringSubmatch(a); m != nil && guard {
					return m[1]
				}
				cookie := strings.Contains(strings.ToLower(a), "$http_cookie")
				switch {
				case cookie && d.Name == "if" && i+2 < len(d.Args) && strings.HasPrefix(d.Args[i+1], "~"):
					patterns = append(patterns, cookiePattern{strings.TrimSuffix(d.Args[i+2], ")"), d.Args[i+1] == "~*"})
				case cookie && d.Name == "map" && i == 0:
					for _, entry := range d.Block {
						if re, ok := strings.CutPrefix(entry.Name, "~"); ok {
							fold := strings.HasPrefix(re, "*")
							patterns = append(patterns, cookiePattern{strings.TrimPrefix(re, "*"), fold})
						}
					}
				}
			}
		}
	}
	for _, p := range patterns {
		if name := p.name(); name != "" {
			return name
		}
	}
	return ""
}

var (
	nginxCookieVar = regexp.MustCompile(`\$\{?cookie_([A-Za-z0-9_]+)`)
	vclCookieMatch = regexp.MustCompile(`(?i)req\.http\.cookie\s*(~)\s*"([^"]*)"`)
	literalRun     = regexp.MustCompile(`[A-Za-z0-9_-]{3,}`)
)

// cookiePattern is a regex a configuration matches the Cookie header
// against.
type cookiePattern struct {
	re   string
	fold bool
}

func vclCookiePatterns(body []*vcl.Stmt) []cookiePattern {
	var out []cookiePattern
	for _, st := range body {
		for _, br := range st.Branches {
			if returnsPass(br.Body) {
				for _, m := range vclCookieMatch.FindAllStringSubmatch(br.Cond, -1) {
					// VCL regexes are PCRE, matched without regard to
					// case only when they say (?i).
					out = append(out, cookiePattern{m[2], false})
				}
			}
			out = append(out, vclCookiePatterns(br.Body)...)
		}
	}
	return out
}

// returnsPass says whether a branch's own statements return (pass).
func returnsPass(body []*vcl.Stmt) bool {
	for _, st := range body {
		if st.Kind == vcl.Return && strings.EqualFold(st.Target, "pass") {
			return true
		}
	}
	return false
}

// name returns a cookie name the pattern matches, made of a literal in
// it (completed when the regex wants more), or "".
func (p cookiePattern) name() string {
	re := p.re
	if p.fold {
		re = "(?i)" + re
	}
	compiled, err := regexp.Compile(re)
	for _, literal := range literalRun.FindAllString(p.re, -1) {
		if err != nil {
			return literal // a PCRE Go cannot read: its first literal is the best guess
		}
		for _, cand := range []string{literal, literal + "0", literal + "a", literal + "x1"} {
			if compiled.MatchString(cand + "=x") {
				return cand
			}
		}
	}
	return ""
}
