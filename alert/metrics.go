package alert

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are a watcher's Prometheus metrics, named after its source:
//
//	cachefence_<source>_runs_total                   runs completed
//	cachefence_<source>_last_run_timestamp_seconds   when the last run finished
//	cachefence_<source>_errors_total                 failures within runs
//	cachefence_<source>_findings{kind,severity}      causes of the last run
//	cachefence_<source>_alerts_firing                causes firing now
//	cachefence_<source>_webhook_failures_total       messages not delivered
type Metrics struct {
	runs, errors, webhookFailures prometheus.Counter
	lastRun, alertsFiring         prometheus.Gauge
	findings                      *prometheus.GaugeVec
	// last holds the findings gauge's values, by kind and severity.
	last map[[2]string]int
}

// NewMetrics registers the metrics of source in reg.
func NewMetrics(reg prometheus.Registerer, source string) (*Metrics, error) {
	name := func(s string) string { return "cachefence_" + source + "_" + s }
	m := &Metrics{
		last: map[[2]string]int{},
		runs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("runs_total"), Help: "Runs completed.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("errors_total"), Help: "Failures within runs (requests, reads); a run with any is incomplete.",
		}),
		webhookFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("webhook_failures_total"), Help: "Webhook messages not delivered after their retries; they are sent again after the next run.",
		}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: name("last_run_timestamp_seconds"), Help: "When the last run finished, as a Unix time.",
		}),
		alertsFiring: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: name("alerts_firing"), Help: "Causes at or above the threshold that are firing now.",
		}),
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: name("findings"), Help: "Findings of the last complete run, by kind and severity.",
		}, []string{"kind", "severity"}),
	}
	for _, c := range []prometheus.Collector{m.runs, m.errors, m.webhookFailures, m.lastRun, m.alertsFiring, m.findings} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering %s metrics: %w", source, err)
		}
	}
	return m, nil
}

// observe records a run, the causes firing after it, and whether its
// message failed.
func (m *Metrics) observe(run Run, firing int, webhookFailed bool) {
	m.runs.Inc()
	m.lastRun.SetToCurrentTime()
	m.errors.Add(float64(run.Errors))
	if webhookFailed {
		m.webhookFailures.Inc()
	}
	m.alertsFiring.Set(float64(firing))
	counts := map[[2]string]int{}
	for _, c := range run.Causes {
		counts[[2]string{c.Kind, string(c.Severity)}]++
	}
	for labels := range m.last {
		if _, ok := counts[labels]; !ok {
			counts[labels] = 0
		}
	}
	for labels, n := range counts {
		// A run with errors may have missed causes that are still
		// there: it can raise a count but not lower it, as it cannot
		// resolve an alert either.
		if run.Errors > 0 && n < m.last[labels] {
			continue
		}
		m.last[labels] = n
		m.findings.WithLabelValues(labels[0], labels[1]).Set(float64(n))
	}
}
