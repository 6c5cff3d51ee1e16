package cli

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/cachefence/cachefence/probe"
)

// probeFlags is the probe command's flag set, parsed from args.
func probeFlags(t *testing.T, args ...string) (caddycmd.Flags, error) {
	t.Helper()
	cmd := &cobra.Command{}
	addProbeFlags(cmd)
	cmd.Flags().SetOutput(io.Discard)
	return caddycmd.Flags{FlagSet: cmd.Flags()}, cmd.Flags().Parse(args)
}

// Durations are read as Caddy writes them, and the watch flags are checked
// before any config is read; no error shows a webhook URL.
func TestProbeFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // "" for no error
	}{
		{[]string{"--every", "1d"}, ""},
		{[]string{"--every", "90s", "--quiet", "1h", "--webhook", "https://hooks.example/T0/B0/hook-secret"}, ""},
		{[]string{"--every", "ten minutes"}, `invalid argument "ten minutes" for "--every" flag: want a duration such as 30s, 5m or 1d`},
		{[]string{"--every", "5s"}, "--every 5s: at least 10s"},
		{[]string{"--quiet", "1h"}, "--quiet needs --every"},
		{[]string{"--every", "1m", "--quiet", "-1m"}, "--quiet -1m0s: must not be negative"},
		{[]string{"--metrics", "127.0.0.1:0"}, "--webhook and --metrics need --every"},
		{[]string{"--every", "1m", "--webhook", "hooks.example/T0/B0/hook-secret"}, "--webhook: want an absolute http or https URL"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			fl, err := probeFlags(t, tc.args...)
			if err == nil {
				err = checkWatchFlags(fl, durationOf(fl, "every"), 10*time.Second)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Errorf("got %v, want %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), "hook-secret"):
				t.Errorf("the error shows the webhook URL: %v", err)
			}
		})
	}
	fl, err := probeFlags(t, "--every", "1d")
	if err != nil || durationOf(fl, "every") != 24*time.Hour {
		t.Errorf("--every 1d read as %v (%v)", durationOf(fl, "every"), err)
	}
}

// A bad threshold exits 2 before the config is read.
func TestProbeFailOn(t *testing.T) {
	fl, err := probeFlags(t, "--config", "does-not-exist.json", "--fail-on", "severe")
	if err != nil {
		t.Fatal(err)
	}
	code, err := cmdProbe(context.Background(), fl, io.Discard, io.Discard)
	if code != probe.ExitError || err == nil || !strings.HasPrefix(err.Error(), `--fail-on: unknown severity "severe"`) {
		t.Errorf("exit %d, %v", code, err)
	}
}
