package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/cachefence/cachefence/alert"
	"github.com/cachefence/cachefence/probe"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "probe",
		Usage: "--config <file> [--format text|json] [--fail-on <severity>] [--every <duration> [--quiet <duration>] [--webhook <url>] [--metrics <addr>]]",
		Short: "Check a site through its CDN for personal pages that strangers can see",
		Long: `
Fetches each personal URL of the config as each test identity (twice, to
prime any cache), then as the other identities and anonymously, at the same
instant, and under static-looking suffixes, and reports one finding per
cause (kind and URL):
  leak             critical  another identity's page, session cookie or
                             owner stamp reached someone else
  cached           high      an identity's own page came from a shared cache
  logged_out_page  medium    a signed-in identity got the anonymous page
  unsafe_headers   low       a personal page's headers let a shared cache
                             store it (at origin_url, else at the edge)
  not_cacheable    low       a public URL is not stored by the cache
  edge_headers     info      the edge rewrote a personal page's safe headers

Exit status: 0 nothing at or above --fail-on (default low), 1 findings
at or above it, 2 the probe could not run, not completely, or its result
cannot be trusted (an identity never recognised, a stamp key that verifies
nothing).

With --every, it runs forever, and posts to --webhook at most one message
per run, listing what fired and what recovered (a JSON body with "text",
which Slack-style incoming webhooks accept). A cause recovers once it has
been absent for --quiet (default two runs). --metrics serves Prometheus
metrics. Durations are written as Caddy writes them: 30s, 5m, 1d.

See docs/probe.md and examples/probe.json.
`,
		CobraFunc: func(cmd *cobra.Command) {
			addProbeFlags(cmd)
			cmd.RunE = func(cmd *cobra.Command, args []string) error {
				code, err := probe.ExitError, noArgs(cmd, args)
				if err == nil {
					code, err = cmdProbe(cmd.Context(), caddycmd.Flags{FlagSet: cmd.Flags()}, cmd.OutOrStdout(), cmd.ErrOrStderr())
				}
				exitProbe(cmd, code, err)
				return nil
			}
			// Cobra's own exit for a bad flag, 1, would read as findings.
			cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
				exitProbe(cmd, probe.ExitError, err)
				return nil
			})
		},
	})
}

// addProbeFlags defines the probe command's flags on cmd.
func addProbeFlags(cmd *cobra.Command) {
	cmd.Flags().StringP("config", "c", "", "The probe's JSON config file")
	cmd.Flags().String("format", "text", "Report format: text or json")
	cmd.Flags().String("fail-on", string(alert.Low), "The least severity that exits 1 and alerts: critical, high, medium, low or info")
	cmd.Flags().Var(new(durationFlag), "every", "Watch mode: run again after this long, forever")
	cmd.Flags().Var(new(durationFlag), "quiet", "Watch mode: how long a cause must stay absent before it recovers (default two runs)")
	cmd.Flags().String("webhook", "", "Watch mode: post what fired and what recovered to this URL")
	cmd.Flags().String("metrics", "", "Watch mode: serve Prometheus metrics on this address")
}

// durationFlag is a flag holding a duration as Caddy writes it ("1d").
type durationFlag time.Duration

// String writes the duration as Go does ("1m30s").
func (d *durationFlag) String() string { return time.Duration(*d).String() }

// Set reads a duration as Caddy does, days included.
func (d *durationFlag) Set(s string) error {
	v, err := caddy.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 30s, 5m or 1d")
	}
	*d = durationFlag(v)
	return nil
}

// Type names the value in help.
func (d *durationFlag) Type() string { return "duration" }

// durationOf reads a durationFlag.
func durationOf(fl caddycmd.Flags, name string) time.Duration {
	return time.Duration(*fl.Lookup(name).Value.(*durationFlag))
}

// exitProbe prints err, if any, and exits with code. The probe exits by
// itself because caddycmd.Main exits 0 for a status of 1 without an error,
// and 1 means findings here.
func exitProbe(cmd *cobra.Command, code int, err error) {
	if err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "cachefence probe:", err)
	}
	os.Exit(code)
}

func cmdProbe(ctx context.Context, fl caddycmd.Flags, out, errOut io.Writer) (int, error) {
	path := fl.String("config")
	if path == "" {
		return probe.ExitError, errors.New("--config is required")
	}
	format := fl.String("format")
	if format != "text" && format != "json" {
		return probe.ExitError, fmt.Errorf("--format %q: want text or json", format)
	}
	failOn, err := alert.ParseSeverity(fl.String("fail-on"))
	if err != nil {
		return probe.ExitError, fmt.Errorf("--fail-on: %w", err)
	}
	every := durationOf(fl, "every")
	if err := checkWatchFlags(fl, every); err != nil {
		return probe.ExitError, err
	}
	cfg, err := probe.LoadConfig(path)
	if err != nil {
		return probe.ExitError, err
	}
	write := func(r *probe.Report) error {
		if len(r.Untrusted) > 0 {
			// The report may go to a file or a pipe; the operator must
			// see this whatever the format.
			fmt.Fprintf(errOut, "cachefence probe: this run cannot be trusted (%d problems), exit %d:\n", len(r.Untrusted), probe.ExitError)
			for _, u := range r.Untrusted {
				fmt.Fprintf(errOut, "  %s\n", u)
			}
		}
		if format == "json" {
			return r.WriteJSON(out)
		}
		return r.WriteText(out)
	}
	prober := probe.New(cfg)
	if every == 0 {
		report := prober.Run(ctx)
		if err := write(report); err != nil {
			return probe.ExitError, err
		}
		return report.ExitCode(failOn), nil
	}
	return watch(ctx, fl, prober, every, failOn, write)
}

// checkWatchFlags checks --every, --quiet, --webhook and --metrics before
// the config is read. A webhook URL carries its own secret, so its errors
// do not show it.
func checkWatchFlags(fl caddycmd.Flags, every time.Duration) error {
	webhook := fl.String("webhook")
	if every == 0 {
		switch {
		case webhook != "" || fl.String("metrics") != "":
			return errors.New("--webhook and --metrics need --every")
		case durationOf(fl, "quiet") != 0:
			return errors.New("--quiet needs --every")
		}
		return nil
	}
	if every < 10*time.Second {
		return fmt.Errorf("--every %s: at least 10s, to stay polite", every)
	}
	if quiet := durationOf(fl, "quiet"); quiet < 0 {
		return fmt.Errorf("--quiet %s: must not be negative", quiet)
	}
	if webhook != "" {
		if _, err := alert.NewWebhook(webhook); err != nil {
			return fmt.Errorf("--webhook: %w", err)
		}
	}
	return nil
}

// watch runs the probe every so often, alerting and serving metrics, until
// a signal stops it.
func watch(ctx context.Context, fl caddycmd.Flags, prober *probe.Prober, every time.Duration, failOn alert.Severity, write func(*probe.Report) error) (int, error) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logErr := func(err error) { fmt.Fprintln(os.Stderr, "cachefence probe:", err) }
	w := &alert.Watcher{Source: "probe", Every: every, Quiet: durationOf(fl, "quiet"), Threshold: failOn, Log: logErr,
		Check: func(ctx context.Context) alert.Run {
			r := prober.Run(ctx)
			if err := write(r); err != nil {
				logErr(err)
			}
			return r.AlertRun()
		}}
	if url := fl.String("webhook"); url != "" {
		wh, err := alert.NewWebhook(url)
		if err != nil {
			return probe.ExitError, fmt.Errorf("--webhook: %w", err)
		}
		w.Webhook = wh
	}
	if addr := fl.String("metrics"); addr != "" {
		reg := prometheus.NewRegistry()
		m, err := alert.NewMetrics(reg, "probe")
		if err != nil {
			return probe.ExitError, err
		}
		w.Metrics = m
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return probe.ExitError, fmt.Errorf("--metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(l)
		defer srv.Close()
	}
	if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return probe.ExitError, err
	}
	return probe.ExitClean, nil
}
