package caddymodule

import (
	"fmt"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	httpcaddyfile.RegisterDirective("cache_fence", parseCaddyfile)
	// Outermost of the response-writing handlers, so that the fence has the
	// last word on response headers: after header, encode, reverse_proxy,
	// respond, file_server and the rest have written theirs.
	httpcaddyfile.RegisterDirectiveOrder("cache_fence", httpcaddyfile.Before, "header")
}

// parseCaddyfile sets up the directive as httpcaddyfile.RegisterHandlerDirective
// would, except that it refuses a matcher token (see errMatcher).
func parseCaddyfile(helper httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	if order, ok := helper.Option("order").([]string); ok {
		if err := checkOrder(order); err != nil {
			return nil, helper.Err(err.Error())
		}
	}
	helper.Next() // the directive's name
	if _, hasMatcher, err := helper.MatcherToken(); err != nil {
		return nil, err
	} else if hasMatcher {
		return nil, helper.Errf(errMatcher, helper.Val())
	}
	helper.Reset()
	h := new(Handler)
	if err := h.UnmarshalCaddyfile(helper.Dispenser); err != nil {
		return nil, err
	}
	return helper.NewRoute(nil, h), nil
}

// errMatcher explains why the directive takes no matcher. A matcher hands
// the choice of the responses to fence to Caddy's matchers, which read a
// request otherwise than the origin behind may: the path matcher folds
// case and merges slashes, so `not path /static/*` lets /STATIC/x through
// unfenced to an origin that renders a page there, and the host matcher
// keeps a trailing dot, which origins drop. A request the matcher leaves
// out skips the fence, and the cache in front may still store its
// response. public_paths and private_paths choose paths with readings made
// for this; for hosts, every site block that reaches an origin gets its
// own cache_fence, so that no request reaches one unfenced.
const errMatcher = "cache_fence takes no matcher, got %q: the requests a matcher leaves out skip the fence, " +
	"and Caddy's matchers read paths and hosts otherwise than origins do (path /static/* also matches /STATIC/x and //static/x). " +
	"Choose paths with public_paths and private_paths instead, and put cache_fence in every site block that reaches an origin"

// responseDirectives are Caddy's standard directives that write, wrap or
// route responses. One ordered before cache_fence either answers requests
// the fence never sees (handle, route, respond, reverse_proxy...) or wraps
// the fence and changes its headers after it (header, encode...).
var responseDirectives = map[string]bool{
	"header": true, "copy_response_headers": true, "redir": true, "basic_auth": true, "forward_auth": true,
	"encode": true, "push": true, "intercept": true, "templates": true, "invoke": true,
	"handle": true, "handle_path": true, "route": true, "abort": true, "error": true,
	"copy_response": true, "respond": true, "metrics": true, "reverse_proxy": true,
	"php_fastcgi": true, "file_server": true, "acme_server": true,
}

// checkOrder refuses a directive order, set by the global order option,
// that puts a response directive ahead of cache_fence: the usual plugin
// line `order cache_fence before respond` does.
func checkOrder(order []string) error {
	for _, name := range order {
		if name == "cache_fence" {
			return nil
		}
		if responseDirectives[name] {
			return fmt.Errorf("the order option puts cache_fence after %s, which writes, wraps or routes responses: "+
				"the responses it handles would bypass the fence, or it would change the fenced headers after the fence. "+
				"Remove `order cache_fence ...` (cache_fence orders itself before header) or write `order cache_fence before header`", name)
		}
	}
	return nil
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	cache_fence {
//	    mode               enforce|report
//	    session_cookies    <glob>...
//	    ignore_cookies     <glob>...
//	    credential_headers <header name>...
//	    credential_params  <parameter name>...
//	    private_paths      <path pattern>...
//	    public_paths       <path pattern>...
//	    tag_header         <header name>
//	    owner_stamp        <key> [<header>]
//	    explain
//	}
//
// The block is optional: `cache_fence` alone fences with the safest
// defaults. List options may be repeated, and their values add up; the
// others may be given once. The directive takes no matcher (see
// errMatcher).
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		option := d.Val()
		switch option {
		case "mode", "tag_header", "owner_stamp", "explain":
			if seen[option] {
				return d.Errf("%s: given twice", option)
			}
			seen[option] = true
		}
		switch option {
		case "mode", "tag_header":
			if !d.NextArg() {
				return d.ArgErr()
			}
			value := d.Val()
			if value == "" {
				return d.Errf("%s: empty value", option)
			}
			if d.NextArg() {
				return d.Errf("%s: takes one value, got extra %q", option, d.Val())
			}
			if option == "mode" {
				h.Mode = value
			} else {
				h.TagHeader = value
			}
		case "session_cookies", "ignore_cookies", "credential_headers", "credential_params", "private_paths", "public_paths":
			values := d.RemainingArgs()
			if len(values) == 0 {
				return d.Errf("%s: needs at least one value", option)
			}
			list := map[string]*[]string{
				"session_cookies":    &h.SessionCookies,
				"ignore_cookies":     &h.IgnoreCookies,
				"credential_headers": &h.CredentialHeaders,
				"credential_params":  &h.CredentialParams,
				"private_paths":      &h.PrivatePaths,
				"public_paths":       &h.PublicPaths,
			}[option]
			*list = append(*list, values...)
		case "owner_stamp":
			args := d.RemainingArgs()
			if len(args) < 1 || len(args) > 2 {
				return d.Errf("owner_stamp: want <key> [<header>], got %d values", len(args))
			}
			h.OwnerStamp = &OwnerStamp{Key: args[0]}
			if len(args) == 2 {
				h.OwnerStamp.Header = args[1]
			}
		case "explain":
			if d.NextArg() {
				return d.Errf("explain: takes no value, got %q", d.Val())
			}
			h.Explain = true
		default:
			return d.Errf("unrecognized cache_fence option %q", option)
		}
	}
	// Reject bad values at adapt time too, not only when the config loads.
	if err := h.CheckConfig(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
