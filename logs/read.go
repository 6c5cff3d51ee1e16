package logs

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"fmt"
	"io"
)

// Stats counts what Read saw of one stream.
type Stats struct {
	// Format is the stream's format, as given or detected, or Unknown.
	Format Format
	// Lines counts the lines read, an element of a JSON array counting as
	// one; Records those that held a record,
	// Skipped those that held none (directives, blank lines) and Bad those
	// that could not be read.
	Lines, Records, Skipped, Bad int64
	// BadLines are the first MaxBadLines bad lines.
	BadLines []BadLine
}

// BadLine is a line that could not be read: its number (for an element
// of a JSON array, the line it starts on) and why, never its content,
// which may hold secrets.
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
// pointer. A JSON format's records may come one per line or as the
// elements of JSON arrays (gcloud logging read --format=json, DataStream 2
// pushes), pretty-printed or not. Bad lines are counted and skipped; bad
// lines found before the format is told are reported with it once it is,
// or as Unknown. Memory stays bounded whatever r holds: a line or array
// element longer than o.MaxLine is a bad line, read past without being
// kept, and gzip is decompressed as a stream, member after member. The
// error is r's, a corrupt gzip stream, or a format that cannot be told.
func Read(r io.Reader, o Options, emit func(Format, *Record)) (Stats, error) {
	maxLine := o.MaxLine
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	br := bufio.NewReaderSize(r, maxLine)
	if magic, _ := br.Peek(2); bytes.Equal(magic, gzipMagic) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return Stats{Format: cmp.Or(o.Format, Unknown)}, fmt.Errorf("reading gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, maxLine)
	}
	rd := reading{o: o, st: Stats{Format: o.Format}, sc: entries{br: br, max: maxLine, arrays: jsonFormat(o.Format)}}
	err := rd.run(emit)
	if rd.st.Format == "" {
		rd.told(Unknown)
	}
	return rd.st, err
}

// reading is one Read's state.
type reading struct {
	o  Options
	st Stats
	sc entries
	p  parser
	// pending are the bad lines found before the format was told, for
	// o.onBad.
	pending []BadLine
}

func (rd *reading) run(emit func(Format, *Record)) error {
	if rd.o.Format != "" {
		var err error
		if rd.p, err = newParser(rd.o); err != nil {
			return err
		}
	}
	// One record for every line: emit must not keep it.
	var rec Record
	for {
		e, err := rd.sc.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading: %w", err)
		}
		rd.st.Lines++
		if e.bad != "" {
			rd.bad(e.line, e.bad)
			continue
		}
		if rd.p == nil && e.text != "" {
			f, err := detect(e.text)
			if err != nil {
				return err
			}
			if f != "" {
				rd.o.Format = f
				if rd.p, err = newParser(rd.o); err != nil {
					return err
				}
				rd.sc.arrays = jsonFormat(f)
				rd.told(f)
			}
		}
		rec = Record{}
		switch perr := parseLine(rd.p, e.text, &rec); perr {
		case nil:
			rec.Line = e.line
			rd.st.Records++
			emit(rd.o.Format, &rec)
		case errSkip:
			rd.st.Skipped++
		default:
			rd.bad(e.line, perr.Error())
		}
	}
}

func (rd *reading) bad(line int64, reason string) {
	b := BadLine{line, reason}
	rd.st.bad(line, reason)
	switch {
	case rd.o.onBad == nil:
	case rd.st.Format != "":
		rd.o.onBad(rd.st.Format, b)
	case len(rd.pending) < MaxBadLines:
		rd.pending = append(rd.pending, b)
	default:
		// So many bad lines before any format is told that the stream's
		// is not likely to be: report them as they come.
		rd.o.onBad(Unknown, b)
	}
}

// told records the stream's format, and reports the bad lines found
// before it.
func (rd *reading) told(f Format) {
	rd.st.Format = f
	for _, b := range rd.pending {
		rd.o.onBad(f, b)
	}
	rd.pending = nil
}

// parseLine parses one line with p, which is nil only while no line has
// shown the format (blank lines first).
func parseLine(p parser, text string, r *Record) error {
	if p == nil {
		return errSkip
	}
	return p.parse(text, r)
}
