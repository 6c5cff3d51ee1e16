package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/cachefence/cachefence/alert"
	"github.com/cachefence/cachefence/probe"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "probe",
		Usage: "--config <file> [--format text|json|sarif] [--fail-on <severity>] [--every <duration> [--quiet <duration>] [--webhook <url>] [--metrics <addr>]]",
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
been absent for --quiet (default two runs). A run that cannot be trusted
fires probe_untrusted (high), whatever --fail-on. --metrics serves
Prometheus metrics. Durations are written as Caddy writes them: 30s, 5m, 1d.

See docs/probe.md and examples/probe.json.
`,
		CobraFunc: func(cmd *cobra.Command) {
			addProbeFlags(cmd)
			runCommand(cmd, probe.ExitError, func(cmd *cobra.Command, args []string) (int, error) {
				if err := noArgs(cmd, args); err != nil {
					return probe.ExitError, err
				}
				return cmdProbe(cmd.Context(), caddycmd.Flags{FlagSet: cmd.Flags()}, cmd.OutOrStdout(), cmd.ErrOrStderr())
			})
		},
	})
}

// addProbeFlags defines the probe command's flags on cmd.
func addProbeFlags(cmd *cobra.Command) {
	cmd.Flags().StringP("config", "c", "", "The probe's JSON config file")
	cmd.Flags().String("format", "text", "Report format: text, json or sarif")
	cmd.Flags().String("fail-on", string(alert.Low), "The least severity that exits 1 and alerts: critical, high, medium, low or info")
	addWatchFlags(cmd, 0, "Watch mode: run again after this long, forever")
}

func cmdProbe(ctx context.Context, fl caddycmd.Flags, out, errOut io.Writer) (int, error) {
	path := fl.String("config")
	if path == "" {
		return probe.ExitError, errors.New("--config is required")
	}
	format := fl.String("format")
	if format != "text" && format != "json" && format != "sarif" {
		return probe.ExitError, fmt.Errorf("--format %q: want text, json or sarif", format)
	}
	failOn, err := alert.ParseSeverity(fl.String("fail-on"))
	if err != nil {
		return probe.ExitError, fmt.Errorf("--fail-on: %w", err)
	}
	every := durationOf(fl, "every")
	// At least 10s between runs, to stay polite.
	if err := checkWatchFlags(fl, every, 10*time.Second); err != nil {
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
		switch format {
		case "json":
			return r.WriteJSON(out)
		case "sarif":
			return r.WriteSARIF(out)
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

// watch runs the probe every so often, alerting and serving metrics, until
// a signal stops it.
func watch(ctx context.Context, fl caddycmd.Flags, prober *probe.Prober, every time.Duration, failOn alert.Severity, write func(*probe.Report) error) (int, error) {
	ctx, cancel := untilSignal(ctx)
	defer cancel()
	logErr := func(err error) { fmt.Fprintln(os.Stderr, "cachefence probe:", err) }
	w := &alert.Watcher{Source: "probe", Every: every, Threshold: failOn, Log: logErr,
		Check: func(ctx context.Context) alert.Run {
			r := prober.Run(ctx)
			if err := write(r); err != nil {
				logErr(err)
			}
			return r.AlertRun()
		}}
	stop, err := equipWatcher(fl, w, nil)
	if err != nil {
		return probe.ExitError, err
	}
	defer stop()
	if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return probe.ExitError, err
	}
	return probe.ExitClean, nil
}
