package nginx

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Directive is one nginx directive: its name, arguments, and block, if it
// has one.
type Directive struct {
	Name  string
	Args  []string
	File  string
	Line  int
	Block []*Directive
	// HasBlock tells `events {}` from `events;`.
	HasBlock bool
}

// SyntaxError is a parse error at a line.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// maxDepth bounds block nesting.
const maxDepth = 100

// Parse parses one nginx configuration file; includes are not followed.
// nginx's grammar: directives are words ended by ";" or followed by a
// block in braces; "#" starts a comment; words may be quoted.
func Parse(file string, data []byte) ([]*Directive, error) {
	p := &parser{lex: lexer{src: data, line: 1}, file: file}
	ds, err := p.block(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind == tokClose {
		return nil, &SyntaxError{p.tok.line, `unexpected "}"`}
	}
	return ds, nil
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokWord
	tokSemi
	tokOpen
	tokClose
)

type token struct {
	kind tokKind
	text string
	line int
}

type parser struct {
	lex  lexer
	file string
	tok  token
}

func (p *parser) next() error {
	t, err := p.lex.next()
	p.tok = t
	return err
}

// block parses directives up to a "}" or the end of the file.
func (p *parser) block(depth int) ([]*Directive, error) {
	if depth > maxDepth {
		return nil, &SyntaxError{p.lex.line, "blocks nested too deeply"}
	}
	var out []*Directive
	for {
		if err := p.next(); err != nil {
			return nil, err
		}
		switch p.tok.kind {
		case tokEOF, tokClose:
			return out, nil
		case tokSemi:
			continue
		case tokOpen:
			return nil, &SyntaxError{p.tok.line, `unexpected "{"`}
		}
		d := &Directive{Name: p.tok.text, File: p.file, Line: p.tok.line}
		for {
			if err := p.next(); err != nil {
				return nil, err
			}
			if p.tok.kind != tokWord {
				break
			}
			d.Args = append(d.Args, p.tok.text)
		}
		switch p.tok.kind {
		case tokSemi:
		case tokOpen:
			inner, err := p.block(depth + 1)
			if err != nil {
				return nil, err
			}
			if p.tok.kind != tokClose {
				// Never the name: a file that does not parse may be no
				// nginx file at all (an included secret), and its first
				// token would be quoted into every report.
				return nil, &SyntaxError{d.Line, "a block is not closed"}
			}
			d.Block, d.HasBlock = inner, true
		default:
			return nil, &SyntaxError{d.Line, `a directive is not terminated by ";"`}
		}
		out = append(out, d)
	}
}

type lexer struct {
	src  []byte
	pos  int
	line int
}

var errUnterminated = errors.New("unterminated quoted string")

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\n':
			l.line++
			l.pos++
		case c == ' ' || c == '\t' || c == '\r':
			l.pos++
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		case c == ';':
			l.pos++
			return token{tokSemi, ";", l.line}, nil
		case c == '{':
			l.pos++
			return token{tokOpen, "{", l.line}, nil
		case c == '}':
			l.pos++
			return token{tokClose, "}", l.line}, nil
		case c == '"' || c == '\'':
			return l.quoted(c)
		default:
			return l.word(), nil
		}
	}
	return token{tokEOF, "", l.line}, nil
}

func (l *lexer) quoted(q byte) (token, error) {
	line := l.line
	var b strings.Builder
	for l.pos++; l.pos < len(l.src); l.pos++ {
		c := l.src[l.pos]
		switch {
		case c == '\\' && l.pos+1 < len(l.src):
			// Only quotes and backslashes are escaped; "\." stays a
			// regex's escaped dot.
			l.pos++
			if e := l.src[l.pos]; e != q && e != '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(l.src[l.pos])
			if l.src[l.pos] == '\n' {
				l.line++
			}
		case c == q:
			l.pos++
			return token{tokWord, b.String(), line}, nil
		default:
			if c == '\n' {
				l.line++
			}
			b.WriteByte(c)
		}
	}
	return token{}, &SyntaxError{line, errUnterminated.Error()}
}

// word reads an unquoted word; "${name}" may hold braces.
func (l *lexer) word() token {
	start, line := l.pos, l.line
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == '$' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '{' {
			end := bytes.IndexByte(l.src[l.pos:], '}')
			if end > 0 {
				l.pos += end + 1
				continue
			}
		}
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '{' || c == '}' {
			break
		}
		if c == '\\' && l.pos+1 < len(l.src) {
			l.pos++
		}
		l.pos++
	}
	return token{tokWord, string(l.src[start:l.pos]), line}
}
