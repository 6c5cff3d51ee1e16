package audit

import (
	"path"
	"regexp"
	"slices"
	"strings"
)

// dynamicExtensions are file types that applications render, and may
// render per user: pages and scripts, and the documents an application
// exports for one account (invoices, statements, calendars, contacts,
// archives of a user's data). A URL with one of them is dynamic for this
// tool, whatever the CDN's default cacheable list says.
//
// json is dynamic: API responses are JSON and per user, and frameworks
// answer /account.json with the account (Rails' format suffix). So a rule
// that matches .json, alone or in a list of asset extensions, may store
// per-user JSON, and its extension list does not make it static. The same
// rule is static only through another condition it is joined with by
// "and", such as a build directory (/_next/static/.*\.json$).
var dynamicExtensions = map[string]bool{
	"html": true, "htm": true, "xhtml": true, "shtml": true, "phtml": true, "php": true, "asp": true,
	"aspx": true, "ashx": true, "asmx": true, "axd": true, "jsp": true, "jspx": true, "json": true,
	"jsonp": true, "xml": true, "rss": true, "atom": true, "cgi": true, "fcgi": true, "pl": true,
	"py": true, "rb": true, "do": true, "action": true, "cfm": true, "cfml": true, "webmanifest": true,
	"pdf": true, "csv": true, "tsv": true, "xls": true, "xlsx": true, "doc": true, "docx": true,
	"ppt": true, "pptx": true, "odt": true, "ods": true, "rtf": true, "txt": true, "ics": true,
	"vcf": true, "zip": true, "gz": true, "tgz": true, "tar": true, "7z": true, "rar": true,
}

// dynamicPrefixes name families of script extensions by their start:
// php5, php84, aspx, jspf, html5, cfml.
var dynamicPrefixes = []string{"php", "asp", "jsp", "htm", "xhtm", "shtm", "phtm", "cfm", "json"}

func dynamicExtension(ext string) bool {
	if dynamicExtensions[ext] {
		return true
	}
	for _, p := range dynamicPrefixes {
		if strings.HasPrefix(ext, p) {
			return true
		}
	}
	return false
}

// staticDirs are path prefixes that conventionally hold built assets.
var staticDirs = []string{"/static/", "/assets/", "/_next/static/", "/images/", "/img/", "/fonts/",
	"/media/", "/dist/", "/build/", "/wp-content/uploads/"}

var (
	// negation finds operators through which a condition matches what its
	// static part does not.
	negation = regexp.MustCompile(`\bnot\b|!`)
	// disjunction splits a condition into the alternatives any of which
	// it matches: "or" and "||" in rule languages.
	disjunction = regexp.MustCompile(`\bor\b|\|\|`)
	// regexExt finds a regex's extension match that ends the path,
	// allowing a query after it: \.(css|js)$, \.(?:css|jpe?g)(\?.*)?$,
	// \.css(\?|$).
	regexExt = regexp.MustCompile(`\\\.\(?(?:\?:)?([a-z0-9?]+(?:\|[a-z0-9?]+)*)\)?` +
		`(?:\$|\((?:\?:)?\\\?[^)]*\)\??\$|\((?:\?:)?(?:\\\?\|\$|\$\|\\\?)\))`)
	// globExt finds a glob's extension that ends the pattern: *.css, as
	// CloudFront path patterns and Page Rules write them.
	globExt = regexp.MustCompile(`\*\.([a-z0-9]+)"?$`)
	// endsWith finds Cloudflare's ends_with(http.request.uri.path, ".css").
	endsWith = regexp.MustCompile(`ends_with\(\s*http\.request\.uri\.path\s*,\s*"\.([a-z0-9]+)"\s*\)`)
	// extVar finds a comparison of an extension variable: Cloudflare's
	// http.request.uri.path.extension eq "css", Fastly's
	// req.url.ext == "css" or ~ "^(css|js)$" (anchored: "js" alone would
	// also match "json").
	extVar = regexp.MustCompile(`\.ext(?:ension)?\s*(?:==|\beq\b)\s*"([a-z0-9]+)"|` +
		`\.ext(?:ension)?\s*(?:~|\bmatches\b)\s*"\^\(?(?:\?:)?([a-z0-9]+(?:\|[a-z0-9]+)*)\)?\$"`)
	// extSet finds Cloudflare's http.request.uri.path.extension in {"css" "js"}.
	extSet = regexp.MustCompile(`\.extension\s+in\s+\{([^}]*)\}`)
	// startsWith finds a path prefix test: Cloudflare's starts_with(...,
	// "/static/"), and a regex anchored at the start ("^/static/").
	startsWith = regexp.MustCompile(`starts_with\(\s*http\.request\.uri\.path\s*,\s*"(/[^"]*)"\s*\)|"\^(/[^"]*)`)
)

// Static says why a path pattern, regex or rule expression matches only
// static-looking URLs, or returns "" when it may match others. It is
// "static" only when every URL the pattern can match ends with a static
// extension or lies under a static directory: each alternative of an "or"
// (or of a regex's top-level "|") must be static, a condition joined by
// "and" to a static one is static, and a negation is never. It errs
// towards "": a scope wrongly called dynamic is reported more severely,
// never less.
func Static(pattern string) string {
	p := strings.ToLower(pattern)
	if strings.TrimSpace(p) == "" || negation.MatchString(p) {
		return ""
	}
	var whys []string
	for _, alt := range alternatives(p) {
		why := staticAlternative(alt)
		if why == "" {
			return ""
		}
		if !slices.Contains(whys, why) {
			whys = append(whys, why)
		}
	}
	return strings.Join(whys, "; ")
}

// alternatives splits p on "or", "||" and on a regex's "|" outside
// parentheses. Splitting on an "or" inside parentheses too is sound: each
// way a condition can match takes every condition of some part.
func alternatives(p string) []string {
	var out []string
	for _, part := range disjunction.Split(p, -1) {
		depth, start := 0, 0
		for i := 0; i < len(part); i++ {
			switch part[i] {
			case '(', '{', '[':
				depth++
			case ')', '}', ']':
				depth--
			case '|':
				if depth == 0 && (i == 0 || part[i-1] != '\\') {
					out = append(out, part[start:i])
					start = i + 1
				}
			}
		}
		out = append(out, part[start:])
	}
	return out
}

// staticAlternative says why one alternative matches only static URLs:
// its extension is static and ends the path, or its path lies under a
// static directory.
func staticAlternative(p string) string {
	if exts := staticExtensions(p); exts != "" {
		return "extensions " + exts
	}
	// An nginx exact location (= /favicon.ico) matches that one URL, so
	// no other path can be stored under it.
	if exact, ok := strings.CutPrefix(strings.TrimSpace(p), "= /"); ok && !strings.ContainsAny(exact, " \"*") {
		if ext := strings.TrimPrefix(path.Ext(exact), "."); ext != "" && !dynamicExtension(ext) {
			return "the one file /" + exact
		}
	}
	// A URL pattern with a host, as Page Rules write them: the path.
	if host, rest, ok := strings.Cut(strings.TrimSpace(p), "/"); ok && strings.Contains(host, ".") &&
		!strings.ContainsAny(host, "\"(*\\^ ") {
		p = "/" + rest
	}
	var prefixes []string
	for _, m := range startsWith.FindAllStringSubmatch(p, -1) {
		prefixes = append(prefixes, m[1]+m[2])
	}
	if bare := barePath(p); bare != "" {
		prefixes = append(prefixes, bare)
	}
	for _, prefix := range prefixes {
		for _, dir := range staticDirs {
			if strings.HasPrefix(prefix, dir) && !strings.Contains(prefix, "..") {
				return "path prefix " + dir
			}
		}
	}
	return ""
}

// barePath returns the path a bare pattern starts with: a CloudFront path
// pattern, an nginx prefix location (^~ too), or an nginx regex location
// anchored at the start (~ ^/static/). An unanchored regex may match
// anywhere in the path, so it has none.
func barePath(p string) string {
	t := strings.TrimSpace(p)
	for _, op := range []string{"^~", "~*", "~"} {
		if rest, ok := strings.CutPrefix(t, op); ok {
			t = strings.TrimSpace(rest)
			if op != "^~" {
				var anchored bool
				if t, anchored = strings.CutPrefix(t, "^"); !anchored {
					return ""
				}
			}
			break
		}
	}
	if !strings.HasPrefix(t, "/") || strings.ContainsAny(t, " \"") {
		return ""
	}
	return t
}

// staticExtensions returns the extensions that p's path must end with,
// if p restricts them and none is dynamic. A condition joined by "and"
// narrows the match, so one static restriction is enough.
func staticExtensions(p string) string {
	var lists [][]string
	for _, m := range regexExt.FindAllStringSubmatch(p, -1) {
		// jpe?g: the longer spelling stands for both.
		lists = append(lists, strings.Split(strings.ReplaceAll(m[1], "?", ""), "|"))
	}
	for _, re := range []*regexp.Regexp{globExt, endsWith} {
		for _, m := range re.FindAllStringSubmatch(p, -1) {
			lists = append(lists, []string{m[1]})
		}
	}
	for _, m := range extVar.FindAllStringSubmatch(p, -1) {
		lists = append(lists, strings.Split(m[1]+m[2], "|"))
	}
	for _, m := range extSet.FindAllStringSubmatch(p, -1) {
		lists = append(lists, strings.Fields(strings.ReplaceAll(m[1], `"`, " ")))
	}
	for _, exts := range lists {
		if len(exts) > 0 && !slices.ContainsFunc(exts, dynamicExtension) {
			return strings.Join(exts, ", ")
		}
	}
	return ""
}
