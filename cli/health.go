package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(new(readyHandler))
}

// The sidecar's health checks, on its metrics address.
const (
	livePath  = "/healthz"
	readyPath = "/readyz"
)

// readyCheck bounds the readiness check's dial of the origin, and
// readyCache is how long its answer is reused, so that several probers
// (kubelet, a load balancer, a person with curl) cost the origin at most
// one connection a second between them.
const (
	readyCheck = time.Second
	readyCache = time.Second
)

// healthRoutes returns the metrics server's routes: liveness on livePath,
// readiness (upstream must take connections) on readyPath, and rest
// everywhere else.
func healthRoutes(upstream string, rest json.RawMessage) caddyhttp.RouteList {
	route := func(path string, handler json.RawMessage) caddyhttp.Route {
		return caddyhttp.Route{
			MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": caddyconfig.JSON(caddyhttp.MatchPath{path}, nil)}},
			HandlersRaw:    []json.RawMessage{handler},
			Terminal:       true,
		}
	}
	return caddyhttp.RouteList{
		// Liveness is only that the process serves HTTP: a failing origin
		// must not get the sidecar restarted.
		route(livePath, caddyconfig.JSONModuleObject(caddyhttp.StaticResponse{
			StatusCode: caddyhttp.WeakString("200"),
			Body:       "ok\n",
		}, "handler", "static_response", nil)),
		route(readyPath, caddyconfig.JSONModuleObject(readyHandler{Upstream: upstream}, "handler", "cache_fence_ready", nil)),
		{HandlersRaw: []json.RawMessage{rest}},
	}
}

// readyHandler answers the sidecar's readiness check: 200 when the
// origin takes TCP connections and no shutdown is under way, 503 with the
// reason otherwise. The fence needs no check of its own: a fence that
// failed to provision fails the whole config, so nothing would answer.
//
// A TCP connection, not an HTTP request, tells that the origin answers:
// it costs the origin no request in its logs, and needs no route that
// every origin would have to serve.
type readyHandler struct {
	// Upstream is the origin's host:port.
	Upstream string `json:"upstream"`

	mu      sync.Mutex
	checked time.Time // zero until the first check
	err     error     // the last check's
}

// CaddyModule returns the Caddy module information.
func (*readyHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.cache_fence_ready",
		New: func() caddy.Module { return new(readyHandler) },
	}
}

// ServeHTTP implements caddyhttp.MiddlewareHandler; it never calls next.
func (h *readyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// Caddy's HTTP app says so from SIGTERM until its shutdown delay
	// ends: the load balancer should stop sending traffic meanwhile.
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if down, _ := repl.Get("http.shutting_down"); down == true {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, err := fmt.Fprintln(w, "shutting down")
		return err
	}
	if err := h.upstreamErr(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, err := fmt.Fprintf(w, "origin %s: %v\n", h.Upstream, err)
		return err
	}
	_, err := fmt.Fprintln(w, "ready")
	return err
}

// upstreamErr dials the origin, or returns the last dial's result if it
// is recent. Concurrent checks wait for the one under way.
func (h *readyHandler) upstreamErr() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.checked.IsZero() && time.Since(h.checked) < readyCache {
		return h.err
	}
	c, err := net.DialTimeout("tcp", h.Upstream, readyCheck)
	if err == nil {
		c.Close()
	}
	h.checked, h.err = time.Now(), err
	return err
}

var _ caddyhttp.MiddlewareHandler = (*readyHandler)(nil)
