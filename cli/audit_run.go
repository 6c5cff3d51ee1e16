package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/replay"
)

// addAuditRunFlags defines --run and the flags that go with it.
func addAuditRunFlags(cmd *cobra.Command) {
	cmd.Flags().String("run", "", "Run this VCL or nginx.conf in a throw-away varnishd or nginx and replay personal and public requests through it (see docs/audit-run.md)")
	cmd.Flags().String("session-cookie", "", "With --run: the session cookie's name (default: one the configuration tests, else session)")
	cmd.Flags().String("credential-header", "", "With --run: the header that carries a credential (default Authorization)")
}

// cmdAuditRun runs `cachefence audit --run FILE`: the configuration in a
// throw-away server, the matrix replayed through it, a report in text or
// JSON. Exit 0 when no cell leaked, 1 when one did, 2 when it could not
// run.
func cmdAuditRun(ctx context.Context, fl caddycmd.Flags, file string, args []string, out io.Writer) (int, error) {
	if len(args) > 0 {
		return audit.ExitError, errors.New("--run takes one configuration file, and no other path or source")
	}
	if durationOf(fl, "every") != 0 {
		return audit.ExitError, errors.New("--run goes with a single run, not --every")
	}
	format := fl.String("format")
	if format != "text" && format != "json" {
		return audit.ExitError, fmt.Errorf("--format %q: --run writes text or json", format)
	}
	o := replay.Options{SessionCookie: fl.String("session-cookie"), CredentialHeader: fl.String("credential-header")}
	for flag, name := range map[string]string{"--session-cookie": o.SessionCookie, "--credential-header": o.CredentialHeader} {
		if name != "" && !isToken(name) {
			return audit.ExitError, fmt.Errorf("%s %q: not a valid name", flag, name)
		}
	}
	if strings.EqualFold(o.CredentialHeader, "Cookie") {
		return audit.ExitError, errors.New("--credential-header Cookie: name the cookie with --session-cookie")
	}
	// An interrupt ends the run through its context, so that the
	// throw-away server, in a process group of its own, is stopped too.
	ctx, cancel := untilSignal(ctx)
	defer cancel()
	report, err := replay.Run(ctx, file, o)
	if err != nil {
		return audit.ExitError, err
	}
	if format == "json" {
		err = report.WriteJSON(out)
	} else {
		err = report.WriteText(out)
	}
	if err != nil {
		return audit.ExitError, err
	}
	return report.ExitCode(), nil
}

// isToken says whether s is an HTTP token (RFC 9110 §5.6.2), which header
// and cookie names are.
func isToken(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}
