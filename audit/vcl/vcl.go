// Package vcl parses the Varnish Configuration Language, as Varnish and
// Fastly write it, into subroutines of statements: enough to follow what
// a subroutine sets, unsets, calls and returns, and under which
// condition. Declarations other than subroutines are skipped.
package vcl

import (
	"cmp"
	"fmt"
	"strings"
)

// File is a parsed VCL file.
type File struct {
	Subs     []*Sub
	Includes []Include
	// Skipped are the parts passed over because they do not parse.
	Skipped []Skip
	// TooDeep says that some were passed over for nesting past maxDepth:
	// a file made to exhaust whatever reads it.
	TooDeep bool
}

// Sub returns the subroutine of that name, or nil.
func (f *File) Sub(name string) *Sub {
	for _, s := range f.Subs {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Include is an include statement.
type Include struct {
	Path string
	Line int
	// Before is the number of subroutines defined before it, so that
	// merging keeps their order.
	Before int
}

// Sub is a subroutine.
type Sub struct {
	Name string
	// File is the file it was read from, when files were merged; empty
	// for the file being audited.
	File string
	Line int
	Body []*Stmt
}

// StmtKind is the kind of a statement.
type StmtKind uint8

// The statement kinds.
const (
	Other  StmtKind = iota // anything else: a function call, error, restart
	Set                    // set Target = Value (or +=)
	Unset                  // unset Target
	Return                 // return (Target)
	Call                   // call Target
	If                     // if with Branches
	Macro                  // a Fastly "#FASTLY name" placeholder; Target is the name
)

// Stmt is a statement.
type Stmt struct {
	Kind StmtKind
	Line int
	// File is the file it was read from, in a program joined from
	// several; empty for the file being audited.
	File string
	// Target is the variable of set and unset, the action of return, the
	// subroutine of call, or the macro's name. Variables keep their
	// spelling; compare them with strings.EqualFold.
	Target string
	// Value is the expression of set, or the source text of another
	// statement.
	Value    string
	Branches []Branch
}

// Branch is one arm of an if: its condition as source text, empty for
// else.
type Branch struct {
	Cond string
	Line int
	Body []*Stmt
}

// SyntaxError is a parse error at a line.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// maxDepth bounds nesting.
const maxDepth = 100

// Skip is a part of a file that the parser passed over: its line and the
// kind of construct, never its text, which may hold a credential.
type Skip struct {
	Line int
	What string
}

// topLevel are the declarations other than sub and include that VCL
// has, in Varnish or Fastly: they do not decide what is cached.
var topLevel = map[string]bool{"vcl": true, "import": true, "backend": true, "probe": true, "acl": true,
	"director": true, "table": true, "pragma": true, "ratecounter": true, "penaltybox": true}

// Parse parses one VCL file; includes are listed, not followed. A
// subroutine, statement or top-level construct that does not parse is
// passed over and listed in Skipped, and the rest is read; only a file
// whose braces do not balance, or that does not split into tokens, is an
// error.
func Parse(data []byte) (*File, error) {
	toks, err := lex(data)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, limit: len(toks)}
	f := &File{}
	for !p.done() {
		t := p.peek()
		switch {
		case t.is("sub"):
			if err := p.sub(f); err != nil {
				return nil, err
			}
		case t.is("include"):
			p.pos++
			path := p.next()
			if path.kind != tString {
				p.file.Skipped = append(p.file.Skipped, Skip{t.line, "an include without a file name"})
			} else {
				f.Includes = append(f.Includes, Include{Path: path.text, Line: t.line, Before: len(f.Subs)})
			}
			p.skipTo(";")
		case t.kind == tMacro:
			p.pos++ // a macro outside a sub has nothing to stand for
		default:
			if t.kind != tIdent || !topLevel[t.text] {
				p.file.Skipped = append(p.file.Skipped, Skip{t.line, "a top-level construct that is not VCL"})
			}
			if err := p.skipDecl(); err != nil {
				return nil, err
			}
		}
	}
	f.Skipped, f.TooDeep = p.file.Skipped, p.file.TooDeep
	return f, nil
}

// sub parses "sub name { ... }". A sub whose braces balance is read
// statement by statement, passing over those that do not parse; in one
// whose braces do not, the first error is the file's.
func (p *parser) sub(f *File) error {
	start := p.next()
	name := p.peek()
	if name.kind == tIdent {
		p.pos++
	}
	end := p.closing(p.pos)
	if end < 0 {
		p.strict = true
		if name.kind != tIdent {
			return p.errorf(name, "sub needs a name")
		}
		_, err := p.block(0)
		return cmp.Or(err, error(p.errorf(start, "block is not closed")))
	}
	outer := p.limit
	p.limit = end + 1
	defer func() { p.limit, p.pos = outer, end+1 }()
	if name.kind != tIdent {
		p.file.Skipped = append(p.file.Skipped, Skip{start.line, "a sub without a name"})
		return nil
	}
	body, err := p.block(0)
	if err != nil {
		p.file.Skipped = append(p.file.Skipped, Skip{start.line, "sub " + name.text + ", which does not parse"})
		return nil
	}
	f.Subs = append(f.Subs, &Sub{Name: name.text, Line: start.line, Body: body})
	return nil
}

// closing returns the index of the "}" that closes the block opening at
// i, or -1.
func (p *parser) closing(i int) int {
	if i >= len(p.toks) || !p.toks[i].is("{") {
		return -1
	}
	depth := 0
	for j := i; j < len(p.toks); j++ {
		switch {
		case p.toks[j].is("{"):
			depth++
		case p.toks[j].is("}"):
			if depth--; depth == 0 {
				return j
			}
		}
	}
	return -1
}

type parser struct {
	toks []token
	pos  int
	// limit is the end of the sub being read: nothing reads past it.
	limit int
	// strict: a statement that does not parse is an error, not a skip.
	strict bool
	file   File
}

func (p *parser) done() bool { return p.pos >= p.limit }

func (p *parser) peek() token {
	if p.done() {
		return token{kind: tEOF, line: p.lastLine()}
	}
	return p.toks[p.pos]
}

func (p *parser) next() token {
	t := p.peek()
	p.pos++
	return t
}

func (p *parser) lastLine() int {
	if len(p.toks) == 0 {
		return 1
	}
	return p.toks[len(p.toks)-1].line
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return &SyntaxError{Line: t.line, Msg: fmt.Sprintf(format, args...)}
}

// skipDecl skips a top-level declaration: up to ";" or a balanced block.
func (p *parser) skipDecl() error {
	start := p.peek()
	for !p.done() {
		t := p.next()
		switch {
		case t.is(";"):
			return nil
		case t.is("{"):
			if err := p.skipBlock(start); err != nil {
				return err
			}
			if p.peek().is(";") {
				p.pos++
			}
			return nil
		case t.is("}"):
			return p.errorf(t, `unexpected "}"`)
		}
	}
	// Text after the last declaration that never ends: passed over.
	p.file.Skipped = append(p.file.Skipped, Skip{start.line, "a declaration that is not terminated"})
	return nil
}

// skipBlock passes over a block whose "{" was just read.
func (p *parser) skipBlock(start token) error {
	end := p.closing(p.pos - 1)
	if end < 0 || end >= p.limit {
		return p.errorf(start, "block is not closed")
	}
	p.pos = end + 1
	return nil
}

func (p *parser) skipTo(end string) {
	depth := 0
	for !p.done() {
		t := p.next()
		switch {
		case t.is("(") || t.is("{"):
			depth++
		case t.is(")") || t.is("}"):
			depth--
		case t.is(end) && depth <= 0:
			return
		}
	}
}

// block parses "{ statements }".
func (p *parser) block(depth int) ([]*Stmt, error) {
	open := p.next()
	if !open.is("{") {
		return nil, p.errorf(open, `want "{"`)
	}
	if depth > maxDepth {
		p.file.TooDeep = true
		return nil, p.errorf(open, "nested too deeply")
	}
	var out []*Stmt
	for {
		t := p.peek()
		switch {
		case t.kind == tEOF:
			return nil, p.errorf(open, "block is not closed")
		case t.is("}"):
			p.pos++
			return out, nil
		case t.is(";"):
			p.pos++
			continue
		}
		start := p.pos
		s, err := p.stmt(depth)
		if err != nil {
			if p.strict {
				return nil, err
			}
			p.pos = start
			p.file.Skipped = append(p.file.Skipped, Skip{t.line, statementKind(t) + " that does not parse"})
			p.skipStmt()
			continue
		}
		out = append(out, s)
	}
}

func (p *parser) stmt(depth int) (*Stmt, error) {
	t := p.next()
	s := &Stmt{Line: t.line}
	switch {
	case t.kind == tMacro:
		s.Kind, s.Target = Macro, t.text
		return s, nil
	case t.is("if"):
		return p.ifStmt(s, depth)
	case t.is("set"):
		s.Kind = Set
		s.Target = p.next().text
		op := p.next()
		if !strings.HasSuffix(op.text, "=") {
			return nil, p.errorf(op, "set: want an assignment")
		}
		s.Value = p.textTo(";")
		return s, nil
	case t.is("unset") || t.is("remove"):
		s.Kind, s.Target = Unset, p.next().text
		p.skipTo(";")
		return s, nil
	case t.is("call"):
		s.Kind, s.Target = Call, p.next().text
		p.skipTo(";")
		return s, nil
	case t.is("return"):
		s.Kind = Return
		if p.peek().is("(") {
			p.pos++
			s.Target = p.next().text
		}
		p.skipTo(";")
		return s, nil
	case t.is("{"):
		p.pos--
		body, err := p.block(depth + 1)
		if err != nil {
			return nil, err
		}
		s.Kind, s.Branches = If, []Branch{{Line: t.line, Body: body}}
		return s, nil
	}
	// Anything else runs to ";": a call of a function, error, restart,
	// synthetic, declare, esi, new.
	if t.is("}") || t.is("(") || t.is(")") {
		return nil, p.errorf(t, "unexpected %q", t.text)
	}
	p.pos--
	s.Value = p.textTo(";")
	return s, nil
}

// skipStmt passes over one statement: to its ";", or past its block
// and the else branches that follow, never past the enclosing block's
// "}".
func (p *parser) skipStmt() {
	depth := 0
	for !p.done() {
		t := p.peek()
		switch {
		case t.is("{"):
			depth++
		case t.is("}"):
			if depth == 0 {
				return
			}
			if depth--; depth == 0 {
				p.pos++
				if n := p.peek(); !n.is("else") && !n.is("elsif") && !n.is("elseif") && !n.is("elif") {
					return
				}
				continue
			}
		case t.is(";") && depth == 0:
			p.pos++
			return
		}
		p.pos++
	}
}

// statementKind names a statement by its keyword, if it starts with one
// VCL has, without quoting anything else of it.
func statementKind(t token) string {
	switch t.text {
	case "if", "set", "unset", "remove", "call", "return", "add", "declare", "error", "restart", "synthetic", "esi":
		if t.kind == tIdent {
			return "a statement " + t.text
		}
	}
	return "a statement"
}

func (p *parser) ifStmt(s *Stmt, depth int) (*Stmt, error) {
	s.Kind = If
	for {
		line := p.peek().line
		cond, err := p.cond()
		if err != nil {
			return nil, err
		}
		body, err := p.block(depth + 1)
		if err != nil {
			return nil, err
		}
		s.Branches = append(s.Branches, Branch{Cond: cond, Line: line, Body: body})
		t := p.peek()
		switch {
		case t.is("elseif") || t.is("elsif") || t.is("elif"):
			p.pos++
			continue
		case t.is("else"):
			p.pos++
			if p.peek().is("if") {
				p.pos++
				continue
			}
			body, err := p.block(depth + 1)
			if err != nil {
				return nil, err
			}
			s.Branches = append(s.Branches, Branch{Line: t.line, Body: body})
		}
		return s, nil
	}
}

// cond reads "( expression )" as text.
func (p *parser) cond() (string, error) {
	open := p.next()
	if !open.is("(") {
		return "", p.errorf(open, `if: want "("`)
	}
	var parts []string
	depth := 1
	for {
		t := p.next()
		switch {
		case t.kind == tEOF || t.is("{") || t.is(";"):
			return "", p.errorf(open, "if: condition is not closed")
		case t.is("("):
			depth++
		case t.is(")"):
			if depth--; depth == 0 {
				return strings.Join(parts, " "), nil
			}
		}
		parts = append(parts, t.source())
	}
}

// textTo reads tokens as text up to end, at depth 0.
func (p *parser) textTo(end string) string {
	var parts []string
	depth := 0
	for !p.done() {
		t := p.peek()
		if t.is(end) && depth == 0 || t.is("}") && depth == 0 {
			break
		}
		p.pos++
		switch {
		case t.is("("):
			depth++
		case t.is(")"):
			depth--
		}
		parts = append(parts, t.source())
	}
	if p.peek().is(end) {
		p.pos++
	}
	return strings.Join(parts, " ")
}
