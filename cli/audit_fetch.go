package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/cachefence/cachefence/alert"
	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/fetch"
	"github.com/cachefence/cachefence/audit/load"
)

// addAuditFetchFlags defines the flags of the sources audit fetches.
func addAuditFetchFlags(cmd *cobra.Command) {
	cmd.Flags().String("cloudflare-token-env", "CLOUDFLARE_API_TOKEN", "cloudflare: sources: the environment variable holding a read-only API token")
	cmd.Flags().String("cloudflare-api", fetch.DefaultCloudflareAPI, "cloudflare: sources: the API's base URL")
	d := durationFlag(2 * time.Minute)
	cmd.Flags().Var(&d, "fetch-timeout", "How long one source (an API, a cmd: command) may take to fetch")
}

// auditSources splits the arguments into the sources to fetch
// (cloudfront:, cloudflare:, cmd:) and the paths to read.
func auditSources(ctx context.Context, fl caddycmd.Flags, args []string) (sources []fetch.Source, paths []string, err error) {
	// One client serves every distribution, its credentials loaded once.
	cloudFront := sync.OnceValues(func() (fetch.CloudFrontAPI, error) { return fetch.NewCloudFrontClient(ctx) })
	o := fetch.Options{
		CloudFront:         func(context.Context) (fetch.CloudFrontAPI, error) { return cloudFront() },
		CloudflareAPI:      fl.String("cloudflare-api"),
		CloudflareTokenEnv: fl.String("cloudflare-token-env"),
		MaxBytes:           fetch.DefaultMaxBytes,
	}
	for _, arg := range args {
		src, err := fetch.Parse(ctx, arg, o)
		switch {
		case err != nil:
			return nil, nil, err
		case src != nil:
			sources = append(sources, src)
		default:
			paths = append(paths, arg)
		}
	}
	return sources, paths, nil
}

// fetchInto fetches every source, each within timeout, and reads what
// came as load reads files. A source that fails is an error of the
// configuration, under its name: the run is not clean.
func fetchInto(ctx context.Context, cfg *audit.Config, sources []fetch.Source, kind string, timeout time.Duration, m *fetchMetrics) {
	var files []audit.File
	for _, src := range sources {
		fctx, cancel := context.WithTimeout(ctx, timeout)
		got, err := src.Fetch(fctx)
		cancel()
		m.observe(src.Name(), err)
		if err != nil {
			cfg.Fail(src.Name(), 0, fmt.Errorf("fetching: %w", err))
			continue
		}
		files = append(files, got...)
	}
	if len(files) > 0 {
		cfg.Add(load.Files(files, kind))
	}
}

// fetchMetrics are the watch mode's metrics of fetching, per source:
//
//	cachefence_audit_fetch_errors_total{source}
//	cachefence_audit_last_fetch_success_timestamp_seconds{source}
//
// A nil *fetchMetrics records nothing.
type fetchMetrics struct {
	errors *prometheus.CounterVec
	lastOK *prometheus.GaugeVec
}

// newFetchMetrics registers the metrics of sources in reg.
func newFetchMetrics(reg prometheus.Registerer, sources []fetch.Source) (*fetchMetrics, error) {
	m := &fetchMetrics{
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cachefence_audit_fetch_errors_total", Help: "Fetches of a source that failed; the run they were in is incomplete.",
		}, []string{"source"}),
		lastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cachefence_audit_last_fetch_success_timestamp_seconds", Help: "When a source was last fetched successfully, as a Unix time.",
		}, []string{"source"}),
	}
	for _, c := range []prometheus.Collector{m.errors, m.lastOK} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering audit fetch metrics: %w", err)
		}
	}
	// Every source has its series from the start, so that an alert on
	// errors or on an old success sees a source that never succeeded.
	for _, src := range sources {
		m.errors.WithLabelValues(src.Name())
		m.lastOK.WithLabelValues(src.Name())
	}
	return m, nil
}

func (m *fetchMetrics) observe(source string, err error) {
	switch {
	case m == nil:
	case err != nil:
		m.errors.WithLabelValues(source).Inc()
	default:
		m.lastOK.WithLabelValues(source).SetToCurrentTime()
	}
}

// rerunOnHangup has w run again at once on each SIGHUP until ctx ends:
// after a deploy, or a change made in a console, there is no need to wait
// for the next tick.
func rerunOnHangup(ctx context.Context, w *alert.Watcher) {
	hangups := make(chan os.Signal, 1)
	signal.Notify(hangups, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hangups)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hangups:
				w.RunNow(ctx)
			}
		}
	}()
}
