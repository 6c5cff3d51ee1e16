package caddymodule

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cachefence/cachefence/fence"
)

// The collectors are package-level so that they are created once and their
// counts survive config reloads; each load registers them again in its own
// fresh registry (Caddy gives every config load a new one).
var (
	responsesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "http",
		Name:      "cache_fence_responses_total",
		Help:      "Responses classified by cache_fence, by verdict (fenced or shared) and mode (enforce or report).",
	}, []string{"verdict", "mode"})
	reasonsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "http",
		Name:      "cache_fence_reasons_total",
		Help:      "Reasons for fencing a response; a response fenced for two reasons counts once under each.",
	}, []string{"reason", "mode"})
	overriddenTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "http",
		Name:      "cache_fence_overridden_total",
		Help:      "Fenced responses whose Cache-Control a handler outside cache_fence changed after the fence had set it: cache_fence is misplaced.",
	}, []string{"mode"})
)

// counters holds the label combinations of one handler, resolved once at
// provision so that the request path does no label lookups.
type counters struct {
	fenced, shared prometheus.Counter
	reasons        []prometheus.Counter // indexed by fence.Reason
	overridden     prometheus.Counter
}

// newCounters registers the collectors in registry, tolerating a previous
// registration by another handler of the same config. A nil registry (unit
// tests, or metrics off) still counts, without exporting.
func newCounters(registry prometheus.Registerer, mode string) (*counters, error) {
	var err error
	if registry != nil {
		for _, c := range []prometheus.Collector{responsesTotal, reasonsTotal, overriddenTotal} {
			var already prometheus.AlreadyRegisteredError
			if e := registry.Register(c); e != nil && !errors.As(e, &already) {
				err = fmt.Errorf("registering cache_fence metrics: %w", e)
			}
		}
	}
	cs := &counters{
		fenced:     responsesTotal.WithLabelValues("fenced", mode),
		shared:     responsesTotal.WithLabelValues("shared", mode),
		overridden: overriddenTotal.WithLabelValues(mode),
	}
	for _, r := range fence.AllReasons() {
		cs.reasons = append(cs.reasons, reasonsTotal.WithLabelValues(r.String(), mode))
	}
	return cs, err
}

func (cs *counters) observe(rs fence.Reasons) {
	if !rs.Fenced() {
		cs.shared.Inc()
		return
	}
	cs.fenced.Inc()
	// Only the reasons in the set are visited.
	for set := uint32(rs); set != 0; set &= set - 1 {
		cs.reasons[bits.TrailingZeros32(set)].Inc()
	}
}
