package audit

import (
	"regexp"
	"strings"
)

// dynamicExtensions are file types that applications render, per user or
// not. A list of extensions without any of them names static files.
var dynamicExtensions = map[string]bool{
	"html": true, "htm": true, "xhtml": true, "shtml": true, "php": true, "asp": true, "aspx": true,
	"jsp": true, "json": true, "xml": true, "cgi": true, "pl": true, "py": true, "rb": true,
	"do": true, "action": true, "cfm": true, "webmanifest": true,
}

// staticDirs are path prefixes that conventionally hold built assets.
var staticDirs = []string{"/static/", "/assets/", "/_next/static/", "/images/", "/img/", "/fonts/",
	"/media/", "/dist/", "/build/", "/wp-content/uploads/"}

var (
	// extGroup finds the extensions of globs ("*.css") and regexes
	// ("\.(css|js)$", "\.(?:css|js)").
	extGroup = regexp.MustCompile(`(?:\\\.|\*\.)\(?(?:\?:)?([a-z0-9]+(?:\|[a-z0-9]+)*)\)?`)
	// extMatch finds a match on an extension variable, as Fastly's
	// req.url.ext ~ "^(css|js)$".
	extMatch = regexp.MustCompile(`\.ext(?:ension)?\s*(?:~|==)\s*"\^?\(?(?:\?:)?([a-z0-9]+(?:\|[a-z0-9]+)*)\)?\$?"`)
	// widening finds operators through which a condition may match more
	// than its static part.
	widening = regexp.MustCompile(`\bor\b|\|\||\bnot\b|!|!~`)
)

// Static says why a path pattern, regex or rule expression matches only
// static-looking URLs, or returns "" when it may match others. It errs
// towards "": a scope wrongly called dynamic is reported more severely,
// never less.
func Static(pattern string) string {
	p := strings.ToLower(pattern)
	if p == "" || widening.MatchString(p) {
		return ""
	}
	if exts := extensions(p); exts != "" {
		return "extensions " + exts
	}
	// A URL pattern with a host, as Page Rules write them: the path.
	if host, path, ok := strings.Cut(p, "/"); ok && strings.Contains(host, ".") && !strings.ContainsAny(host, "\"(") {
		p = "/" + path
	}
	for _, dir := range staticDirs {
		if strings.HasPrefix(strings.TrimLeft(p, "^\"(*"), dir) || strings.Contains(p, "\""+dir) ||
			strings.Contains(p, "\"^"+dir) {
			return "path prefix " + dir
		}
	}
	return ""
}

// extensions returns the file extensions p is limited to, if none is
// dynamic.
func extensions(p string) string {
	var exts []string
	matches := append(extGroup.FindAllStringSubmatch(p, -1), extMatch.FindAllStringSubmatch(p, -1)...)
	for _, m := range matches {
		for _, e := range strings.Split(m[1], "|") {
			if dynamicExtensions[e] {
				return ""
			}
			exts = append(exts, e)
		}
	}
	// A Cloudflare extension list: http.request.uri.path.extension in {"css" "js"}.
	if i := strings.Index(p, ".extension in {"); i >= 0 {
		exts = nil
		list := p[i+len(".extension in {"):]
		list, _, _ = strings.Cut(list, "}")
		for _, e := range strings.Fields(strings.ReplaceAll(list, `"`, " ")) {
			if dynamicExtensions[e] {
				return ""
			}
			exts = append(exts, e)
		}
	}
	return strings.Join(exts, ", ")
}
