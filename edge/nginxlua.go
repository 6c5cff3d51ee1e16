package edge

import (
	_ "embed"
	"fmt"
	"strings"
	"text/template"
)

// identityLua is the identity in Lua (a port of js/identity.js), and
// guardLua the guard around it, for the nginx-lua target.
var (
	//go:embed lua/identity.lua
	identityLua string
	//go:embed lua/guard.lua
	guardLua string
)

func init() {
	register(Target{Name: "nginx-lua",
		Runtime: "nginx with the Lua module (OpenResty, or Debian's libnginx-mod-http-lua): include it in the http {} of the nginx that serves from the cache or proxies to it; the key is an environment variable",
		NoPass: "the guard runs in header_filter_by_lua, where ngx_lua disables \"Control API functions (e.g., ngx.redirect and ngx.exec)\" and " +
			"\"Subrequest API functions (e.g., ngx.location.capture and ngx.location.capture_multi)\", so it cannot fetch the page again past the cache",
		write: executeTemplate(nginxLuaTemplate)})
}

// luaString writes s as a Lua string literal, every byte outside
// printable ASCII escaped, so that nginx's parser of Lua blocks reads it
// as written.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\' || c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// luaList writes a list of strings as a Lua table.
func luaList(list []string) string {
	quoted := make([]string, len(list))
	for i, s := range list {
		quoted[i] = luaString(s)
	}
	return "{" + strings.Join(quoted, ", ") + "}"
}

var nginxLuaTemplate = template.Must(template.New("nginx-lua").Funcs(template.FuncMap{
	"identityLua": func() string { return identityLua },
	"guardLua":    func() string { return guardLua },
	"lua":         luaString,
	"luaList":     luaList,
	// upstreamVar is nginx's variable for a header the upstream sent.
	"upstreamVar": func(header string) string { return "upstream_http_" + strings.ReplaceAll(header, "-", "_") },
}).Parse(`# cachefence edge guard for nginx with the Lua module, written by {{.Config.Version}}
# from {{.Config.Source}} (configuration {{.Digest}}). Regenerate it when the
# fence's cookie, header or parameter lists change: the identity must be the fence's.
#
# After the cache, it computes the requester's identity as the fence does, stamps it with
# the fence's key, and compares that with the page's owner stamp ({{.StampHeader}}). A page
# stamped for someone else is never delivered: the requester gets a short 503 that no cache
# stores, with {{.GuardHeader}}: refused and none of the page's headers, and nginx's error log
# a warning with the path (error_log at warn or lower). A page with a header whose name has
# "_" (which ngx.header cannot remove) is refused with no answer at all. Unstamped responses
# pass untouched, with no HMAC.
# add_header ... always still adds to a refusal: keep Cache-Control out of those.
#
# Include this file in the http {} block (its map and log_format go nowhere else) of the nginx
# that serves from its proxy_cache or proxies to the cache, where no other header_filter_by_lua*
# or body_filter_by_lua* is set: OpenResty, or Debian's libnginx-mod-http-lua (0.10.23 or later,
# with lua-resty-core). nginx keeps from its environment only what its main context names, so
# add there, outside http {}:
#   env {{.Config.KeyName}};
#   env {{.Config.KeyName}}_PREVIOUS;
#   env {{.Config.KeyName}}_PREVIOUS_UNTIL;
# and start nginx with the key in {{.Config.KeyName}}. The key is never written here. To rotate
# it, put the new key in {{.Config.KeyName}}, the old one in {{.Config.KeyName}}_PREVIOUS, and an
# RFC 3339 time in {{.Config.KeyName}}_PREVIOUS_UNTIL, then restart nginx (a reload keeps the
# old environment): pages stamped with either are accepted until then (as long as the cache
# may keep a page). Without a key, every stamped page is refused.
#
# The guard reads the headers nginx passes on: a name with "_" reaches neither the fence
# nor the guard unless underscores_in_headers is on, and ignore_invalid_headers must stay on.
#
# A stored response that sends nginx elsewhere for its body (X-Accel-Redirect), or whose answer an
# error_page replaces, is judged by its own stamp as well as the final one's: at each internal
# redirect the rewrite block keeps the stamp of the upstream that answered, in a variable of the
# request, which redirects keep. Where it does not run (a location with a rewrite_by_lua* of its
# own) and another upstream answers after, that stamp is unknown, and the body refused to everyone.

# The stamps the rewrite block keeps ("N=stamp ", N counting upstream changes, "-": no stamp). The
# log_format, never used, is what lets Lua set the variable (nginx gives it an index).
map $request_method $cachefence_prior_stamps {
    default "";
}
log_format cachefence_prior_stamps "$cachefence_prior_stamps";

rewrite_by_lua_block {
    if ngx.req.is_internal() then
        local stamp, answered = ngx.var[{{lua (upstreamVar .StampHeader)}}], ngx.var.upstream_addr
        if stamp or answered then
            local _, changes = (answered or ""):gsub(" : ", "")
            ngx.var.cachefence_prior_stamps = ngx.var.cachefence_prior_stamps .. changes .. "="
                .. (stamp and (stamp:gsub("%s", "_")) or "-") .. " "
        end
    end
}

header_filter_by_lua_block {
    -- The guard is built once per worker, on its first response.
    local name = {{lua (print "cachefence.guard " .Digest)}}
    local guard = package.loaded[name]
    if not guard then
        guard = (function()
local KEY = {{lua .Config.KeyName}}
local STAMP = {{lua .StampHeader}}
local UPSTREAM_STAMP = {{lua (upstreamVar .StampHeader)}}
local GUARD = {{lua .GuardHeader}}

{{identityLua}}
local RULES = identityRules({
  session_cookies = {{luaList .Rules.SessionCookies}},
  ignore_cookies = {{luaList .Rules.IgnoreCookies}},
  credential_headers = {{luaList .Rules.CredentialHeaders}},
  credential_params = {{luaList .Rules.CredentialParams}},
})

{{guardLua}}
        end)()
        package.loaded[name] = guard
    end
    guard.header_filter()
}

body_filter_by_lua_block {
    -- A refused response's body is replaced: nothing of the stored page is sent.
    -- The status is read first: ngx.ctx makes a table for the request.
    if ngx.status == 503 and ngx.ctx.cachefence_refused then
        ngx.arg[1] = ngx.arg[2] and "This page was not made for you. Please retry.\n" or ""
    end
}
`))
