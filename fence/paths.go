package fence

import (
	"cmp"
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/cachefence/cachefence/internal/escape"
)

// pathPattern is one pattern of private_paths or public_paths, in the
// syntax of Caddy's path matcher: "*" (all), "/prefix*", "*suffix",
// "*substring*", or otherwise a path.Match glob, which with no wildcard is
// an exact match.
type pathPattern struct {
	kind patternKind
	// strict is the pattern as a client sends it: non-ASCII bytes and
	// spaces percent-encoded; compared case-sensitively with the path as
	// sent.
	strict string
	// written is the pattern with its escapes decoded, case kept; compared
	// with the path as sent, decoded once. A strict match needs both, so
	// that pattern text never matches across an escape's hex digits.
	written string
	// lenient is the pattern decoded and case-folded; compared with every
	// form of the path an origin might serve as the same route.
	lenient string
}

type patternKind uint8

const (
	matchAll patternKind = iota
	matchPrefix
	matchSuffix
	matchSubstring
	matchGlob
)

// compilePathPatterns checks and compiles patterns, naming option in
// errors. A pattern that Caddy's matcher would accept but never match (a
// malformed glob) is rejected: for private_paths it would leave the path
// unfenced. Placeholders are rejected too: the fence decides on the path
// the client sent, not on a value known only per request.
func compilePathPatterns(option string, patterns []string) ([]pathPattern, error) {
	var out []pathPattern
	for _, p := range patterns {
		c, err := compilePathPattern(p)
		if err != nil {
			return nil, fmt.Errorf("%s: path pattern %q %w", option, p, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func compilePathPattern(p string) (pathPattern, error) {
	if p == "" || (p[0] != '/' && p[0] != '*') {
		return pathPattern{}, errors.New("must start with / or *")
	}
	if strings.ContainsAny(p, "{}") {
		return pathPattern{}, errors.New("holds a placeholder; path patterns are matched against the path as the client sent it")
	}
	written := escape.Percent(p)
	c := pathPattern{kind: matchGlob, strict: encodeForWire(p), written: written, lenient: foldCase(written)}
	stars := strings.Count(p, "*")
	switch {
	case p == "*":
		c.kind = matchAll
	case stars == 2 && p[0] == '*' && p[len(p)-1] == '*' && len(p) > 2:
		c.kind = matchSubstring
	case stars == 1 && p[0] == '*':
		c.kind = matchSuffix
	case stars == 1 && p[len(p)-1] == '*':
		c.kind = matchPrefix
	}
	if c.kind == matchGlob {
		if _, err := path.Match(p, ""); err != nil {
			return pathPattern{}, errors.New("is not a valid glob (path.Match syntax)")
		}
	}
	return c, nil
}

// match reports whether the pattern form pat of this pattern matches s.
func (c *pathPattern) match(pat, s string) bool {
	switch c.kind {
	case matchAll:
		return true
	case matchPrefix:
		return strings.HasPrefix(s, pat[:len(pat)-1])
	case matchSuffix:
		return strings.HasSuffix(s, pat[1:])
	case matchSubstring:
		return strings.Contains(s, pat[1:len(pat)-1])
	}
	ok, _ := path.Match(pat, s)
	return ok
}

// matchStrict reports whether rawPath, the path as the client sent it,
// matches a pattern exactly as written: case-sensitive, with no decoding or
// cleaning. A path that origins could resolve to another route (dot
// segments, doubled slashes, path parameters, backslashes, encoded
// delimiters) matches nothing, and so does a path that matches only as
// sent or only decoded ("*acc*" and "/x%ACc"). This is what lifting the
// cookie rule needs: a match at least as strict as any origin's router.
func matchStrict(patterns []pathPattern, rawPath string) bool {
	if len(patterns) == 0 || !plainPath(rawPath) {
		return false
	}
	decoded := escape.Percent(rawPath)
	for i := range patterns {
		p := &patterns[i]
		if p.match(p.strict, rawPath) && p.match(p.written, decoded) {
			return true
		}
	}
	return false
}

// matchLenient reports whether any form of rawPath that some origin serves
// as the same route matches a pattern, case-insensitively. This is what a
// private path needs: recognised however the client spelt it.
func matchLenient(patterns []pathPattern, rawPath string) bool {
	if len(patterns) == 0 {
		return false
	}
	cleaned, stripped := rawPath, strings.TrimSuffix(rawPath, "/")
	if !simpleLowerPath(rawPath) {
		cleaned, stripped = routeForms(rawPath)
	}
	if stripped == "" {
		stripped = "/"
	}
	forms := [...]string{cleaned, stripped, "", ""}
	// PHP front controllers (Laravel, Symfony) route what follows the
	// script: /index.php/account is /account.
	if i := strings.Index(stripped, ".php/"); i >= 0 {
		forms[2] = stripped[i+len(".php"):]
	}
	// Rails routes /account.json to /account, the format aside.
	forms[3] = trimFormat(cmp.Or(forms[2], stripped))
	for i := range patterns {
		p := &patterns[i]
		for _, form := range forms {
			if form != "" && p.match(p.lenient, form) {
				return true
			}
		}
	}
	return false
}

// trimFormat returns p without the extension of its last segment, or ""
// if it has none.
func trimFormat(p string) string {
	seg := strings.LastIndexByte(p, '/')
	dot := strings.LastIndexByte(p, '.')
	if dot <= seg+1 {
		return ""
	}
	return p[:dot]
}

// foldCase folds s as case-insensitive routers compare it: ASP.NET's
// ordinal ignore-case upper-cases, so "ſ" is "s" and "ı" is "i" there,
// which lower-casing alone misses.
func foldCase(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.ToLower(strings.ToUpper(s))
		}
	}
	return strings.ToLower(s)
}

// simpleLowerPath reports a path that every form in routeForms leaves as
// it is (but for a trailing slash): lower-case unreserved characters and
// single slashes, no dot segments. Most requests are such, and need no
// copy.
func simpleLowerPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '~':
		case c == '/':
			if i+1 < len(p) && p[i+1] == '/' {
				return false
			}
		case c == '.':
			// A dot that starts or ends a segment could be a dot segment
			// or a trailing dot that Windows drops.
			if p[i-1] == '/' || i+1 == len(p) || p[i+1] == '/' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// routeForms returns two forms of rawPath as origins route it, both
// case-folded (Caddy's matcher, IIS, ASP.NET and Express ignore case),
// decoded until no escape is left (double encoding), cut at a NUL (C
// runtimes), with backslashes as slashes (IIS), dot segments resolved and
// slashes merged:
//
//   - cleaned keeps everything else;
//   - stripped also drops path parameters (";jsessionid=..." and
//     "..;/", which Tomcat and Jetty remove), ASP.NET cookieless session
//     segments ("/(S(...))/"), the trailing dots and spaces Windows drops,
//     and a trailing slash.
func routeForms(rawPath string) (cleaned, stripped string) {
	p := rawPath
	for range 3 {
		d := escape.Percent(p)
		if d == p {
			break
		}
		p = d
	}
	if i := strings.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	p = foldCase(strings.ReplaceAll(p, `\`, "/"))
	cleaned = cleanPath(p)

	segs := strings.Split(p, "/")
	kept := segs[:0]
	for _, s := range segs {
		s, _, _ = strings.Cut(s, ";")
		if s != "." && s != ".." {
			s = strings.TrimRight(s, ". ")
		}
		if isCookielessSegment(s) {
			continue
		}
		kept = append(kept, s)
	}
	stripped = strings.TrimSuffix(cleanPath(strings.Join(kept, "/")), "/")
	return cleaned, stripped
}

// cleanPath resolves dot segments and merges slashes, keeping a trailing
// slash, and always starts with "/".
func cleanPath(p string) string {
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// isCookielessSegment reports an ASP.NET cookieless-session segment such as
// "(s(lit3py55t21z5v55vlm25s55))", which the framework removes from the
// path before routing.
func isCookielessSegment(s string) bool {
	return len(s) >= 5 && s[0] == '(' && s[2] == '(' && strings.HasSuffix(s, "))")
}

// plainPath reports a path as sent that every origin resolves to itself:
// absolute, with no doubled slash, dot segment, backslash, path parameter,
// control character, or escape of a delimiter, a dot, a percent sign or a
// control character.
func plainPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\', c == ';', c < 0x20, c == 0x7f:
			return false
		case c == '%':
			v, ok := escape.HexByte(p, i+1)
			if !ok || v < 0x20 || v == 0x7f || strings.IndexByte(`/\.;%?#`, v) >= 0 {
				return false
			}
		case c == '/':
			seg := p[i+1:]
			if j := strings.IndexByte(seg, '/'); j >= 0 {
				seg = seg[:j]
			}
			if (seg == "" && i+1 < len(p)) || seg == "." || seg == ".." {
				return false
			}
		}
	}
	return true
}

// encodeForWire percent-encodes what clients escape in a path (spaces,
// controls, non-ASCII bytes), so that a pattern written as text compares
// with the path as sent.
func encodeForWire(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// RedactPath returns a path fit for a log line or an alert: every path
// parameter (";jsessionid=..." and the like, also sent escaped as %3B or
// %253B) and every ASP.NET cookieless-session segment, both of which carry
// session ids, replaced by REDACTED. The result does not depend on the
// session, so one page reads as one path. A path with neither is returned
// as it is.
func RedactPath(p string) string {
	if !strings.ContainsAny(p, ";%(") {
		return p
	}
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if isCookielessSegment(escape.Percent(escape.Percent(seg))) {
			segs[i] = "(REDACTED)"
			continue
		}
		for j := range len(seg) {
			if startsParams(seg[j:]) {
				segs[i] = seg[:j] + ";REDACTED"
				break
			}
		}
	}
	return strings.Join(segs, "/")
}

// startsParams reports whether s starts with ";", escaped once or twice.
func startsParams(s string) bool {
	if s[0] == ';' {
		return true
	}
	if s[0] != '%' {
		return false
	}
	v, ok := escape.HexByte(s, 1)
	if ok && v == '%' {
		v, ok = escape.HexByte(s, 3)
	}
	return ok && v == ';'
}
