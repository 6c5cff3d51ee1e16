// Package caddymodule is the Caddy v2 HTTP handler http.handlers.cache_fence:
// it sits between a CDN and an origin and makes every personalised or
// doubtful response unstorable by shared caches, whatever the origin said.
//
// The decision rules live in package fence and the response-writer wrapper
// in package fencewriter; this package is the Caddy glue.
package caddymodule

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

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
// shared caches. A response is fenced when the request carried credentials
// (Authorization, a credential header or URL parameter, an identifying
// cookie), the response sets a cookie, the path or the origin's tag says
// private, the response varies on the credentials sent, or anything about
// its caching headers or its type is ambiguous. A fenced response leaves
// with `Cache-Control: private, no-store`, the targeted headers that
// caches obey over it set to no-store or removed (see fence.Rewrite); every
// other response passes through untouched.
//
// Put it in a route without matchers, ahead of every handler that writes
// responses. A request that a matcher leaves out skips the fence, and
// Caddy's matchers read paths and hosts otherwise than origins do; the
// Caddyfile directive refuses one. Choose paths with private_paths and
// public_paths.
type Handler struct {
	// Mode is "enforce" (default: rewrite fenced responses) or "report"
	// (rewrite nothing, log each response that would be fenced).
	Mode string `json:"mode,omitempty"`

	// SessionCookies are globs naming the request cookies that identify a
	// user, compared without regard to case. Default: every cookie not
	// matched by ignore_cookies.
	SessionCookies []string `json:"session_cookies,omitempty"`

	// IgnoreCookies are globs naming request cookies that never identify a
	// user, such as analytics or consent cookies.
	IgnoreCookies []string `json:"ignore_cookies,omitempty"`

	// CredentialHeaders are the request headers, besides Authorization,
	// whose presence makes a response personal: API keys, tokens,
	// identities asserted by a proxy. A name with "_" also matches requests
	// that spell it with "-", as CGI and FastCGI read them. Default:
	// fence.DefaultCredentialHeaders(). In JSON, an empty list means none.
	CredentialHeaders []string `json:"credential_headers,omitempty"`

	// CredentialParams are the URL parameter names, in the query or as
	// ";name=value" path parameters, that carry credentials. Default:
	// fence.DefaultCredentialParams(). In JSON, an empty list means none.
	CredentialParams []string `json:"credential_params,omitempty"`

	// PrivatePaths are path patterns, in the syntax of Caddy's path
	// matcher, whose responses are always personalised. They match every
	// form of the path that an origin may route the same way.
	PrivatePaths []string `json:"private_paths,omitempty"`

	// PublicPaths are path patterns whose static files never depend on
	// request cookies. They match the path exactly as the client sent it,
	// and lift the cookie rule only for a response that is plainly a
	// static file: Authorization, Set-Cookie and ambiguous caching headers
	// are still fenced there.
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

	policy *fence.Policy
	report bool
	logger *zap.Logger
	// logEach: the logger takes debug entries, one per response. Log
	// levels change only with a config load, which provisions anew, so
	// a response need not ask the logger.
	logEach  bool
	counters *counters
	// lastOverride is when an override was last logged (Unix nanoseconds),
	// so that a misplaced handler logs once a minute, not per response.
	lastOverride *atomic.Int64
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

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.cache_fence",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision builds the handler's policy from its configuration, with the
// owner-stamp key once its placeholders are replaced. A bad value is
// reported naming the option and the value; the key is never echoed.
// Caddy calls Validate next.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.logEach = h.logger.Core().Enabled(zapcore.DebugLevel)
	key, err := h.stampKey(caddy.NewReplacer().ReplaceAll)
	if err != nil {
		return err
	}
	if h.policy, err = fence.New(h.config(key)); err != nil {
		return err
	}
	h.report = h.Mode == ModeReport
	h.lastOverride = new(atomic.Int64)
	// A nil *Registry must not become a non-nil Registerer.
	var registry prometheus.Registerer
	if r := ctx.GetMetricsRegistry(); r != nil {
		registry = r
	}
	h.counters, err = newCounters(registry, h.modeName())
	if err != nil {
		// Losing metrics must not lose the fence; say so and go on.
		h.logger.Warn("cache_fence metrics disabled", zap.Error(err))
	}
	return nil
}

// Validate checks what Provision leaves to it: the mode, which Provision
// reads as enforce unless it is report.
func (h *Handler) Validate() error {
	switch h.Mode {
	case "", ModeEnforce, ModeReport:
		return nil
	}
	return fmt.Errorf("mode: unknown mode %q (want %q or %q)", h.Mode, ModeEnforce, ModeReport)
}

// CheckConfig reports the first bad value of h's configuration without
// provisioning h, as Provision and Validate would report it: the Caddyfile
// adapter calls it, so that `caddy adapt` fails on a bad value, and
// `cachefence sidecar` does before it listens. A key with placeholders is
// checked for length only by Provision, once they are replaced.
func (h *Handler) CheckConfig() error {
	if err := h.Validate(); err != nil {
		return err
	}
	key, err := h.stampKey(standInKey)
	if err != nil {
		return err
	}
	_, err = fence.New(h.config(key))
	return err
}

// stampKey returns the owner-stamp key (nil for none) once replace has
// replaced its placeholders.
func (h *Handler) stampKey(replace func(key, empty string) string) ([]byte, error) {
	if h.OwnerStamp == nil {
		return nil, nil
	}
	if h.OwnerStamp.Key == "" {
		return nil, errors.New("owner_stamp: key is required")
	}
	key := replace(h.OwnerStamp.Key, "")
	if len(key) < fence.MinStampKey {
		// Never echo the key, even a short one.
		return nil, fmt.Errorf("owner_stamp: key must be at least %d bytes once placeholders are replaced, got %d (is its environment variable set?)", fence.MinStampKey, len(key))
	}
	return []byte(key), nil
}

// standInKey replaces a key that holds placeholders, whose value is known
// only when the config loads, with one of the shortest length accepted;
// a literal key is returned as it is, so that a short one is reported.
func standInKey(key, _ string) string {
	if strings.ContainsRune(key, '{') {
		return strings.Repeat("k", fence.MinStampKey)
	}
	return key
}

// config is the fence configuration of the handler, with the stamp key
// once its placeholders are replaced (nil for none).
func (h *Handler) config(stampKey []byte) fence.Config {
	c := fence.Config{
		SessionCookies:    h.SessionCookies,
		IgnoreCookies:     h.IgnoreCookies,
		CredentialHeaders: h.CredentialHeaders,
		CredentialParams:  h.CredentialParams,
		PrivatePaths:      h.PrivatePaths,
		PublicPaths:       h.PublicPaths,
		TagHeader:         h.TagHeader,
		StampKey:          stampKey,
		Report:            h.Mode == ModeReport,
	}
	if h.OwnerStamp != nil {
		c.StampHeader = h.OwnerStamp.Header
	}
	return c
}

func (h *Handler) modeName() string {
	if h.report {
		return ModeReport
	}
	return ModeEnforce
}

// countedVar is the request variable that says a response was already
// counted and logged by a cache_fence: the one around the route whose
// error handle_errors now answers.
const countedVar = "cache_fence.counted"

// ServeHTTP fences the response of next.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	// One allocation per request: the writer and the request facts live
	// together. A fenced response adds the rewrite's values.
	fr := &fencedResponse{h: h, r: r}
	// Read the request before next runs: handlers further in may rewrite
	// its headers, but the cache in front saw what the client sent.
	h.readRequest(r, &fr.facts)
	if _, handlingError := r.Context().Value(caddyhttp.ErrorCtxKey).(error); handlingError {
		// Inside handle_errors: whatever this route writes is an error page.
		fr.facts.known = fr.facts.known.With(fence.ErrorResponse)
	}
	fr.Wrap(w, fr)
	err := next.ServeHTTP(fr, r)
	if !fr.Committed() {
		// Nothing was written: net/http will send an implicit 200, or, on
		// an error, Caddy's error handling writes the error response from
		// the server-level writer, bypassing ours. Both send this header
		// map, so decide on it now.
		status := http.StatusOK
		if err != nil {
			fr.facts.known = fr.facts.known.With(fence.ErrorResponse)
			status = errorStatus(err)
		}
		h.decide(r, &fr.facts, status, w.Header())
		if err != nil {
			caddyhttp.SetVar(r.Context(), countedVar, true)
		}
	} else if fr.facts.verdict.Fenced() && !h.report {
		h.checkOverride(r, &fr.facts, w.Header())
	}
	return err
}

// fencedResponse is the writer handed to the rest of the chain, with what
// the fence keeps of the request until its response.
type fencedResponse struct {
	fencewriter.ResponseWriter
	h     *Handler
	r     *http.Request
	facts requestFacts
}

// BeforeCommit decides on the response as its headers are written.
func (fr *fencedResponse) BeforeCommit(status int, hdr http.Header) {
	fr.h.decide(fr.r, &fr.facts, status, hdr)
}

// requestFacts is what the fence keeps of a request until its response.
type requestFacts struct {
	req     fence.Request
	known   fence.Reasons // reasons known before the response: errors
	verdict fence.Reasons // set by decide
}

// readRequest extracts the request facts from the request as the client
// sent it: its URL before any rewrite, and its headers as they are when
// the fence runs. A panic there means the fence could not decide, which
// fences the response.
func (h *Handler) readRequest(r *http.Request, facts *requestFacts) {
	defer func() {
		if v := recover(); v != nil {
			facts.known = h.internalError("reading request", v)
		}
	}()
	u := r.URL
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		u = orig.URL
	}
	facts.req = h.policy.Request(r.Header, u)
}

// apply runs the fence's decision, turning a panic into a fenced verdict.
// It first adds the credentials that handlers further in put on the
// request (forward_auth's copy_headers).
func (h *Handler) apply(r *http.Request, facts *requestFacts, status int, hdr http.Header) (rs fence.Reasons) {
	defer func() {
		if v := recover(); v != nil {
			rs = h.internalError("classifying response", v)
			h.policy.Fence(hdr)
		}
	}()
	h.policy.Recheck(&facts.req, r.Header)
	return h.policy.Apply(&facts.req, facts.known, status, hdr)
}

func (h *Handler) internalError(during string, v any) fence.Reasons {
	h.logger.Error("cache_fence failed; fencing the response", zap.String("during", during), zap.Any("panic", v))
	return fence.Reasons(0).With(fence.InternalError)
}

// decide applies the fence to the response whose headers are hdr and
// records the verdict. It runs once per response, before headers leave.
func (h *Handler) decide(r *http.Request, facts *requestFacts, status int, hdr http.Header) {
	rs := h.apply(r, facts, status, hdr)
	facts.verdict = rs
	if h.Explain {
		hdr.Set(ExplainHeader, h.explain(rs))
	}
	if facts.known.Has(fence.ErrorResponse) {
		if counted, _ := caddyhttp.GetVar(r.Context(), countedVar).(bool); counted {
			return // the fence around the failed route counted this response
		}
	}
	h.counters.observe(rs)
	h.log(r, facts.req.Path, status, rs)
}

// checkOverride reports a fenced response whose caching headers a handler
// outside the fence changed after the fence had set them: a deferred
// `header` op in an enclosing route, say, or a cache_fence placed after
// header by an order option. The response has left; the error says where
// to move the fence.
func (h *Handler) checkOverride(r *http.Request, facts *requestFacts, hdr http.Header) {
	altered := fence.Altered(hdr)
	if altered == "" {
		return
	}
	h.counters.overridden.Inc()
	now := time.Now().UnixNano()
	if last := h.lastOverride.Load(); now-last < int64(time.Minute) || !h.lastOverride.CompareAndSwap(last, now) {
		return
	}
	h.logger.Error("a handler outside cache_fence changed the headers of a fenced response after the fence had set them; "+
		"put cache_fence at the top level of the site block, outside every header directive, handle and route (and inside handle_errors)",
		zap.String("method", r.Method),
		zap.String("host", r.Host),
		zap.String("path", fence.RedactPath(facts.req.Path)),
		zap.String("header", altered),
		zap.Strings("value", hdr[altered]),
	)
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
// Set-Cookie, Authorization and credential values never reach a log.
func (h *Handler) log(r *http.Request, path string, status int, rs fence.Reasons) {
	level, msg := zapcore.DebugLevel, "response classified"
	if rs.Fenced() && h.report {
		level, msg = zapcore.WarnLevel, "response would be fenced"
	} else if !h.logEach {
		return
	}
	if c := h.logger.Check(level, msg); c != nil {
		c.Write(
			zap.String("method", r.Method),
			zap.String("host", r.Host),
			zap.String("path", fence.RedactPath(path)),
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
	_ fencewriter.Hook            = (*fencedResponse)(nil)
)
