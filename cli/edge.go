package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/cachefence/cachefence/caddymodule"
	"github.com/cachefence/cachefence/edge"
	"github.com/cachefence/cachefence/fence"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "edge",
		Usage: "--target <target> --config <Caddyfile> [--site <host>] [--on-mismatch pass|refuse] [--requester-digest]",
		Short: "Write the CDN code that refuses to deliver a page stamped for someone else",
		Long: `
Writes, to standard output, a guard for a CDN's runtime, from the
cache_fence configuration in a Caddyfile (or Caddy JSON with --adapter
json): after the cache, it computes the requester's identity exactly as
the fence does (the same cookie, header and parameter rules), stamps it
with owner_stamp's key, and compares it with the page's owner stamp. A
page stamped for someone else is never delivered, whatever the cache's
configuration: it is fetched again past the cache (--on-mismatch pass,
the default where the runtime can fetch again) or answered with a short
503 (refuse, the default elsewhere), and the response
carries Cache-Fence-Guard so that probe and logs can report it.

The key is never written: the guard reads it from the runtime (a Worker
secret, an environment variable) under the name of owner_stamp's
{env.NAME} placeholder, or CACHE_FENCE_KEY.

Targets:
` + targetsHelp(),
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().String("target", "", "The CDN runtime: "+strings.Join(edge.TargetNames(), ", "))
			cmd.Flags().String("config", "", "The Caddyfile (or Caddy JSON) with the cache_fence handler")
			cmd.Flags().String("adapter", "caddyfile", "The config's adapter")
			cmd.Flags().String("site", "", "With several cache_fence handlers: the one whose routes match this host")
			cmd.Flags().Bool("requester-digest", false, "Also set Cache-Fence-Requester (the requester's digest) and Cache-Fence-Set-Cookie on every response, for cachefence logs: one HMAC per request")
			cmd.Flags().String("on-mismatch", "", "What the guard does with a page stamped for someone else: pass (fetch it again past the cache) or refuse (a 503); by default pass where the target can fetch again, refuse elsewhere")
			runCommand(cmd, 2, func(cmd *cobra.Command, _ []string) (int, error) {
				if err := cmdEdge(cmd.Context(), caddycmd.Flags{FlagSet: cmd.Flags()}, cmd.OutOrStdout(), cmd.ErrOrStderr()); err != nil {
					return 2, err
				}
				return 0, nil
			})
		},
	})
}

func targetsHelp() string {
	var b strings.Builder
	for _, t := range edge.Targets {
		fmt.Fprintf(&b, "  %-20s %s\n", t.Name, t.Runtime)
	}
	return b.String()
}

func cmdEdge(_ context.Context, fl caddycmd.Flags, out, errOut io.Writer) error {
	target, path := fl.String("target"), fl.String("config")
	switch {
	case target == "":
		return fmt.Errorf("--target is required: one of %s", strings.Join(edge.TargetNames(), ", "))
	case path == "":
		return errors.New("--config is required: the Caddyfile with the cache_fence handler")
	}
	h, site, err := fenceHandler(path, fl.String("adapter"), fl.String("site"))
	if err != nil {
		return err
	}
	if h.OwnerStamp == nil {
		return fmt.Errorf("%s: the cache_fence handler%s has no owner_stamp: the guard compares owner stamps, so give the fence one", path, site)
	}
	keyName := "CACHE_FENCE_KEY"
	if m := envPlaceholder.FindStringSubmatch(h.OwnerStamp.Key); m != nil {
		keyName = m[1]
	} else {
		// Never echo the key.
		fmt.Fprintf(errOut, "cachefence edge: %s holds owner_stamp's key itself: keep it in a secret ({env.%s}); the guard reads %s\n", path, keyName, keyName)
	}
	code, err := edge.Generate(target, edge.Config{
		Rules: fence.Config{SessionCookies: h.SessionCookies, IgnoreCookies: h.IgnoreCookies,
			CredentialHeaders: h.CredentialHeaders, CredentialParams: h.CredentialParams},
		StampHeader:     h.OwnerStamp.Header,
		KeyName:         keyName,
		RequesterDigest: fl.Bool("requester-digest"),
		OnMismatch:      fl.String("on-mismatch"),
		Source:          path + site,
		Version:         cmp.Or(strings.TrimSuffix(caddy.CustomVersion, " · Caddy"), "cachefence"),
	})
	if err != nil {
		return err
	}
	_, err = out.Write(code)
	return err
}

// envPlaceholder is owner_stamp's key when it names an environment
// variable, the name being what the guard's runtime holds the key under.
var envPlaceholder = regexp.MustCompile(`^\{env\.([A-Za-z_][A-Za-z0-9_]*)\}$`)

// fenceHandler reads the config at path and returns its cache_fence
// handler: the only one, or the one whose routes match site. The second
// result names the site for messages (" of site X", or "").
func fenceHandler(path, adapterName, site string) (*caddymodule.Handler, string, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	adapter := caddyconfig.GetAdapter(adapterName)
	if adapter == nil {
		return nil, "", fmt.Errorf("--adapter %q: no such config adapter", adapterName)
	}
	config, _, err := adapter.Adapt(body, map[string]any{"filename": path})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	found, err := caddymodule.FindHandlers(config)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if site != "" {
		found = slices.DeleteFunc(found, func(f caddymodule.Found) bool { return !slices.Contains(f.Hosts, site) })
	}
	switch {
	case len(found) == 1:
		if site != "" {
			return found[0].Handler, " of site " + site, nil
		}
		return found[0].Handler, "", nil
	case len(found) == 0 && site != "":
		return nil, "", fmt.Errorf("%s: no cache_fence handler in a route for host %q", path, site)
	case len(found) == 0:
		return nil, "", fmt.Errorf("%s: no cache_fence handler", path)
	}
	var hosts []string
	for _, f := range found {
		hosts = append(hosts, strings.Join(f.Hosts, " "))
	}
	return nil, "", fmt.Errorf("%s: %d cache_fence handlers; choose one with --site (%s)", path, len(found), strings.Join(hosts, "; "))
}
