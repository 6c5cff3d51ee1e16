package vcl

import (
	"bytes"
	"strings"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tString
	tPunct
	tMacro
)

type token struct {
	kind tokKind
	text string
	line int
	// off and end are where the token is in the source, so that Hide
	// can replace it and keep the rest as written.
	off, end int
}

func (t token) is(s string) bool { return t.kind != tString && t.text == s }

// source returns the token as it would be written.
func (t token) source() string {
	if t.kind == tString {
		return `"` + t.text + `"`
	}
	return t.text
}

// punct are VCL's operators, longest first.
var punct = []string{"==", "!=", "!~", "&&", "||", "+=", "-=", "*=", "/=", "<=", ">=",
	"{", "}", "(", ")", ";", ",", "=", "~", "!", "<", ">", "+", "-", "*", "/", "%", "."}

func identByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == ':' || c == '$'
}

// lex splits VCL into tokens. Strings are "...", {"..."} and """...""";
// comments are #, // and /* */. A "#FASTLY name" comment is a macro.
func lex(src []byte) ([]token, error) {
	var toks []token
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#' || c == '/' && i+1 < len(src) && src[i+1] == '/':
			end := bytes.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			if text := string(src[i : i+end]); strings.HasPrefix(text, "#FASTLY ") {
				toks = append(toks, token{tMacro, strings.ToLower(strings.TrimSpace(text[len("#FASTLY "):])), line, i, i + end})
			}
			i += end
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := bytes.Index(src[i+2:], []byte("*/"))
			if end < 0 {
				return nil, &SyntaxError{line, "comment is not closed"}
			}
			line += bytes.Count(src[i:i+2+end], []byte("\n"))
			i += end + 4
		case c == '{' && i+1 < len(src) && src[i+1] == '"':
			end := bytes.Index(src[i+2:], []byte(`"}`))
			if end < 0 {
				return nil, &SyntaxError{line, "long string is not closed"}
			}
			toks = append(toks, token{tString, string(src[i+2 : i+2+end]), line, i, i + end + 4})
			line += bytes.Count(src[i:i+2+end], []byte("\n"))
			i += end + 4
		case bytes.HasPrefix(src[i:], []byte(`"""`)):
			end := bytes.Index(src[i+3:], []byte(`"""`))
			if end < 0 {
				return nil, &SyntaxError{line, "long string is not closed"}
			}
			toks = append(toks, token{tString, string(src[i+3 : i+3+end]), line, i, i + end + 6})
			line += bytes.Count(src[i:i+3+end], []byte("\n"))
			i += end + 6
		case c == '"':
			end := bytes.IndexAny(src[i+1:], "\"\n")
			if end < 0 || src[i+1+end] == '\n' {
				return nil, &SyntaxError{line, "string is not closed on its line"}
			}
			toks = append(toks, token{tString, string(src[i+1 : i+1+end]), line, i, i + end + 2})
			i += end + 2
		case identByte(c) && c != '.' && c != '-' && c != ':':
			j := i
			for j < len(src) && identByte(src[j]) {
				j++
			}
			toks = append(toks, token{tIdent, string(src[i:j]), line, i, j})
			i = j
		default:
			matched := false
			for _, p := range punct {
				if bytes.HasPrefix(src[i:], []byte(p)) {
					toks = append(toks, token{tPunct, p, line, i, i + len(p)})
					i += len(p)
					matched = true
					break
				}
			}
			if !matched {
				// Bytes VCL does not use, such as in IP literals' neighbours
				// or stray characters, are kept as one-byte tokens.
				toks = append(toks, token{tPunct, string(c), line, i, i + 1})
				i++
			}
		}
	}
	return toks, nil
}

// PlainImports says whether every import in VCL text is "import NAME;",
// which loads a vmod from the installed ones. Any other form, "import
// NAME from PATH;" above all, or text that does not lex, is not: varnishd
// would load a shared object the input names, and run its code. Comments
// are dropped first, so that one between the words hides nothing.
func PlainImports(src []byte) bool {
	toks, err := lex(src)
	if err != nil {
		return false
	}
	for i, t := range toks {
		if t.kind != tIdent || t.text != "import" {
			continue
		}
		if i+2 >= len(toks) || !vmodName(toks[i+1]) || !toks[i+2].is(";") {
			return false
		}
	}
	return true
}

// vmodName says whether a token can name a vmod.
func vmodName(t token) bool {
	if t.kind != tIdent {
		return false
	}
	for _, c := range []byte(t.text) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
