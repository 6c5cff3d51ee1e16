package terraform

import (
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/cachefence/cachefence/audit/tree"
)

// converter turns HCL bodies into trees. Expressions are evaluated with no
// variables or functions: what needs them becomes an unknown node holding
// the expression's source.
type converter struct {
	src []byte
	// dynamic records dynamic blocks, which are not expanded.
	dynamic []*hclsyntax.Block
	// conds holds the arms of the unknown nodes that are conditionals.
	conds map[*tree.Node]conditional
}

// conditional is a value "cond ? a : b" whose condition is known only at
// plan time: its arms, read apart, and the condition's source, by which
// the conditionals that test the same condition are found.
type conditional struct {
	cond string
	// arms are the true arm and the false one.
	arms [2]*tree.Node
}

func (c *converter) body(b *hclsyntax.Body, path string, line int) *tree.Node {
	n := &tree.Node{Kind: tree.Object, Path: path, Line: line}
	type member struct {
		at   hcl.Pos
		node *tree.Node
	}
	var members []member
	for name, attr := range b.Attributes {
		m := c.expr(attr.Expr, join(path, name))
		m.Key = name
		members = append(members, member{attr.SrcRange.Start, m})
	}
	blocks := map[string]*tree.Node{}
	for _, blk := range b.Blocks {
		if blk.Type == "dynamic" {
			c.dynamic = append(c.dynamic, blk)
			continue
		}
		list, ok := blocks[blk.Type]
		if !ok {
			list = &tree.Node{Kind: tree.Array, Key: blk.Type, Path: join(path, blk.Type), Line: blk.TypeRange.Start.Line}
			blocks[blk.Type] = list
			members = append(members, member{blk.TypeRange.Start, list})
		}
		// A block's path has no index unless its type repeats: settings
		// read as Terraform writes them, "cookies_config.cookie_behavior".
		path := list.Path
		if len(list.Items) > 0 {
			path += "[" + itoa(len(list.Items)) + "]"
		}
		item := c.body(blk.Body, path, blk.TypeRange.Start.Line)
		list.Items = append(list.Items, item)
	}
	slices.SortFunc(members, func(a, b member) int { return a.at.Byte - b.at.Byte })
	for _, m := range members {
		n.Members = append(n.Members, m.node)
	}
	return n
}

func (c *converter) expr(e hclsyntax.Expression, path string) *tree.Node {
	line := e.Range().Start.Line
	switch e := e.(type) {
	case *hclsyntax.TupleConsExpr:
		n := &tree.Node{Kind: tree.Array, Path: path, Line: line}
		for i, item := range e.Exprs {
			n.Items = append(n.Items, c.expr(item, path+"["+itoa(i)+"]"))
		}
		return n
	case *hclsyntax.ObjectConsExpr:
		n := &tree.Node{Kind: tree.Object, Path: path, Line: line}
		for _, item := range e.Items {
			key := hcl.ExprAsKeyword(item.KeyExpr)
			if key == "" {
				v, diags := item.KeyExpr.Value(nil)
				if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
					continue
				}
				key = v.AsString()
			}
			m := c.expr(item.ValueExpr, join(path, key))
			m.Key = key
			n.Members = append(n.Members, m)
		}
		return n
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		n := &tree.Node{Kind: tree.Unknown, Path: path, Line: line, Text: c.source(e.Range())}
		// "${cond ? a : b}" is the conditional itself.
		if w, ok := e.(*hclsyntax.TemplateWrapExpr); ok {
			e = w.Wrapped
		}
		if cond, ok := e.(*hclsyntax.ConditionalExpr); ok && c.conds != nil {
			// The arms' own conditionals stay unknown: in a chain
			// "a ? x : b ? y : ...", each level would read the rest again.
			arms := &converter{src: c.src}
			c.conds[n] = conditional{c.text(cond.Condition.Range()),
				[2]*tree.Node{arms.expr(cond.TrueResult, path), arms.expr(cond.FalseResult, path)}}
		}
		return n
	}
	return value(v, path, line)
}

// text is an expression's source, its spaces and newlines each made one
// space.
func (c *converter) text(r hcl.Range) string {
	if r.Start.Byte < 0 || r.End.Byte > len(c.src) || r.Start.Byte > r.End.Byte {
		return "(expression)"
	}
	return strings.Join(strings.Fields(string(c.src[r.Start.Byte:r.End.Byte])), " ")
}

// source is an expression's text as a message shows it.
func (c *converter) source(r hcl.Range) string { return shorten(c.text(r)) }

func shorten(text string) string {
	if len(text) > 120 {
		text = text[:117] + "..."
	}
	return text
}

// value turns a known cty value into a tree.
func value(v cty.Value, path string, line int) *tree.Node {
	n := &tree.Node{Path: path, Line: line}
	t := v.Type()
	switch {
	case v.IsNull():
		n.Kind = tree.Null
	case t == cty.String:
		n.Kind, n.Text = tree.String, v.AsString()
	case t == cty.Number:
		n.Kind, n.Text = tree.Number, v.AsBigFloat().Text('f', -1)
	case t == cty.Bool:
		n.Kind, n.Text = tree.Bool, "false"
		if v.True() {
			n.Text = "true"
		}
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		n.Kind = tree.Array
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			n.Items = append(n.Items, value(e, path+"["+itoa(i)+"]", line))
		}
	case t.IsObjectType() || t.IsMapType():
		n.Kind = tree.Object
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			m := value(e, join(path, k.AsString()), line)
			m.Key = k.AsString()
			n.Members = append(n.Members, m)
		}
	default:
		n.Kind, n.Text = tree.Unknown, "(value)"
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// maxNesting bounds how deeply a .tf file's blocks and expressions nest,
// and maxRecursion how deeply HCL's parser and evaluator recurse on it,
// one frame per level and per operator, index or attribute of one
// expression: a file of deep nesting exhausted the stack, and each level
// costs the tree a path as long as the levels above it. Real
// configurations nest a dozen levels.
const (
	maxNesting   = 100
	maxRecursion = 1000
)

// checkNesting returns the line at which src nests deeper than
// maxNesting or recurses deeper than maxRecursion, or 0. It reads HCL's
// tokens, which its lexer finds without recursion: every bracket, brace,
// parenthesis and template interpolation opens a level; every operator,
// attribute and index of an expression (!!!!x, a ? b : c ? d : e,
// x[0][0], x[*].a[*].a) adds a frame to it. A comma ends an expression,
// and so does a newline between a block's or an object's members.
func checkNesting(src []byte, file string) int {
	tokens, _ := hclsyntax.LexConfig(src, file, hcl.Pos{Line: 1, Column: 1})
	type level struct {
		newlineEnds, index bool
		ops                int
	}
	levels := []level{{newlineEnds: true}}
	depth, frames := 0, 0
	prev := hclsyntax.TokenNil
	for _, tok := range tokens {
		top := &levels[len(levels)-1]
		switch tok.Type {
		case hclsyntax.TokenOBrace:
			levels = append(levels, level{newlineEnds: true})
			depth++
			frames++
		case hclsyntax.TokenOBrack, hclsyntax.TokenOParen, hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			levels = append(levels, level{index: tok.Type == hclsyntax.TokenOBrack && endsOperand(prev)})
			depth++
			frames++
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenTemplateSeqEnd:
			if len(levels) > 1 {
				depth--
				frames -= 1 + top.ops
				index := top.index
				levels = levels[:len(levels)-1]
				if index { // an index or splat wraps the expression before it
					levels[len(levels)-1].ops++
					frames++
				}
			}
		case hclsyntax.TokenComma:
			frames -= top.ops
			top.ops = 0
		case hclsyntax.TokenNewline:
			if top.newlineEnds {
				frames -= top.ops
				top.ops = 0
			}
		case hclsyntax.TokenBang, hclsyntax.TokenMinus, hclsyntax.TokenPlus, hclsyntax.TokenStar, hclsyntax.TokenSlash,
			hclsyntax.TokenPercent, hclsyntax.TokenAnd, hclsyntax.TokenOr, hclsyntax.TokenEqualOp, hclsyntax.TokenNotEqual,
			hclsyntax.TokenLessThan, hclsyntax.TokenLessThanEq, hclsyntax.TokenGreaterThan, hclsyntax.TokenGreaterThanEq,
			hclsyntax.TokenQuestion, hclsyntax.TokenDot:
			top.ops++
			frames++
		}
		if depth > maxNesting || frames > maxRecursion {
			return tok.Range.Start.Line
		}
		prev = tok.Type
	}
	return 0
}

// endsOperand says whether a token of this type can end an expression, so
// that a bracket after it is an index rather than a tuple.
func endsOperand(t hclsyntax.TokenType) bool {
	switch t {
	case hclsyntax.TokenIdent, hclsyntax.TokenNumberLit, hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc,
		hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenCBrace:
		return true
	}
	return false
}
