// Package tree holds a configuration document as a tree of values that
// know their line: a JSON export, or a Terraform block. Member names are
// matched without case or underscores, so that one reader serves an API's
// "MinTTL" or "cacheMode" and Terraform's "min_ttl" or "cache_mode".
package tree

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/vcl"
)

// Kind is the kind of a value.
type Kind uint8

// The kinds.
const (
	Null Kind = iota
	Bool
	Number
	String
	Object
	Array
	// Unknown is a value that could not be resolved: Text holds the
	// expression.
	Unknown
)

// Node is one value.
type Node struct {
	Kind Kind
	Line int
	// Path is the member names and indexes from the root, as spelled:
	// "DistributionConfig.CacheBehaviors.Items[0].MinTTL".
	Path string
	// Text is a scalar as text (numbers as written, "true", "false"), or
	// an unknown's expression.
	Text string
	// Members are an object's members in order; each has Key.
	Members []*Node
	Key     string
	Items   []*Node
}

// maxDepth bounds nesting, so that a hostile file cannot exhaust the
// stack of the walkers.
const maxDepth = 200

// ParseJSON reads one JSON document. A syntax error names its line.
func ParseJSON(data []byte) (*Node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := &parser{dec: dec, lines: newLines(data)}
	n, err := p.value("", 0)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("data after the JSON value")
		}
	}
	if err != nil {
		var syn *json.SyntaxError
		line := p.lines.at(dec.InputOffset())
		if errors.As(err, &syn) {
			line = p.lines.at(syn.Offset)
			err = errors.New(syn.Error())
		}
		return nil, &LineError{Line: line, Err: err}
	}
	return n, nil
}

// LineError is a syntax error at a line.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

type parser struct {
	dec   *json.Decoder
	lines lines
}

func (p *parser) value(path string, depth int) (*Node, error) {
	if depth > maxDepth {
		return nil, errors.New("nested too deeply")
	}
	tok, err := p.dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	n := &Node{Path: path, Line: p.lines.at(p.dec.InputOffset())}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			n.Kind = Object
			for p.dec.More() {
				keyTok, err := p.dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := keyTok.(string)
				m, err := p.value(join(path, key), depth+1)
				if err != nil {
					return nil, err
				}
				m.Key = key
				n.Members = append(n.Members, m)
			}
		} else {
			n.Kind = Array
			for i := 0; p.dec.More(); i++ {
				item, err := p.value(fmt.Sprintf("%s[%d]", path, i), depth+1)
				if err != nil {
					return nil, err
				}
				n.Items = append(n.Items, item)
			}
		}
		_, err = p.dec.Token() // the closing delimiter
		return n, err
	case string:
		n.Kind, n.Text = String, t
	case json.Number:
		n.Kind, n.Text = Number, t.String()
	case bool:
		n.Kind, n.Text = Bool, strconv.FormatBool(t)
	case nil:
		n.Kind = Null
	}
	return n, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// lines maps byte offsets to line numbers.
type lines []int64

func newLines(data []byte) lines {
	var l lines
	for i, b := range data {
		if b == '\n' {
			l = append(l, int64(i))
		}
	}
	return l
}

func (l lines) at(offset int64) int {
	lo, hi := 0, len(l)
	for lo < hi {
		mid := (lo + hi) / 2
		if l[mid] < offset {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo + 1
}

// Normalize folds a member name for matching: "MinTTL", "min_ttl" and
// "minTtl" are one name.
func Normalize(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, "_", ""))
}

// Get returns the member named key, or nil. A one-item array of objects,
// which is how Terraform writes a nested block, counts as the object. Get
// on nil is nil, so that lookups chain.
func (n *Node) Get(keys ...string) *Node {
	for _, key := range keys {
		n = n.object()
		if n == nil {
			return nil
		}
		var found *Node
		want := Normalize(key)
		for _, m := range n.Members {
			if Normalize(m.Key) == want {
				found = m
				break
			}
		}
		n = found
	}
	return n
}

func (n *Node) object() *Node {
	if n != nil && n.Kind == Array && len(n.Items) == 1 {
		n = n.Items[0]
	}
	if n == nil || n.Kind != Object {
		return nil
	}
	return n
}

// List returns n's items, or n itself if it is a single object, as
// Terraform blocks and API lists may be either.
func (n *Node) List() []*Node {
	switch {
	case n == nil:
		return nil
	case n.Kind == Array:
		return n.Items
	case n.Kind == Object:
		return []*Node{n}
	}
	return nil
}

// Strings returns a list of scalars as text.
func (n *Node) Strings() []string {
	var out []string
	for _, item := range n.List() {
		if item.Kind != Object && item.Kind != Array {
			out = append(out, item.Text)
		}
	}
	return out
}

// Str returns a scalar's text, or "" for nil and containers.
func (n *Node) Str() string {
	if n == nil || n.Kind == Object || n.Kind == Array {
		return ""
	}
	return n.Text
}

// Int returns a number's value, and whether n is a known number.
func (n *Node) Int() (int64, bool) {
	if n == nil || (n.Kind != Number && n.Kind != String) {
		return 0, false
	}
	v, err := strconv.ParseFloat(n.Text, 64)
	return int64(v), err == nil
}

// IsTrue says whether n is the known value true.
func (n *Node) IsTrue() bool { return n != nil && n.Kind == Bool && n.Text == "true" }

// IsFalse says whether n is the known value false.
func (n *Node) IsFalse() bool { return n != nil && n.Kind == Bool && n.Text == "false" }

// Setting makes a setting of n in file, named by its path below base.
func (n *Node) Setting(file string, base *Node) *audit.Setting {
	name := n.Path
	if base != nil && strings.HasPrefix(name, base.Path+".") {
		name = name[len(base.Path)+1:]
	}
	return &audit.Setting{File: file, Line: n.Line, Name: name, Value: n.display(), Unknown: n.Kind == Unknown}
}

func (n *Node) display() string {
	switch n.Kind {
	case Object:
		return "{...}"
	case Array:
		return "[" + strings.Join(n.Strings(), ", ") + "]"
	case Null:
		return "null"
	}
	return n.Text
}

// idKeys name the members that identify an item of a list better than its
// index, in order of preference, so that inserting a rule does not show
// every later rule as changed.
var idKeys = []string{"pathpattern", "ref", "name", "headername", "description", "expression", "target", "statement"}

// Flatten appends every scalar below n to settings, keyed by path, with
// list items keyed by an identifying member where there is one, volatile
// fields left out, and the values of the headers a configuration sends
// hidden (see hiding).
func Flatten(file string, n *Node) []audit.Setting {
	var out []audit.Setting
	flatten(file, "", n, "", "", nil, &out)
	return out
}

// flatten adds the scalars below n. key and parent are the normalised
// names of the members that hold n and its parent (an array's items are
// held by the array's member); hide, if set, is how the scalars below n
// are shown: n is a header's value, or VCL.
func flatten(file, path string, n *Node, key, parent string, hide func(string) string, out *[]audit.Setting) {
	switch n.Kind {
	case Object:
		for _, m := range n.Members {
			if audit.Volatile(m.Key) {
				continue
			}
			h := hide
			if h == nil {
				h = hiding(n, m, key, parent)
			}
			flatten(file, join(path, m.Key), m, Normalize(m.Key), key, h, out)
		}
	case Array:
		keys := itemKeys(n.Items)
		for i, item := range n.Items {
			flatten(file, path+keys[i], item, key, parent, hide, out)
		}
	default:
		value := n.display()
		if hide != nil && n.Kind != Null && n.Kind != Bool {
			value = hide(value)
		}
		*out = append(*out, audit.Setting{File: file, Line: n.Line, Name: path, Value: value, Unknown: n.Kind == Unknown})
	}
}

func itemKeys(items []*Node) []string {
	keys := make([]string, len(items))
	for _, id := range idKeys {
		seen := map[string]bool{}
		ok := true
		for i, item := range items {
			v := item.Get(id).Str()
			if v == "" || seen[v] || item.Kind != Object {
				ok = false
				break
			}
			seen[v] = true
			if id == "statement" {
				v = vcl.Hide(v) // a Fastly condition's
			}
			keys[i] = fmt.Sprintf("[%s=%q]", id, v)
		}
		if ok && len(items) > 0 {
			return keys
		}
	}
	for i := range items {
		keys[i] = fmt.Sprintf("[%d]", i)
	}
	return keys
}

// Read parses f as JSON and adds its settings to cfg. On a syntax error it
// records the failure, with its line, and returns nil.
func Read(cfg *audit.Config, f audit.File) *Node {
	root, err := ParseJSON(f.Data)
	if err != nil {
		var le *LineError
		line := 0
		if errors.As(err, &le) {
			line, err = le.Line, le.Err
		}
		cfg.Fail(f.Path, line, err)
		return nil
	}
	cfg.Settings = append(cfg.Settings, Flatten(f.Path, root)...)
	return root
}

// ReadAll reads each JSON file and calls each with the ones that parse,
// gathering into one Config what they learn.
func ReadAll(files []audit.File, each func(cfg *audit.Config, file string, root *Node)) *audit.Config {
	cfg := &audit.Config{}
	for _, f := range files {
		if root := Read(cfg, f); root != nil {
			each(cfg, f.Path, root)
		}
	}
	return cfg
}
