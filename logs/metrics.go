package logs

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count what the log watcher reads and finds, beside the alert
// package's metrics of its runs:
//
//	cachefence_logs_records_total{format}               records read
//	cachefence_logs_cache_status_total{format,verdict}  records by cache verdict
//	cachefence_logs_parse_errors_total{format}          lines that could not be read
//	cachefence_logs_findings_total{check,severity}      records flagged
type Metrics struct {
	records, parseErrors *prometheus.CounterVec
	statuses, findings   *prometheus.CounterVec
}

// NewMetrics registers the metrics in reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cachefence_logs_records_total", Help: "Log records read, by format.",
		}, []string{"format"}),
		statuses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cachefence_logs_cache_status_total", Help: "Log records by the cache's verdict: hit, collapsed, stored, passed, unknown.",
		}, []string{"format", "verdict"}),
		parseErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cachefence_logs_parse_errors_total", Help: "Log lines that could not be read, by format.",
		}, []string{"format"}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cachefence_logs_findings_total", Help: "Log records flagged, by check and severity.",
		}, []string{"check", "severity"}),
	}
	for _, c := range []prometheus.Collector{m.records, m.statuses, m.parseErrors, m.findings} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering logs metrics: %w", err)
		}
	}
	return m, nil
}

// The methods do nothing on a nil *Metrics: metrics are optional.

// Record counts a record read in format f.
func (m *Metrics) Record(f Format, r *Record) {
	if m == nil {
		return
	}
	m.records.WithLabelValues(string(f)).Inc()
	m.statuses.WithLabelValues(string(f), string(r.Cache)).Inc()
}

// ParseErrors counts n lines of format f that could not be read.
func (m *Metrics) ParseErrors(f Format, n int64) {
	if m == nil || n == 0 {
		return
	}
	m.parseErrors.WithLabelValues(string(f)).Add(float64(n))
}

// Finding counts a finding.
func (m *Metrics) Finding(f *Finding) {
	if m == nil {
		return
	}
	m.findings.WithLabelValues(f.Check, string(f.Severity)).Inc()
}
