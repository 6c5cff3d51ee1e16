package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("cache_fence", parseCaddyfile)
	// Outermost of the response-writing handlers, so that the fence has the
	// last word on response headers: after header, encode, reverse_proxy,
	// respond, file_server and the rest have written theirs.
	httpcaddyfile.RegisterDirectiveOrder("cache_fence", httpcaddyfile.Before, "header")
}

func parseCaddyfile(helper httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	h := new(Handler)
	err := h.UnmarshalCaddyfile(helper.Dispenser)
	return h, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	cache_fence [<matcher>] {
//	    mode            enforce|report
//	    session_cookies <glob>...
//	    ignore_cookies  <glob>...
//	    private_paths   <path pattern>...
//	    public_paths    <path pattern>...
//	    tag_header      <header name>
//	    owner_stamp     <key> [<header>]
//	    explain
//	}
//
// The block is optional: `cache_fence` alone fences with the safest
// defaults. List options may be repeated, and their values add up; the
// others may be given once.
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
		case "session_cookies", "ignore_cookies", "private_paths", "public_paths":
			values := d.RemainingArgs()
			if len(values) == 0 {
				return d.Errf("%s: needs at least one value", option)
			}
			list := map[string]*[]string{
				"session_cookies": &h.SessionCookies,
				"ignore_cookies":  &h.IgnoreCookies,
				"private_paths":   &h.PrivatePaths,
				"public_paths":    &h.PublicPaths,
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
	if err := h.Validate(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
