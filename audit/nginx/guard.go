package nginx

import (
	"regexp"
	"slices"
	"strings"

	"github.com/cachefence/cachefence/audit"
)

// guard says, as far as credentials go, when a *_no_cache directive keeps
// a response out of the cache. nginx does not store a response when any
// of the directive's values is neither empty nor "0".
type guard struct {
	// always: on every request, so nothing is stored.
	always bool
	// auth: when the request carries Authorization.
	auth bool
	// anyCookie: when it carries a cookie at all ($http_cookie).
	anyCookie bool
	// cookies: when it carries one of these cookies ($cookie_NAME);
	// patterns: when its Cookie header matches one of these.
	cookies  []string
	patterns []*regexp.Regexp
}

// sessionApps lists, for applications whose guards nginx guides copy, the
// cookies that hold their sessions (a sample name of each). A guard that
// names some of an application's must name them all: the WordPress list
// most guides copy (comment_author|wordpress_[a-f0-9]+|wp-postpass|
// wordpress_no_cache|wordpress_logged_in) leaves out WooCommerce's guest
// session, wp_woocommerce_session_<hash>, which WooCommerce's "Configuring
// caching plugins" says to exclude. Another name, $cookie_session, is
// taken as the one session cookie of its application.
var sessionApps = [][]sessionCookie{{
	{"wordpress_logged_in_01234567890123456789012345678901", "wordpress_logged_in_*"},
	{"wp_woocommerce_session_01234567890123456789012345678901", "wp_woocommerce_session_*"},
}}

// sessionCookie is a sample name of a session cookie, and the name a
// finding shows.
type sessionCookie struct{ sample, shown string }

// missedSession says which session cookie the guard lets into the cache:
// "" when it keeps every session apart, the cookie a guard for its
// application misses, or "any" for a guard on no cookie at all.
func (g *guard) missedSession() string {
	if g.always || g.anyCookie {
		return ""
	}
	if len(g.cookies) == 0 && len(g.patterns) == 0 {
		return "any"
	}
	for _, app := range sessionApps {
		var missed []string
		for _, cookie := range app {
			if !g.fires(cookie.sample) {
				missed = append(missed, cookie.shown)
			}
		}
		if len(missed) > 0 && len(missed) < len(app) {
			return strings.Join(missed, ", ")
		}
	}
	return ""
}

// fires says whether the guard fires on a request carrying the cookie.
func (g *guard) fires(cookie string) bool {
	for _, name := range g.cookies {
		// nginx compares cookie names without case.
		if strings.EqualFold(name, cookie) {
			return true
		}
	}
	for _, p := range g.patterns {
		if p.MatchString(cookie + "=1") {
			return true
		}
	}
	return false
}

// maxGuardDepth bounds how far variables are followed through set and
// map: real guards take two or three steps.
const maxGuardDepth = 16

// guardReader follows the variables of a *_no_cache directive to what
// they are made of: the request's credentials, or other things.
type guardReader struct {
	ctx  *context
	cfg  *audit.Config
	g    guard
	seen map[string]bool
}

// readGuard reads the *_no_cache directive d in force at ctx.
func readGuard(d *Directive, ctx *context, cfg *audit.Config) guard {
	r := &guardReader{ctx: ctx, cfg: cfg, seen: map[string]bool{}}
	if d != nil {
		for _, a := range d.Args {
			r.value(a, 0)
		}
	}
	return r.g
}

// variableRef matches an nginx variable in a value: $name or ${name}.
var variableRef = regexp.MustCompile(`\$(?:\{(\w+)\}|(\w+))`)

// value reads a value that fires when it is neither empty nor "0".
func (r *guardReader) value(v string, depth int) {
	if literal := variableRef.ReplaceAllString(v, ""); literal != "" && v != "0" {
		r.g.always = true // text of its own: never empty
		return
	}
	r.variables(v, depth)
}

// variables reads the variables of v, whatever text stands beside them.
func (r *guardReader) variables(v string, depth int) {
	for _, ref := range variableRef.FindAllStringSubmatch(v, -1) {
		r.variable(ref[1]+ref[2], depth)
	}
}

// variable reads the nginx variable $name. A variable the configuration
// defines (set, map) is read first, as nginx does, even when its name
// looks like $cookie_NAME.
func (r *guardReader) variable(name string, depth int) {
	if depth > maxGuardDepth || r.seen[name] {
		return
	}
	r.seen[name] = true
	var sets []assignment
	defined := false
	for c := r.ctx; c != nil; c = c.parent {
		sets = append(sets, c.vars["$"+name]...)
		if m := c.maps["$"+name]; m != nil {
			defined = true
			r.mapping(m, depth+1)
		}
	}
	// "set $skip 1;" then "if (...) { set $skip 0; }" caches some
	// requests: the unconditional 1 is then no guard by itself.
	reset := slices.ContainsFunc(sets, func(a assignment) bool { return a.cond != nil && (a.set.Args[1] == "" || a.set.Args[1] == "0") })
	for _, a := range sets {
		defined = true
		switch v := a.set.Args[1]; {
		case v == "" || v == "0":
		case a.cond != nil:
			// set $skip_cache 1 inside if (...): fires when the
			// condition holds.
			r.condition(a.cond, depth+1)
		case reset:
			r.variables(v, depth+1)
		default:
			r.value(v, depth+1)
		}
	}
	if defined {
		return
	}
	switch {
	case name == "http_authorization":
		r.g.auth = true
	case name == "http_cookie":
		r.g.anyCookie = true
	case strings.HasPrefix(name, "cookie_"):
		r.g.cookies = append(r.g.cookies, strings.TrimPrefix(name, "cookie_"))
	}
}

// mapping reads a map block: map SOURCE $name { key value; ... }.
func (r *guardReader) mapping(m *Directive, depth int) {
	source := m.Args[0]
	def := ""
	for _, e := range m.Block {
		if e.Name == "default" && len(e.Args) == 1 {
			def = e.Args[0]
		}
	}
	if def != "" && def != "0" {
		// Fires unless the source is one of the keys mapped to "0"
		// ({default 1; "" 0;} on $http_authorization): taken as firing
		// whenever the source's variables do.
		r.variables(def, depth)
		r.variables(source, depth)
		return
	}
	for _, e := range m.Block {
		if mapParams[e.Name] || len(e.Args) != 1 || e.Args[0] == "" || e.Args[0] == "0" {
			continue
		}
		r.variables(e.Args[0], depth)
		if re, ok := strings.CutPrefix(e.Name, "~"); ok && source == "$http_cookie" {
			r.cookiePattern(re, m, e.Line)
		} else if e.Name != "" {
			r.variables(source, depth)
		}
	}
}

// condition reads the condition of an if block: ($var), ($var != ""),
// ($http_cookie ~* "pattern"). A condition that holds only when a value
// is absent or equal to a literal (=, !~) fires on no credential.
func (r *guardReader) condition(d *Directive, depth int) {
	args := append([]string(nil), d.Args...)
	if len(args) == 0 {
		return
	}
	args[0] = strings.TrimPrefix(args[0], "(")
	last := len(args) - 1
	if args[last] = strings.TrimSuffix(args[last], ")"); args[last] == "" && last > 0 {
		args = args[:last]
	}
	switch {
	case len(args) == 1:
		r.value(args[0], depth)
	case len(args) == 3 && args[1] == "!=":
		r.value(args[0], depth)
	case len(args) == 3 && (args[1] == "~" || args[1] == "~*"):
		if args[0] == "$http_cookie" {
			r.cookiePattern(strings.TrimPrefix(args[1], "~")+args[2], d, d.Line)
		} else {
			r.value(args[0], depth)
		}
	}
}

// cookiePattern adds a pattern on the Cookie header, as nginx writes it:
// "*" first for a match without case. d is the map or if that holds it,
// at line.
func (r *guardReader) cookiePattern(re string, d *Directive, line int) {
	if rest, ok := strings.CutPrefix(re, "*"); ok {
		re = "(?i)" + rest
	}
	p, err := regexp.Compile(re)
	if err != nil {
		// PCRE reads more than Go's regexp (lookarounds, backreferences).
		// The pattern itself is not quoted: it may hold a cookie's value.
		// Said once, however many locations use the guard.
		skip := audit.Skip{File: d.File, Line: line, What: d.Name + ": a pattern on the Cookie header that this audit cannot read, so the guard it makes is not audited"}
		if !slices.Contains(r.cfg.Skipped, skip) {
			r.cfg.Skipped = append(r.cfg.Skipped, skip)
		}
		return
	}
	r.g.patterns = append(r.g.patterns, p)
}
