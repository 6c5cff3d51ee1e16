package cli

import (
	"context"
	"errors"
	"fmt"
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
)

// The CDN-side commands (probe, audit, logs) share their exit, their watch
// mode and its flags: one place, so that they behave alike.

// exitCommand prints err, if any, as "cachefence <command>: <err>", and
// exits with code. These commands exit by themselves because
// caddycmd.Main exits 0 for a status of 1 without an error, and 1 means
// findings for them.
func exitCommand(cmd *cobra.Command, code int, err error) {
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "cachefence %s: %v\n", cmd.Name(), err)
	}
	os.Exit(code)
}

// runCommand sets cmd up to run fn and exit with its code, bad flags
// included: cobra's own exit for a bad flag, 1, would read as findings.
func runCommand(cmd *cobra.Command, errCode int, fn func(cmd *cobra.Command, args []string) (int, error)) {
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		code, err := fn(cmd, args)
		exitCommand(cmd, code, err)
		return nil
	}
	cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		exitCommand(cmd, errCode, err)
		return nil
	})
}

// addWatchFlags defines the watch mode's flags; every is --every's
// default (0: no watch mode unless asked).
func addWatchFlags(cmd *cobra.Command, every time.Duration, everyUsage string) {
	d := durationFlag(every)
	cmd.Flags().Var(&d, "every", everyUsage)
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

// checkWatchFlags checks --every (at least least), --quiet, --webhook and
// --metrics before anything is read. every is 0 outside watch mode. A
// webhook URL carries its own secret, so its errors do not show it.
func checkWatchFlags(fl caddycmd.Flags, every, least time.Duration) error {
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
	if every < least {
		return fmt.Errorf("--every %s: at least %s", every, least)
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

// equipWatcher gives w its webhook, quiet period and metrics from the
// flags; register adds the command's own collectors to the same registry.
// The returned stop closes the metrics server.
func equipWatcher(fl caddycmd.Flags, w *alert.Watcher, register func(prometheus.Registerer) error) (stop func(), err error) {
	w.Quiet = durationOf(fl, "quiet")
	if url := fl.String("webhook"); url != "" {
		if w.Webhook, err = alert.NewWebhook(url); err != nil {
			return nil, fmt.Errorf("--webhook: %w", err)
		}
	}
	addr := fl.String("metrics")
	if addr == "" {
		return func() {}, nil
	}
	reg := prometheus.NewRegistry()
	if w.Metrics, err = alert.NewMetrics(reg, w.Source); err != nil {
		return nil, err
	}
	if register != nil {
		if err := register(reg); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv, err := serveOn(addr, mux, "", "")
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	return func() { srv.Close() }, nil
}

// untilSignal is ctx, cancelled on SIGINT or SIGTERM.
func untilSignal(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}
