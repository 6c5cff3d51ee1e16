package cli

import (
	"context"
	"errors"
	"io"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/cachefence/cachefence/audit"
)

// addAuditRunFlags defines --run and the flags that go with it.
func addAuditRunFlags(cmd *cobra.Command) {
	cmd.Flags().String("run", "", "Run this VCL or nginx.conf in a throw-away varnishd or nginx and replay personal and public requests through it")
}

// cmdAuditRun runs `cachefence audit --run FILE`.
func cmdAuditRun(ctx context.Context, fl caddycmd.Flags, file string, args []string, out io.Writer) (int, error) {
	return audit.ExitError, errors.New("--run is being built (issue #19)")
}
