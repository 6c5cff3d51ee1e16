package cli

import (
	"bufio"
	"fmt"
	"io"
	"time"

	"github.com/cachefence/cachefence/catalog"
	"github.com/cachefence/cachefence/logs"
)

// flushAfter is how long a finding may wait in the output buffer while
// following or listening: findings come in bursts, and one write per
// burst costs far less than one per finding.
const flushAfter = 200 * time.Millisecond

// findingsOut buffers the findings written to out.
type findingsOut struct {
	w       *bufio.Writer
	pending *time.Timer // a flush scheduled, while output waits
}

func newFindingsOut(out io.Writer) findingsOut {
	return findingsOut{w: bufio.NewWriterSize(out, 64<<10)}
}

// flush writes out the findings buffered.
func (r *logsRun) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushLocked()
}

func (r *logsRun) flushLocked() {
	if r.out.pending != nil {
		r.out.pending.Stop()
		r.out.pending = nil
	}
	r.out.w.Flush()
}

// emit prints a finding. While watching, it is written out within
// flushAfter; reading files, when the file is read.
func (r *logsRun) emit(f *logs.Finding) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.found++
	if r.watching && r.out.pending == nil {
		r.out.pending = time.AfterFunc(flushAfter, r.flush)
	}
	// Appended to the buffer's free space, written in place: no copy, no
	// allocation per finding.
	switch r.output {
	case "json":
		// A finding that cannot be written (a time past year 9999) is an
		// empty line, as json.Marshal's error left it.
		b, _ := f.AppendJSON(r.out.w.AvailableBuffer())
		r.out.w.Write(append(b, '\n'))
	case "sarif":
		r.sarif = append(r.sarif, f)
	default:
		r.out.w.Write(f.AppendText(r.out.w.AvailableBuffer()))
		if !r.explained[f.Check] {
			e := catalog.Must(f.Check)
			fmt.Fprintf(r.out.w, "  %s: %s. To do: %s %s\n", e.ID, e.Title, e.Remediation, e.DocURL())
			r.explained[f.Check] = true
		}
	}
}

// report prints what a stream held, with its bad lines, and says whether
// it was usable.
func (r *logsRun) report(source string, st logs.Stats, err error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	// The findings first, as they were found before the report.
	r.flushLocked()
	if err != nil {
		fmt.Fprintf(r.errOut, "cachefence logs: %s: %v\n", source, err)
		return false
	}
	fmt.Fprintf(r.errOut, "cachefence logs: %s: %s, %d records, %d bad lines\n", source, st.Format, st.Records, st.Bad)
	for _, b := range st.BadLines {
		fmt.Fprintf(r.errOut, "  %s: %s\n", source, b)
	}
	if more := st.Bad - int64(len(st.BadLines)); more > 0 {
		fmt.Fprintf(r.errOut, "  %s: … and %d more\n", source, more)
	}
	if st.Unparsable() {
		fmt.Fprintf(r.errOut, "cachefence logs: %s: mostly unparsable (%d bad lines, %d records): wrong --format?\n", source, st.Bad, st.Records)
		return false
	}
	return true
}

// badLine prints a bad line of a followed file or a push as it is found,
// up to logs.MaxBadLines per source: a follow never ends to report them.
func (r *logsRun) badLine(source string, b logs.BadLine) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.badShown == nil {
		r.badShown = map[string]int{}
	}
	switch n := r.badShown[source]; {
	case n < logs.MaxBadLines:
		fmt.Fprintf(r.errOut, "cachefence logs: %s: %s\n", source, b)
	case n == logs.MaxBadLines:
		fmt.Fprintf(r.errOut, "cachefence logs: %s: further bad lines are only counted (cachefence_logs_parse_errors_total)\n", source)
	default:
		return
	}
	r.badShown[source]++
}

// note prints a line of the command's own to errOut.
func (r *logsRun) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.errOut, "cachefence logs: "+format+"\n", args...)
}

// refused tells of a push refused; logs.Receiver never gives the secret
// nor the body.
func (r *logsRun) refused(route, remote string, status int, why string) {
	r.note("refused %s from %s: %d %s", route, remote, status, why)
}
