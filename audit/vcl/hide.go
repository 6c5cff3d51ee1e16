package vcl

import (
	"regexp"
	"slices"
	"strings"

	"github.com/cachefence/cachefence/audit"
)

// headerVar matches a variable that holds a header, and names the header:
// req.http.X-Origin-Verify, or Fastly's req.http.Cookie:name.
var headerVar = regexp.MustCompile(`(?i)^(?:req|bereq|resp|beresp|obj)\.http\.([A-Za-z0-9_-]+)`)

// Hide returns VCL text (a statement, a condition, a whole file) with the
// values it sends as headers, or compares headers with, hidden by
// audit.HeaderValue: in each clause that names a header (a statement, or
// a side of && or ||), its strings and numbers. The rest stays as
// written. Text that does not lex is hidden whole.
func Hide(text string) string { return hide(text) }

// hide is Hide, with names the headers that every clause of text is
// assigned to: text is the value of a set statement of a header.
func hide(text string, names ...string) string {
	toks, err := lex([]byte(text))
	if err != nil {
		return audit.Digest(text)
	}
	var b strings.Builder
	done, start := 0, 0
	for i := 0; i <= len(toks); i++ {
		if i < len(toks) && !endsClause(toks[i]) {
			continue
		}
		clause := toks[start:i]
		start = i + 1
		headers := slices.Clone(names)
		for _, t := range clause {
			if t.kind == tIdent {
				headers = append(headers, header(t.text)...)
			}
		}
		if len(headers) == 0 {
			continue
		}
		for _, t := range clause {
			if t.kind != tString && (t.kind != tIdent || t.text[0] < '0' || t.text[0] > '9') || trivial(t.text) {
				continue // not a string or a number, or one shown
			}
			if v := audit.HeaderValue(t.text, headers...); v != t.text {
				b.WriteString(text[done:t.off])
				b.WriteString(v)
				done = t.end
			}
		}
	}
	b.WriteString(text[done:])
	return b.String()
}

// endsClause says whether a token separates clauses.
func endsClause(t token) bool {
	switch {
	case t.kind == tMacro:
		return true
	case t.kind == tPunct:
		switch t.text {
		case ";", "{", "}", "&&", "||":
			return true
		}
	}
	return false
}

// header returns the header a variable holds, if it holds one.
func header(variable string) []string {
	if m := headerVar.FindStringSubmatch(variable); m != nil {
		return m[1:]
	}
	return nil
}

// trivial says whether a value is a boolean or an integer of at most
// three digits: so few values that a digest would hide none of them,
// since anyone can reverse it.
func trivial(v string) bool {
	if strings.EqualFold(v, "true") || strings.EqualFold(v, "false") {
		return true
	}
	return len(v) > 0 && len(v) <= 3 && strings.Trim(v, "0123456789") == ""
}
