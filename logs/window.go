package logs

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/cachefence/cachefence/alert"
)

// Window collects findings between two runs of an alert.Watcher. Logs
// arrive all the time while a watcher runs now and then: each run drains
// the window and reports, once per cause, what was seen since the last
// run, so that a cause goes on firing while it recurs and resolves after
// the watcher's quiet period without it. It keeps one finding per cause,
// so memory stays bounded by the site's paths, not by the traffic.
//
// A window that read more bad lines than records, like a stream that is
// mostly unparsable, counts as failed: it may have missed findings.
type Window struct {
	mu     sync.Mutex
	causes map[string]alert.Cause
	errors int

	records, badLines atomic.Int64
}

// record and bad count the records and bad lines read; nil-safe, as a
// Sink's Window is optional.
func (w *Window) record() {
	if w != nil {
		w.records.Add(1)
	}
}

func (w *Window) bad() {
	if w != nil {
		w.badLines.Add(1)
	}
}

// Add records a finding.
func (w *Window) Add(f *Finding) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.causes == nil {
		w.causes = map[string]alert.Cause{}
	}
	key := f.Key()
	if _, seen := w.causes[key]; !seen {
		w.causes[key] = f.Cause()
	}
}

// Fail records an input that failed (a stream that could not be read, a
// push that was refused as unreadable): a window with failures may have
// missed findings and cannot resolve any.
func (w *Window) Fail() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errors++
}

// Run drains the window into one run; it is an alert.Watcher's Check.
func (w *Window) Run(context.Context) alert.Run {
	w.mu.Lock()
	defer w.mu.Unlock()
	run := alert.Run{Errors: w.errors}
	if bad, recs := w.badLines.Swap(0), w.records.Swap(0); bad > recs {
		run.Errors++
	}
	for _, c := range w.causes {
		run.Causes = append(run.Causes, c)
	}
	w.causes, w.errors = nil, 0
	return run
}
