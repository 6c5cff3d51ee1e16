package cli

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/logging"
	"go.uber.org/zap/zapcore"

	"github.com/cachefence/cachefence/caddymodule"
	"github.com/cachefence/cachefence/fence"
)

func init() {
	caddy.RegisterModule(new(credentialFilter))
}

// credentialFilter is a log field filter
// (caddy.logging.encoders.filter.cache_fence_credentials) that hides the
// credentials cache_fence knows from Caddy's HTTP logs. In a header object
// (a request's or a response's headers) it replaces the values of the
// credential headers by REDACTED, as Caddy replaces those of Cookie,
// Set-Cookie and Authorization; in a string, a request URI, it replaces
// the values of the credential URL parameters (fence.Policy.RedactURI).
type credentialFilter struct {
	// CredentialHeaders and CredentialParams are the fence's lists; nil
	// means its defaults.
	CredentialHeaders []string `json:"credential_headers,omitempty"`
	CredentialParams  []string `json:"credential_params,omitempty"`

	policy *fence.Policy
}

// CaddyModule returns the Caddy module information.
func (*credentialFilter) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "caddy.logging.encoders.filter.cache_fence_credentials",
		New: func() caddy.Module { return new(credentialFilter) },
	}
}

// Provision reads the lists as the fence reads them.
func (f *credentialFilter) Provision(caddy.Context) error {
	var err error
	f.policy, err = fence.New(fence.Config{CredentialHeaders: f.CredentialHeaders, CredentialParams: f.CredentialParams})
	return err
}

// Filter hides the credentials in one field.
func (f *credentialFilter) Filter(in zapcore.Field) zapcore.Field {
	if h, ok := in.Interface.(caddyhttp.LoggableHTTPHeader); ok {
		h.Header = f.redactHeader(h.Header)
		in.Interface = h
	} else if in.Type == zapcore.StringType {
		in.String = f.policy.RedactURI(in.String)
	}
	return in
}

// urlHeaders carry a URL, whose credential parameters are hidden as in the
// request's URI: a page reached with ?token= sends it on as the Referer of
// every asset it loads.
var urlHeaders = []string{"Referer", "Location", "Content-Location", "X-Original-Uri", "X-Original-Url", "X-Forwarded-Uri", "X-Rewrite-Url"}

// redactHeader returns h, or a copy of it with the values of its credential
// headers replaced and the credentials in its URLs hidden: h is the
// request's or the response's own.
func (f *credentialFilter) redactHeader(h http.Header) http.Header {
	var redacted http.Header
	set := func(name string, v []string) {
		if redacted == nil {
			redacted = h.Clone()
		}
		redacted[name] = v
	}
	for name := range h {
		if f.policy.IsCredentialHeader(name) {
			set(name, []string{"REDACTED"})
		}
	}
	for _, name := range urlHeaders {
		var hidden []string
		for i, v := range h[name] {
			if r := f.policy.RedactURI(v); r != v {
				if hidden == nil {
					hidden = slices.Clone(h[name])
				}
				hidden[i] = r
			}
		}
		if hidden != nil {
			set(name, hidden)
		}
	}
	if redacted == nil {
		return h
	}
	return redacted
}

// credentialFields are the fields of Caddy's HTTP logs that can hold a
// credential: the request's URI and headers (access and error logs, and
// the reverse proxy's debug log, whose request is the upstream's), the
// response's headers (access log) and the upstream response's (the
// reverse proxy's debug log).
var credentialFields = []string{"request>uri", "request>headers", "resp_headers", "headers"}

// defaultLog is the default log of the sidecar and dev proxies, at level:
// Caddy's default format, through a filter that hides the credentials of
// h's fence. Caddy's own error log records every request that fails
// (a 502 from a down origin, say), and --access-log and --debug add every
// request, with their URIs and headers.
func defaultLog(level zapcore.Level, h caddymodule.Handler) *caddy.CustomLog {
	filter := caddyconfig.JSONModuleObject(credentialFilter{
		CredentialHeaders: h.CredentialHeaders,
		CredentialParams:  h.CredentialParams,
	}, "filter", "cache_fence_credentials", nil)
	fields := make(map[string]json.RawMessage, len(credentialFields))
	for _, name := range credentialFields {
		fields[name] = filter
	}
	return &caddy.CustomLog{BaseLog: caddy.BaseLog{
		Level:      level.CapitalString(),
		EncoderRaw: caddyconfig.JSONModuleObject(logging.FilterEncoder{FieldsRaw: fields}, "format", "filter", nil),
	}}
}

// Interface guards.
var (
	_ caddy.Provisioner      = (*credentialFilter)(nil)
	_ logging.LogFieldFilter = (*credentialFilter)(nil)
)
