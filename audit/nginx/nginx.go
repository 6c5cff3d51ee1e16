// Package nginx turns an nginx configuration, with its includes, into the
// audit's model: one scope per location that proxies (proxy_pass,
// fastcgi_pass, uwsgi_pass, scgi_pass) through a cache.
package nginx

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cachefence/cachefence/audit"
)

// Kind is the name of this format for --kind.
const Kind = "nginx"

// Detect says whether a file is an nginx configuration, by name or by the
// blocks it opens.
func Detect(path string, data []byte) bool {
	base := filepath.Base(path)
	if base == "nginx.conf" {
		return true
	}
	for _, marker := range []string{"server {", "http {", "location ", "proxy_pass ", "proxy_cache "} {
		if bytes.Contains(data, []byte(marker)) {
			return true
		}
	}
	return false
}

// maxIncludes bounds the files one configuration may pull in.
const maxIncludes = 1000

// Read reads nginx configuration files and the files they include. A file
// included by another one given is audited as part of it, not alone.
func Read(files []audit.File) *audit.Config {
	cfg := &audit.Config{}
	parsed := map[string][]*Directive{}
	for _, f := range files {
		ds, err := Parse(f.Path, f.Data)
		if err != nil {
			failParse(cfg, f.Path, err)
			continue
		}
		parsed[filepath.Clean(f.Path)] = ds
	}
	var dirs []string
	for _, f := range files {
		dirs = append(dirs, filepath.Dir(filepath.Clean(f.Path)))
	}
	// includedBy[f] are the given files f's expansion pulls in.
	includedBy := map[string]map[string]bool{}
	expanded := map[string][]*Directive{}
	for _, f := range files {
		name := filepath.Clean(f.Path)
		if ds, ok := parsed[name]; ok {
			r := &resolver{cfg: cfg, root: filepath.Dir(name), dirs: dirs, parsed: parsed, seen: map[string]bool{}, active: map[string]bool{name: true}}
			expanded[name] = r.expand(ds, 0)
			includedBy[name] = r.seen
		}
	}
	// A given file another given file includes is audited as part of it;
	// of files that include each other, the first given is walked.
	walked := map[string]bool{}
	for _, f := range files {
		name := filepath.Clean(f.Path)
		ds, ok := expanded[name]
		if !ok || walked[name] || includedByOther(name, includedBy, walked) {
			continue
		}
		walked[name] = true
		for inc := range includedBy[name] {
			walked[inc] = true
		}
		flatten(ds, "", "", cfg)
		walk(ds, context{}, cfg)
	}
	return cfg
}

// includedByOther reports a given file that another given file, not yet
// walked and not included by it in turn, pulls in: that one will audit it.
func includedByOther(name string, includedBy map[string]map[string]bool, walked map[string]bool) bool {
	for other, seen := range includedBy {
		if other != name && seen[name] && !walked[other] && !includedBy[name][other] {
			return true
		}
	}
	return false
}

func failParse(cfg *audit.Config, file string, err error) {
	if se, ok := err.(*SyntaxError); ok {
		cfg.Fail(file, se.Line, fmt.Errorf("%s", se.Msg))
		return
	}
	cfg.Fail(file, 0, err)
}

// resolver replaces include directives by the directives of the files
// they name, relative to the including file, then to the main file's
// directory, as nginx resolves them against its prefix.
type resolver struct {
	cfg  *audit.Config
	root string
	// dirs are the directories of the files given: an include is read
	// only inside them.
	dirs   []string
	parsed map[string][]*Directive
	// seen are the files included so far; active those being expanded,
	// to stop include cycles.
	seen, active map[string]bool
}

func (r *resolver) expand(ds []*Directive, depth int) []*Directive {
	var out []*Directive
	for _, d := range ds {
		if d.Name != "include" || len(d.Args) != 1 {
			if d.HasBlock {
				c := *d
				c.Block = r.expand(d.Block, depth)
				d = &c
			}
			out = append(out, d)
			continue
		}
		names := r.glob(d)
		if len(names) == 0 {
			r.cfg.Skip(d.File, d.Line, "include %s: no such file here, so its directives were not audited", d.Args[0])
		}
		for _, name := range names {
			if r.active[name] || len(r.seen) >= maxIncludes || depth > maxDepth {
				r.cfg.Skip(d.File, d.Line, "include %s: an include cycle, or too many includes", name)
				continue
			}
			if why := r.outside(name); why != "" {
				r.cfg.Skip(d.File, d.Line, "include %s: %s, so it was not read", name, why)
				continue
			}
			r.seen[name] = true
			inner, ok := r.parsed[name]
			if !ok {
				data, err := os.ReadFile(name)
				if err != nil {
					r.cfg.Fail(d.File, d.Line, fmt.Errorf("include %s: %w", name, err))
					continue
				}
				if inner, err = Parse(name, data); err != nil {
					failParse(r.cfg, name, err)
					continue
				}
			}
			r.active[name] = true
			out = append(out, r.expand(inner, depth+1)...)
			delete(r.active, name)
		}
	}
	return out
}

func (r *resolver) glob(d *Directive) []string {
	pattern := d.Args[0]
	candidates := []string{filepath.Join(filepath.Dir(d.File), pattern), filepath.Join(r.root, pattern)}
	if filepath.IsAbs(pattern) {
		// A checked-out configuration names its deployed paths
		// (/etc/nginx/conf.d/x.conf): look for their tails beside it.
		// A glob keeps its directory (conf.d/*.conf, never *.conf,
		// which would match the configuration itself when conf.d is
		// not in the copy). The deployed path itself is never read: on
		// this machine it is another configuration, or a secret.
		candidates = nil
		parts := strings.Split(strings.TrimPrefix(filepath.ToSlash(pattern), "/"), "/")
		last := len(parts) - 1
		if strings.ContainsAny(parts[last], "*?[") && last > 0 {
			last--
		}
		for i := 0; i <= last; i++ {
			tail := filepath.Join(parts[i:]...)
			candidates = append(candidates, filepath.Join(filepath.Dir(d.File), tail), filepath.Join(r.root, tail))
		}
	}
	for _, c := range candidates {
		names, _ := filepath.Glob(c)
		if len(names) > 0 {
			for i := range names {
				names[i] = filepath.Clean(names[i])
			}
			slices.Sort(names)
			return names
		}
	}
	return nil
}

// outside says why the audit will not read name, or "": a file outside
// the directories of the files given (../, a symlink out of them), or
// anything but a regular file (/dev/zero, a FIFO).
func (r *resolver) outside(name string) string {
	real, err := filepath.EvalSymlinks(name)
	if err != nil {
		return "it cannot be resolved"
	}
	inside := false
	for _, dir := range r.dirs {
		if d, err := filepath.EvalSymlinks(dir); err == nil {
			rel, err := filepath.Rel(d, real)
			inside = inside || err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
		}
	}
	if !inside {
		return "it lies outside the directories of the files given"
	}
	if info, err := os.Stat(real); err != nil || !info.Mode().IsRegular() {
		return "it is not a regular file"
	}
	return ""
}

// context holds the directives in force at a level: the innermost level
// that sets a directive wins, as nginx merges these.
type context struct {
	server string
	set    map[string]*Directive
	hidden map[string]*Directive // proxy_hide_header and the like, by header
}

func (c context) with(block []*Directive) context {
	next := context{server: c.server, set: map[string]*Directive{}, hidden: c.hidden}
	for k, v := range c.set {
		// proxy_pass and its kin are not inherited: a nested location
		// proxies only if it says so.
		if !strings.HasSuffix(k, "_pass") {
			next.set[k] = v
		}
	}
	var hidden map[string]*Directive
	for _, d := range block {
		switch {
		case strings.HasSuffix(d.Name, "_hide_header") && len(d.Args) > 0:
			// A level that hides any header replaces the inherited list.
			if hidden == nil {
				hidden = map[string]*Directive{}
			}
			hidden[strings.ToLower(d.Name+" "+d.Args[0])] = d
		case d.Name == "server_name" && len(d.Args) > 0:
			next.server = d.Args[0]
		case !d.HasBlock:
			next.set[d.Name] = d
		}
	}
	if hidden != nil {
		next.hidden = hidden
	}
	return next
}

// modules are the proxying modules whose caches work alike.
var modules = []string{"proxy", "fastcgi", "uwsgi", "scgi"}

func walk(ds []*Directive, ctx context, cfg *audit.Config) {
	ctx = ctx.with(ds)
	for _, d := range ds {
		switch d.Name {
		case "http", "server":
			walk(d.Block, ctx, cfg)
		case "location":
			inner := ctx.with(d.Block)
			for _, m := range modules {
				if inner.set[m+"_pass"] != nil {
					if s, ok := scope(d, m, inner, cfg); ok {
						cfg.Scopes = append(cfg.Scopes, s)
					}
				}
			}
			walk(d.Block, ctx, cfg)
		case "if":
			for _, in := range d.Block {
				if strings.Contains(in.Name, "_cache") || strings.Contains(in.Name, "_ignore_headers") {
					cfg.Skip(in.File, in.Line, "%s inside if: conditional caching is not audited", in.Name)
				}
			}
		}
	}
}

func argsOf(d *Directive) string {
	if d == nil {
		return ""
	}
	return strings.ToLower(strings.Join(d.Args, " "))
}

func setting(d *Directive) *audit.Setting {
	return &audit.Setting{File: d.File, Line: d.Line, Name: d.Name, Value: strings.Join(d.Args, " ")}
}

// scope is what a caching location does with module m.
func scope(loc *Directive, m string, ctx context, cfg *audit.Config) (audit.Scope, bool) {
	cache := ctx.set[m+"_cache"]
	if cache == nil || argsOf(cache) == "off" {
		return audit.Scope{}, false // nothing is cached
	}
	pattern := strings.Join(loc.Args, " ")
	name := "location " + pattern
	if ctx.server != "" {
		name = "server " + ctx.server + " " + name
	}
	s := audit.Scope{Vendor: audit.Nginx, File: loc.File, Line: loc.Line, Name: name, Static: audit.Static(pattern)}
	ignore := ctx.set[m+"_ignore_headers"]
	ignored := map[string]bool{}
	if ignore != nil {
		for _, h := range ignore.Args {
			ignored[strings.ToLower(h)] = true
		}
	}
	valid := ctx.set[m+"_cache_valid"]
	if ignored["cache-control"] && valid != nil {
		// What proxy_cache_valid stores, private or not, only
		// X-Accel-Expires: 0 or an invalid Expires keeps out.
		s.Store = setting(ignore)
		if !ignored["x-accel-expires"] {
			s.Obeys |= audit.XAccelExpiresZero
		}
		if !ignored["expires"] {
			s.Obeys |= audit.ExpiresPast
		}
	} else if ignored["expires"] && valid != nil {
		s.TTL = setting(ignore)
	}
	if ignored["set-cookie"] {
		if ctx.hidden[m+"_hide_header set-cookie"] != nil {
			s.StripsSetCookie = setting(ignore)
		} else {
			s.ReplaysSetCookie = setting(ignore)
		}
	}
	// nginx never looks at Authorization or Cookie by itself: only these
	// directives, or the key, keep credentials apart.
	guards := argsOf(ctx.set[m+"_no_cache"]) + " " + argsOf(ctx.set[m+"_cache_bypass"])
	key := argsOf(ctx.set[m+"_cache_key"])
	authKeyed := strings.Contains(key, "$http_authorization")
	cookieKeyed := strings.Contains(key, "$http_cookie")
	if !strings.Contains(guards, "$http_authorization") && !authKeyed {
		s.Authorization = setting(cache)
	}
	if !strings.Contains(guards, "$cookie_") && !strings.Contains(guards, "$http_cookie") &&
		!strings.Contains(key, "$cookie_") && !cookieKeyed {
		s.Unkeyed = setting(cache)
	}
	s.KeyedByUser = authKeyed && cookieKeyed
	return s, true
}

// flatten adds the directives of a block, by their place in the tree, to
// the settings; a directive repeated in a block is numbered. mapped is
// the header whose values name the block's directives: those of a map on
// a header's variable.
func flatten(block []*Directive, path, mapped string, cfg *audit.Config) {
	count := map[string]int{}
	for _, d := range block {
		args := shownArgs(d)
		name := d.Name
		if mapped != "" && !mapParams[d.Name] {
			name = audit.HeaderValue(d.Name, mapped)
		}
		if d.HasBlock && len(args) > 0 {
			name += " " + strings.Join(args, " ")
		}
		if d.Name == "server" {
			for _, in := range d.Block {
				if in.Name == "server_name" {
					name += " " + strings.Join(in.Args, " ")
				}
			}
		}
		if count[name]++; count[name] > 1 {
			name = fmt.Sprintf("%s#%d", name, count[name])
		}
		key := strings.TrimPrefix(path+" > "+name, " > ")
		if d.HasBlock {
			inner := ""
			if d.Name == "map" && len(d.Args) > 0 {
				inner = headerVariable(d.Args[0])
			}
			flatten(d.Block, key, inner, cfg)
		} else {
			cfg.Settings = append(cfg.Settings, audit.Setting{File: d.File, Line: d.Line, Name: key, Value: strings.Join(args, " ")})
		}
	}
}

// setsHeader are the directives whose first argument names a header, or
// a parameter the application reads as one, and whose second is its value.
var setsHeader = map[string]bool{"proxy_set_header": true, "grpc_set_header": true, "add_header": true,
	"add_trailer": true, "fastcgi_param": true, "uwsgi_param": true, "scgi_param": true}

// mapParams are the directives of a map block that are not its entries.
var mapParams = map[string]bool{"default": true, "hostnames": true, "include": true, "volatile": true}

// shownArgs returns d's arguments as settings show them: a value that d
// sends as a header, or compares a header with, is hidden by
// audit.HeaderValue, so that an origin secret is never stored or printed.
func shownArgs(d *Directive) []string {
	args := slices.Clone(d.Args)
	switch {
	case setsHeader[d.Name] && len(args) > 1:
		// fastcgi_param HTTP_HOST is the Host header.
		name := args[0]
		if strings.HasSuffix(d.Name, "_param") && strings.HasPrefix(strings.ToUpper(name), "HTTP_") {
			name = name[len("HTTP_"):]
		}
		args[1] = audit.HeaderValue(args[1], name)
	case d.Name == "more_set_headers" || d.Name == "more_set_input_headers":
		// headers-more: options, then "Name: value" arguments.
		for i := 0; i < len(args); i++ {
			switch args[i] {
			case "-s", "-t":
				i++
			case "-r":
			default:
				if name, value, ok := strings.Cut(args[i], ":"); ok {
					args[i] = name + ": " + audit.HeaderValue(strings.TrimSpace(value), name)
				} else {
					args[i] = audit.HeaderValue(args[i])
				}
			}
		}
	case d.Name == "if" && len(args) > 2:
		// if ($http_x_origin_verify != "secret"): the operand after the
		// comparison, with the closing parenthesis it may hold.
		if name := headerVariable(strings.TrimPrefix(args[0], "(")); name != "" {
			operand, paren := strings.CutSuffix(args[2], ")")
			args[2] = audit.HeaderValue(operand, name)
			if paren {
				args[2] += ")"
			}
		}
	}
	return args
}

// headerVariable returns the header whose value an nginx variable holds,
// or "".
func headerVariable(v string) string {
	for _, prefix := range []string{"$http_", "$sent_http_", "$upstream_http_"} {
		if name, ok := strings.CutPrefix(v, prefix); ok {
			return name
		}
	}
	if strings.HasPrefix(v, "$cookie_") {
		return "Cookie"
	}
	return ""
}
