// Package escape decodes the hex escapes that URLs and logged values carry,
// leniently: an escape that is not one is kept as written, as servers that
// decode paths and log parsers do.
package escape

import "strings"

// Hex returns the value of the hex digit c.
func Hex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// HexByte decodes the two hex digits at s[i:i+2].
func HexByte(s string, i int) (byte, bool) {
	if i < 0 || i+1 >= len(s) {
		return 0, false
	}
	hi, ok1 := Hex(s[i])
	lo, ok2 := Hex(s[i+1])
	return hi<<4 | lo, ok1 && ok2
}

// Percent decodes every valid %XX escape of s and keeps the others as they
// are. '+' stays '+': that a plus is a space is a rule of form encoding,
// not of paths or cookie values. A string without '%' is returned as it
// is, without a copy.
func Percent(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if v, ok := HexByte(s, i+1); ok {
				b.WriteByte(v)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
