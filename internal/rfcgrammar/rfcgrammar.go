// Package rfcgrammar is the test oracle for Cache-Control: the RFC 9111
// grammar written as regular expressions, independently of package fence's
// tokenizer, so that fuzz targets can check one against the other.
package rfcgrammar

import (
	"regexp"
	"strings"
)

var (
	token    = "[!#$%&'*+.^_`|~0-9A-Za-z-]+"
	quoted   = `"(?:[^"\\]|\\.)*"`
	member   = token + `(?:=(?:` + token + `|` + quoted + `))?`
	list     = regexp.MustCompile(`^[ \t]*(?:` + member + `)?(?:[ \t]*,[ \t]*(?:` + member + `)?)*[ \t]*$`)
	members  = regexp.MustCompile(`(` + token + `)(?:=(` + token + `|` + quoted + `))?`)
	deltaSec = regexp.MustCompile(`^"?[0-9]+"?$`)
)

// CacheControlValid reports whether one Cache-Control line is what RFC 9111
// §5.2 allows: a comma-separated list (empty members allowed) of
// token [ "=" ( token / quoted-string ) ], in which max-age and s-maxage
// carry delta-seconds (§1.2.2), and stale-while-revalidate and
// stale-if-error (RFC 5861) are bare or carry delta-seconds.
func CacheControlValid(line string) bool {
	if !list.MatchString(line) {
		return false
	}
	for _, m := range members.FindAllStringSubmatch(line, -1) {
		name, hasValue := strings.ToLower(m[1]), strings.Contains(m[0], "=")
		switch name {
		case "max-age", "s-maxage":
			if !deltaSec.MatchString(m[2]) {
				return false
			}
		case "stale-while-revalidate", "stale-if-error":
			if hasValue && !deltaSec.MatchString(m[2]) {
				return false
			}
		}
	}
	return true
}

// DirectiveNames returns the lower-case directive names of a line that
// CacheControlValid accepts, in order; quoted values are skipped whole.
func DirectiveNames(line string) []string {
	var names []string
	for _, m := range members.FindAllStringSubmatch(line, -1) {
		names = append(names, strings.ToLower(m[1]))
	}
	return names
}
