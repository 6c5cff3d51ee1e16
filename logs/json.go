package logs

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/cachefence/cachefence/internal/escape"
)

// A small JSON reader for log lines. The JSON formats are read at several
// hundred thousand lines a second, so the lines are not decoded into maps
// or structs: members walks the top-level members of an object and hands
// over each value as a slice of the line, and only the values a format
// wants are decoded. It accepts exactly what encoding/json accepts for an
// object (the fuzz test holds it to that), and nests at most maxDepth deep.

// maxDepth bounds nesting, so that a line of "[[[[..." costs no stack.
const maxDepth = 32

var errJSON = errors.New("invalid JSON")

// members calls fn with the key and raw value of each member of the JSON
// object s, in order, and fails if s is not exactly one object (surrounding
// white space aside). A later member with the same key is handed over too.
func members(s string, fn func(key, value string)) error {
	i := skipSpace(s, 0)
	end, err := object(s, i, 1, fn)
	if err != nil {
		return err
	}
	if skipSpace(s, end) != len(s) {
		return errJSON
	}
	return nil
}

// object reads the object at s[i:] and returns the index after it.
func object(s string, i, depth int, fn func(key, value string)) (int, error) {
	if i >= len(s) || s[i] != '{' {
		return 0, errJSON
	}
	if depth > maxDepth {
		return 0, errJSON
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return i + 1, nil
	}
	for {
		keyStart := i
		keyEnd, err := stringEnd(s, i)
		if err != nil {
			return 0, err
		}
		i = skipSpace(s, keyEnd)
		if i >= len(s) || s[i] != ':' {
			return 0, errJSON
		}
		valueStart := skipSpace(s, i+1)
		valueEnd, err := value(s, valueStart, depth)
		if err != nil {
			return 0, err
		}
		if fn != nil {
			fn(unquote(s[keyStart:keyEnd]), s[valueStart:valueEnd])
		}
		var done bool
		if i, done, err = afterItem(s, valueEnd, '}'); err != nil || done {
			return i, err
		}
	}
}

// value reads any JSON value at s[i:] and returns the index after it.
func value(s string, i, depth int) (int, error) {
	if i >= len(s) {
		return 0, errJSON
	}
	switch c := s[i]; {
	case c == '"':
		return stringEnd(s, i)
	case c == '{':
		return object(s, i, depth+1, nil)
	case c == '[':
		return array(s, i, depth+1)
	case c == 't':
		return literal(s, i, "true")
	case c == 'f':
		return literal(s, i, "false")
	case c == 'n':
		return literal(s, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return number(s, i)
	}
	return 0, errJSON
}

func array(s string, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errJSON
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == ']' {
		return i + 1, nil
	}
	for {
		end, err := value(s, i, depth)
		if err != nil {
			return 0, err
		}
		var done bool
		if i, done, err = afterItem(s, end, ']'); err != nil || done {
			return i, err
		}
	}
}

// afterItem reads what follows an object member or array element ending
// at s[i]: a comma, after which it returns the next item's index, or
// closer, after which it returns the index past it with done set.
func afterItem(s string, i int, closer byte) (next int, done bool, err error) {
	i = skipSpace(s, i)
	switch {
	case i >= len(s):
		return 0, false, errJSON
	case s[i] == ',':
		return skipSpace(s, i+1), false, nil
	case s[i] == closer:
		return i + 1, true, nil
	}
	return 0, false, errJSON
}

func literal(s string, i int, word string) (int, error) {
	if !strings.HasPrefix(s[i:], word) {
		return 0, errJSON
	}
	return i + len(word), nil
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func number(s string, i int) (int, error) {
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = digits(s, i)
	default:
		return 0, errJSON
	}
	if i < len(s) && s[i] == '.' {
		j := digits(s, i+1)
		if j == i+1 {
			return 0, errJSON
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(s, i)
		if j == i {
			return 0, errJSON
		}
		i = j
	}
	return i, nil
}

func digits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// stringEnd checks the string at s[i:] and returns the index after its
// closing quote. Control characters must be escaped; invalid UTF-8 is let
// through, as encoding/json does (it reads it as U+FFFD).
func stringEnd(s string, i int) (int, error) {
	if i >= len(s) || s[i] != '"' {
		return 0, errJSON
	}
	for i++; i < len(s); i++ {
		// Most bytes are plain: skip them with one look-up each.
		for i < len(s) && !stringStop[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		switch c := s[i]; {
		case c == '"':
			return i + 1, nil
		case c < 0x20:
			return 0, errJSON
		default: // a backslash
			i++
			if i >= len(s) {
				return 0, errJSON
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s) || !isHex4(s[i+1:i+5]) {
					return 0, errJSON
				}
				i += 4
			default:
				return 0, errJSON
			}
		}
	}
	return 0, errJSON
}

// stringStop marks the bytes that end a run of plain bytes in a JSON
// string: the quote, the backslash and control characters.
var stringStop = func() (stop [256]bool) {
	for c := range 0x20 {
		stop[c] = true
	}
	stop['"'], stop['\\'] = true, true
	return stop
}()

func isHex4(s string) bool {
	for i := range 4 {
		if _, ok := escape.Hex(s[i]); !ok {
			return false
		}
	}
	return true
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// unquote decodes a JSON string that stringEnd accepted. A string without
// escapes is a slice of the line, not a copy.
func unquote(q string) string {
	s := q[1 : len(q)-1]
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r := rune(hex4(s[i+1 : i+5]))
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if pair := utf16.DecodeRune(r, rune(hex4(s[i+3:i+7]))); pair != utf8.RuneError {
						r = pair
						i += 6
					}
				}
				if utf16.IsSurrogate(r) {
					r = utf8.RuneError
				}
			}
			b.WriteRune(r)
		default: // " \ /
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func hex4(s string) uint16 {
	var n uint16
	for i := range 4 {
		d, _ := escape.Hex(s[i])
		n = n<<4 | uint16(d)
	}
	return n
}

// jsonString reads a raw value as a string: a JSON string decoded, a
// number as written, "" for null. DataStream 2 writes numbers as strings
// and other vendors the other way round, so both are taken.
func jsonString(raw string) string {
	switch {
	case raw == "" || raw == "null":
		return ""
	case raw[0] == '"':
		return unquote(raw)
	}
	return raw
}

// jsonInt reads a raw value as an integer, written as a number or as a
// string.
func jsonInt(raw string) (int, bool) {
	n, err := strconv.Atoi(jsonString(raw))
	return n, err == nil
}
