package alert

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Watcher runs a checker again and again and alerts on what changes.
type Watcher struct {
	// Source names the checker in messages: "probe", "audit", "logs".
	Source string
	// Every is the time between the starts of two runs.
	Every time.Duration
	// Quiet is how long a firing cause must stay absent, in complete runs,
	// before it is resolved. Zero means two runs (2 × Every).
	Quiet time.Duration
	// Threshold is the least severity that fires.
	Threshold Severity
	// Check runs the checker once.
	Check func(context.Context) Run
	// Webhook, if set, receives one message per run that changes
	// something.
	Webhook *Webhook
	// Metrics, if set, is updated after every run.
	Metrics *Metrics
	// Log receives a failed post, once per run.
	Log func(error)

	tracker tracker

	nowOnce  sync.Once
	requests chan chan struct{} // RunNow's, served by Run
}

// Run checks every Every until ctx ends, and returns ctx's error. A
// RunNow in between runs the checker at once, without moving the ticks.
func (w *Watcher) Run(ctx context.Context) error {
	ticker := time.NewTicker(w.Every)
	defer ticker.Stop()
	requests := w.runNowRequests()
	w.once(ctx, time.Now())
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
			w.once(ctx, time.Now())
		case done := <-requests:
			w.once(ctx, time.Now())
			close(done)
		}
	}
}

// RunNow has Run check once more now, and returns when that run is over:
// what the checker held then has been handed to the webhook (delivered, or
// owed to the next run's message if the post failed) and the metrics. It
// is for a source that must not acknowledge input before its findings are
// handed on, such as a Kafka consumer committing offsets. It returns ctx's
// error if ctx ends first, or if Run is not running.
func (w *Watcher) RunNow(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case w.runNowRequests() <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Watcher) runNowRequests() chan chan struct{} {
	w.nowOnce.Do(func() { w.requests = make(chan chan struct{}) })
	return w.requests
}

// once runs the checker, posts what changed, and updates the metrics.
func (w *Watcher) once(ctx context.Context, now time.Time) {
	run := w.Check(ctx)
	quiet := cmp.Or(w.Quiet, 2*w.Every)
	firing, resolved := w.tracker.observe(now, run, w.Threshold, quiet)
	posted := true
	if w.Webhook != nil && len(firing)+len(resolved) > 0 {
		if err := w.Webhook.Post(ctx, newMessage(w.Source, firing, resolved)); err != nil {
			posted = false
			if w.Log != nil {
				w.Log(err)
			}
		}
	}
	// What was not delivered is still owed: the next run's message
	// carries it again.
	if posted {
		w.tracker.delivered(firing, resolved)
	}
	if w.Metrics != nil {
		w.Metrics.observe(run, w.tracker.firing(), !posted)
	}
}

// tracker keeps, per cause key, what is true and what was announced. A
// run's message is the difference between the two; once delivered, the
// announced state catches up.
type tracker struct {
	causes map[string]*state
}

type state struct {
	cause     Cause     // as last seen
	active    bool      // seen, and not yet quiet for long enough
	lastSeen  time.Time // the start of the last run that saw it
	announced bool      // a firing message was delivered, and no resolution since
}

// observe records a run that started at now and returns the causes to
// announce as firing and as resolved, sorted by severity then key.
func (t *tracker) observe(now time.Time, run Run, threshold Severity, quiet time.Duration) (firing, resolved []Cause) {
	if t.causes == nil {
		t.causes = map[string]*state{}
	}
	for _, c := range run.Causes {
		if !c.Severity.AtLeast(threshold) && !c.Always {
			continue
		}
		s := t.causes[c.Key]
		if s == nil {
			s = &state{}
			t.causes[c.Key] = s
		}
		s.cause, s.active, s.lastSeen = c, true, now
	}
	for key, s := range t.causes {
		// Only a complete run can tell that a cause is gone.
		if s.active && s.lastSeen != now && run.Errors == 0 && now.Sub(s.lastSeen) >= quiet {
			s.active = false
		}
		switch {
		case s.active && !s.announced:
			firing = append(firing, s.cause)
		case !s.active && s.announced:
			resolved = append(resolved, s.cause)
		case !s.active:
			// Fired and went quiet while the webhook was down: there
			// is nothing left to say.
			delete(t.causes, key)
		}
	}
	byUrgency := func(a, b Cause) int {
		return cmp.Or(Compare(a.Severity, b.Severity), cmp.Compare(a.Key, b.Key))
	}
	slices.SortFunc(firing, byUrgency)
	slices.SortFunc(resolved, byUrgency)
	return firing, resolved
}

// delivered records that firing and resolved were announced.
func (t *tracker) delivered(firing, resolved []Cause) {
	for _, c := range firing {
		t.causes[c.Key].announced = true
	}
	for _, c := range resolved {
		delete(t.causes, c.Key)
	}
}

// firing counts the causes that are active now.
func (t *tracker) firing() int {
	n := 0
	for _, s := range t.causes {
		if s.active {
			n++
		}
	}
	return n
}

// String describes a cause for logs: its severity, kind and summary.
func (c Cause) String() string {
	return fmt.Sprintf("%s %s: %s", c.Severity, c.Kind, c.Summary)
}
