package fence

import (
	"iter"
	"path"
	"strings"

	"github.com/cachefence/cachefence/internal/escape"
)

// cookiePairs yields the name and the whole name=value pair of every cookie
// that some framework reads in Cookie header lines, without allocating.
// Frameworks disagree, and the fence takes the union of their readings:
//
//   - pairs are split on ";" and also on "," (Rack, Jetty and the servlet
//     containers' legacy parsers, ASP.NET);
//   - within a pair's value, whitespace followed by name= starts another
//     pair, as Python's http.cookies reads "_ga=1 sid=x";
//   - a pair without "=" or with an empty name yields the name "", which
//     matches no list, so it identifies: fail closed.
//
// Names are yielded as sent, with the spaces around them: how a framework
// trims and rewrites them is cookieNameForms' business.
func cookiePairs(lines []string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, line := range lines {
			for line != "" {
				pair := line
				line = ""
				for i := 0; i < len(pair); i++ {
					if pair[i] == ';' || pair[i] == ',' {
						pair, line = pair[:i], pair[i+1:]
						break
					}
				}
				if pair = trimOWS(pair); pair == "" {
					continue
				}
				name, value, ok := strings.Cut(pair, "=")
				if !ok {
					name = ""
				}
				if !yield(name, pair) {
					return
				}
				for sub := range spaceSeparatedPairs(value) {
					subName, _, _ := strings.Cut(sub, "=")
					if !yield(subName, sub) {
						return
					}
				}
			}
		}
	}
}

// spaceSeparatedPairs yields the words of value that follow whitespace and
// hold an "=" after a non-empty name.
func spaceSeparatedPairs(value string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for {
			i := indexSpace(value)
			if i < 0 {
				return
			}
			value = trimOWS(value[i:])
			word := value
			if j := indexSpace(word); j >= 0 {
				word = word[:j]
			}
			if eq := strings.IndexByte(word, '='); eq > 0 && !yield(word) {
				return
			}
		}
	}
}

// indexSpace returns the index of the first space or tab in s, or -1.
func indexSpace(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == '\t' {
			return i
		}
	}
	return -1
}

// cookieNameForms are the names frameworks read for a cookie name sent as
// raw:
//
//   - trimmed of spaces and tabs (Go, Tomcat, Jetty, Rack, Express);
//   - trimmed of every Unicode space, \x1c-\x1f, \x85 and \xa0 among
//     them, as Python's str.strip in Django and Werkzeug;
//   - PHP's variable name: leading white space dropped, " " and "." turned
//     into "_", cut at a "[" that opens an array key, or "_" for a "["
//     that does not (php_register_variable_ex);
//   - percent-decoded, "+" as a space, as PHP before 7.4.11 and Rack
//     before 2.2.3 read names;
//   - what follows the last character a token cannot hold, as ASP.NET Core
//     reads "a@sessionid=S": it skips an invalid pair a character at a
//     time and finds a valid one inside it.
//
// Names made of letters, digits, "_" and "-" alone have the one form, so
// usual names cost no copy.
func cookieNameForms(raw string) [5]string {
	name := trimOWS(raw)
	forms := [5]string{name, name, name, name, name}
	if plainName(raw) {
		return forms
	}
	forms[1] = trimPythonSpace(raw)
	php := strings.TrimLeft(raw, " \t\n\v\f\r")
	if i := strings.IndexByte(php, '['); i >= 0 {
		if strings.IndexByte(php[i:], ']') > 0 {
			php = php[:i]
		} else {
			php = php[:i] + "_" + php[i+1:]
		}
	}
	forms[2] = phpNameReplacer.Replace(php)
	forms[3] = trimOWS(escape.Percent(strings.ReplaceAll(name, "+", " ")))
	for i := len(name) - 1; i >= 0; i-- {
		if !isTokenChar(name[i]) {
			forms[4] = name[i+1:]
			break
		}
	}
	return forms
}

var phpNameReplacer = strings.NewReplacer(" ", "_", ".", "_", "[", "_")

// plainName reports a name of letters, digits, "_" and "-" only.
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// trimPythonSpace trims what Python's str.strip removes from a header
// decoded as Latin-1, byte for byte: white space, \x1c-\x1f, \x85 and
// \xa0.
func trimPythonSpace(s string) string {
	isSpace := func(c byte) bool {
		return c == ' ' || ('\t' <= c && c <= '\r') || (0x1c <= c && c <= 0x1f) || c == 0x85 || c == 0xa0
	}
	for s != "" && isSpace(s[0]) {
		s = s[1:]
	}
	for s != "" && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// identifies reports whether the cookie a client sent under name
// identifies a user, as any framework may read the name. With session
// globs, a name identifies when any of its forms matches one, with case
// folded (ASP.NET reads cookie names case-insensitively). Otherwise it
// identifies unless every form matches an ignore glob exactly.
func (p *Policy) identifies(name string) bool {
	forms := cookieNameForms(name)
	if forms[0] == "" {
		return true
	}
	// A plain name has one form, given five times: judge it once.
	distinct := forms[:]
	if forms == [5]string{forms[0], forms[0], forms[0], forms[0], forms[0]} {
		distinct = forms[:1]
	}
	if len(p.sessionCookies) > 0 {
		for _, f := range distinct {
			for _, g := range p.sessionCookies {
				if g.foldMatch(f) {
					return true
				}
			}
		}
		return false
	}
	for _, f := range distinct {
		if f == "" || !matchAnyGlob(p.ignoreCookies, f) {
			return true
		}
	}
	return false
}

func matchAnyGlob(globs []cookieGlob, name string) bool {
	for _, g := range globs {
		if g.match(name) {
			return true
		}
	}
	return false
}

// cookieGlob is a cookie name pattern of path.Match's syntax, checked, with
// the usual forms (a name, or a name with a trailing *) told apart once so
// that matching them costs a comparison.
type cookieGlob struct {
	glob string
	// literal is the whole glob when it has no meta character, or the
	// prefix before a trailing * (prefix set) when that has none.
	literal string
	exact   bool
	prefix  bool
}

func compileCookieGlob(glob string) (cookieGlob, error) {
	if _, err := path.Match(glob, ""); err != nil {
		return cookieGlob{}, err
	}
	g := cookieGlob{glob: glob}
	if !strings.ContainsAny(glob, `*?[\`) {
		g.literal, g.exact = glob, true
	} else if prefix, ok := strings.CutSuffix(glob, "*"); ok && !strings.ContainsAny(prefix, `*?[\`) {
		g.literal, g.prefix = prefix, true
	}
	return g, nil
}

func (g cookieGlob) match(name string) bool {
	switch {
	case g.exact:
		return g.literal == name
	case g.prefix:
		return strings.HasPrefix(name, g.literal)
	}
	ok, _ := path.Match(g.glob, name)
	return ok
}

// foldMatch matches name ignoring case; the glob is lower case.
func (g cookieGlob) foldMatch(name string) bool {
	switch {
	case g.exact:
		return strings.EqualFold(g.literal, name)
	case g.prefix:
		return len(name) >= len(g.literal) && strings.EqualFold(name[:len(g.literal)], g.literal)
	}
	ok, _ := path.Match(g.glob, strings.ToLower(name))
	return ok
}
