// Package caddymodule is the Caddy v2 HTTP handler http.handlers.cache_fence:
// it sits between a CDN and an origin and makes every personalised or
// doubtful response unstorable by shared caches, whatever the origin said.
//
// The decision rules live in package fence and the response-writer wrapper
// in package fencewriter; this package is the Caddy glue.
package caddymodule

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/fencewriter"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// The modes.
const (
	// ModeEnforce rewrites fenced responses. It is the default.
	ModeEnforce = "enforce"
	// ModeReport rewrites nothing and logs each response that would be
	// fenced, for a staged roll-out.
	ModeReport = "report"
)

// ExplainHeader is the response header that the explain option adds. Its
// value is the verdict ("fenced", "would-fence" in report mode, or
// "shared") and, when fenced, the reasons:
//
//	Cache-Fence: fenced; reasons="session_cookie set_cookie"
const ExplainHeader = "Cache-Fence"

// Handler makes responses that are personalised, or might be, unstorable by
// shared caches. A response is fenced when the request carried
// Authorization or an identifying cookie, the response sets a cookie, the
// path or the origin's tag says private, the response varies on
// credentials, or anything about its caching headers is ambiguous. A fenced
// response leaves with `Cache-Control: private, no-store`,
// `Surrogate-Control: no-store` and the targeted cache headers of the main
// CDNs set to no-store; every other response passes through untouched.
type Handler struct {
	// Mode is "enforce" (default: rewrite fenced responses) or "report"
	// (rewrite nothing, log each response that would be fenced).
	Mode string `json:"mode,omitempty"`

	// SessionCookies are globs naming the request cookies that identify a
	// user. Default: every cookie not matched by ignore_cookies.
	SessionCookies []string `json:"session_cookies,omitempty"`

	// IgnoreCookies are globs naming request cookies that never identify a
	// user, such as analytics or consent cookies.
	IgnoreCookies []string `json:"ignore_cookies,omitempty"`

	// PrivatePaths are path patterns, in the syntax of Caddy's path
	// matcher, whose responses are always personalised.
	PrivatePaths []string `json:"private_paths,omitempty"`

	// PublicPaths are path patterns whose responses never depend on request
	// cookies. They lift the cookie rule only: Authorization, Set-Cookie and
	// ambiguous caching headers are still fenced there.
	PublicPaths []string `json:"public_paths,omitempty"`

	// TagHeader names a response header through which the origin tags the
	// route "private" or "public". Any other value is fenced. The header is
	// always removed from the response.
	TagHeader string `json:"tag_header,omitempty"`

	// Explain adds the Cache-Fence response header, naming the verdict and
	// its reasons, for debugging.
	Explain bool `json:"explain,omitempty"`

	// OwnerStamp, when set, stamps each fenced response with a keyed digest
	// of the identity the request carried, so that `cachefence probe` can
	// tell a page served to someone it was not rendered for. Report mode
	// adds no stamp.
	OwnerStamp *OwnerStamp `json:"owner_stamp,omitempty"`

	policy       fence.Policy
	stampKey     []byte
	stampHeader  string
	privatePaths caddyhttp.MatchPath
	publicPaths  caddyhttp.MatchPath
	report       bool
	logger       *zap.Logger
	counters     *counters
}

// OwnerStamp configures the owner stamp.
type OwnerStamp struct {
	// Key is the secret HMAC key, at least 16 bytes. Placeholders such as
	// {env.CACHE_FENCE_KEY} are replaced when the config loads, so the key
	// need not be written in the config.
	Key string `json:"key,omitempty"`

	// Header names the response header that carries the stamp. Default:
	// Cache-Fence-Owner.
	Header string `json:"header,omitempty"`
}

// minStampKey is the shortest key accepted: an HMAC key much shorter than
// the digest is guessable.
const minStampKey = 16

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.cache_fence",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision sets up the handler.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if err := h.Validate(); err != nil {
		return err
	}
	h.report = h.Mode == ModeReport
	h.policy = fence.Policy{
		SessionCookies: h.SessionCookies,
		IgnoreCookies:  h.IgnoreCookies,
		TagHeader:      http.CanonicalHeaderKey(h.TagHeader),
	}
	if h.OwnerStamp != nil {
		key := caddy.NewReplacer().ReplaceAll(h.OwnerStamp.Key, "")
		if len(key) < minStampKey {
			// Never echo the key, even a short one.
			return fmt.Errorf("owner_stamp: key must be at least %d bytes once placeholders are replaced, got %d (is its environment variable set?)", minStampKey, len(key))
		}
		h.stampKey = []byte(key)
		h.stampHeader = http.CanonicalHeaderKey(cmp.Or(h.OwnerStamp.Header, fence.DefaultStampHeader))
	}
	h.privatePaths = caddyhttp.MatchPath(append([]string(nil), h.PrivatePaths...))
	h.publicPaths = caddyhttp.MatchPath(append([]string(nil), h.PublicPaths...))
	for _, m := range []caddyhttp.MatchPath{h.privatePaths, h.publicPaths} {
		if err := m.Provision(ctx); err != nil {
			return fmt.Errorf("provisioning path matcher: %w", err)
		}
	}
	// A nil *Registry must not become a non-nil Registerer.
	var registry prometheus.Registerer
	if r := ctx.GetMetricsRegistry(); r != nil {
		registry = r
	}
	var err error
	h.counters, err = newCounters(registry, h.modeName())
	if err != nil {
		// Losing metrics must not lose the fence; say so and go on.
		h.logger.Warn("cache_fence metrics disabled", zap.Error(err))
	}
	return nil
}

// Validate rejects a configuration that cannot work, naming the option and
// the value.
func (h *Handler) Validate() error {
	switch h.Mode {
	case "", ModeEnforce, ModeReport:
	default:
		return fmt.Errorf("mode: unknown mode %q (want %q or %q)", h.Mode, ModeEnforce, ModeReport)
	}
	policy := fence.Policy{SessionCookies: h.SessionCookies, IgnoreCookies: h.IgnoreCookies, TagHeader: h.TagHeader}
	if err := policy.Validate(); err != nil {
		return err
	}
	for _, list := range []struct {
		option   string
		patterns []string
	}{{"private_paths", h.PrivatePaths}, {"public_paths", h.PublicPaths}} {
		for _, p := range list.patterns {
			if err := checkPathPattern(p); err != nil {
				return fmt.Errorf("%s: path pattern %q %w", list.option, p, err)
			}
		}
	}
	if h.OwnerStamp != nil {
		if h.OwnerStamp.Key == "" {
			return errors.New("owner_stamp: key is required")
		}
		if name := h.OwnerStamp.Header; name != "" {
			if err := fence.CheckHeaderName(name); err != nil {
				return fmt.Errorf("owner_stamp: header %q: %w", name, err)
			}
			if strings.EqualFold(name, h.TagHeader) {
				return fmt.Errorf("owner_stamp: header %q is also the tag_header", name)
			}
		}
	}
	return nil
}

// checkPathPattern rejects a pattern that Caddy's path matcher would
// accept but never match: a malformed glob is silently false there, which
// here would leave a private path unfenced.
func checkPathPattern(p string) error {
	if p == "" || (p[0] != '/' && p[0] != '*' && p[0] != '{') {
		return errors.New("must start with /, * or a placeholder")
	}
	// Placeholders are filled in per request, and patterns with escape
	// sequences use a matcher of their own.
	if strings.ContainsAny(p, "{%") {
		return nil
	}
	// A single leading or trailing * (or one at each end) is a plain
	// suffix, prefix or substring match, which has no syntax to get wrong.
	stars := strings.Count(p, "*")
	if (stars == 1 && (p[0] == '*' || p[len(p)-1] == '*')) || (stars == 2 && p[0] == '*' && p[len(p)-1] == '*') {
		return nil
	}
	if _, err := path.Match(p, ""); err != nil {
		return errors.New("is not a valid glob (path.Match syntax)")
	}
	return nil
}

func (h *Handler) modeName() string {
	if h.report {
		return ModeReport
	}
	return ModeEnforce
}

// ServeHTTP fences the response of next.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	// Read the request before next runs: handlers further in may rewrite
	// its headers, but the cache in front saw what the client sent.
	facts := h.readRequest(r)
	if _, handlingError := r.Context().Value(caddyhttp.ErrorCtxKey).(error); handlingError {
		// Inside handle_errors: whatever this route writes is an error page.
		facts.failed = facts.failed.With(fence.ErrorResponse)
	}
	fw := fencewriter.New(w, func(status int, hdr http.Header) {
		h.decide(r, facts, status, hdr)
	})
	err := next.ServeHTTP(fw, r)
	if !fw.Committed() {
		// Nothing was written: net/http will send an implicit 200, or, on
		// an error, Caddy's error handling writes the error response from
		// the server-level writer, bypassing ours. Both send this header
		// map, so decide on it now.
		status := http.StatusOK
		if err != nil {
			facts.failed = facts.failed.With(fence.ErrorResponse)
			status = errorStatus(err)
		}
		h.decide(r, facts, status, w.Header())
	}
	return err
}

// requestFacts is what the fence keeps of a request until its response.
type requestFacts struct {
	req      fence.Request
	identity string        // for the owner stamp; only read when stamping
	failed   fence.Reasons // reasons known before the response: errors
}

// readRequest extracts the request facts. A panic there means the fence
// could not decide, which fences the response.
func (h *Handler) readRequest(r *http.Request) (facts requestFacts) {
	defer func() {
		if v := recover(); v != nil {
			facts.failed = h.internalError("reading request", v)
		}
	}()
	private := len(h.privatePaths) > 0 && h.privatePaths.Match(r)
	public := len(h.publicPaths) > 0 && h.publicPaths.Match(r)
	facts.req = h.policy.Request(r.Header, r.URL.Path, private, public)
	if h.stampKey != nil {
		facts.identity = h.policy.Identity(r.Header)
	}
	return facts
}

// classify runs the rules, turning a panic into a fenced verdict.
func (h *Handler) classify(req fence.Request, status int, hdr http.Header) (rs fence.Reasons) {
	defer func() {
		if v := recover(); v != nil {
			rs = h.internalError("classifying response", v)
		}
	}()
	return h.policy.Classify(req, status, hdr)
}

func (h *Handler) internalError(during string, v any) fence.Reasons {
	h.logger.Error("cache_fence failed; fencing the response", zap.String("during", during), zap.Any("panic", v))
	return fence.Reasons(0).With(fence.InternalError)
}

// decide classifies the response whose headers are hdr, rewrites them, and
// records the verdict. It runs once per response, before headers leave.
func (h *Handler) decide(r *http.Request, facts requestFacts, status int, hdr http.Header) {
	fence.Canonicalize(hdr)
	rs := facts.failed | h.classify(facts.req, status, hdr)
	if h.policy.TagHeader != "" {
		delete(hdr, h.policy.TagHeader)
	}
	if rs.Fenced() && !h.report {
		fence.Rewrite(hdr)
	}
	if h.stampKey != nil {
		// Only the fence may stamp: drop whatever the origin sent.
		delete(hdr, h.stampHeader)
		if rs.Fenced() && !h.report {
			hdr.Set(h.stampHeader, fence.OwnerStamp(h.stampKey, facts.identity))
		}
	}
	if h.Explain {
		hdr.Set(ExplainHeader, h.explain(rs))
	}
	h.counters.observe(rs)
	h.log(r, facts.req.Path, status, rs)
}

func (h *Handler) verdict(rs fence.Reasons) string {
	if rs.Fenced() && h.report {
		return "would-fence"
	}
	return rs.Verdict()
}

func (h *Handler) explain(rs fence.Reasons) string {
	if !rs.Fenced() {
		return "shared"
	}
	return h.verdict(rs) + `; reasons="` + strings.Join(rs.Names(), " ") + `"`
}

// log records the verdict. It names the request by method and the path the
// client asked for (handlers further in may have rewritten it); cookie,
// Set-Cookie and Authorization values never reach a log.
func (h *Handler) log(r *http.Request, path string, status int, rs fence.Reasons) {
	level, msg := zapcore.DebugLevel, "response classified"
	if rs.Fenced() && h.report {
		level, msg = zapcore.WarnLevel, "response would be fenced"
	}
	if c := h.logger.Check(level, msg); c != nil {
		c.Write(
			zap.String("method", r.Method),
			zap.String("host", r.Host),
			zap.String("path", path),
			zap.Int("status", status),
			zap.String("verdict", h.verdict(rs)),
			zap.Strings("reasons", rs.Names()),
		)
	}
}

// errorStatus is the status Caddy will write for err.
func errorStatus(err error) int {
	var he caddyhttp.HandlerError
	if errors.As(err, &he) && he.StatusCode != 0 {
		return he.StatusCode
	}
	return http.StatusInternalServerError
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
