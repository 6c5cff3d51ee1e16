package cli

import (
	"encoding/json"
	"fmt"

	"github.com/cachefence/cachefence/catalog"
	"github.com/cachefence/cachefence/logs"
)

// emit prints a finding.
func (r *logsRun) emit(f *logs.Finding) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.found++
	switch r.output {
	case "json":
		b, _ := json.Marshal(f)
		r.out.Write(append(b, '\n'))
	case "sarif":
		r.sarif = append(r.sarif, f)
	default:
		fmt.Fprintln(r.out, f)
		if !r.explained[f.Check] {
			e := catalog.Must(f.Check)
			fmt.Fprintf(r.out, "  %s: %s. To do: %s %s\n", e.ID, e.Title, e.Remediation, e.DocURL())
			r.explained[f.Check] = true
		}
	}
}

// report prints what a stream held, with its bad lines, and says whether
// it was usable.
func (r *logsRun) report(source string, st logs.Stats, err error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
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
