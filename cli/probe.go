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
		Usage: "--config <file> [--format text|json] [--every <duration> [--webhook <url>] [--metrics <addr>]]",
		Short: "Check a site through its CDN for personal pages that strangers can see",
		Long: `
Fetches each personal URL of the config as each test identity (twice, to
prime any cache), then as the other identities and anonymously, and reports:
  leak            another identity's markers, Set-Cookie or owner stamp
                  reached someone else (also tried with identities firing
                  at the same instant, and with static-looking suffixes)
  cached          a personal page came from a shared cache
  unsafe_headers  a personal page's headers let a shared cache store it
  not_cacheable   a public URL will not be cached

Exit status: 0 clean, 1 findings, 2 the probe could not run (bad config,
network errors).

With --every, it runs forever, posts each new finding and each recovery once
to --webhook (a JSON body with "text", which Slack-style incoming webhooks
accept), and serves Prometheus metrics on --metrics.

See examples/probe.json for a config.
`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().StringP("config", "c", "", "The probe's JSON config file")
			cmd.Flags().String("format", "text", "Report format: text or json")
			cmd.Flags().Duration("every", 0, "Watch mode: run again after this long, forever")
			cmd.Flags().String("webhook", "", "Watch mode: post new findings and recoveries to this URL")
			cmd.Flags().String("metrics", "", "Watch mode: serve Prometheus metrics on this address")
			cmd.RunE = func(cmd *cobra.Command, args []string) error {
				code, err := probe.ExitError, noArgs(cmd, args)
				if err == nil {
					code, err = cmdProbe(cmd.Context(), caddycmd.Flags{FlagSet: cmd.Flags()}, cmd.OutOrStdout())
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

// exitProbe prints err, if any, and exits with code. The probe exits by
// itself because caddycmd.Main exits 0 for a status of 1 without an error,
// and 1 means findings here.
func exitProbe(cmd *cobra.Command, code int, err error) {
	if err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "cachefence probe:", err)
	}
	os.Exit(code)
}

func cmdProbe(ctx context.Context, fl caddycmd.Flags, out io.Writer) (int, error) {
	path := fl.String("config")
	if path == "" {
		return probe.ExitError, errors.New("--config is required")
	}
	format := fl.String("format")
	if format != "text" && format != "json" {
		return probe.ExitError, fmt.Errorf("--format %q: want text or json", format)
	}
	every, err := fl.GetDuration("every")
	if err != nil {
		return probe.ExitError, err
	}
	if err := checkWatchFlags(fl, every); err != nil {
		return probe.ExitError, err
	}
	cfg, err := probe.LoadConfig(path)
	if err != nil {
		return probe.ExitError, err
	}
	write := func(r *probe.Report) error {
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
		return report.ExitCode(), nil
	}
	return watch(ctx, fl, prober, every, write)
}

// checkWatchFlags checks --every, --webhook and --metrics before the
// config is read. A webhook URL carries its own secret, so its errors do
// not show it.
func checkWatchFlags(fl caddycmd.Flags, every time.Duration) error {
	webhook := fl.String("webhook")
	if every == 0 {
		if webhook != "" || fl.String("metrics") != "" {
			return errors.New("--webhook and --metrics need --every")
		}
		return nil
	}
	if every < 10*time.Second {
		return fmt.Errorf("--every %s: at least 10s, to stay polite", every)
	}
	if webhook != "" {
		if _, err := alert.NewWebhook(webhook); err != nil {
			return fmt.Errorf("--webhook: %w", err)
		}
	}
	return nil
}

func watch(ctx context.Context, fl caddycmd.Flags, prober *probe.Prober, every time.Duration, write func(*probe.Report) error) (int, error) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logErr := func(err error) { fmt.Fprintln(os.Stderr, "cachefence probe:", err) }
	w := &alert.Watcher{Source: "probe", Every: every, Threshold: alert.Warning, Log: logErr,
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
