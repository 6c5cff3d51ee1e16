package logs

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
)

// Stats counts what Read saw of one stream.
type Stats struct {
	// Format is the stream's format, as given or detected.
	Format Format
	// Lines counts the lines read; Records those that held a record,
	// Skipped those that held none (directives, blank lines) and Bad those
	// that could not be read.
	Lines, Records, Skipped, Bad int64
	// BadLines are the first MaxBadLines bad lines.
	BadLines []BadLine
}

// BadLine is a line that could not be read: its number and why, never its
// content, which may hold secrets.
type BadLine struct {
	Line   int64  `json:"line"`
	Reason string `json:"reason"`
}

// MaxBadLines bounds the bad lines Stats keeps; the rest are counted.
const MaxBadLines = 20

func (s BadLine) String() string { return fmt.Sprintf("line %d: %s", s.Line, s.Reason) }

// Unparsable reports whether the stream was mostly unparsable: more bad
// lines than records. Such a stream is an error, never a clean run.
func (s *Stats) Unparsable() bool { return s.Bad > s.Records }

func (s *Stats) bad(line int64, reason string) {
	s.Bad++
	if len(s.BadLines) < MaxBadLines {
		s.BadLines = append(s.BadLines, BadLine{line, reason})
	}
}

// gzipMagic starts every gzip member.
var gzipMagic = []byte{0x1f, 0x8b}

// Read reads a log from r, gzip-compressed or not, and calls emit with
// each record and the format it was read in; emit must not keep the
// pointer. Bad lines are counted and
// skipped. Memory stays bounded whatever r holds: a line longer than
// o.MaxLine is a bad line, read past without being kept, and gzip is
// decompressed as a stream, member after member. The error is r's, a
// corrupt gzip stream, or a format that cannot be told.
func Read(r io.Reader, o Options, emit func(Format, *Record)) (Stats, error) {
	maxLine := o.MaxLine
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	br := bufio.NewReaderSize(r, maxLine)
	if magic, _ := br.Peek(2); bytes.Equal(magic, gzipMagic) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return Stats{}, fmt.Errorf("reading gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, maxLine)
	}
	st := Stats{Format: o.Format}
	var p parser
	if o.Format != "" {
		var err error
		if p, err = newParser(o); err != nil {
			return st, err
		}
	}
	bad := func(line int64, reason string) {
		st.bad(line, reason)
		if o.onBad != nil {
			o.onBad(st.Format, BadLine{line, reason})
		}
	}
	// One record for every line: emit must not keep it.
	var rec Record
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			st.Lines++
			bad(st.Lines, fmt.Sprintf("longer than %d bytes", maxLine))
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			if err == io.EOF {
				return st, nil
			}
			if err != nil {
				return st, err
			}
			continue
		}
		if len(line) > 0 {
			st.Lines++
			text := string(bytes.TrimRight(line, "\r\n"))
			if p == nil && text != "" {
				f, derr := detect(text)
				if derr != nil {
					return st, derr
				}
				if f != "" {
					o.Format, st.Format = f, f
					if p, derr = newParser(o); derr != nil {
						return st, derr
					}
				}
			}
			rec = Record{}
			switch perr := parseLine(p, text, &rec); perr {
			case nil:
				rec.Line = st.Lines
				st.Records++
				emit(o.Format, &rec)
			case errSkip:
				st.Skipped++
			default:
				bad(st.Lines, perr.Error())
			}
		}
		if err == io.EOF {
			return st, nil
		}
		if err != nil {
			return st, fmt.Errorf("reading: %w", err)
		}
	}
}

// parseLine parses one line with p, which is nil only while no line has
// shown the format (blank lines first).
func parseLine(p parser, text string, r *Record) error {
	if p == nil {
		return errSkip
	}
	return p.parse(text, r)
}
