package logs

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// entries splits a log into its entries: its lines, and the elements of
// the JSON arrays a JSON format's log may hold instead (gcloud logging
// read --format=json prints one array, pretty-printed; a DataStream 2
// push may be one). An array is read element by element, so memory stays
// bounded by the longest element kept, max bytes.
type entries struct {
	br  *bufio.Reader
	max int
	// arrays says that a '[' opening a line opens a JSON array: the
	// stream's format is a JSON one, or not told yet.
	arrays bool
	// line counts the newlines read.
	line int64
	// inArray says that the next entry is an array element, and first
	// that it would be the array's first.
	inArray, first bool
	elem           []byte // the element being read, reused
}

// entry is one line or array element: its text, or why it could not be
// read, and the number of the line it starts on.
type entry struct {
	text, bad string
	line      int64
}

// next returns the next entry, or io.EOF at the end of the stream.
func (s *entries) next() (entry, error) {
	for {
		if s.inArray {
			if e, ok, err := s.element(); ok || err != nil {
				return e, err
			}
			continue // the array ended with no further element
		}
		if s.arrays && s.opensArray() {
			s.inArray, s.first = true, true
			continue
		}
		return s.readLine()
	}
}

func (s *entries) readLine() (entry, error) {
	start := s.line + 1
	line, err := s.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		for err == bufio.ErrBufferFull {
			_, err = s.br.ReadSlice('\n')
		}
		s.line++
		if err != nil && err != io.EOF {
			return entry{}, err
		}
		return entry{line: start, bad: fmt.Sprintf("longer than %d bytes", s.max)}, nil
	}
	if len(line) == 0 {
		return entry{}, err
	}
	s.line++
	if err != nil && err != io.EOF {
		return entry{}, err
	}
	return entry{text: string(bytes.TrimRight(line, "\r\n")), line: start}, nil
}

// opensArray reports whether the line about to be read opens a JSON
// array, and if so reads past the '['.
func (s *entries) opensArray() bool {
	for n := 1; n <= s.br.Size(); n++ {
		b, _ := s.br.Peek(n)
		if len(b) < n {
			return false
		}
		switch b[n-1] {
		case ' ', '\t', '\r':
		case '[':
			s.br.Discard(n)
			return true
		default:
			return false
		}
	}
	return false
}

// element reads the array's next element, up to the ',' or ']' after it;
// ok is false when the array ended with none. The element is not checked
// here: its format's parser does that.
func (s *entries) element() (e entry, ok bool, err error) {
	c, err := s.skipSpace()
	if err != nil {
		s.inArray = false
		return entry{}, false, err
	}
	first := s.first
	s.first = false
	e.line = s.line + 1
	s.elem = s.elem[:0]
	depth, inString, escaped, long := 0, false, false, false
	for {
		end := false
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case (c == '}' || c == ']') && depth > 0:
			depth--
		case depth == 0 && (c == ',' || c == ']'):
			end = true
			s.inArray = c == ','
		}
		if end {
			break
		}
		if c == '\n' {
			s.line++
		}
		if len(s.elem) < s.max {
			s.elem = append(s.elem, c)
		} else {
			long = true
		}
		if c, err = s.br.ReadByte(); err != nil {
			s.inArray = false
			if err != io.EOF {
				return entry{}, false, err
			}
			e.bad = "unterminated JSON array"
			return e, true, nil
		}
	}
	if !s.inArray {
		s.endLine()
	}
	text := bytes.TrimSpace(s.elem)
	switch {
	case long:
		e.bad = fmt.Sprintf("longer than %d bytes", s.max)
	case len(text) == 0 && first && !s.inArray:
		return entry{}, false, nil // []
	case len(text) == 0:
		e.bad = errJSON.Error()
	default:
		e.text = string(text)
	}
	return e, true, nil
}

// skipSpace reads past blank space, counting lines, and returns the byte
// after it.
func (s *entries) skipSpace() (byte, error) {
	for {
		c, err := s.br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case '\n':
			s.line++
		case ' ', '\t', '\r':
		default:
			return c, nil
		}
	}
}

// endLine reads past the blank rest of the line an array ended on, so
// that it is not read as a line of its own.
func (s *entries) endLine() {
	for n := 1; n <= s.br.Size(); n++ {
		b, _ := s.br.Peek(n)
		if len(b) < n {
			s.br.Discard(n - 1) // blank to the end of the stream
			return
		}
		switch b[n-1] {
		case ' ', '\t', '\r':
		case '\n':
			s.br.Discard(n)
			s.line++
			return
		default:
			return
		}
	}
}
