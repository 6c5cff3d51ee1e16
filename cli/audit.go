package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/cachefence/cachefence/alert"
	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/load"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "audit",
		Usage: "[--kind <kind>] [--format text|json|sarif] [--fail-on <severity>] [--baseline <file>] [--write-baseline <file>] [--every <duration> [--quiet <duration>] [--webhook <url>] [--metrics <addr>]] <path|source>... | explain <id> [--vendor <vendor>]",
		Short: "Check a CDN's own cache configuration for settings that share personal pages",
		Long: `
Reads a CDN's configuration and reports each setting that lets a shared
cache store or share a personal page, worst first: first what the origin
fence (cache_fence) cannot defend, because the cache ignores private and
no-store, and must be fixed at the CDN.

Each path is a file or a directory; a directory's Terraform files are one
module. Kinds, detected from each file's name and content:
  cloudfront  aws cloudfront get-distribution-config JSON, and the cache
              and origin request policies (get-cache-policy) beside it
  cloudflare  Rulesets API JSON (phase http_request_cache_settings), Page
              Rules JSON
  gcp         gcloud compute backend-services/backend-buckets describe JSON
  akamai      Property Manager rule tree JSON
  fastly      VCL, and service version JSON (/service/{id}/details)
  terraform   .tf files and terraform show -json
  varnish     VCL (checked with varnishd -C where installed)
  nginx       nginx.conf and the files it includes

Sources fetch the configuration instead (see docs/audit.md):
  cloudfront:DISTRIBUTION_ID  the distribution's configuration and every
              cache and origin request policy it names, with the standard
              AWS credential chain (read-only: cloudfront:GetDistributionConfig,
              cloudfront:GetCachePolicy, cloudfront:GetOriginRequestPolicy)
  cloudflare:ZONE_ID  the zone's cache rules and Page Rules, with a
              read-only API token from $CLOUDFLARE_API_TOKEN
              (--cloudflare-token-env names another variable)
  cmd:COMMAND  what a command prints, run with sh -c: a vendor's CLI
              (gcloud ... --format=json, terraform show -json)
A source that cannot be fetched is an error (exit 2), never a clean run.

cachefence audit --run FILE.vcl|nginx.conf runs that configuration in a
throw-away varnishd or nginx on 127.0.0.1 against a synthetic origin and
reports each case where a second user got the first user's page
(docs/audit-run.md).

cachefence audit explain ID [--vendor V] prints what a check (or a probe or
logs finding, or a fence reason) means and how to fix it, with a bad and a
good example for the vendor; a directory named explain is ./explain.

--write-baseline saves the normalised configuration; --baseline reports
every change since then as a drift finding.

Exit status: 0 no finding at or above --fail-on (default high), 1 findings,
2 the audit could not run (an unreadable file, an unknown format, a parse
error).

With --every, it fetches the sources and reads the paths again that
often, forever, and posts to --webhook at most one message per run,
listing the findings at or above --fail-on that appeared and those that
went away; --metrics serves Prometheus metrics, fetches included. SIGHUP
runs it again at once. See docs/audit.md.
`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().String("kind", "", "Read every path as this kind: "+strings.Join(load.Kinds(), ", "))
			cmd.Flags().String("format", "text", "Report format: text, json or sarif")
			cmd.Flags().String("vendor", "", "With explain: show this vendor's fix and its bad and good example")
			cmd.Flags().String("root", "", "With --format sarif: the directory file URIs are relative to (default: the working directory, as code scanning expects)")
			cmd.Flags().String("fail-on", string(audit.High), "Exit 1 for findings at or above this severity: critical, high, medium or low")
			cmd.Flags().String("baseline", "", "Report changes since this baseline as drift findings")
			cmd.Flags().String("write-baseline", "", "Write the normalised configuration to this file")
			addWatchFlags(cmd, 0, "Watch mode: fetch the sources and read the paths again after this long, forever, and alert on new findings and recoveries")
			addAuditFetchFlags(cmd)
			addAuditRunFlags(cmd)
			runCommand(cmd, audit.ExitError, func(cmd *cobra.Command, args []string) (int, error) {
				return cmdAudit(cmd.Context(), caddycmd.Flags{FlagSet: cmd.Flags()}, args, cmd.OutOrStdout())
			})
		},
	})
}

func cmdAudit(ctx context.Context, fl caddycmd.Flags, paths []string, out io.Writer) (int, error) {
	if file := fl.String("run"); file != "" {
		return cmdAuditRun(ctx, fl, file, paths, out)
	}
	if len(paths) > 0 && paths[0] == "explain" {
		if err := explain(paths[1:], fl.String("vendor"), out); err != nil {
			return audit.ExitError, err
		}
		return audit.ExitClean, nil
	}
	if fl.String("vendor") != "" {
		return audit.ExitError, errors.New("--vendor goes with explain: cachefence audit explain ID --vendor V")
	}
	if len(paths) == 0 {
		return audit.ExitError, errors.New("no path given: name the configuration files or directories to audit, or sources to fetch")
	}
	format := fl.String("format")
	if !slices.Contains([]string{"text", "json", "sarif"}, format) {
		return audit.ExitError, fmt.Errorf("--format %q: want text, json or sarif", format)
	}
	failOn := audit.Severity(fl.String("fail-on"))
	if !slices.Contains(audit.Severities, failOn) {
		return audit.ExitError, fmt.Errorf("--fail-on %q: want critical, high, medium or low", failOn)
	}
	kind := fl.String("kind")
	if kind != "" && !slices.Contains(load.Kinds(), kind) {
		return audit.ExitError, fmt.Errorf("--kind %q: want one of %s", kind, strings.Join(load.Kinds(), ", "))
	}
	// Reading the configuration every few minutes would hammer nothing,
	// but a CDN's export changes on deploys: a minute is the least.
	every := durationOf(fl, "every")
	if err := checkWatchFlags(fl, every, time.Minute); err != nil {
		return audit.ExitError, err
	}
	if every != 0 && fl.String("write-baseline") != "" {
		return audit.ExitError, errors.New("--write-baseline goes with a single run, not --every")
	}
	sources, paths, err := auditSources(ctx, fl, paths)
	if err != nil {
		return audit.ExitError, err
	}
	timeout := durationOf(fl, "fetch-timeout")
	if timeout <= 0 {
		return audit.ExitError, fmt.Errorf("--fetch-timeout %s: must be positive", timeout)
	}
	var base *audit.Baseline
	if path := fl.String("baseline"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return audit.ExitError, fmt.Errorf("--baseline: %w", err)
		}
		base, err = audit.ReadBaseline(f)
		f.Close()
		if err != nil {
			return audit.ExitError, fmt.Errorf("--baseline %s: %w", path, err)
		}
	}

	// run fetches the sources and reads the paths afresh, and writes one
	// report.
	var fetched *fetchMetrics
	run := func(ctx context.Context) (*audit.Report, error) {
		cfg := load.Paths(paths, kind)
		fetchInto(ctx, cfg, sources, kind, timeout, fetched)
		var drift []audit.Finding
		if base != nil {
			drift = base.Drift(cfg)
		}
		if path := fl.String("write-baseline"); path != "" {
			if err := writeBaseline(path, audit.NewBaseline(cfg)); err != nil {
				return nil, err
			}
		}
		report := audit.NewReport(cfg, drift)
		switch format {
		case "json":
			return report, report.WriteJSON(out)
		case "sarif":
			return report, report.WriteSARIF(out, fl.String("root"))
		}
		return report, report.WriteText(out)
	}
	if every == 0 {
		report, err := run(ctx)
		if err != nil {
			return audit.ExitError, err
		}
		return report.ExitCode(failOn), nil
	}

	ctx, cancel := untilSignal(ctx)
	defer cancel()
	logErr := func(err error) { fmt.Fprintln(os.Stderr, "cachefence audit:", err) }
	w := &alert.Watcher{Source: "audit", Every: every, Threshold: failOn, Log: logErr,
		Check: func(ctx context.Context) alert.Run {
			report, err := run(ctx)
			if err != nil {
				logErr(err)
				return alert.Run{Errors: 1}
			}
			return report.AlertRun()
		}}
	stop, err := equipWatcher(fl, w, func(reg prometheus.Registerer) (err error) {
		fetched, err = newFetchMetrics(reg, sources)
		return err
	})
	if err != nil {
		return audit.ExitError, err
	}
	defer stop()
	rerunOnHangup(ctx, w)
	if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return audit.ExitError, err
	}
	return audit.ExitClean, nil
}

func writeBaseline(path string, b *audit.Baseline) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--write-baseline: %w", err)
	}
	if err := b.Write(f); err != nil {
		f.Close()
		return fmt.Errorf("--write-baseline %s: %w", path, err)
	}
	return f.Close()
}
