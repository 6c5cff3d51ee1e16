package nginx

import (
	"fmt"
	"strconv"
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
	// Opaque says the block holds no nginx directives but code in another
	// language (a *_by_lua_block's Lua), which was passed over unread.
	Opaque bool
}

// SyntaxError is a parse error at a line, or about the whole file when
// Line is 0.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// Limits that keep a hostile or broken input from exhausting memory. Real
// configurations are far below them: Debian's whole /etc/nginx is under
// 100 KiB, and the largest generated ones (maps of redirects, geo lists)
// hold some hundred thousand entries.
const (
	// MaxFileSize is the largest file Parse reads.
	MaxFileSize = 16 << 20
	// MaxDirectives is the most directives one file may hold, and the
	// most that one Read expands its files and includes into.
	MaxDirectives = 1 << 20
	// maxDepth bounds block nesting.
	maxDepth = 100
)

// Parse parses one nginx configuration file; includes are not followed.
// nginx's grammar: directives are words ended by ";" or followed by a
// block in braces; "#" starts a comment; words may be quoted. The body of
// a *_by_lua_block is Lua, skipped as OpenResty's lexer reads it, and its
// directive is marked Opaque. Memory is linear in the input: tokens are
// slices of one copy of it, and the file and directive count are bounded.
func Parse(file string, data []byte) ([]*Directive, error) {
	if len(data) > MaxFileSize {
		return nil, &SyntaxError{0, "larger than the " + strconv.Itoa(MaxFileSize>>20) + " MiB an nginx configuration may be here"}
	}
	p := &parser{lex: lexer{src: string(data), line: 1}, file: file}
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
	lex   lexer
	file  string
	tok   token
	count int
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
		if p.count++; p.count > MaxDirectives {
			return nil, &SyntaxError{0, "more than " + strconv.Itoa(MaxDirectives) + " directives"}
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
			if strings.HasSuffix(d.Name, "_by_lua_block") {
				if err := p.lex.skipLua(d.Line); err != nil {
					return nil, err
				}
				d.HasBlock, d.Opaque = true, true
				break
			}
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
	src  string
	pos  int
	line int
}

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
			l.skipLine()
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

// skipLine moves to the end of the line, before its newline.
func (l *lexer) skipLine() {
	if i := strings.IndexByte(l.src[l.pos:], '\n'); i >= 0 {
		l.pos += i
	} else {
		l.pos = len(l.src)
	}
}

func (l *lexer) quoted(q byte) (token, error) {
	line := l.line
	start := l.pos + 1
	var b *strings.Builder // only once an escape is met: most words are slices of src
	for l.pos++; l.pos < len(l.src); l.pos++ {
		c := l.src[l.pos]
		switch {
		case c == '\\' && l.pos+1 < len(l.src):
			if b == nil {
				b = &strings.Builder{}
				b.WriteString(l.src[start:l.pos])
			}
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
			if b == nil {
				return token{tokWord, l.src[start : l.pos-1], line}, nil
			}
			return token{tokWord, b.String(), line}, nil
		default:
			if c == '\n' {
				l.line++
			}
			if b != nil {
				b.WriteByte(c)
			}
		}
	}
	return token{}, &SyntaxError{line, "unterminated quoted string"}
}

// word reads an unquoted word; "${name}" may hold braces.
func (l *lexer) word() token {
	start, line := l.pos, l.line
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == '$' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '{' {
			// Only a name may stand between the braces, so the search for
			// "}" stops at the name's end: the file is read once.
			end := l.pos + 2
			for end < len(l.src) && isNameByte(l.src[end]) {
				end++
			}
			if end < len(l.src) && l.src[end] == '}' {
				l.pos = end + 1
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
	return token{tokWord, l.src[start:l.pos], line}
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// skipLua passes over the Lua code of a *_by_lua_block, up to the "}" that
// closes it, as lua-nginx-module's own lexer does: braces count unless
// they are in a string (quoted with ' or ", or [[ ]], [==[ ]==]) or a comment (--, --[[ ]]).
// Each construct is passed in one forward scan, so the file is read once.
func (l *lexer) skipLua(line int) error {
	unclosed := &SyntaxError{line, "a Lua block is not closed"}
	depth := 1
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\n':
			l.line++
			l.pos++
		case c == '{':
			depth++
			l.pos++
		case c == '}':
			l.pos++
			if depth--; depth == 0 {
				return nil
			}
		case c == '"' || c == '\'':
			if !l.luaString(c) {
				return unclosed
			}
		case c == '[' && l.longBracket() >= 0:
			if !l.luaLong() {
				return unclosed
			}
		case c == '-' && strings.HasPrefix(l.src[l.pos:], "--"):
			l.pos += 2
			if l.pos < len(l.src) && l.src[l.pos] == '[' && l.longBracket() >= 0 {
				if !l.luaLong() {
					return unclosed
				}
			} else {
				l.skipLine()
			}
		default:
			l.pos++
		}
	}
	return unclosed
}

// luaString passes a short Lua string from its opening quote.
func (l *lexer) luaString(q byte) bool {
	for l.pos++; l.pos < len(l.src); l.pos++ {
		switch l.src[l.pos] {
		case '\\':
			l.pos++
			if l.pos < len(l.src) && l.src[l.pos] == '\n' {
				l.line++
			}
		case '\n':
			l.line++
		case q:
			l.pos++
			return true
		}
	}
	return false
}

// longBracket returns the level of the Lua long bracket that opens at the
// "[" under pos ("[[" is 0, "[==[" is 2), or -1 if none does.
func (l *lexer) longBracket() int {
	i := l.pos + 1
	for i < len(l.src) && l.src[i] == '=' {
		i++
	}
	if i < len(l.src) && l.src[i] == '[' {
		return i - l.pos - 1
	}
	return -1
}

// luaLong passes a long string or comment from its opening bracket to the
// closing one of the same level.
func (l *lexer) luaLong() bool {
	level := l.longBracket()
	l.pos += level + 2
	closing := "]" + strings.Repeat("=", level) + "]"
	end := strings.Index(l.src[l.pos:], closing)
	if end < 0 {
		return false
	}
	l.line += strings.Count(l.src[l.pos:l.pos+end], "\n")
	l.pos += end + len(closing)
	return true
}
