// Package stream holds what the log sources that read records from a
// broker (Kafka, Kinesis) share: splitting a record's value into lines,
// and joining a batch's lines into one log for logs.Sink.Read.
package stream

import (
	"bytes"
	"iter"
)

// Lines yields the lines of a record's value with their number in it,
// from 1, without line breaks: vendors put one line or a batch of lines
// in a record. Empty lines are left out, their numbers kept.
func Lines(v []byte) iter.Seq2[int, []byte] {
	return func(yield func(int, []byte) bool) {
		for n := 1; len(v) > 0; n++ {
			line, rest, _ := bytes.Cut(v, []byte{'\n'})
			v = rest
			if line = bytes.TrimSuffix(line, []byte{'\r'}); len(line) > 0 && !yield(n, line) {
				return
			}
		}
	}
}

// Join returns the texts of a batch's lines, each ended by a newline, as
// one log to read: its line n (from 1) is batch[n-1]'s.
func Join[R any](batch []R, text func(*R) []byte) []byte {
	n := 0
	for i := range batch {
		n += len(text(&batch[i])) + 1
	}
	b := make([]byte, 0, n)
	for i := range batch {
		b = append(append(b, text(&batch[i])...), '\n')
	}
	return b
}
