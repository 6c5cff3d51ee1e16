package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Alert is the JSON body posted to the webhook. Slack and similar incoming
// webhooks read "text"; the other fields are for machines.
type Alert struct {
	Text string `json:"text"`
	// Status is "firing" for a new finding and "resolved" for a recovery.
	Status  string  `json:"status"`
	Finding Finding `json:"finding"`
}

// Webhook posts alerts to an incoming-webhook URL.
type Webhook struct {
	URL    string
	Client *http.Client
}

// Post sends one alert; any status but 2xx is an error.
func (wh *Webhook) Post(ctx context.Context, a Alert) error {
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	resp, err := wh.Client.Do(req)
	if err != nil {
		// A webhook URL carries its own secret (Slack's does): report the
		// cause without the URL that *url.Error would print.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("posting alert: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("posting alert: webhook answered %s", resp.Status)
	}
	return nil
}

func alertFor(f Finding, status string) Alert {
	text := fmt.Sprintf("[%s] cachefence probe: %s %s (%s check) on %s", status, f.Severity, f.Kind, f.Check, f.URL)
	switch {
	case f.Owner != "" && f.Receiver != "" && f.Owner != f.Receiver:
		text += fmt.Sprintf(" (%s's page reached %s)", f.Owner, f.Receiver)
	case f.Receiver != "":
		text += fmt.Sprintf(" (as %s)", f.Receiver)
	}
	if status == "firing" {
		text += ": " + f.Evidence
	}
	return Alert{Text: text, Status: status, Finding: f}
}

// Metrics are the watch mode's Prometheus metrics.
type Metrics struct {
	lastRun  prometheus.Gauge
	findings *prometheus.GaugeVec
	errors   prometheus.Counter
	runs     prometheus.Counter
	last     map[[2]string]int // findings by kind and severity, as exposed
}

// NewMetrics registers the metrics in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		last: map[[2]string]int{},
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cachefence_probe_last_run_timestamp_seconds",
			Help: "When the last probe run finished, as a Unix time.",
		}),
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cachefence_probe_findings",
			Help: "Findings of the last probe run, by kind and severity.",
		}, []string{"kind", "severity"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cachefence_probe_errors_total",
			Help: "Probe requests and alerts that failed.",
		}),
		runs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cachefence_probe_runs_total",
			Help: "Probe runs completed.",
		}),
	}
	reg.MustRegister(m.lastRun, m.findings, m.errors, m.runs)
	return m
}

func (m *Metrics) observe(r *Report, alertErrors int) {
	m.runs.Inc()
	m.lastRun.SetToCurrentTime()
	m.errors.Add(float64(len(r.Errors) + alertErrors))
	counts := map[[2]string]int{}
	for _, f := range r.Findings {
		counts[[2]string{f.Kind, f.Severity}]++
	}
	for _, kind := range []string{KindLeak, KindCached, KindUnsafeHeaders, KindNotCacheable} {
		for _, sev := range []string{SeverityCritical, SeverityHigh, SeverityWarning} {
			n := counts[[2]string{kind, sev}]
			// A run with errors may have missed findings that are still
			// there: it can raise a count but not lower it, as it cannot
			// resolve an alert either.
			if len(r.Errors) > 0 && n < m.last[[2]string{kind, sev}] {
				continue
			}
			m.last[[2]string{kind, sev}] = n
			m.findings.WithLabelValues(kind, sev).Set(float64(n))
		}
	}
}

// Watcher runs the probe repeatedly and alerts on changes.
type Watcher struct {
	Prober  *Prober
	Every   time.Duration
	Webhook *Webhook // nil: no alerts
	Metrics *Metrics // nil: no metrics
	// Report receives each run's report, e.g. to print it.
	Report func(*Report)
	// Log receives problems with alerting.
	Log func(error)

	// alerted holds the findings whose "firing" alert was delivered and
	// whose "resolved" alert was not yet.
	alerted map[string]Finding
}

// Run probes every Every until ctx ends. Each new finding is posted once,
// and each recovery once; a post that fails is tried again after the next
// run, so no alert is lost to a webhook outage.
func (w *Watcher) Run(ctx context.Context) error {
	w.alerted = map[string]Finding{}
	ticker := time.NewTicker(w.Every)
	defer ticker.Stop()
	for {
		w.once(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

func (w *Watcher) once(ctx context.Context) {
	report := w.Prober.Run(ctx)
	if w.Report != nil {
		w.Report(report)
	}
	alertErrors := 0
	post := func(f Finding, status string) bool {
		if w.Webhook == nil {
			return true
		}
		if err := w.Webhook.Post(ctx, alertFor(f, status)); err != nil {
			alertErrors++
			if w.Log != nil {
				w.Log(err)
			}
			return false
		}
		return true
	}
	current := map[string]bool{}
	for _, f := range report.Findings {
		current[f.Key()] = true
		if _, done := w.alerted[f.Key()]; !done && post(f, "firing") {
			w.alerted[f.Key()] = f
		}
	}
	// A run with errors may have missed a finding that is still there, so
	// only a complete run can declare a recovery.
	if len(report.Errors) == 0 {
		for key, f := range w.alerted {
			if !current[key] && post(f, "resolved") {
				delete(w.alerted, key)
			}
		}
	}
	if w.Metrics != nil {
		w.Metrics.observe(report, alertErrors)
	}
}
