package cli

import (
	"cmp"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/cachefence/cachefence/caddymodule"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "sidecar",
		Usage: "--from <addr> --to <origin> [--report] [--explain] [--session-cookie <glob>]... [--ignore-cookie <glob>]... [--credential-header <name>]... [--credential-param <name>]... [--private-path <pattern>]... [--public-path <pattern>]... [--tag-header <name>] [--owner-stamp-key-file <path>] [--metrics <addr>] [--grace-period <duration>] [--shutdown-delay <duration>] [--access-log] [--debug]",
		Short: "Run cache_fence in front of an origin, with no config file",
		Long: `
Runs a reverse proxy from --from to the origin at --to with cache_fence in
front: every personalised or doubtful response leaves unstorable by shared
caches. Put it between your CDN and your origin.

The fence options are those of the cache_fence directive:
  --report            rewrite nothing; log each response that would be fenced
  --explain           add a Cache-Fence header with the verdict and reasons
  --session-cookie    cookies that identify a user (default: every cookie
                      not ignored); repeat for several
  --ignore-cookie     cookies that never identify a user
  --credential-header request headers that carry credentials, besides
                      Authorization (default: the documented list)
  --credential-param  URL parameters that carry credentials (default:
                      access_token, jsessionid, ...)
  --private-path      path patterns that are always personalised
  --public-path       path patterns whose static files never depend on
                      request cookies
  --tag-header        the origin's route tag header (private or public)
  --owner-stamp-key-file
                      stamp each fenced response with a keyed digest of
                      its requester (for cachefence probe); the key is
                      read from this file when the config loads, and is
                      never part of the command line or the config
  --metrics           serve Prometheus metrics on this address (/metrics),
                      with /healthz (the process serves) and /readyz (the
                      origin takes connections, and no shutdown is under
                      way)
  --grace-period      on SIGTERM, how long requests in flight may take to
                      finish before their connections are closed
  --shutdown-delay    on SIGTERM, how long to go on serving, /readyz
                      answering 503, before the grace period begins: the
                      time a load balancer takes to stop sending traffic
  --access-log        log every request; the credentials the fence knows
                      (its headers and URL parameters, cookies,
                      Authorization) are hidden there, as in every other
                      entry of the log
  --debug             debug entries too, one per response from the fence
`,
		CobraFunc: func(cmd *cobra.Command) {
			tree = cmd // for run's pre-flight; see guardRun
			addProxyFlags(cmd, ":8080")
			cmd.Flags().Bool("report", false, "Rewrite nothing; log each response that would be fenced")
			cmd.Flags().Bool("explain", false, "Add a Cache-Fence header with the verdict and reasons")
			cmd.Flags().String("owner-stamp-key-file", "", "File that holds the owner-stamp key (at least 16 bytes)")
			cmd.Flags().String("metrics", "", "Serve Prometheus metrics, /healthz and /readyz on this address")
			cmd.Flags().Duration("grace-period", defaultGracePeriod, "On SIGTERM, how long requests in flight may take to finish")
			cmd.Flags().Duration("shutdown-delay", 0, "On SIGTERM, how long to go on serving, /readyz answering 503, before the grace period")
			cmd.Flags().Bool("access-log", false, "Enable the access log (the fence's credentials hidden)")
			cmd.Flags().BoolP("debug", "v", false, "Enable debug logs (Caddy's and the fence's, one entry per response)")
			cmd.Args = noArgs
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdSidecar)
		},
	})
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "dev",
		Usage: "--from <addr> --to <origin> [--session-cookie <glob>]... [--ignore-cookie <glob>]... [--credential-header <name>]... [--credential-param <name>]... [--private-path <pattern>]... [--public-path <pattern>]... [--tag-header <name>]",
		Short: "A local dev proxy that shows what cache_fence would fence, and why",
		Long: `
Runs a reverse proxy from --from to the origin at --to with cache_fence in
report mode: nothing is rewritten, every response carries a Cache-Fence
header with the verdict and reasons, and one line per response is printed:

  10:04:05 GET /account 200 would-fence session_cookie private_path
  10:04:06 GET /static/app.css 200 shared

It listens on 127.0.0.1:8082 unless --from says otherwise, so that it can
run beside the example Caddyfile (8080 and 8081). The fence options are
those of the sidecar command.
`,
		CobraFunc: func(cmd *cobra.Command) {
			// A dev proxy listens on loopback unless told otherwise, and
			// off the ports of Caddyfile.example and the README's Quick
			// start.
			addProxyFlags(cmd, "127.0.0.1:8082")
			cmd.Args = noArgs
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdDev)
		},
	})
}

// noArgs refuses positional arguments, which would otherwise be dropped
// without a word: "--report false" would run in report mode.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q: %s takes only flags", args[0], cmd.Name())
	}
	return nil
}

func addProxyFlags(cmd *cobra.Command, from string) {
	cmd.Flags().StringP("from", "f", from, "Address on which to receive traffic")
	cmd.Flags().StringP("to", "t", "", "The origin's address (host:port)")
	cmd.Flags().StringArray("session-cookie", nil, "Cookie name glob that identifies a user (repeatable)")
	cmd.Flags().StringArray("ignore-cookie", nil, "Cookie name glob that never identifies a user (repeatable)")
	cmd.Flags().StringArray("credential-header", nil, "Request header that carries credentials; replaces the default list (repeatable)")
	cmd.Flags().StringArray("credential-param", nil, "URL parameter that carries credentials; replaces the default list (repeatable)")
	cmd.Flags().StringArray("private-path", nil, "Path pattern that is always personalised (repeatable)")
	cmd.Flags().StringArray("public-path", nil, "Path pattern whose static files never depend on request cookies (repeatable)")
	cmd.Flags().String("tag-header", "", "Response header through which the origin tags a route private or public")
}

// proxyFromFlags reads the flags that sidecar and dev share.
func proxyFromFlags(fl caddycmd.Flags) (proxy, error) {
	p := proxy{From: fl.String("from"), To: fl.String("to")}
	p.Fence.TagHeader = fl.String("tag-header")
	for flag, dst := range map[string]*[]string{
		"session-cookie":    &p.Fence.SessionCookies,
		"ignore-cookie":     &p.Fence.IgnoreCookies,
		"credential-header": &p.Fence.CredentialHeaders,
		"credential-param":  &p.Fence.CredentialParams,
		"private-path":      &p.Fence.PrivatePaths,
		"public-path":       &p.Fence.PublicPaths,
	} {
		values, err := fl.GetStringArray(flag)
		if err != nil {
			return p, err
		}
		// No flag keeps the default; an empty list would mean "none".
		if len(values) > 0 {
			*dst = values
		}
	}
	return p, nil
}

func cmdSidecar(fl caddycmd.Flags) (int, error) {
	p, err := proxyFromFlags(fl)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if fl.Bool("report") {
		p.Fence.Mode = caddymodule.ModeReport
	}
	p.Fence.Explain = fl.Bool("explain")
	if p.Fence.OwnerStamp, err = ownerStampFromFile(fl.String("owner-stamp-key-file")); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	p.Metrics = fl.String("metrics")
	p.GracePeriod = fl.Duration("grace-period")
	p.ShutdownDelay = fl.Duration("shutdown-delay")
	level := zap.InfoLevel
	if fl.Bool("debug") {
		level = zap.DebugLevel
	}
	p.Logging = &caddy.Logging{Logs: map[string]*caddy.CustomLog{"default": defaultLog(level, p.Fence)}}
	p.AccessLog = fl.Bool("access-log")
	return run(p)
}

// defaultGracePeriod leaves requests in flight 20s to finish on SIGTERM,
// within the 30s that Kubernetes waits before it kills a container, where
// Caddy's own default would wait for ever.
const defaultGracePeriod = 20 * time.Second

// ownerStampFromFile returns the owner stamp whose key is in the file at
// path (nil for no path). The key goes into the config as a {file.*}
// placeholder, which the fence replaces when it provisions, so that it
// appears in no config and no error: only the file's name does. That the
// file can be read is checked here, for a clear error; its length is
// checked by the fence.
func ownerStampFromFile(path string) (*caddymodule.OwnerStamp, error) {
	if path == "" {
		return nil, nil
	}
	if strings.ContainsAny(path, "{}") {
		return nil, fmt.Errorf("--owner-stamp-key-file %q: a path with braces cannot be named in a placeholder", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--owner-stamp-key-file: %w", err)
	}
	f.Close()
	return &caddymodule.OwnerStamp{Key: "{file." + path + "}"}, nil
}

func cmdDev(fl caddycmd.Flags) (int, error) {
	p, err := proxyFromFlags(fl)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	p.Fence.Mode = caddymodule.ModeReport
	p.Fence.Explain = true
	p.Logging = devLogging(p.Fence)
	return run(p)
}

func run(p proxy) (int, error) {
	caddy.TrapSignals()
	cfg, err := p.config()
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if err := checkFree(p.listeners()...); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if err := caddy.Run(cfg); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	caddy.Log().Info("cache_fence proxying", zap.String("from", p.From), zap.String("to", p.To),
		zap.String("mode", cmp.Or(p.Fence.Mode, caddymodule.ModeEnforce)))
	select {}
}
