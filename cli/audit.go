package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/load"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "audit",
		Usage: "[--kind <kind>] [--format text|json|sarif] [--fail-on <severity>] [--baseline <file>] [--write-baseline <file>] <path>...",
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

--write-baseline saves the normalised configuration; --baseline reports
every change since then as a drift finding.

Exit status: 0 no finding at or above --fail-on (default high), 1 findings,
2 the audit could not run (an unreadable file, an unknown format, a parse
error). See docs/audit.md.
`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().String("kind", "", "Read every path as this kind: "+strings.Join(load.Kinds(), ", "))
			cmd.Flags().String("format", "text", "Report format: text, json or sarif")
			cmd.Flags().String("fail-on", string(audit.High), "Exit 1 for findings at or above this severity: critical, high, medium or low")
			cmd.Flags().String("baseline", "", "Report changes since this baseline as drift findings")
			cmd.Flags().String("write-baseline", "", "Write the normalised configuration to this file")
			cmd.RunE = func(cmd *cobra.Command, args []string) error {
				code, err := cmdAudit(caddycmd.Flags{FlagSet: cmd.Flags()}, args, cmd.OutOrStdout())
				exitAudit(cmd, code, err)
				return nil
			}
			// Cobra's own exit for a bad flag, 1, would read as findings.
			cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
				exitAudit(cmd, audit.ExitError, err)
				return nil
			})
		},
	})
}

// exitAudit prints err, if any, and exits with code, as exitProbe does.
func exitAudit(cmd *cobra.Command, code int, err error) {
	if err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "cachefence audit:", err)
	}
	os.Exit(code)
}

func cmdAudit(fl caddycmd.Flags, paths []string, out io.Writer) (int, error) {
	if len(paths) == 0 {
		return audit.ExitError, errors.New("no path given: name the configuration files or directories to audit")
	}
	format := fl.String("format")
	if !slices.Contains([]string{"text", "json", "sarif"}, format) {
		return audit.ExitError, fmt.Errorf("--format %q: want text, json or sarif", format)
	}
	failOn := audit.Severity(fl.String("fail-on"))
	if failOn.Rank() == 0 {
		return audit.ExitError, fmt.Errorf("--fail-on %q: want critical, high, medium or low", failOn)
	}
	if kind := fl.String("kind"); kind != "" && !slices.Contains(load.Kinds(), kind) {
		return audit.ExitError, fmt.Errorf("--kind %q: want one of %s", kind, strings.Join(load.Kinds(), ", "))
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

	cfg := load.Paths(paths, fl.String("kind"))
	var drift []audit.Finding
	if base != nil {
		drift = base.Drift(cfg)
	}
	if path := fl.String("write-baseline"); path != "" {
		if err := writeBaseline(path, audit.NewBaseline(cfg)); err != nil {
			return audit.ExitError, err
		}
	}
	report := audit.NewReport(cfg, drift)
	var err error
	switch format {
	case "json":
		err = report.WriteJSON(out)
	case "sarif":
		err = report.WriteSARIF(out)
	default:
		err = report.WriteText(out)
	}
	if err != nil {
		return audit.ExitError, err
	}
	return report.ExitCode(failOn), nil
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
