package logs

import "io"

// Sink takes the records every source reads: it checks each, counts it,
// and hands on the findings. It is safe for concurrent use when Emit is.
type Sink struct {
	Checker *Checker
	// Metrics, Window and Emit are optional. Emit gets each finding as it
	// is found.
	Metrics *Metrics
	Window  *Window
	Emit    func(*Finding)
	// Bad, optional, is told of each bad line that Read finds, as it finds
	// it: the reason and line number, never the line.
	Bad func(source string, b BadLine)
	// Origin, optional, says where line n of what Read reads came from,
	// for a stream that joins lines read elsewhere (Kafka or Kinesis
	// records): findings and bad lines name that source and line, not
	// Read's.
	Origin func(n int64) (source string, line int64)
}

// Record checks r, read in format f from source.
func (s *Sink) Record(source string, f Format, r *Record) {
	s.Metrics.Record(f, r)
	s.Window.record()
	s.Checker.Check(source, r, s.finding)
}

func (s *Sink) finding(f *Finding) {
	if s.Origin != nil {
		f.Source, f.Line = s.Origin(f.Line)
	}
	s.Metrics.Finding(f)
	if s.Window != nil {
		s.Window.Add(f)
	}
	if s.Emit != nil {
		s.Emit(f)
	}
}

// Read reads the stream r, named source, with o, and checks every record
// as it comes; see Read.
// Bad lines are counted as they are found, so that a followed file, whose
// Read ends only with the follow, is never silently unreadable.
func (s *Sink) Read(source string, r io.Reader, o Options) (Stats, error) {
	o.onBad = func(f Format, b BadLine) {
		s.Metrics.ParseErrors(f, 1)
		s.Window.bad()
		if s.Bad != nil {
			src := source
			if s.Origin != nil {
				src, b.Line = s.Origin(b.Line)
			}
			s.Bad(src, b)
		}
	}
	st, err := Read(r, o, func(f Format, rec *Record) { s.Record(source, f, rec) })
	if err != nil && s.Window != nil {
		s.Window.Fail()
	}
	return st, err
}
