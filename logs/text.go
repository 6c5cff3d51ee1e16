package logs

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cachefence/cachefence/internal/escape"
)

// unbackslash undoes the escaping nginx (escape=default: \xHH for '"',
// '\' and bytes outside printable ASCII) and varnishncsa (\xHH, \", \\,
// \t, \n) apply to logged values. A value without a backslash is returned
// as it is.
func unbackslash(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case 'x':
			if c, ok := escape.HexByte(s, i+2); ok {
				b.WriteByte(c)
				i += 3
				continue
			}
			b.WriteByte(c)
		case '"', '\\':
			b.WriteByte(s[i+1])
			i++
		case 't':
			b.WriteByte('\t')
			i++
		case 'n':
			b.WriteByte('\n')
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// dash reads the "-" that W3C, nginx and varnishncsa write for an empty
// value as "".
func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// parseTime reads a log timestamp: a Unix time in seconds, milliseconds,
// microseconds or nanoseconds (told apart by size), with or without a
// fraction, or an RFC 3339 date.
func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if c := s[0]; c >= '0' && c <= '9' && !strings.ContainsAny(s, "-:T") {
		return unixTime(s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// printable makes a logged value safe to print: invalid UTF-8 and control
// characters become U+FFFD, so that a crafted path cannot move a
// terminal's cursor or forge an output line.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// unixTime reads digits[.digits] as a Unix time in the unit its size
// tells, exactly: no float is involved.
func unixTime(s string) (time.Time, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	var fracNanos int64 // the fraction of one unit, in billionths
	for i := range 9 {
		fracNanos *= 10
		if i < len(frac) {
			if frac[i] < '0' || frac[i] > '9' {
				return time.Time{}, false
			}
			fracNanos += int64(frac[i] - '0')
		}
	}
	switch {
	case n < 1e11: // seconds, until the year 5138
		return time.Unix(n, fracNanos).UTC(), true
	case n < 1e14: // milliseconds
		return time.Unix(n/1e3, n%1e3*1e6+fracNanos/1e3).UTC(), true
	case n < 1e17: // microseconds
		return time.Unix(n/1e6, n%1e6*1e3+fracNanos/1e6).UTC(), true
	}
	return time.Unix(n/1e9, n%1e9).UTC(), true
}

// jsonSafe are the ASCII bytes that JSON strings hold as they are.
var jsonSafe = func() (safe [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		safe[c] = !strings.ContainsRune(`"\<>&`, c)
	}
	return safe
}()

// appendJSONString appends s as a JSON string, escaped exactly as
// encoding/json escapes it: quotes, backslashes and control characters,
// <, > and & for HTML, invalid UTF-8 as U+FFFD, and U+2028 and U+2029.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(b, s[start:]...), '"')
}
