// Package cli holds cachefence's own subcommands of the Caddy command line:
// sidecar (the origin sidecar in one line), dev (a local proxy that shows
// what would be fenced and why) and probe (a check from outside, through
// the CDN). It also gives Caddy's run command a pre-flight that refuses a
// listen address another process listens on, as sidecar and dev do.
package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/cachefence/cachefence/caddymodule"
)

// proxy describes a fenced reverse proxy: listen on From, forward to To.
type proxy struct {
	From    string
	To      string
	Metrics string // address of a Prometheus /metrics endpoint, with the health checks; "" for none
	// GracePeriod and ShutdownDelay are those of Caddy's HTTP app: on
	// SIGTERM, serve on for ShutdownDelay (readiness failing), then give
	// requests in flight GracePeriod to finish. Zero GracePeriod waits
	// for ever.
	GracePeriod   time.Duration
	ShutdownDelay time.Duration
	AccessLog     bool
	Fence         caddymodule.Handler
	Logging       *caddy.Logging
}

// config builds the Caddy config that runs p. Bad addresses and fence
// options are reported here, before anything listens.
func (p proxy) config() (*caddy.Config, error) {
	if err := checkListen("--from", p.From); err != nil {
		return nil, err
	}
	upstream, err := upstreamAddress(p.To)
	if err != nil {
		return nil, err
	}
	if err := p.Fence.CheckConfig(); err != nil {
		return nil, err
	}
	routes := caddyhttp.RouteList{{
		HandlersRaw: []json.RawMessage{
			caddyconfig.JSONModuleObject(p.Fence, "handler", "cache_fence", nil),
			caddyconfig.JSONModuleObject(reverseproxy.Handler{
				Upstreams: reverseproxy.UpstreamPool{{Dial: upstream}},
			}, "handler", "reverse_proxy", nil),
		},
	}}
	servers := map[string]*caddyhttp.Server{
		"sidecar": {
			Listen:    []string{p.From},
			Routes:    routes,
			AutoHTTPS: &caddyhttp.AutoHTTPSConfig{Disabled: true},
		},
	}
	if p.AccessLog {
		servers["sidecar"].Logs = &caddyhttp.ServerLogConfig{}
	}
	if p.Metrics != "" {
		if err := checkListen("--metrics", p.Metrics); err != nil {
			return nil, err
		}
		servers["metrics"] = &caddyhttp.Server{
			Listen:    []string{p.Metrics},
			AutoHTTPS: &caddyhttp.AutoHTTPSConfig{Disabled: true},
			Routes:    healthRoutes(upstream, json.RawMessage(`{"handler":"metrics"}`)),
		}
	}
	persist := false
	return &caddy.Config{
		Admin: &caddy.AdminConfig{Disabled: true, Config: &caddy.ConfigSettings{Persist: &persist}},
		AppsRaw: caddy.ModuleMap{"http": caddyconfig.JSON(caddyhttp.App{
			Servers:       servers,
			GracePeriod:   caddy.Duration(p.GracePeriod),
			ShutdownDelay: caddy.Duration(p.ShutdownDelay),
		}, nil)},
		Logging: p.Logging,
	}, nil
}

// listeners returns the addresses p listens on, named by their flags.
func (p proxy) listeners() []listener {
	ls := []listener{{p.From, "--from"}}
	if p.Metrics != "" {
		ls = append(ls, listener{p.Metrics, "--metrics"})
	}
	return ls
}

// checkListen accepts host:port or :port.
func checkListen(flag, addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%s %q: want host:port or :port: %w", flag, addr, err)
	}
	return nil
}

// upstreamAddress accepts host:port or http://host:port and returns the
// address to dial. An HTTPS origin needs TLS settings a one-liner cannot
// guess; a Caddyfile can say them.
func upstreamAddress(to string) (string, error) {
	if to == "" {
		return "", fmt.Errorf("--to is required: the origin's host:port")
	}
	addr := strings.TrimPrefix(to, "http://")
	if strings.Contains(addr, "://") {
		return "", fmt.Errorf("--to %q: only plain HTTP origins (host:port or http://host:port); use a Caddyfile with reverse_proxy for others", to)
	}
	addr = strings.TrimSuffix(addr, "/")
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("--to %q: want host:port: %w", to, err)
	}
	return addr, nil
}
